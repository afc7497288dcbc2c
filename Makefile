# Two commands on a fresh machine: `make demo` and `make test`. Everything else is set up by them.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-python test-client lint bench clean venv

$(STAMP): pyproject.toml backend/podium/usage/_scan.c
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(PY) -m podium demo

test: test-python test-client

# The editor client's own script installs Node deps and runs unit + end-to-end tests.
test-client:
	@if [ -x editor-client/scripts/test.sh ]; then editor-client/scripts/test.sh; else echo 'editor-client: no tests yet'; fi

test-python: $(STAMP)
	$(PY) -m ruff check backend tests bench
	$(PY) -m mypy
	# no reruns: tests wait for events and conditions, so a failure is a bug, not bad luck
	$(PY) -m pytest -q

lint: $(STAMP)
	$(PY) -m ruff check backend tests bench
	$(PY) -m mypy

bench: $(STAMP)
	$(PY) bench/run_usage_bench.py

clean:
	rm -rf $(VENV) build *.egg-info
