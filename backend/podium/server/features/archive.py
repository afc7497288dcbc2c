"""Retention under `podium serve`: with `archiveOlderThanDays` set, once a month (checked at
start and every hour) the usage older than that moves into the monthly archive databases
(podium.store.archive) and the store shrinks. On the core lane, between ticks' other parts:
the store's one writer does it, so nothing is ingested into a table being moved. The month of
the last run is kept in the store (`meta`), so a restart does not archive twice."""

from __future__ import annotations

import logging
import time

from podium.server.features.base import Feature, Host
from podium.server.state import Tick

log = logging.getLogger(__name__)

CHECK_EVERY_S = 3600.0
META_KEY = "archive.month"
DAY_MS = 86_400_000


class ArchiveFeature(Feature):
    def __init__(self, host: Host) -> None:
        super().__init__(host)
        self.timer = host.scheduler.timer("archive.monthly", CHECK_EVERY_S)

    def tick(self, t: Tick) -> None:
        days = t.core.settings.archive_older_than_days
        if not days or not self.timer.take(t.mono):
            return
        store = t.core.store
        month = time.strftime("%Y-%m", time.gmtime(t.now))
        with store.lock:
            if store.get_meta(META_KEY) == month:
                return
        from podium.store.archive import archive
        from podium.usage.inbox import default_inbox_dir, prune

        started = time.perf_counter()
        cutoff = int(t.now * 1000) - days * DAY_MS
        try:
            result = archive(store, cutoff)
            # on the core lane like the inbox reads, so no file is pruned while being read
            result.inbox_pruned = prune(store, default_inbox_dir(store.path), cutoff)
        except Exception as exc:  # the store is as it was; retried at the next check
            log.exception("monthly archive failed")
            t.out.logs.append(f"archive: moving usage older than {days} days failed: {exc}")
            return
        with store.transaction():
            store.set_meta(META_KEY, month)
        log.info("archive: moved %d entries and %d records older than %d days into %d "
                 "month(s) in %.1fs; store %.1f MB → %.1f MB; %d inbox file(s) deleted",
                 result.entries, result.records, days, len(result.months),
                 time.perf_counter() - started, result.bytes_before / 1e6,
                 result.bytes_after / 1e6, len(result.inbox_pruned))  # fmt: skip
