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
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any

from podium.agents.models import Agent, AgentStatus
from podium.domain.attribution import Owner
from podium.domain.periods import day_bounds, month_bounds, resolve_tz
from podium.domain.plan_estimate import SEVEN_DAY_KEYS, estimate_pct
from podium.limits import plans
from podium.limits.models import (
    AgentLimit,
    LimitEvent,
    PlanStatus,
    PlanWindow,
    agent_limit,
    agent_limit_usd,
)
from podium.redact import scrub
from podium.settings import Settings
from podium.store import Store
from podium.usage.pricing import PriceTable
from podium.usage.queries import UsageTotals, default_prices, totals

log = logging.getLogger(__name__)

ACTED_META_KEY = "limits.acted"
PLAN_META_KEY = "limits.plan"
ACTED_KEEP = 1000
LEVEL_RANK = {"warning": 0, "critical": 1, "exceeded": 2}
ACTION_VERB = {"pause": "paused", "stop": "stopped", "warn": "still running"}


@dataclass
class _Check:
    scope: str
    scope_key: str
    window: str
    used: float
    limit: float
    unit: str  # usd | tokens | pct
    label: str  # human name of the budget, e.g. "agent alpha"
    targets: list[Agent] = field(default_factory=list)
    agent_id: str | None = None
    actionable: bool = True
    source: str = "official"  # plan figures: official | oauth | estimate


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
        oauth: Any | None = None,
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
    def _make_oauth(settings: Settings) -> Any:
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
                now: float) -> list[_Check]:  # fmt: skip
        checks = self._budget_checks(agents, usage_by_agent, now)
        checks.extend(self._plan_checks(agents, now))
        return checks

    def _budget_checks(self, agents: list[Agent], usage_by_agent: dict[str, UsageTotals],
                       now: float) -> list[_Check]:  # fmt: skip
        lim = self.settings.limits
        checks: list[_Check] = []
        empty = UsageTotals()
        for agent in agents:
            usage = usage_by_agent.get(agent.id, empty)
            limit = self.agent_limit_usd(agent)
            label = f"agent {agent.name}"
            if limit is not None:
                checks.append(_Check("agent", agent.id, f"${limit:g}", usage.cost_usd, limit,
                                     "usd", label, [agent], agent.id))  # fmt: skip
            tok = lim.agent_tokens
            if tok is not None:
                checks.append(_Check("agent", agent.id, f"{tok:g} tokens",
                                     float(usage.input + usage.output), tok, "tokens", label,
                                     [agent], agent.id))  # fmt: skip
        sessions: dict[str, list[Agent]] = {}
        for agent in agents:
            if agent.claude_session_id:
                sessions.setdefault(agent.claude_session_id, []).append(agent)
        session_usd, session_tok = lim.session_usd, lim.session_tokens
        if sessions and (session_usd or session_tok):
            for sid, owners in sessions.items():
                usage = totals(self.store, session_ids=[sid], prices=self.prices)
                label = f"session {sid[:8]}"
                if session_usd:
                    checks.append(_Check("session", sid, f"${session_usd:g}", usage.cost_usd,
                                         session_usd, "usd", label, owners,
                                         owners[0].id if len(owners) == 1 else None))  # fmt: skip
                if session_tok:
                    checks.append(_Check("session", sid, f"{session_tok:g} tokens",
                                         float(usage.input + usage.output), session_tok,
                                         "tokens", label, owners,
                                         owners[0].id if len(owners) == 1 else None))  # fmt: skip
        live = [a for a in agents if AgentStatus(a.status).is_live]
        for scope, bounds, usd, tok in (
            ("daily", day_bounds(now, self.tz), lim.daily_usd, lim.daily_tokens),
            ("monthly", month_bounds(now, self.tz), lim.monthly_usd, lim.monthly_tokens),
        ):  # fmt: skip
            if not usd and not tok:
                continue
            start, end, key = bounds
            usage = totals(self.store, since_ms=start, until_ms=end, prices=self.prices)
            label = f"{scope} spend" if scope == "daily" else "monthly spend"
            if usd:
                checks.append(_Check(scope, key, f"{key}|${usd:g}", usage.cost_usd, usd, "usd",
                                     label, live))  # fmt: skip
            if tok:
                checks.append(_Check(scope, key, f"{key}|{tok:g} tokens",
                                     float(usage.input + usage.output), tok, "tokens",
                                     f"{scope} tokens", live))  # fmt: skip
        return checks

    def _plan_checks(self, agents: list[Agent], now: float) -> list[_Check]:
        working = any(AgentStatus(a.status) is AgentStatus.WORKING for a in agents)
        try:
            status = self.plan_status(now, agents_working=working)
        except Exception:  # plan figures must never stop budget enforcement
            log.exception("plan status failed; plan thresholds skipped this round")
            return []
        checks: list[_Check] = []
        for fig in (status.five_hour, status.seven_day):
            if fig is None or fig.stale:
                continue
            checks.append(_Check("plan", fig.window, _plan_window_key(fig), fig.used_pct, 100.0,
                                 "pct", f"plan {plans.WINDOW_LABEL[fig.window]} window",
                                 actionable=False, source=fig.source))  # fmt: skip
        return checks

    def _level(self, pct: float) -> str | None:
        fraction = pct / 100.0
        if fraction >= 1.0:
            return "exceeded"
        if fraction >= self.settings.critical_at:
            return "critical"
        if fraction >= self.settings.warning_at:
            return "warning"
        return None

    def _evaluate_check(self, check: _Check, now: float,
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

    def _message(self, check: _Check, level: str, pct: float, action: str | None,
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
        projections over the active 5-hour block."""
        now = time.time() if now is None else now
        if self._oauth is not None:
            self._oauth.refresh(self.store, now=now)
        now_ms = int(now * 1000)
        table = plans.plan_limits(self.settings.plan, self.settings.plan_limits)
        block = plans.active_block(self.store, now_ms)
        block_usage = (
            totals(self.store, since_ms=block.start_ms, until_ms=block.end_ms, prices=self.prices)
            if block else UsageTotals()
        )  # fmt: skip
        five = plans.best_recorded(self.store, "five_hour", now, agents_working)
        if five is None:
            five = self._estimate_five_hour(block, block_usage, table, now)
        seven = plans.best_recorded(self.store, "seven_day", now, agents_working)
        if seven is None:
            seven = self._estimate_seven_day(table, now)
        burn_h = tok_min = 0.0
        projected = minutes = None
        if block is not None:
            span_min = (block.last_ms - block.first_ms) / 60_000
            if span_min > 0:
                burn_h = block_usage.cost_usd / span_min * 60
                tok_min = block_usage.total_tokens / span_min
            left_min = max(0.0, (block.end_ms - now_ms) / 60_000)
            projected = block_usage.cost_usd + burn_h / 60 * left_min
            minutes = self._minutes_to_limit(five, block_usage, table, burn_h, tok_min)
        errors = [self._oauth.last_error] if self._oauth and self._oauth.last_error else []
        return PlanStatus(self.settings.plan, five, seven, burn_h, tok_min, projected, minutes,
                          errors)  # fmt: skip

    @staticmethod
    def _estimate_five_hour(block: plans.Block | None, usage: UsageTotals,
                            table: dict[str, float], now: float) -> PlanWindow:  # fmt: skip
        pct = estimate_pct(table, usage.input + usage.output, usage.cost_usd, usage.messages)
        resets = block.end_ms / 1000 if block else None
        return PlanWindow("five_hour", pct, "estimate", now, resets, False, None)

    def _estimate_seven_day(self, table: dict[str, float], now: float) -> PlanWindow | None:
        if not any(k in table for k in SEVEN_DAY_KEYS):
            return None
        since = int((now - plans.WINDOW_SECONDS["seven_day"]) * 1000)
        usage = totals(self.store, since_ms=since, until_ms=int(now * 1000) + 1,
                       prices=self.prices)  # fmt: skip
        pct = estimate_pct(table, usage.input + usage.output, usage.cost_usd, usage.messages,
                           weekly=True)  # fmt: skip
        return PlanWindow("seven_day", pct, "estimate", now, None, False, None)

    @staticmethod
    def _minutes_to_limit(five: PlanWindow | None, usage: UsageTotals, table: dict[str, float],
                          burn_h: float, tok_min: float) -> float | None:  # fmt: skip
        """At the current rate. An official/oauth % is scaled by the block's spend (the store
        sees only this machine's usage, so this is an approximation). A stale figure (one that may
        no longer hold) is not scaled: the estimate's cost limit applies."""
        if burn_h <= 0:
            return None
        if five is not None and five.source != "estimate" and not five.stale:
            if five.used_pct >= 100:
                return 0.0
            if five.used_pct <= 0 or usage.cost_usd <= 0:
                return None
            left_usd = usage.cost_usd * (100.0 / five.used_pct - 1.0)
            return left_usd / (burn_h / 60)
        candidates = []
        if "costUSD" in table:
            candidates.append(max(0.0, table["costUSD"] - usage.cost_usd) / (burn_h / 60))
        return min(candidates) if candidates else None

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


def _plan_window_key(fig: PlanWindow) -> str:
    """Alerts re-arm when the window resets: key on the reset time (rounded: payloads jitter).
    Without one (the rolling 7-day estimate, a figure without `resets_at`) they re-arm every
    window length, else they would fire once in the store's lifetime."""
    if fig.resets_at is None:
        span = plans.WINDOW_SECONDS.get(fig.window, 5 * 3600.0)
        return f"{fig.window}@~{int(fig.observed_at // span) * int(span)}"
    return f"{fig.window}@{round(fig.resets_at / 900.0) * 900}"


def _fmt(value: float, unit: str) -> str:
    if unit == "usd":
        return f"${value:,.2f}"
    if unit == "tokens":
        return f"{value:,.0f} tokens"
    return f"{value:.0f}%"


