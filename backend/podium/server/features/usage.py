"""Usage: logs in (the history at start-up, then the live tail) and figures out (the
`podium/usageSummary` request, and the today / month / API / plan figures of the status bar).

The tail runs on the loop and only collects changed paths; ingest and every query run on the
core lane.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from lsprotocol import types

from podium.domain.periods import day_bounds, month_bounds
from podium.server import protocol as proto
from podium.server.features.base import Feature, Handler, Host
from podium.server.scheduler import FIGURES_AFTER_INGEST_S, FIGURES_EVERY_S
from podium.server.state import Core, Tick
from podium.server.tail import LogTail
from podium.settings import Settings
from podium.views.summary import render_usage_summary

log = logging.getLogger(__name__)

PROGRESS_TOKEN = "podium/ingest"
#: a log dir that appears after the start (a CLI's first run ever) is read and watched this soon
ROOTS_EVERY_S = 10.0


def local_midnight(now: float) -> float:
    """Start of the local day, as the limits engine bounds its daily budget (DST-exact)."""
    return day_bounds(now, None)[0] / 1000


def local_month_start(now: float) -> float:
    return month_bounds(now, None)[0] / 1000


class UsageFeature(Feature):
    def __init__(self, host: Host, agents: Any) -> None:
        super().__init__(host)
        self.agents = agents
        #: figures that need queries: at most this old, refreshed soon after an ingest (by
        #: the status render, or a usage summary)
        self.figures_timer = host.scheduler.timer(
            "usage.figures", FIGURES_EVERY_S, soon=FIGURES_AFTER_INGEST_S
        )
        self.figures: dict[str, Any] = {}  # core lane
        self.roots_timer = host.scheduler.timer("usage.roots", ROOTS_EVERY_S)
        # loop only
        self.tail: LogTail | None = None
        self._paths: set[str] = set()
        self._core: Core | None = None
        #: the dirs the tail watches (set on the loop, read by the tick); a new one re-tails
        self._watched: frozenset[str] = frozenset()
        self._rewatch = False

    def handlers(self) -> dict[str, Handler]:
        return {proto.USAGE_SUMMARY: self.usage_summary_request}

    # -- logs in (loop) -------------------------------------------------------------------------
    async def started(self, core: Core) -> None:
        self._core = core
        await self._ingest_history(core)
        self._start_tail(core)

    def _start_tail(self, core: Core) -> None:
        from podium.server.tail import watch_dirs

        if self.tail is not None:
            self.tail.stop()
        self._watched = frozenset(map(str, watch_dirs(core.ingestor)))
        self.tail = LogTail(core.ingestor, self._on_log_paths)
        self.host.spawn_task(self.tail.run(), "podium-tail")

    def _on_log_paths(self, paths: set[str]) -> None:
        self._paths |= paths
        self.host.wake()

    def take_paths(self) -> set[str]:
        """The log files that changed since the last tick (loop)."""
        paths, self._paths = self._paths, set()
        return paths

    def requeue_paths(self, paths: set[str]) -> None:
        """Paths a failed tick took (loop): read at the next one."""
        self._paths |= paths

    def stop(self) -> None:
        if self.tail is not None:
            self.tail.stop()

    def settings_applied(self, old: Settings, new: Settings) -> None:
        """Watch the log roots the ingestor has now (loop, after settings_changed)."""
        changed = old.claude_config_dirs != new.claude_config_dirs
        if changed and self._core is not None and self.tail is not None:
            self._start_tail(self._core)

    async def _ingest_history(self, core: Core) -> None:
        host = self.host
        caps = host.client_capabilities
        progress = bool(caps and caps.window and caps.window.work_done_progress)
        if progress:
            try:
                await asyncio.wait_for(host.work_done_progress.create_async(PROGRESS_TOKEN), 5)
            except Exception:
                progress = False
        if progress:
            host.work_done_progress.begin(
                PROGRESS_TOKEN,
                types.WorkDoneProgressBegin(
                    title="Podium: reading usage history", percentage=0, cancellable=False
                ),
            )
        started = time.perf_counter()
        try:
            result = await host.lanes.core.run(self.ingest_history, core)
            message = (
                f"{result.entries_written:,} entries from {result.files_read:,} files "
                f"in {time.perf_counter() - started:.1f}s"
            )
        except Exception as exc:
            log.exception("history ingest failed")
            message = f"reading usage history failed: {exc}"
            host.log_message(message, types.MessageType.Error)
        if progress:
            host.work_done_progress.end(PROGRESS_TOKEN, types.WorkDoneProgressEnd(message=message))
        host.log_message(f"ingest: {message}")

    # -- logs in (core lane) --------------------------------------------------------------------
    def ingest_history(self, core: Core) -> Any:
        result = core.ingest()
        self.figures_timer.ask()
        return result

    def tick(self, t: Tick) -> None:
        if self.tail is not None and self.roots_timer.take(t.mono) and self._new_dirs(t.core):
            t.ingested = t.core.ingest()  # what the new dirs already hold; then they are watched
            self._rewatch = True
        elif t.paths:
            t.ingested = t.core.ingest(sorted(t.paths))
        if t.ingested is not None and t.ingested.entries_written:
            self.figures_timer.ask()

    def _new_dirs(self, core: Core) -> bool:
        """A log dir exists now that the tail does not watch (~/.codex/sessions after the first
        `codex` run, a Gemini project's chats)."""
        from podium.server.tail import watch_dirs

        return bool(frozenset(map(str, watch_dirs(core.ingestor))) - self._watched)

    def publish(self, result: Any) -> None:
        if self._rewatch and self._core is not None:  # loop: the tail lives here
            self._rewatch = False
            self._start_tail(self._core)

    def settings_changed(self, core: Core, old: Settings, new: Settings) -> list[str]:
        if old.claude_config_dirs == new.claude_config_dirs:
            return []
        from podium.usage.adapters import default_adapters

        # the tail re-watches the new roots (settings_applied); their history is read now
        core.ingestor.adapters = default_adapters(new.claude_config_dirs or None)
        try:
            self.ingest_history(core)
        except Exception as exc:  # the store stays as it was; the next tick retries files
            return [f"settings: reading the new log roots failed: {exc}"]
        return []

    # -- figures (core lane) --------------------------------------------------------------------
    def refresh_figures(self, core: Core, now: float, agents_working: bool) -> None:
        from podium.usage.queries import totals

        figures: dict[str, Any] = {}
        midnight_ms = int(local_midnight(now) * 1000)
        with core.store.lock:
            today = totals(core.store, since_ms=midnight_ms, prices=core.prices)
            figures["today"] = today
            if core.settings.limits.monthly_usd:  # the monthly budget counts all usage too
                month_ms = int(local_month_start(now) * 1000)
                figures["month_all"] = totals(core.store, since_ms=month_ms,
                                              prices=core.prices).cost_usd  # fmt: skip
            plan = None
            if core.limits is not None:
                try:
                    plan = core.limits.plan_status(now=now, agents_working=agents_working)
                    figures["api"] = core.limits.api_spend(now=now)
                except Exception:
                    log.exception("plan_status/api_spend failed")
            if "api" not in figures:
                figures["api"] = self._api_spend_fallback(core, now, today.cost_usd)
        figures["plan_status"] = plan
        self.figures = figures

    def _api_spend_fallback(self, core: Core, now: float, today_all: float) -> tuple[float, float]:
        """Without the limits engine: API spend = api-source agents' usage (all in api mode)."""
        from podium.usage.queries import totals

        month_ms = int(local_month_start(now) * 1000)
        midnight_ms = int(local_midnight(now) * 1000)
        if core.settings.auth_mode == "api":
            month = totals(core.store, since_ms=month_ms, prices=core.prices).cost_usd
            return today_all, month
        api_agents = [a for a in (core.manager.list() if core.manager else []) if a.source == "api"]
        if not api_agents:
            return 0.0, 0.0
        day = totals(core.store, since_ms=midnight_ms, agents=api_agents,
                     prices=core.prices).cost_usd  # fmt: skip
        month = totals(core.store, since_ms=month_ms, agents=api_agents,
                       prices=core.prices).cost_usd  # fmt: skip
        return day, month

    def working(self) -> bool:
        return any(c.status == "working" for c in self.agents.cards.values())

    # -- podium/usageSummary --------------------------------------------------------------------
    async def usage_summary_request(self, params: Any) -> proto.UsageSummary:
        proto.parse_params(proto.EmptyParams, params)
        core = await self.host.ready()
        return await self.host.lanes.core.run(self.usage_summary, core)

    def usage_summary(self, core: Core) -> proto.UsageSummary:
        now = time.time()
        self.refresh_figures(core, now, self.working())
        self.figures_timer.ran(time.monotonic())
        return render_usage_summary(
            mode=core.settings.auth_mode, now=now, plan=self.figures.get("plan_status"),
            api_spend=self.figures["api"], today=self.figures.get("today"),
            limits=core.settings.limits, on_limit=core.settings.on_limit,
            cards=list(self.agents.listing), insight_count=len(core.insights(now)),
        )  # fmt: skip
