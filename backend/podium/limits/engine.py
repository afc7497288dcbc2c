"""Budgets, plan thresholds, alerts and limit actions.

Rules (docs/limits.md):

- Scopes: `agent` (the agent's own `limit_usd`, else `limits.agent_usd`; 0 = no limit),
  `session` (each agent's Claude session, `limits.session_usd`), `daily` / `monthly` (all usage in
  the store in the local day / month, `limits.daily_usd` / `monthly_usd`), `plan` (the 5-hour and
  7-day plan windows against warningAt / criticalAt / 100 %).
- Levels: warning ≥ warningAt, critical ≥ criticalAt, exceeded ≥ 100 %. Each
  (scope, scope_key, window, level) alerts once, persisted in the `alerts` table; when a figure
  jumps several levels only the highest alerts. The window key includes the limit, so raising a
  limit re-arms its alerts.
- Actions: on `exceeded` of a USD/token budget, `settings.on_limit` applies — agent and session
  scopes act on their agent(s); daily and monthly scopes act on every live agent that is not
  already paused (agents that start later in the same window are acted on too). Plan events
  alert only. Each (scope, window, agent) is acted on once; `user_resumed` exempts an agent
  from every budget currently exceeded, so a user resume is not undone until the next window.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from datetime import tzinfo
from typing import TYPE_CHECKING

from podium.agents.models import Agent, AgentStatus
from podium.domain.attribution import Owner
from podium.domain.periods import day_bounds, month_bounds, resolve_tz
from podium.limits.checks import Check, budget_checks, plan_checks
from podium.limits.models import AgentLimit, LimitEvent, PlanStatus, agent_limit, agent_limit_usd
from podium.limits.plan_status import plan_status
from podium.redact import scrub
from podium.settings import Settings
from podium.store import Store
from podium.usage.pricing import PriceTable
from podium.usage.queries import UsageTotals, default_prices, totals

if TYPE_CHECKING:
    from podium.limits.oauth import OAuthUsage

log = logging.getLogger(__name__)

ACTED_META_KEY = "limits.acted"
PLAN_META_KEY = "limits.plan"
ACTED_KEEP = 1000
LEVEL_RANK = {"warning": 0, "critical": 1, "exceeded": 2}
ACTION_VERB = {"pause": "paused", "stop": "stopped", "warn": "still running"}


def _live_unpaused(agent: Agent) -> bool:
    status = AgentStatus(agent.status)
    return status.is_live and status is not AgentStatus.PAUSED


class LimitsEngine:
    """Evaluates budgets and plan windows after each ingest (one per server)."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        prices: PriceTable | None = None,
        *,
        tz: str | tzinfo | None = None,
        oauth: OAuthUsage | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.prices = prices or default_prices()
        self.tz = resolve_tz(tz)
        self._lock = threading.RLock()
        #: (scope, scope_key, window, agent id) acted on, oldest first (a dict keeps the order,
        #: so trimming drops the oldest, never a recent user resume)
        self._acted: dict[tuple[str, str, str, str], None] = self._load_acted()
        #: (scope, scope_key, window) of budgets exceeded at the last evaluate
        self._exceeded: set[tuple[str, str, str]] = set()
        self._oauth = oauth
        if self._oauth is None and settings.oauth_usage:
            self._oauth = self._make_oauth(settings)
        self._publish_plan()

    # -- settings --------------------------------------------------------------------------------
    def update_settings(self, settings: Settings) -> None:
        with self._lock:
            oauth_changed = (settings.oauth_usage, settings.oauth_base_url) != (
                self.settings.oauth_usage, self.settings.oauth_base_url)  # fmt: skip
            self.settings = settings
            if oauth_changed:
                self._oauth = self._make_oauth(settings) if settings.oauth_usage else None
            self._publish_plan()

    def _publish_plan(self) -> None:
        """Leave the plan and its table in the store, so `podium statusline` (another process,
        no settings of its own) estimates against the same plan as the status bar."""
        value = json.dumps({"plan": self.settings.plan, "planLimits": self.settings.plan_limits})
        try:
            if self.store.get_meta(PLAN_META_KEY) != value:
                with self.store.transaction():
                    self.store.set_meta(PLAN_META_KEY, value)
        except Exception:  # a busy or read-only store only costs the statusline its plan
            pass

    @staticmethod
    def _make_oauth(settings: Settings) -> OAuthUsage:
        from podium.limits.oauth import OAuthUsage

        return OAuthUsage(base_url=settings.oauth_base_url)

    # -- agent budgets ---------------------------------------------------------------------------
    def agent_limit_usd(self, agent: Agent) -> float | None:
        """The agent's own `limit_usd`, else `limits.agent_usd`; None: no budget."""
        return agent_limit_usd(agent.limit_usd, self.settings.limits.agent_usd)

    def agent_limit(self, agent: Agent, usage: UsageTotals) -> AgentLimit | None:
        return agent_limit(agent.limit_usd, self.settings.limits.agent_usd, usage.cost_usd,
                           self.settings.on_limit)  # fmt: skip

    # -- evaluation ------------------------------------------------------------------------------
    def evaluate(
        self,
        agents: list[Agent],
        usage_by_agent: dict[str, UsageTotals],
        now: float | None = None,
    ) -> list[LimitEvent]:
        """New events only (see the module doc). Safe to call after every ingest."""
        now = time.time() if now is None else now
        with self._lock:
            checks = self._checks(agents, usage_by_agent, now)
            events: list[LimitEvent] = []
            exceeded: set[tuple[str, str, str]] = set()
            for check in checks:
                events.extend(self._evaluate_check(check, now, exceeded))
            self._exceeded = exceeded
            if events:
                self._save_acted()
            return events

    def _checks(self, agents: list[Agent], usage_by_agent: dict[str, UsageTotals],
                now: float) -> list[Check]:  # fmt: skip
        checks = budget_checks(self.store, self.settings, self.prices, self.tz, agents,
                               usage_by_agent, now)  # fmt: skip
        working = any(AgentStatus(a.status) is AgentStatus.WORKING for a in agents)
        try:
            status = self.plan_status(now, agents_working=working)
        except Exception:  # plan figures must never stop budget enforcement
            log.exception("plan status failed; plan thresholds skipped this round")
            return checks
        return checks + plan_checks(status)

    def _level(self, pct: float) -> str | None:
        fraction = pct / 100.0
        if fraction >= 1.0:
            return "exceeded"
        if fraction >= self.settings.critical_at:
            return "critical"
        if fraction >= self.settings.warning_at:
            return "warning"
        return None

    def _evaluate_check(self, check: Check, now: float,
                        exceeded: set[tuple[str, str, str]]) -> list[LimitEvent]:  # fmt: skip
        if check.limit <= 0 or not math.isfinite(check.used):
            return []
        pct = 100.0 * check.used / check.limit
        level = self._level(pct)
        if level is None:
            return []
        fired = {
            row[0]
            for row in self.store.conn.execute(
                "SELECT level FROM alerts WHERE scope = ? AND scope_key = ? AND window = ?",
                (check.scope, check.scope_key, check.window),
            )
        }
        new_alert = not any(LEVEL_RANK.get(f, -1) >= LEVEL_RANK[level] for f in fired)
        action: str | None = None
        targets: list[Agent] = []
        if level == "exceeded" and check.actionable:
            exceeded.add((check.scope, check.scope_key, check.window))
            action = self.settings.on_limit
            # `warn` is the alert itself: no per-agent events (nothing to do to any agent)
            for agent in check.targets if action in ("pause", "stop") else []:
                key = (check.scope, check.scope_key, check.window, agent.id)
                if key in self._acted:
                    continue
                if not _live_unpaused(agent):
                    continue  # nothing to do; acted on if it comes back in this window
                targets.append(agent)
        events: list[LimitEvent] = []
        if new_alert:
            lead = targets[0] if targets else None
            agent_id = lead.id if lead else check.agent_id
            lead_action = action if lead or action == "warn" else None
            message = self._message(check, level, pct, lead_action)
            event = LimitEvent(level, check.scope, check.scope_key, agent_id, check.used,
                               check.limit, pct, message, lead_action, window=check.window,
                               unit=check.unit, alert=True)  # fmt: skip
            self._store_alert(event, now)
            events.append(event)
            rest = targets[1:]
            if lead is not None:
                self._mark_acted((check.scope, check.scope_key, check.window, lead.id))
        else:
            rest = targets
        for agent in rest:
            message = self._message(check, level, pct, action, agent_name=agent.name)
            events.append(LimitEvent(level, check.scope, check.scope_key, agent.id, check.used,
                                     check.limit, pct, message, action, window=check.window,
                                     unit=check.unit, alert=False))  # fmt: skip
            self._mark_acted((check.scope, check.scope_key, check.window, agent.id))
        return events

    def _message(self, check: Check, level: str, pct: float, action: str | None,
                 agent_name: str | None = None) -> str:  # fmt: skip
        used, limit = _fmt(check.used, check.unit), _fmt(check.limit, check.unit)
        if check.scope == "plan":
            text = f"{check.label} at {pct:.0f}%"
            if check.source != "official":
                text += f" ({check.source})"
        elif level == "exceeded":
            text = f"{check.label} reached its {limit} limit ({used})"
        else:
            text = f"{check.label} {used} is {pct:.0f}% of the {limit} limit"
        if action and action != "warn":
            who = f" agent {agent_name}" if agent_name else ""
            text += f";{who} {ACTION_VERB[action]}"
        return scrub(text)

    def _store_alert(self, event: LimitEvent, now: float) -> None:
        threshold = {"warning": self.settings.warning_at, "critical": self.settings.critical_at,
                     "exceeded": 1.0}[event.level]  # fmt: skip
        with self.store.transaction() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO alerts(ts, level, scope, scope_key, window, threshold, "
                "used, limit_value, message, agent_id, action) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (now, event.level, event.scope, event.scope_key, event.window, threshold,
                 event.used, event.limit, event.message, event.agent_id, event.action),
            )  # fmt: skip

    def record_once(self, level: str, scope: str, scope_key: str, window: str, message: str,
                    agent_id: str | None = None, now: float | None = None) -> bool:  # fmt: skip
        """Store an alert raised outside the budget checks (e.g. an agent hitting the plan's
        usage limit); True the first time, False when it was raised before (restarts too)."""
        with self.store.transaction() as conn:
            cursor = conn.execute(
                "INSERT OR IGNORE INTO alerts(ts, level, scope, scope_key, window, message, "
                "agent_id) VALUES (?,?,?,?,?,?,?)",
                (time.time() if now is None else now, level, scope, scope_key, window,
                 scrub(message), agent_id),
            )  # fmt: skip
            return cursor.rowcount == 1

    # -- user resume -------------------------------------------------------------------------------
    def user_resumed(self, agent_id: str) -> None:
        """The user resumed `agent_id`: no budget exceeded now acts on it again; the next
        window (or a changed limit) does."""
        with self._lock:
            for scope, key, window in self._exceeded:
                self._mark_acted((scope, key, window, agent_id))
            self._save_acted()

    def _mark_acted(self, key: tuple[str, str, str, str]) -> None:
        self._acted.pop(key, None)  # re-marked: now the newest
        self._acted[key] = None

    def _load_acted(self) -> dict[tuple[str, str, str, str], None]:
        raw = self.store.get_meta(ACTED_META_KEY)
        try:
            items = json.loads(raw) if raw else []
            return {(str(scope), str(key), str(window), str(agent)): None
                    for scope, key, window, agent in (i for i in items if len(i) == 4)}  # fmt: skip
        except (ValueError, TypeError):
            return {}

    def _save_acted(self) -> None:
        while len(self._acted) > ACTED_KEEP:  # the oldest go first
            del self._acted[next(iter(self._acted))]
        with self.store.transaction():
            self.store.set_meta(ACTED_META_KEY, json.dumps(list(self._acted)))

    # -- plan windows ------------------------------------------------------------------------------
    def plan_status(self, now: float | None = None, agents_working: bool = False) -> PlanStatus:
        """Plan windows, best source first (official, oauth, estimate), with burn rate and
        projections over the active 5-hour block (podium.limits.plan_status)."""
        now = time.time() if now is None else now
        return plan_status(self.store, self.settings, self.prices, self._oauth, now,
                           agents_working)  # fmt: skip

    # -- API spend ---------------------------------------------------------------------------------
    def api_spend(self, now: float | None = None) -> tuple[float, float]:
        """(today $, this month $) billed to an API key: in authMode `api` all usage; otherwise
        the usage attributed to agents whose source is `api` (source_override wins), by session
        id or cwd inside the agent's worktree. Removed agents still count (their spend
        happened)."""
        now = time.time() if now is None else now
        owners: list[Owner] | None = None  # None: all usage
        if self.settings.auth_mode != "api":
            rows = self.store.conn.execute(
                "SELECT claude_session_id, worktree FROM agents "
                "WHERE COALESCE(source_override, source) = 'api'"
            ).fetchall()
            if not rows:
                return 0.0, 0.0
            owners = [Owner(*row) for row in rows]
        day_start, day_end, _ = day_bounds(now, self.tz)
        month_start, month_end, _ = month_bounds(now, self.tz)
        today = totals(self.store, since_ms=day_start, until_ms=day_end, agents=owners,
                       prices=self.prices)  # fmt: skip
        month = totals(self.store, since_ms=month_start, until_ms=month_end, agents=owners,
                       prices=self.prices)  # fmt: skip
        return today.cost_usd, month.cost_usd


def _fmt(value: float, unit: str) -> str:
    if unit == "usd":
        return f"${value:,.2f}"
    if unit == "tokens":
        return f"{value:,.0f} tokens"
    return f"{value:.0f}%"


