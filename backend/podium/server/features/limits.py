"""Limits: budgets and plan windows evaluated every tick that is due, alerts pushed.

Evaluation runs on the core lane; a pause or stop it decides is carried out on the action lane
(`AgentsFeature.carry_out`), so a slow stop never holds up ingest or the next tick. The card of
the agent follows when the manager reports the change.
"""

from __future__ import annotations

import logging
from typing import Any

from lsprotocol import types

from podium.agents.models import TERMINAL_STATUSES
from podium.errors import PodiumError
from podium.server import protocol as proto
from podium.server.features.base import Feature, Host
from podium.server.scheduler import LIMITS_AFTER_INGEST_S, LIMITS_EVERY_S
from podium.server.state import AgentAction, Core, Tick, TickResult
from podium.settings import Settings
from podium.views.alerts import limit_alert, usage_limit_alert

log = logging.getLogger(__name__)

_SHOW_TYPE = {
    "info": types.MessageType.Info,
    "warning": types.MessageType.Warning,
    "critical": types.MessageType.Error,
}


class LimitsFeature(Feature):
    def __init__(self, host: Host, agents: Any) -> None:
        super().__init__(host)
        self.agents = agents
        #: at least every second, and within LIMITS_AFTER_INGEST_S of an ingest that wrote:
        #: a crossing line is acted on within a fraction of a second
        self.timer = host.scheduler.timer("limits.evaluate", LIMITS_EVERY_S,
                                          soon=LIMITS_AFTER_INGEST_S)  # fmt: skip
        self._usage_limit_seen: set[tuple[str, str]] = set()  # core lane

    # -- the tick (core lane) -------------------------------------------------------------------
    def tick(self, t: Tick) -> None:
        core = t.core
        if t.ingested is not None and t.ingested.entries_written:
            self.timer.ask()
        due = self.timer.take(t.mono, force=t.force)
        if due and core.limits is not None and core.manager is not None:
            # after the agents' part: their usage is fresh
            self._evaluate(core, core.manager.list(), t)
        for agent in t.agents.values():
            self._usage_limit_alert(core, agent, t.now, t.out)

    def _evaluate(self, core: Core, agents: list[Any], t: Tick) -> None:
        assert core.limits is not None and core.manager is not None
        out = t.out
        try:
            with core.store.lock:
                events = core.limits.evaluate(agents, dict(self.agents.usage), now=t.now)
        except Exception as exc:
            log.exception("limits evaluate failed")
            out.logs.append(f"limits: evaluation failed: {exc}")
            return
        for event in events:
            action = event.action
            done = None
            if action in ("pause", "stop") and event.agent_id:
                try:
                    done = self._decide(core, event.agent_id, action, event.message, out)
                except PodiumError as exc:
                    out.logs.append(f"limits: cannot {action} {event.agent_id}: {exc}")
            elif action == "warn":
                done = "warn"
            if event.alert:
                out.alerts.append(limit_alert(event, done or action))

    def _decide(self, core: Core, agent_id: str, action: str, message: str,
                out: TickResult) -> str | None:  # fmt: skip
        """Queue the pause or stop of a live agent (carried out on the action lane)."""
        assert core.manager is not None
        agent = core.manager.get(agent_id)
        status = str(agent.status)
        if status in TERMINAL_STATUSES or (action == "pause" and status == "paused"):
            return None
        reason = f"{'paused' if action == 'pause' else 'stopped'} by limit: {message}"
        if action == "stop":
            self.agents.note_stop_reason(agent_id, reason)
        out.actions.append(AgentAction(agent_id, action, reason))
        return action

    # -- the plan's usage limit -----------------------------------------------------------------
    def _usage_limit_alert(self, core: Core, agent: Any, now: float, out: TickResult) -> None:
        """An agent stopped by the plan's usage limit (Claude Code's `usage limit reached`
        result) is alerted once per agent and reset time, across restarts."""
        from podium.agents.manager import USAGE_LIMIT_REASON

        reason = agent.status_reason or ""
        if str(agent.status) != "error" or not reason.startswith(USAGE_LIMIT_REASON):
            return
        seen = (agent.id, reason)
        if seen in self._usage_limit_seen:  # every sweep sees the agent again: no store trip
            return
        self._usage_limit_seen.add(seen)
        message = f"agent {agent.name} hit the plan's {reason}"
        first = True
        if core.limits is not None:  # the alerts table remembers it across restarts
            try:
                with core.store.lock:
                    first = core.limits.record_once("critical", "usage_limit", agent.id, reason,
                                                    message, agent.id, now)  # fmt: skip
            except Exception:
                log.exception("recording the usage-limit alert failed")
        if first:
            out.alerts.append(usage_limit_alert(agent.id, message))

    # -- loop -----------------------------------------------------------------------------------
    def publish(self, result: TickResult) -> None:
        for alert in result.alerts:
            self.host.notify(proto.ALERT, alert)
            self.host.show_message(f"Podium: {alert.message}",
                                   _SHOW_TYPE.get(alert.level, types.MessageType.Warning))  # fmt: skip

    def settings_changed(self, core: Core, old: Settings, new: Settings) -> list[str]:
        if core.limits is not None:
            core.limits.update_settings(new)
        return []
