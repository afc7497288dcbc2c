"""The Prometheus text exposition format, and the HTTP endpoint that serves it.

`SnapshotCollector` is a prometheus_client collector (for a registry: `podium metrics --once`,
anyone embedding Podium). The endpoint writes the same bytes itself with `TextRenderer`:
prometheus_client's `generate_latest` spends ~14 µs a sample validating and escaping label
names (20 ms for 1,500 series), while the label part of a series never changes between
renders, so it is kept and only the value is formatted. A test checks the two agree byte for
byte. The endpoint only sends the bytes a callable gives it (`exposition.Exposition.body`,
built in the background); prometheus_client is imported only here, when it is switched on.
"""

from __future__ import annotations

import http.server
import logging
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client.utils import floatToGoString

from podium.metrics.catalog import CATALOG, COUNTER, MetricDef
from podium.metrics.reader import Snapshot

log = logging.getLogger(__name__)

#: the classic text format (what generate_latest writes), which every Prometheus reads
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class SnapshotCollector:
    """Yields every catalog metric from one snapshot per collection."""

    def __init__(self, snapshot: Callable[[], Snapshot]) -> None:
        self.snapshot = snapshot

    def describe(self) -> list:
        return []  # registering must not read the store

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        snap = self.snapshot()
        for metric in CATALOG:
            family = CounterMetricFamily if metric.kind == COUNTER else GaugeMetricFamily
            out = family(metric.prometheus_name, metric.help, labels=metric.label_names)
            for labels, value in sorted(snap.series(metric).items()):
                out.add_metric([*labels, snap.machine], value)
            yield out


class NotReady(Exception):
    """The body cannot be had yet (the first read of the store is still running): 503."""


def _sample_name(metric: MetricDef) -> str:
    return metric.prometheus_name + ("_total" if metric.kind == COUNTER else "")


def _escape(value: str) -> str:
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def _escape_help(text: str) -> str:
    return text.replace("\\", r"\\").replace("\n", r"\n")


def _header(metric: MetricDef) -> str:
    return (f"# HELP {_sample_name(metric)} {_escape_help(metric.help)}\n"
            f"# TYPE {_sample_name(metric)} {metric.kind}\n")  # fmt: skip


def _prefix(metric: MetricDef, values: tuple[str, ...]) -> str:
    """`name{label="value",...} ` with the labels in name order, as generate_latest writes."""
    names = metric.label_names
    pairs = ",".join(f'{names[i]}="{_escape(values[i])}"'
                     for i in sorted(range(len(names)), key=names.__getitem__))  # fmt: skip
    return f"{_sample_name(metric)}{{{pairs}}} "


def render_metric(metric: MetricDef, snap: Snapshot) -> bytes:
    """One metric's lines, nothing kept (for the few series formatted at every scrape)."""
    lines = [_header(metric)]
    for labels, value in sorted(snap.series(metric).items()):
        lines.append(f"{_prefix(metric, (*labels, snap.machine))}{floatToGoString(value)}\n")
    return "".join(lines).encode()


class TextRenderer:
    """A snapshot in the text format, exactly as generate_latest writes SnapshotCollector's.
    One thread's: it keeps each series' label part from the last render."""

    def __init__(self) -> None:
        self._headers = {m.name: _header(m) for m in CATALOG}
        #: (metric, labels, machine) → (label part 'name{label="value",...} ', last value,
        #: last line), from the last render
        self._series: dict[tuple[str, tuple[str, ...], str], tuple[str, float, str]] = {}

    def render(self, snap: Snapshot) -> bytes:
        return b"".join(self.parts(snap))

    def parts(self, snap: Snapshot) -> list[bytes]:
        """The text of each CATALOG metric, in catalog order."""
        out: list[bytes] = []
        previous, kept = self._series, {}
        for metric in CATALOG:
            lines = [self._headers[metric.name]]
            for labels, value in sorted(snap.series(metric).items()):
                key = (metric.name, labels, snap.machine)
                seen = previous.get(key)
                if seen is None:
                    prefix = _prefix(metric, (*labels, snap.machine))
                elif seen[1] == value:
                    kept[key] = seen
                    lines.append(seen[2])
                    continue
                else:
                    prefix = seen[0]
                line = f"{prefix}{floatToGoString(value)}\n"
                kept[key] = (prefix, value, line)
                lines.append(line)
            out.append("".join(lines).encode())
        self._series = kept  # series gone from the store are forgotten
        return out


class PrometheusEndpoint:
    """`GET /metrics` on (host, port) in daemon threads; port 0 picks a free port. Each
    request calls `body()` (which must be quick and thread-safe) and sends what it returns."""

    def __init__(self, body: Callable[[], bytes], host: str, port: int) -> None:
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.split("?", 1)[0] not in ("/metrics", "/"):
                    self._answer(404, b"not found: try /metrics\n", "text/plain")
                    return
                try:
                    text = body()
                except NotReady as exc:
                    self._answer(503, f"podium: {exc}\n".encode(), "text/plain")
                    return
                except Exception:
                    # the scrape fails (`up` = 0 in Prometheus) rather than report wrong zeros
                    log.exception("metrics: reading the store failed")
                    self._answer(500, b"podium: reading the store failed (see its log)\n",
                                 "text/plain")  # fmt: skip
                    return
                self._answer(200, text, CONTENT_TYPE)

            def _answer(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True
            address_family = socket.AF_INET6 if ":" in host else socket.AF_INET

        try:
            self._server = Server((host, port), Handler)
        except OSError as exc:
            raise OSError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="podium-metrics-http", daemon=True)  # fmt: skip
        self._thread.start()
        self.host = host
        self.port = int(self._server.server_address[1])

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
