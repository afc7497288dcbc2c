"""USD budgets as ratios, cheap enough for every scrape.

The budgets the limits engine enforces (docs/limits.md): each agent's own limit (else
`limits.agentUSD`), each agent session's `limits.sessionUSD`, and all usage of the local day and
month against `limits.dailyUSD` / `monthlyUSD`. Agent and session spend come from the usage
aggregate (no query); the day's and month's from the 15-minute sums, as `podium report` reads
them, so a ratio × limit equals the report's figure for the same period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from podium.agents.models import Agent
from podium.limits.periods import day_bounds, month_bounds
from podium.metrics.config import budget_limits
from podium.store import Store
from podium.usage.pricing import PriceTable
from podium.usage.queries import UsageTotals


@dataclass(frozen=True)
class Budget:
    scope: str  # agent | session | daily | monthly
    who: str  # the agent's name for agent and session budgets, else ""
    used: float
    limit: float


def budgets(store: Store, prices: PriceTable, engine: Any, settings: Any, agents: list[Agent],
            by_agent: dict[str, UsageTotals], by_session: dict[str, float],
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
    if limits.get("daily"):
        day = date.fromisoformat(day_bounds(now, tz)[2])
        out.append(Budget("daily", "", period_cost(store, prices, day, day), limits["daily"]))
    if limits.get("monthly"):
        first = date.fromisoformat(month_bounds(now, tz)[2] + "-01")
        last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        out.append(Budget("monthly", "", period_cost(store, prices, first, last),
                          limits["monthly"]))  # fmt: skip
    return out


def period_cost(store: Store, prices: PriceTable, first: date, last: date) -> float:
    """Cost of the local days first..last, priced as `podium report` prices them."""
    from podium.usage.reports import ReportQuery

    q = ReportQuery(store, since=first.isoformat(), until=last.isoformat(), prices=prices)
    rows = q.grouped_buckets("''") if q.buckets is not None else q.grouped("''")  # one group
    return sum(row[6] for row in rows)
