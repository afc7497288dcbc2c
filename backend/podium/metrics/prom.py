"""The Prometheus endpoint: a custom collector that reads the store at scrape time.

prometheus_client is imported only here, when the endpoint is switched on.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from podium.metrics.catalog import CATALOG, COUNTER
from podium.metrics.reader import MetricsReader

log = logging.getLogger(__name__)


class SnapshotCollector:
    """Yields every catalog metric from one `MetricsReader.snapshot()` per scrape."""

    def __init__(self, reader: MetricsReader) -> None:
        self.reader = reader

    def describe(self) -> list:
        return []  # registering must not read the store

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        try:
            snap = self.reader.snapshot()
        except Exception:
            # the scrape fails (HTTP 500, `up` = 0 in Prometheus) rather than report wrong zeros
            log.exception("metrics: reading the store failed")
            raise
        for metric in CATALOG:
            family = CounterMetricFamily if metric.kind == COUNTER else GaugeMetricFamily
            out = family(metric.prometheus_name, metric.help, labels=metric.label_names)
            for labels, value in sorted(snap.series(metric).items()):
                out.add_metric([*labels, snap.machine], value)
            yield out


class PrometheusEndpoint:
    """`/metrics` over HTTP on (host, port) in a daemon thread; port 0 picks a free port."""

    def __init__(self, reader: MetricsReader, host: str, port: int) -> None:
        from prometheus_client import CollectorRegistry, start_http_server

        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(SnapshotCollector(reader))  # type: ignore[arg-type]
        try:
            self._server, self._thread = start_http_server(port, addr=host, registry=self.registry)
        except OSError as exc:
            raise OSError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
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
