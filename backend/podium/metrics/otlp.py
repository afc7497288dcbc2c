"""Opt-in OTLP/HTTP push of the same metrics, with the OpenTelemetry SDK.

The exporter reads the standard `OTEL_EXPORTER_OTLP_*` variables (endpoint, headers, timeout,
compression, certificates), the reader `OTEL_METRIC_EXPORT_INTERVAL`, and the resource
`OTEL_RESOURCE_ATTRIBUTES` / `OTEL_SERVICE_NAME` (e.g. `team=…,user=…`). Temporality is
cumulative: each export carries the store's totals, equal to what Prometheus scrapes.
`close()` exports once more, so a session too short for the export interval is still seen.
The SDK is imported only here, when the push is switched on.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

from podium.metrics.catalog import CATALOG, COUNTER, MetricDef
from podium.metrics.reader import Snapshot


class OtlpPush:
    """Exports what `snapshot()` returns (`MetricsReader.snapshot`, or `Exposition.snapshot`
    when /metrics is on too) every interval; `machine` names the resource's host."""

    def __init__(self, snapshot: Callable[[], Snapshot], machine: str, *,
                 interval_s: float | None = None) -> None:  # fmt: skip
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

        self.snapshot = snapshot
        exporter = OTLPMetricExporter()
        periodic = PeriodicExportingMetricReader(
            exporter, export_interval_millis=None if interval_s is None else interval_s * 1000
        )
        self.provider = MeterProvider(resource=_resource(machine),
                                      metric_readers=[periodic])  # fmt: skip
        meter = self.provider.get_meter("podium")
        for metric in CATALOG:
            create = (meter.create_observable_counter if metric.kind == COUNTER
                      else meter.create_observable_gauge)  # fmt: skip
            create(metric.otlp_name, callbacks=[self._callback(metric)], unit=metric.unit,
                   description=metric.help)  # fmt: skip

    def _callback(self, metric: MetricDef) -> Callable[[Any], Iterable[Any]]:
        from opentelemetry.metrics import Observation

        def observe(_options: Any) -> Iterable[Any]:
            # one collection calls every callback within MAX_AGE_S: one store read
            snap = self.snapshot()
            names = metric.label_names
            return [Observation(value, dict(zip(names, (*labels, snap.machine), strict=True)))
                    for labels, value in snap.series(metric).items()]  # fmt: skip

        return observe

    def close(self, timeout_s: float = 15.0) -> None:
        self.provider.shutdown(timeout_millis=timeout_s * 1000)


def _resource(machine: str) -> Any:
    """service.name `podium` and host.name the machine, unless the environment says otherwise;
    every `OTEL_RESOURCE_ATTRIBUTES` pair is kept."""
    from opentelemetry.sdk.resources import OTELResourceDetector, Resource

    from_env = OTELResourceDetector().detect().attributes
    ours = {"service.name": "podium", "host.name": machine}
    if os.environ.get("OTEL_SERVICE_NAME"):
        ours.pop("service.name")
    return Resource.create({k: v for k, v in ours.items() if k not in from_env})
