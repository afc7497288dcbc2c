"""The OTLP/HTTP push, received by a local receiver that decodes the protobuf."""

from __future__ import annotations

import gzip
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from tests.metrics.helpers import Feed, receiver, wait_for

from podium.store import Store
from podium.usage.queries import totals

PODIUM = [sys.executable, "-m", "podium"]


def decode(body: bytes) -> ExportMetricsServiceRequest:
    if body[:2] == b"\x1f\x8b":
        body = gzip.decompress(body)
    request = ExportMetricsServiceRequest()
    request.ParseFromString(body)
    return request


def points(request: ExportMetricsServiceRequest, name: str) -> list[tuple[dict[str, str], float]]:
    out = []
    for rm in request.resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                if metric.name != name:
                    continue
                data = metric.sum if metric.HasField("sum") else metric.gauge
                if metric.HasField("sum"):
                    assert metric.sum.is_monotonic
                    assert metric.sum.aggregation_temporality == 2  # cumulative
                for dp in data.data_points:
                    attrs = {a.key: a.value.string_value for a in dp.attributes}
                    out.append((attrs, dp.as_double if dp.HasField("as_double") else dp.as_int))
    return out


def resource(request: ExportMetricsServiceRequest) -> dict[str, str]:
    return {a.key: a.value.string_value for a in request.resource_metrics[0].resource.attributes}


def _start(tmp_path: Path, claude_dir: Path, endpoint: str, interval_ms: int) -> subprocess.Popen:
    env = dict(os.environ, OTEL_EXPORTER_OTLP_ENDPOINT=endpoint,
               OTEL_METRIC_EXPORT_INTERVAL=str(interval_ms),
               OTEL_RESOURCE_ATTRIBUTES="team=core,user=ana")  # fmt: skip
    env.pop("OTEL_SERVICE_NAME", None)
    proc = subprocess.Popen([*PODIUM, "metrics", "--otlp", "--machine", "laptop-7",
                             "--db", str(tmp_path / "podium.db"), "--claude-config-dir",
                             str(claude_dir), "--ingest-every", "0.2"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)  # fmt: skip
    assert proc.stdout is not None
    assert "pushing OTLP" in proc.stdout.readline()
    return proc


def test_otlp_push_carries_the_store_totals(tmp_path: Path, claude_dir: Path) -> None:
    writer = Feed(claude_dir, Store(tmp_path / "writer.db"))
    now = time.time()
    writer.spend(0.25, session="s1", cwd="/repos/shop", ts=now - 60)
    writer.spend(0.50, session="s2", cwd="/repos/infra", ts=now - 30)
    with receiver() as rec:
        proc = _start(tmp_path, claude_dir, rec.url, 200)
        try:
            wait_for(lambda: rec.bodies("/v1/metrics"), timeout=20, message="an OTLP export")
            request = decode(rec.bodies("/v1/metrics")[-1])
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(30) == 0
    store = Store(tmp_path / "podium.db")
    try:
        expected = totals(store)
    finally:
        store.close()
    cost = points(request, "podium.cost_usd")
    assert math.isclose(sum(v for _, v in cost), expected.cost_usd)
    assert math.isclose(sum(v for a, v in cost if a["project"] == "infra"), 0.50)
    assert {a["machine"] for a, _ in cost} == {"laptop-7"}
    tokens = points(request, "podium.tokens")
    assert sum(v for a, v in tokens if a["type"] == "input") == expected.input == 750_000
    assert {a["status"] for a, _ in points(request, "podium.agents")} >= {"working", "stopped"}
    attrs = resource(request)
    assert attrs["team"] == "core" and attrs["user"] == "ana"  # OTEL_RESOURCE_ATTRIBUTES
    assert attrs["service.name"] == "podium" and attrs["host.name"] == "laptop-7"
    writer.store.close()


def test_a_short_session_is_exported_when_it_stops(tmp_path: Path, claude_dir: Path) -> None:
    """An export interval longer than the run: stopping still pushes the figures once."""
    writer = Feed(claude_dir, Store(tmp_path / "writer.db"))
    writer.spend(0.30, session="s1", cwd="/repos/shop", ts=time.time() - 60)
    with receiver() as rec:
        proc = _start(tmp_path, claude_dir, rec.url, 600_000)
        assert rec.bodies() == []
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
        bodies = rec.bodies("/v1/metrics")
    assert len(bodies) == 1
    assert math.isclose(sum(v for _, v in points(decode(bodies[0]), "podium.cost_usd")), 0.30)
    writer.store.close()
