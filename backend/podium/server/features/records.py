"""Usage logged from anywhere (podium.usage.records): the `podium/logUsage` request and the
inbox folder, watched and read incrementally. What they write counts at once: the tick hands
it on as ingested usage, so cards, budgets and the status bar see it like a CLI's log lines.
The tick also stores the plan figures the other CLIs' logs carried (limits/cli_plans.py).

The request and the inbox reads run on the core lane (the core connection); the watcher runs on
the loop and only collects changed paths.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from typing import Any

from podium.errors import InvalidInput
from podium.server import protocol as proto
from podium.server.features.base import Feature, Handler, Host
from podium.server.state import Core, Tick
from podium.usage.inbox import Inbox, default_inbox_dir

log = logging.getLogger(__name__)

DEBOUNCE_MS = 50


class RecordsFeature(Feature):
    def __init__(self, host: Host, usage: Any) -> None:
        super().__init__(host)
        self.usage = usage
        self._lock = threading.Lock()  # guards the two fields below (loop and core lane)
        self._paths: set[str] = set()
        # core lane only
        self._inbox: Inbox | None = None
        self._written_entries = 0
        self._sessions: set[str] = set()
        self._cwds: set[str] = set()

    def handlers(self) -> dict[str, Handler]:
        return {proto.LOG_USAGE: self.log_usage_request}

    # -- podium/logUsage ------------------------------------------------------------------------
    async def log_usage_request(self, params: Any) -> proto.LogUsageResult:
        raws = _records_of(params)
        core = await self.host.ready()
        outcome = await self.host.lanes.core.run(self.log_usage, core, raws)
        self.host.wake()
        return proto.LogUsageResult.model_validate(outcome)

    def log_usage(self, core: Core, raws: list[Any]) -> dict[str, Any]:
        """Validate each record (a bad one is named, the others kept) and write them."""
        from podium.usage.records import RecordError, parse_record, write_records

        records, errors = [], []
        for index, raw in enumerate(raws):
            try:
                records.append(parse_record(raw, via="request"))
            except RecordError as exc:
                errors.append({"index": index, "field": exc.field, "message": str(exc)})
        with core.store.transaction() as conn:
            new, entries = write_records(conn, records)
        self._note_written(entries, records)
        return {"accepted": len(records), "new": new, "duplicates": len(records) - new,
                "errors": errors}  # fmt: skip

    # -- the inbox ------------------------------------------------------------------------------
    async def started(self, core: Core) -> None:
        directory = await self.host.lanes.core.run(self._open_inbox, core)
        watching = asyncio.Event()
        self.host.spawn_task(self._watch(directory, watching), "podium-inbox")
        await watching.wait()
        # only now read what is there: a line written before the watch began is read here,
        # one written after it is an event
        await self.host.lanes.core.run(self.read_inbox, core, None)

    def _open_inbox(self, core: Core) -> str:
        self._inbox = Inbox(core.store, default_inbox_dir(core.store.path))
        os.makedirs(self._inbox.directory, mode=0o700, exist_ok=True)
        return self._inbox.directory

    async def _watch(self, directory: str, watching: asyncio.Event) -> None:
        from watchfiles import awatch

        # `watching` wakes its waiter only once this task next awaits: inside the first step of
        # awatch, after its inotify watch exists (it is set up before awatch first awaits)
        watching.set()
        try:
            # the task is cancelled when the server closes
            async for changes in awatch(directory, debounce=DEBOUNCE_MS, step=5, recursive=True,
                                        ignore_permission_denied=True):  # fmt: skip
                paths = {p for _change, p in changes if p.endswith(".jsonl")}
                if paths:
                    with self._lock:
                        self._paths |= paths
                    self.host.wake()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("inbox watcher failed")

    def read_inbox(self, core: Core, paths: list[str] | None) -> None:
        if self._inbox is None:
            return
        result = self._inbox.run(paths)
        for error in result.errors:
            log.warning("inbox: %s", error)
        if result.written:
            self._note_written(result.llm_written, [])

    # -- the tick (core lane) -------------------------------------------------------------------
    def tick(self, t: Tick) -> None:
        with self._lock:
            paths, self._paths = self._paths, set()
        if paths:
            self.read_inbox(t.core, sorted(paths))
        self._plan_figures(t)
        if not self._written_entries:
            return
        from podium.usage.ingest import IngestResult

        if t.ingested is None:
            t.ingested = IngestResult()
        # later parts (agent activity, limits, figures) treat it as freshly ingested usage
        t.ingested.entries_written += self._written_entries
        t.ingested.sessions |= self._sessions
        t.ingested.cwds |= self._cwds
        self.usage.figures_timer.ask()
        self._written_entries = 0
        self._sessions, self._cwds = set(), set()

    def _plan_figures(self, t: Tick) -> None:
        """Plan figures the CLIs' logs carried (Codex's rate_limits) into plan_snapshots; the
        status bar shows them at its next render."""
        from podium.limits.cli_plans import record_adapter_figures

        with t.core.store.lock:
            written = record_adapter_figures(t.core.store, t.core.ingestor.adapters)
        if written:
            self.usage.figures_timer.ask()

    def _note_written(self, entries: int, records: list[Any]) -> None:
        self._written_entries += entries
        for record in records:
            if record.session_key:
                self._sessions.add(record.session_key)
            if record.cwd:
                self._cwds.add(record.cwd)


def _records_of(params: Any) -> list[Any]:
    """`{records: [...]}` (a batch) or one record object (proto.LogUsageParams). Not through
    parse_params: a bad record must not fail the others (records.py names it)."""
    if isinstance(params, list | tuple) and len(params) == 1 and isinstance(params[0], dict):
        params = params[0]  # executeCommand-style positional params
    if not isinstance(params, dict):
        raise InvalidInput("invalid params: expected a record or {records: [...]}",
                           field="params")  # fmt: skip
    if "records" not in params:
        return [params]
    records = params["records"]
    if not isinstance(records, list):
        raise InvalidInput("invalid params: records: must be a list", field="records")
    if len(records) > proto.MAX_LOG_RECORDS:
        raise InvalidInput(f"invalid params: records: at most {proto.MAX_LOG_RECORDS:,} per "
                           "request", field="records")  # fmt: skip
    return records
