"""What agents report on their own: permission requests (one alert each), the plan figures of
Claude Code's `rate_limit_event` (official snapshots: the status bar's `Plan: 67%` without a
statusLine), and rate limits (one alert per agent and reset, then the `onRateLimit` action:
wait, pause, or continue the session under the API key in `apiKeyEnv`).

All on the core lane, after the agents' part of the tick (the cards are fresh); a pause or a
switch is carried out on the action lane (`AgentsFeature.carry_out`).
"""

from __future__ import annotations

import logging
import os
from typing import Any

from podium.agents.reducer import USAGE_LIMIT_REASON
from podium.limits import plans
from podium.server.features.base import Feature, Host
from podium.server.state import AgentAction, Core, Tick
from podium.views.alerts import permission_alert, rate_limit_alert

log = logging.getLogger(__name__)

#: request ids alerted, kept while they are pending (bounded by what is pending)
_ALERTED_KEPT = 10_000


class ReportsFeature(Feature):
    def __init__(self, host: Host, usage: Any) -> None:
        super().__init__(host)
        self.usage = usage
        # core lane only
        self._alerted: set[str] = set()  # permission request ids
        self._limited: set[tuple[str, str]] = set()  # (agent id, reason) alerted

    def tick(self, t: Tick) -> None:
        manager = t.core.manager
        if manager is None:
            return
        self._plan_figures(t.core, manager.take_plan_updates(), t.now)
        for agent in t.agents.values():
            self._permission_alerts(agent, t)
            if str(agent.status) == "rateLimited":
                self._rate_limited(t.core, agent, t)

    # -- plan figures -----------------------------------------------------------------------------
    def _plan_figures(self, core: Core, updates: list[tuple[Any, Any]], now: float) -> None:
        written = 0
        for agent, info in updates:
            windows = {w.window: {"utilization": w.utilization, "resets_at": w.resets_at}
                       for w in info.windows}  # fmt: skip
            figures = plans.sanitize_rate_limits(windows, now, scale=100.0)
            try:
                with core.store.lock:
                    written += plans.record_snapshots(core.store, "official", figures,
                                                      session_id=agent.claude_session_id, now=now)  # fmt: skip
            except Exception:  # a busy store: the next event brings the figure again
                log.exception("recording an agent's plan figures failed")
        if written:
            self.usage.figures_timer.ask()  # the status bar shows it soon

    # -- permission requests ------------------------------------------------------------------------
    def _permission_alerts(self, agent: Any, t: Tick) -> None:
        for request in agent.pending:
            if request.request_id in self._alerted:
                continue
            if len(self._alerted) >= _ALERTED_KEPT:
                self._alerted.clear()
            self._alerted.add(request.request_id)
            what = f"{request.tool} {request.summary}".rstrip()
            t.out.alerts.append(permission_alert(agent.id, request.request_id,
                                                 f"{agent.name} asks to {what}"))  # fmt: skip

    # -- rate limits --------------------------------------------------------------------------------
    def _rate_limited(self, core: Core, agent: Any, t: Tick) -> None:
        reason = agent.status_reason or "rate limited"
        seen = (agent.id, reason)
        if seen in self._limited:
            return
        self._limited.add(seen)
        usage_limit = reason.startswith(USAGE_LIMIT_REASON)
        scope = "usage_limit" if usage_limit else "rate_limit"
        message = (f"agent {agent.name} hit the plan's {reason}" if usage_limit
                   else f"agent {agent.name} is {reason}")  # fmt: skip
        action, note = self._on_rate_limit(core, agent, reason)
        if action is not None:
            t.out.actions.append(action)
        if note:
            message += f"; {note}"
        first = True
        if core.limits is not None:  # the alerts table remembers it across restarts
            try:
                with core.store.lock:
                    first = core.limits.record_once("critical" if usage_limit else "warning",
                                                    scope, agent.id, reason, message, agent.id,
                                                    t.now)  # fmt: skip
            except Exception:
                log.exception("recording the rate-limit alert failed")
        if first:
            t.out.alerts.append(rate_limit_alert(
                agent.id, message, usage_limit=usage_limit,
                action=action.action if action is not None else None))

    def _on_rate_limit(self, core: Core, agent: Any, reason: str) -> tuple[AgentAction | None, str]:
        """The `onRateLimit` setting's action for a newly limited agent, and a note saying it."""
        setting = core.settings.on_rate_limit
        if setting == "pause":
            return AgentAction(agent.id, "pause", f"paused: {reason}"), "paused"
        if setting != "switchToApi":
            return None, ""
        if agent.source == "api":
            return None, "it already runs on an API key"
        name = core.settings.api_key_env
        if not name or not os.environ.get(name, "").strip():
            return None, (f"cannot switch to the API: ${name} is not set" if name
                          else "cannot switch to the API: apiKeyEnv is not set")  # fmt: skip
        if str(agent.profile) != "claude":
            return None, "only a Claude Code session can switch to the API"
        return AgentAction(agent.id, "switchToApi", reason, key_env=name), \
            f"continuing on the API key in ${name}"
