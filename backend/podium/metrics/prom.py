"""The Prometheus endpoint: the store read at scrape time, in the text exposition format.

`SnapshotCollector` is a prometheus_client collector (for a registry: `podium metrics --once`,
anyone embedding Podium). The HTTP endpoint writes the same bytes itself with `TextRenderer`:
prometheus_client's `generate_latest` spends ~14 µs a sample validating and escaping label
names (20 ms for 1,500 series), while the label part of a series never changes between
scrapes, so it is kept and only the value is formatted. A test checks the two agree byte for
byte. prometheus_client is imported only here, when the endpoint is switched on.
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


def _sample_name(metric: MetricDef) -> str:
    return metric.prometheus_name + ("_total" if metric.kind == COUNTER else "")


def _escape(value: str) -> str:
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def _escape_help(text: str) -> str:
    return text.replace("\\", r"\\").replace("\n", r"\n")


class TextRenderer:
    """A snapshot in the text format, exactly as generate_latest writes SnapshotCollector's."""

    def __init__(self) -> None:
        self._headers = {
            m.name: (f"# HELP {_sample_name(m)} {_escape_help(m.help)}\n"
                     f"# TYPE {_sample_name(m)} {m.kind}\n")
            for m in CATALOG
        }  # fmt: skip
        #: (metric, labels, machine) → (label part 'name{label="value",...} ', last value,
        #: last line), from the last render
        self._series: dict[tuple[str, tuple[str, ...], str], tuple[str, float, str]] = {}

    def render(self, snap: Snapshot) -> bytes:
        out: list[str] = []
        previous, kept = self._series, {}
        for metric in CATALOG:
            out.append(self._headers[metric.name])
            names = metric.label_names
            order = sorted(range(len(names)), key=names.__getitem__)
            for labels, value in sorted(snap.series(metric).items()):
                key = (metric.name, labels, snap.machine)
                seen = previous.get(key)
                if seen is None:
                    values = (*labels, snap.machine)
                    pairs = ",".join(f'{names[i]}="{_escape(values[i])}"' for i in order)
                    prefix = f"{_sample_name(metric)}{{{pairs}}} "
                elif seen[1] == value:
                    kept[key] = seen
                    out.append(seen[2])
                    continue
                else:
                    prefix = seen[0]
                line = f"{prefix}{floatToGoString(value)}\n"
                kept[key] = (prefix, value, line)
                out.append(line)
        self._series = kept  # series gone from the store are forgotten
        return "".join(out).encode()


class PrometheusEndpoint:
    """`GET /metrics` on (host, port) in daemon threads; port 0 picks a free port."""

    def __init__(self, snapshot: Callable[[], Snapshot], host: str, port: int) -> None:
        renderer = TextRenderer()
        lock = threading.Lock()  # one render at a time: the snapshot is shared anyway

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.split("?", 1)[0] not in ("/metrics", "/"):
                    self._answer(404, b"not found: try /metrics\n", "text/plain")
                    return
                try:
                    with lock:
                        body = renderer.render(snapshot())
                except Exception:
                    # the scrape fails (`up` = 0 in Prometheus) rather than report wrong zeros
                    log.exception("metrics: reading the store failed")
                    self._answer(500, b"podium: reading the store failed (see its log)\n",
                                 "text/plain")  # fmt: skip
                    return
                self._answer(200, body, CONTENT_TYPE)

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
