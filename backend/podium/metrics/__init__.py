"""Metrics and alerts out: a Prometheus endpoint, an OTLP push and alert webhooks.

Core side: reads the store and the limits engine; the server only starts a `MetricsService`.
Heavy packages (prometheus_client, the OpenTelemetry SDK) are imported only when switched on.

- `catalog`: the metric names and labels (docs/metrics.md)
- `aggregate`: usage sums by label set, incremental; `reader`: the store → a `Snapshot`
- `exposition`: the /metrics text, built once per change in a thread of its own
- `prom`, `otlp`: the two exporters; `webhooks`: alert delivery and the alert feed
- `service`: `MetricsService` (start/stop/update_settings); `cli`: `podium metrics`
"""
