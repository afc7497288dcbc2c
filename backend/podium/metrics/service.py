"""`MetricsService`: the one object `podium serve` and `podium metrics` start and stop.

    service = MetricsService(store_path, settings)     # config from settings.metrics/webhooks
    service.start()                                    # MetricsError if the port is taken
    service.update_settings(new_settings)              # restarts only what changed
    service.stop()

It owns its own store connections (a reader for /metrics and OTLP, one for the alert feed), so
it can run beside the server's core thread without sharing a `Store`. With /metrics on, the
reader is used by one thread only, the exposition's build thread (`exposition.py`); the HTTP
threads send what it built, and the OTLP push reads the same build.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from podium.errors import PodiumError
from podium.metrics.config import MetricsConfig, config_from_settings

log = logging.getLogger(__name__)


class MetricsError(PodiumError):
    """The endpoint or the push cannot start (port in use, packages missing)."""


class MetricsService:
    def __init__(self, db_path: str, settings: Any, config: MetricsConfig | None = None, *,
                 pending: Callable[[], int] | None = None, otlp_interval_s: float | None = None,
                 feed_poll_s: float = 0.5) -> None:  # fmt: skip
        self.db_path = db_path
        self.settings = settings
        self.config = config if config is not None else config_from_settings(settings)
        #: counts pending permission requests (thread-safe; called at scrape time)
        self.pending = pending
        self.otlp_interval_s = otlp_interval_s
        self.feed_poll_s = feed_poll_s
        self.reader: Any | None = None
        self.exposition: Any | None = None
        self.endpoint: Any | None = None
        self.otlp: Any | None = None
        self.webhooks: Any | None = None
        self.feed: Any | None = None

    @property
    def url(self) -> str | None:
        """The /metrics URL being served (with the real port when 0 was asked for)."""
        return self.endpoint.url if self.endpoint is not None else None

    def start(self) -> None:
        config = self.config
        if not config.enabled:
            return
        try:
            if config.listen is not None or config.otlp:
                from podium.metrics.reader import MetricsReader

                reader = MetricsReader(self.db_path, self.settings,
                                       machine=config.machine_name, pending=self.pending)  # fmt: skip
                self.reader = reader
                snapshot = reader.snapshot
                if config.listen is not None:
                    from podium.metrics.exposition import Exposition
                    from podium.metrics.prom import PrometheusEndpoint

                    exposition = Exposition(reader)
                    self.endpoint = PrometheusEndpoint(exposition.body, *config.listen)
                    # the first build sums the whole store (~1 s for 100 k entries): now, in
                    # the build thread, not in the first scrape
                    exposition.start()
                    self.exposition, snapshot = exposition, exposition.snapshot
                if config.otlp:
                    from podium.metrics.otlp import OtlpPush

                    self.otlp = OtlpPush(snapshot, reader.machine, interval_s=self.otlp_interval_s)
            if config.webhooks:
                from podium.metrics.webhooks import AlertFeed, Webhooks

                self.webhooks = Webhooks(config.webhooks, machine=config.machine_name)
                self.feed = AlertFeed(self.db_path, self.webhooks, poll_s=self.feed_poll_s)
                self.feed.start()
        except ImportError as exc:
            self.stop()
            raise MetricsError(f"metrics: a package is missing ({exc}); the OTLP push needs "
                               "`pip install 'podium[otlp]'`") from None
        except OSError as exc:
            self.stop()
            raise MetricsError(f"metrics: {exc}") from None

    def update_settings(self, settings: Any) -> None:
        """Apply new settings: a changed `metrics`/`webhooks` restarts the service, anything
        else (budgets, plan) reaches the reader."""
        self.settings = settings
        config = config_from_settings(settings)
        if config != self.config:
            self.stop()
            self.config = config
            self.start()
        elif self.reader is not None:
            self.reader.update_settings(settings)
            if self.exposition is not None:
                self.exposition.changed()

    def stop(self) -> None:
        """Stop everything started; the OTLP push exports once more, queued webhooks get a few
        seconds. Safe to call twice."""
        for name in ("feed", "endpoint", "exposition", "otlp", "webhooks", "reader"):
            part = getattr(self, name)
            setattr(self, name, None)
            if part is None:
                continue
            if name == "otlp" and self.reader is not None:
                # the last export reads the store as it is now, not the last build
                part.snapshot = self.reader.snapshot
            try:
                part.stop() if name == "feed" else part.close()
            except Exception:
                log.exception("metrics: stopping the %s failed", name)
