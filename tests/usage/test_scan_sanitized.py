"""The native scanner under ASan + UBSan: the differential tests and a coverage-guided fuzz.

Runs bench/fuzz_scan.py for a bounded time (PODIUM_FUZZ_SECONDS, default 25 s for the whole
step: build, tests/usage/test_native_scan.py against the sanitized build, then atheris). The
build goes to a temp dir; the installed extension is not touched. Skipped, with the reason,
where there is no C compiler or sanitizer runtime; the fuzzing half is reported as skipped
without atheris. A longer run: `.venv/bin/python bench/fuzz_scan.py --seconds 600`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SKIPPED = 77  # bench/fuzz_scan.py: no compiler or sanitizer runtime


@pytest.mark.slow
def test_scanner_has_no_sanitizer_finding_and_agrees_with_python_under_fuzzing():
    seconds = float(os.environ.get("PODIUM_FUZZ_SECONDS", "25"))
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "fuzz_scan.py"), "--seconds", str(seconds)],
        cwd=ROOT, capture_output=True, text=True, timeout=seconds * 6 + 300,
    )  # fmt: skip
    if done.returncode == SKIPPED:
        pytest.skip(done.stderr.strip() or "sanitized build unavailable")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-6000:]
    assert "no finding" in done.stdout and "pytest exit 0" in done.stdout
    skipped = [line for line in done.stdout.splitlines() if "fuzz skipped" in line]
    if skipped:
        pytest.skip("differential run passed under ASan + UBSan; " + skipped[0])
    assert "number_of_executed_units" in done.stdout  # the fuzzer really ran
