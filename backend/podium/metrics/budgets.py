"""USD budgets as ratios, cheap enough for every scrape.

The budgets the limits engine enforces (docs/limits.md): each agent's own limit (else
`limits.agentUSD`), each agent session's `limits.sessionUSD`, and all usage of the local day and
month against `limits.dailyUSD` / `monthlyUSD` (the engine's day and month bounds). Agent and
session spend come from the usage aggregate (no query); the day's and month's from the
15-minute sums as `podium report` reads them, the settled part of the month kept between
scrapes (`UsageAggregate.range_cost`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from podium.agents.models import Agent
from podium.domain.periods import day_bounds, month_bounds
from podium.metrics.aggregate import UsageAggregate
from podium.metrics.config import budget_limits
from podium.store import Store
from podium.usage.queries import UsageTotals


@dataclass(frozen=True)
class Budget:
    scope: str  # agent | session | daily | monthly
    who: str  # the agent's name for agent and session budgets, else ""
    used: float
    limit: float


def budgets(store: Store, aggregate: UsageAggregate, engine: Any, settings: Any,
            agents: list[Agent], by_agent: dict[str, UsageTotals], by_session: dict[str, float],
            now: float) -> list[Budget]:  # fmt: skip
    out: list[Budget] = []
    limits = budget_limits(settings)
    for agent in agents:
        limit = engine.agent_limit_usd(agent)
        if limit:
            usage = by_agent.get(agent.id)
            out.append(Budget("agent", agent.name, usage.cost_usd if usage else 0.0, limit))
    if limits.get("session"):
        for agent in agents:
            if agent.claude_session_id:
                out.append(Budget("session", agent.name,
                                  by_session.get(agent.claude_session_id, 0.0), limits["session"]))  # fmt: skip
    tz = getattr(engine, "tz", None)
    for scope, bounds in (("daily", day_bounds), ("monthly", month_bounds)):
        if limits.get(scope):
            start, end, _ = bounds(now, tz)
            out.append(Budget(scope, "", aggregate.range_cost(store, start, end), limits[scope]))
    return out
