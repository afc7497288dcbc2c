"""Metrics: the Prometheus endpoint, OTLP push and alert webhooks (podium.metrics) under
`podium serve`, off unless the `metrics` / `webhooks` settings turn them on.

The service owns its own store connections and threads; starting and stopping it (a socket
bind, a last OTLP export, queued webhook deliveries) runs on the action lane, never the loop.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING

from lsprotocol import types

from podium.errors import PodiumError
from podium.server.features.base import Feature, Host
from podium.server.state import Core
from podium.settings import Settings

if TYPE_CHECKING:
    from podium.metrics.service import MetricsService

log = logging.getLogger(__name__)

#: what applying settings has to tell the user
Notes = list[tuple[types.MessageType, str]]


class MetricsFeature(Feature):
    def __init__(self, host: Host, pending: Callable[[], int] | None = None) -> None:
        super().__init__(host)
        self.pending = pending
        self.service: MetricsService | None = None

    async def started(self, core: Core) -> None:
        notes = await self.host.lanes.actions.run(self._apply, core.store.path, core.settings)
        for kind, note in notes:
            self.host.log_message(note, kind)

    def settings_changed(self, core: Core, old: Settings, new: Settings) -> list[str]:
        if self.service is None and not _enabled(new):
            return []
        # a restart binds a socket and may wait for a last export: off the core lane
        future = self.host.lanes.actions.submit(self._apply, core.store.path, new)
        future.add_done_callback(self._log_notes)
        return []

    def _log_notes(self, future: Future[Notes]) -> None:
        with contextlib.suppress(Exception):
            for kind, note in future.result():
                self.host.log_message(note, kind)

    def _apply(self, db_path: str, settings: Settings) -> Notes:
        """Start, reconfigure or stop the service for these settings (action lane)."""
        from podium.metrics.service import MetricsService

        try:
            if self.service is None:
                if not _enabled(settings):
                    return []
                service = MetricsService(db_path, settings, pending=self.pending)
                service.start()
                self.service = service
            else:
                self.service.update_settings(settings)
        except PodiumError as exc:
            return [(types.MessageType.Warning, f"settings: {exc}")]
        url = self.service.url
        return [(types.MessageType.Info, f"metrics: serving {url}")] if url else []

    def stop(self) -> None:
        """Stop the service (action lane, at shutdown)."""
        service, self.service = self.service, None
        if service is not None:
            try:
                service.stop()
            except Exception:
                log.exception("metrics: stopping failed")


def _enabled(settings: Settings) -> bool:
    from podium.metrics.config import config_from_settings

    return config_from_settings(settings).enabled
