"""Status: the `podium/statusBar` text, rendered on the core lane, sent from the loop.

Rendered at least every STATUS_EVERY_S (the tooltip shows time in state), soon after a card
changed or new usage came in, and never more than 10 times a second; sent only when it differs
from the last one sent, at most once per STATUS_MIN_GAP_S (docs/protocol.md §Notifications).
"""

from __future__ import annotations

import time
from typing import Any

from podium.server import protocol as proto
from podium.server.features.base import Feature, Host
from podium.server.scheduler import NEVER, STATUS_EVERY_S, STATUS_MIN_GAP_S
from podium.server.state import Core, Tick, TickResult
from podium.views.status import PlanFigure, StatusInputs, render_status_bar


class StatusFeature(Feature):
    def __init__(self, host: Host, agents: Any, usage: Any) -> None:
        super().__init__(host)
        self.agents = agents
        self.usage = usage
        self.render = host.scheduler.timer("status.render", STATUS_EVERY_S, soon=0.0,
                                           min_gap=STATUS_MIN_GAP_S)  # fmt: skip
        usage.figures_timer.within = self.render  # figures are refreshed by the render
        # loop only: the send gate
        self._sent: proto.StatusBar | None = None
        self._sent_at = -NEVER
        self._pending: proto.StatusBar | None = None
        self._override: proto.StatusBar | None = None

    # -- the tick (core lane) -------------------------------------------------------------------
    def tick(self, t: Tick) -> None:
        figures = self.usage.figures_timer
        refresh = t.force or figures.due(t.mono)  # decided before the render runs (`within`)
        if t.out.cards or t.out.removed or refresh:
            self.render.ask()
        if self.render.take(t.mono, force=t.force):
            if refresh:
                figures.ran(t.mono)
                self.usage.refresh_figures(t.core, t.now, self.usage.working())
            t.out.status = self.status_bar(t.core, t.now)

    def status_bar(self, core: Core, now: float) -> proto.StatusBar:
        cards = sorted(self.agents.cards.values(), key=lambda c: c.started_at)
        return render_status_bar(self.status_inputs(core, now, cards))

    def status_inputs(self, core: Core, now: float, cards: list[proto.AgentCard]) -> StatusInputs:
        figures = self.usage.figures
        settings = core.settings
        plan_status = figures.get("plan_status")
        headline = None
        if plan_status is not None:
            window = plan_status.five_hour or plan_status.seven_day
            if window is not None:
                headline = PlanFigure(
                    window=window.window, used_pct=window.used_pct, source=window.source,
                    observed_at=window.observed_at, stale=window.stale,
                    stale_reason=window.stale_reason,
                )  # fmt: skip
        api_today, api_month = figures.get("api", (0.0, 0.0))
        today = figures.get("today")
        limits = settings.limits
        # the daily and monthly budgets count all usage (docs/limits.md), as the limits engine
        # that acts on them does, not only the API-billed part
        budget_pcts = []
        if limits.daily_usd:
            today_all = today.cost_usd if today is not None else 0.0
            budget_pcts.append(100.0 * today_all / limits.daily_usd)
        if limits.monthly_usd:
            budget_pcts.append(100.0 * figures.get("month_all", 0.0) / limits.monthly_usd)
        return StatusInputs(
            cli_plans=self.cli_plans(core, now),
            mode=settings.auth_mode,
            cards=cards,
            plan=headline,
            api_today_usd=api_today,
            api_month_usd=api_month,
            today_usd=today.cost_usd if today is not None else 0.0,
            budget_pcts=budget_pcts,
            plan_errors=list(plan_status.errors) if plan_status is not None else [],
            warning_at=settings.warning_at,
            critical_at=settings.critical_at,
            now=now,
            unpriced_models=list(today.unpriced_models) if today is not None else [],
        )

    def cli_plans(self, core: Core, now: float) -> list[tuple[str, PlanFigure]]:
        """Other CLIs' plan figures (Codex's `rate_limits`: limits/cli_plans.py)."""
        from podium.limits.cli_plans import cli_plan_windows

        with core.store.lock:
            windows = cli_plan_windows(core.store, now, self.usage.working())
        return [(label, PlanFigure(window=w.window, used_pct=w.used_pct, source=w.source,
                                   observed_at=w.observed_at, stale=w.stale,
                                   stale_reason=w.stale_reason))
                for label, w in windows]  # fmt: skip

    # -- sending (loop) -------------------------------------------------------------------------
    def override(self, fields: dict[str, Any] | None) -> None:
        """A status bar that replaces the rendered ones while set (store trouble:
        server/store_guard.py), sent now; None goes back to the rendered ones."""
        status = proto.StatusBar.model_validate(fields) if fields is not None else None
        if status == self._override:
            return
        self._override = status
        if status is not None:
            self._pending, self._sent_at = status, -NEVER
            self.flush()
        else:
            self._sent = None  # the next rendered one is sent, even if unchanged since

    def publish(self, result: TickResult) -> None:
        if self._override is not None:
            self.flush()
            return
        if result.status is not None:
            status = result.status
            changed = result.forced or status != self._sent
            self._pending = status if changed else None
        self.flush()

    def flush(self) -> None:
        status = self._pending
        if status is None:
            return
        now = time.monotonic()
        if now - self._sent_at < STATUS_MIN_GAP_S:
            return  # the pump wakes at next_send_at()
        self.host.notify(proto.STATUS_BAR, status)
        self._sent = status
        self._sent_at = now
        self._pending = None

    def next_send_at(self) -> float:
        return self._sent_at + STATUS_MIN_GAP_S if self._pending is not None else NEVER
