"""The /metrics endpoint, in-process (MetricsService) and as `podium metrics`."""

from __future__ import annotations

import json
import math
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from tests.metrics.helpers import Feed, wait_for

from podium.metrics.config import MetricsConfig
from podium.metrics.service import MetricsError, MetricsService
from podium.settings import Settings
from podium.usage.queries import totals

PODIUM = [sys.executable, "-m", "podium"]


def scrape(url: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.headers["Content-Type"].startswith("text/plain")
        text = response.read().decode()
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, []).append((sample.labels, sample.value))
    return out


def total(samples: dict, name: str, **match: str) -> float:
    return sum(v for labels, v in samples.get(name, [])
               if all(labels.get(k) == want for k, want in match.items()))  # fmt: skip


def test_endpoint_serves_the_store(feed: Feed) -> None:
    feed.spend(0.25, session="s1", cwd="/repos/shop", ts=time.time() - 60)
    feed.spend(0.75, session="s2", cwd="/repos/infra", ts=time.time() - 30)
    service = MetricsService(feed.store.path, Settings(),
                             MetricsConfig(listen=("127.0.0.1", 0), machine="box1"))  # fmt: skip
    service.start()
    try:
        assert service.url and service.url.startswith("http://127.0.0.1:")
        samples = scrape(service.url)
        assert math.isclose(total(samples, "podium_cost_usd_total"), totals(feed.store).cost_usd)
        assert math.isclose(total(samples, "podium_cost_usd_total", project="infra"), 0.75)
        assert {labels["machine"] for series in samples.values() for labels, _ in series} == {"box1"}
        assert total(samples, "podium_tokens_total", type="input") == 1_000_000
        # the same port again: a clear error, nothing left running
        port = service.endpoint.port
        taken = MetricsService(feed.store.path, Settings(), MetricsConfig(listen=("127.0.0.1", port)))
        with pytest.raises(MetricsError, match=r"cannot listen on 127\.0\.0\.1"):
            taken.start()
        assert taken.reader is None and taken.endpoint is None
    finally:
        service.stop()
    with pytest.raises(OSError):  # stopped: the port is closed
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


@pytest.fixture
def metrics_cli(tmp_path: Path, claude_dir: Path) -> Iterator:
    procs: list[subprocess.Popen] = []

    def start(*args: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen, str]:
        full_env = dict(os.environ, **(env or {}))
        proc = subprocess.Popen([*PODIUM, "metrics", "--db", str(tmp_path / "podium.db"),
                                 "--claude-config-dir", str(claude_dir), *args],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=full_env)  # fmt: skip
        procs.append(proc)
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("podium metrics:"), line + (proc.stderr.read() if proc.stderr else "")
        return proc, line

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_cli_keeps_the_store_fresh_and_stops_cleanly(metrics_cli, tmp_path: Path,
                                                     claude_dir: Path) -> None:  # fmt: skip
    from podium.store import Store

    writer = Feed(claude_dir, Store(tmp_path / "writer.db"))  # writes transcripts; its own store
    writer.spend(0.40, session="s1", cwd="/repos/shop", ts=time.time() - 60)
    proc, line = metrics_cli("--listen", "127.0.0.1:0", "--ingest-every", "0.2", "--machine", "box2")
    url = line.split("serving ", 1)[1].split(" ")[0]
    assert "(machine box2)" in line
    assert math.isclose(total(scrape(url), "podium_cost_usd_total"), 0.40)
    writer.spend(0.60, session="s1", cwd="/repos/shop", ts=time.time() - 1)
    # `podium metrics` reads the new lines itself: within a few ingest rounds
    wait_for(lambda: math.isclose(total(scrape(url), "podium_cost_usd_total"), 1.0),
             timeout=10, message="the new spend on /metrics")  # fmt: skip
    report = subprocess.run([*PODIUM, "report", "daily", "--json", "--no-ingest", "--db",
                             str(tmp_path / "podium.db")], capture_output=True, text=True,
                            check=True)  # fmt: skip
    assert math.isclose(json.loads(report.stdout)["totals"]["totalCost"], 1.0)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(15) == 0
    writer.store.close()


@pytest.mark.parametrize(("args", "message"), [
    (["--listen", "nope"], "listen must be HOST:PORT"),
    (["--listen", "127.0.0.1:99999"], "listen port must be 0–65535"),
    ([], "nothing to do"),
    (["--webhook", "ftp://x"], "--webhook must be an http(s) URL"),
])  # fmt: skip
def test_cli_bad_arguments_are_clear_errors(tmp_path: Path, args: list[str], message: str) -> None:
    result = subprocess.run([*PODIUM, "metrics", "--db", str(tmp_path / "p.db"), *args],
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_the_endpoint_writes_what_prometheus_client_writes(feed: Feed) -> None:
    """The endpoint's own renderer and prometheus_client's generate_latest agree byte for byte
    (labels with quotes, backslashes and newlines included), on a first render and a cached one."""
    from prometheus_client import CollectorRegistry, generate_latest

    from podium.metrics.prom import SnapshotCollector, TextRenderer
    from podium.metrics.reader import MetricsReader

    feed.spend(0.25, session="s1", cwd='/repos/we"ird\\name', ts=time.time() - 60)
    feed.spend(0.75, session="s2", cwd="/repos/line\nbreak", ts=time.time() - 30)
    reader = MetricsReader(feed.store.path, Settings(), machine='box "1"')
    try:
        renderer = TextRenderer()
        for _ in range(2):
            snap = reader.snapshot()
            registry = CollectorRegistry(auto_describe=False)
            registry.register(SnapshotCollector(lambda snap=snap: snap))  # type: ignore[arg-type]
            assert renderer.render(snap) == generate_latest(registry)
            feed.spend(0.01, session="s1", cwd='/repos/we"ird\\name', ts=time.time() - 1)
    finally:
        reader.close()
