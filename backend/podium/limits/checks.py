"""What one evaluation checks (docs/limits.md, "Scopes"): each budget and plan window as a
figure used against a limit, with the agents an `exceeded` acts on. The engine turns them into
levels, alerts and actions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import tzinfo

from podium.agents.models import Agent, AgentStatus
from podium.domain.periods import day_bounds, month_bounds
from podium.limits import plans
from podium.limits.models import PlanStatus, PlanWindow, agent_limit_usd
from podium.settings import Settings
from podium.store import Store
from podium.usage.pricing import PriceTable
from podium.usage.queries import UsageTotals, totals


@dataclass
class Check:
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


def budget_checks(store: Store, settings: Settings, prices: PriceTable, tz: tzinfo | None,
                  agents: list[Agent], usage_by_agent: dict[str, UsageTotals],
                  now: float) -> list[Check]:  # fmt: skip
    """The USD and token budgets of the agent, session, daily and monthly scopes (days and
    months in `tz`; None: the machine's zone)."""
    lim = settings.limits
    checks: list[Check] = []
    empty = UsageTotals()
    for agent in agents:
        usage = usage_by_agent.get(agent.id, empty)
        limit = agent_limit_usd(agent.limit_usd, lim.agent_usd)
        label = f"agent {agent.name}"
        if limit is not None:
            checks.append(Check("agent", agent.id, f"${limit:g}", usage.cost_usd, limit,
                                "usd", label, [agent], agent.id))  # fmt: skip
        tok = lim.agent_tokens
        if tok is not None:
            checks.append(Check("agent", agent.id, f"{tok:g} tokens",
                                float(usage.input + usage.output), tok, "tokens", label,
                                [agent], agent.id))  # fmt: skip
    sessions: dict[str, list[Agent]] = {}
    for agent in agents:
        if agent.claude_session_id:
            sessions.setdefault(agent.claude_session_id, []).append(agent)
    session_usd, session_tok = lim.session_usd, lim.session_tokens
    if sessions and (session_usd or session_tok):
        for sid, owners in sessions.items():
            usage = totals(store, session_ids=[sid], prices=prices)
            label = f"session {sid[:8]}"
            if session_usd:
                checks.append(Check("session", sid, f"${session_usd:g}", usage.cost_usd,
                                    session_usd, "usd", label, owners,
                                    owners[0].id if len(owners) == 1 else None))  # fmt: skip
            if session_tok:
                checks.append(Check("session", sid, f"{session_tok:g} tokens",
                                    float(usage.input + usage.output), session_tok,
                                    "tokens", label, owners,
                                    owners[0].id if len(owners) == 1 else None))  # fmt: skip
    live = [a for a in agents if AgentStatus(a.status).is_live]
    for scope, bounds, usd, tok in (
        ("daily", day_bounds(now, tz), lim.daily_usd, lim.daily_tokens),
        ("monthly", month_bounds(now, tz), lim.monthly_usd, lim.monthly_tokens),
    ):  # fmt: skip
        if not usd and not tok:
            continue
        start, end, key = bounds
        usage = totals(store, since_ms=start, until_ms=end, prices=prices)
        label = f"{scope} spend" if scope == "daily" else "monthly spend"
        if usd:
            checks.append(Check(scope, key, f"{key}|${usd:g}", usage.cost_usd, usd, "usd",
                                label, live))  # fmt: skip
        if tok:
            checks.append(Check(scope, key, f"{key}|{tok:g} tokens",
                                float(usage.input + usage.output), tok, "tokens",
                                f"{scope} tokens", live))  # fmt: skip
    return checks


def plan_checks(status: PlanStatus) -> list[Check]:
    """The plan windows' used % against 100 %: they alert, never act. A stale figure (one that
    may no longer hold) is not checked."""
    checks: list[Check] = []
    for fig in (status.five_hour, status.seven_day):
        if fig is None or fig.stale:
            continue
        checks.append(Check("plan", fig.window, plan_window_key(fig), fig.used_pct, 100.0,
                            "pct", f"plan {plans.WINDOW_LABEL[fig.window]} window",
                            actionable=False, source=fig.source))  # fmt: skip
    return checks


def plan_window_key(fig: PlanWindow) -> str:
    """Alerts re-arm when the window resets: key on the reset time (rounded: payloads jitter).
    Without one (the rolling 7-day estimate, a figure without `resets_at`) they re-arm every
    window length, else they would fire once in the store's lifetime."""
    if fig.resets_at is None:
        span = plans.WINDOW_SECONDS.get(fig.window, 5 * 3600.0)
        return f"{fig.window}@~{int(fig.observed_at // span) * int(span)}"
    return f"{fig.window}@{round(fig.resets_at / 900.0) * 900}"
