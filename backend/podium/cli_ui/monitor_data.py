"""What `podium monitor` shows, read from the store at one instant (plain data, no rendering).

Spend is the local day's (tokens, cost, cache savings, per model) and month's (budgets); the
plan figure, burn rate and time to the limit come from the limits engine as the editor's status
bar gets them (official figure, else OAuth, else the estimate, each labelled with its source).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from podium.store import Store

PER_MILLION = 1_000_000.0
RECENT = 5


@dataclass
class Budget:
    scope: str  # "daily" | "monthly"
    used: float
    limit: float | None
    projection: float  # at the period's end, at the pace so far
    status: str  # OK | WARNING | EXCEEDED | "" (no limit)

    @property
    def remaining(self) -> float | None:
        return None if self.limit is None else self.limit - self.used


@dataclass
class Frame:
    now: float
    started: float  # when the monitor started (its session duration)
    timezone: str
    tokens: dict[str, int]  # today: input, output, cache_create, cache_read
    cost: float
    cache_savings: float
    models: list[dict[str, Any]]  # today, by cost: name, tokens, cost
    budgets: list[Budget]
    block: dict[str, Any] | None  # the active 5-hour block
    plan: dict[str, Any]  # plan, window figures with source, errors
    agents: list[dict[str, Any]]  # name, status, since
    recent: list[dict[str, Any]]  # the last usage entries
    latest_session: dict[str, Any] | None
    ingest_note: str = ""
    warnings: list[str] = field(default_factory=list)


def level(used: float, limit: float | None, warning_at: float) -> str:
    if not limit:
        return ""
    share = used / limit
    return "EXCEEDED" if share >= 1 else "WARNING" if share >= warning_at else "OK"


def gather(store: Store, settings: Any, *, started: float, tz_name: str | None,
           prices: Any = None, now: float | None = None, ingest_note: str = "") -> Frame:  # fmt: skip
    from podium.domain.periods import day_bounds, month_bounds
    from podium.usage import reports
    from podium.usage.queries import default_prices, totals

    now = time.time() if now is None else now
    prices = prices or default_prices()
    tz = reports.resolve_tz(tz_name)
    day_start, day_end, today = day_bounds(now, tz)
    month_start, month_end, _ = month_bounds(now, tz)
    q = reports.ReportQuery(store, since=today, until=today, timezone=tz_name, prices=prices)
    day = reports.daily(q, breakdown=True)["daily"]
    models, savings = [], 0.0
    for mb in day[0]["modelBreakdowns"] if day else []:
        tokens = (mb["inputTokens"] + mb["outputTokens"] + mb["cacheCreationTokens"]
                  + mb["cacheReadTokens"])  # fmt: skip
        models.append({"name": mb["modelName"], "tokens": tokens, "cost": mb["cost"]})
        savings += _cache_savings(prices, mb["modelName"], mb["cacheReadTokens"])
    t = day[0] if day else {}
    month = totals(store, since_ms=month_start, until_ms=month_end, prices=prices)
    today_cost = t.get("totalCost", 0.0)
    warning_at = settings.warning_at
    budgets = []
    for scope, used, start, end, limit in (
        ("daily", today_cost, day_start, day_end, settings.limits.daily_usd),
        ("monthly", month.cost_usd, month_start, month_end, settings.limits.monthly_usd),
    ):
        elapsed = max(1.0, now * 1000 - start) / max(1.0, end - start)
        projection = used / min(1.0, elapsed)
        budgets.append(Budget(scope, used, limit, projection, level(used, limit, warning_at)))
    plan, block = _plan_and_block(store, settings, prices, tz, now)
    return Frame(
        now=now, started=started, timezone=reports_zone(tz, tz_name),
        tokens={"input": t.get("inputTokens", 0), "output": t.get("outputTokens", 0),
                "cache_create": t.get("cacheCreationTokens", 0),
                "cache_read": t.get("cacheReadTokens", 0)},
        cost=today_cost, cache_savings=savings, models=models, budgets=budgets, block=block,
        plan=plan, agents=_agents(store), recent=_recent(store, prices),
        latest_session=_latest_session(store), ingest_note=ingest_note,
    )  # fmt: skip


def reports_zone(tz: Any, asked: str | None) -> str:
    from podium.usage.cli_report import zone_name

    return zone_name(tz, asked)


def _cache_savings(prices: Any, model: str, cache_read: int) -> float:
    """What the cache reads would have cost as fresh input, minus what they cost."""
    price = prices.price_for(model)
    if price is None or not cache_read:
        return 0.0
    return cache_read * (price.base.input - price.base.cache_read) / PER_MILLION


def _plan_and_block(store: Store, settings: Any, prices: Any, tz: Any,
                    now: float) -> tuple[dict, dict | None]:  # fmt: skip
    from podium.limits import plans
    from podium.limits.engine import LimitsEngine
    from podium.usage.queries import totals

    class _Reader(LimitsEngine):
        """The engine's plan figures without publishing this process's plan to the store (that
        is the editor's; a monitor only reads)."""

        def _publish_plan(self) -> None:
            pass

    working = store.conn.execute(
        "SELECT 1 FROM agents WHERE status = 'working' AND removed = 0 LIMIT 1").fetchone()  # fmt: skip
    status = _Reader(store, settings, prices, tz=tz).plan_status(now, agents_working=bool(working))
    windows = {}
    for fig in (status.five_hour, status.seven_day):
        if fig is not None:
            windows[fig.window] = {"pct": fig.used_pct, "source": fig.source,
                                   "stale": fig.stale_reason if fig.stale else None,
                                   "resets_at": fig.resets_at}  # fmt: skip
    plan = {"plan": status.plan, "windows": windows, "errors": status.errors}
    active = plans.active_block(store, int(now * 1000))
    if active is None:
        return plan, None
    usage = totals(store, since_ms=active.start_ms, until_ms=active.end_ms, prices=prices)
    block = {"start": active.start_ms / 1000, "end": active.end_ms / 1000,
             "tokens": usage.total_tokens, "cost": usage.cost_usd,
             "burn_usd_h": status.burn_usd_per_hour, "tokens_min": status.tokens_per_min,
             "projected_usd": status.projected_usd_at_window_end,
             "minutes_to_limit": status.minutes_to_limit}  # fmt: skip
    return plan, block


def _agents(store: Store) -> list[dict[str, Any]]:
    rows = store.conn.execute(
        "SELECT name, status, status_since, COALESCE(source_override, source) FROM agents "
        "WHERE removed = 0 ORDER BY started_at").fetchall()  # fmt: skip
    return [{"name": n, "status": s, "since": since, "source": src} for n, s, since, src in rows]


def _recent(store: Store, prices: Any) -> list[dict[str, Any]]:
    rows = store.conn.execute(
        "SELECT ts, model, input, output, cache_create, cache_read, cache_1h, cost_logged, "
        f"project FROM entries ORDER BY ts DESC LIMIT {RECENT}").fetchall()  # fmt: skip
    out = []
    for ts, model, i, o, cc, cr, c1h, logged, project in rows:
        cost = logged if logged is not None else prices.cost_of(model, i, o, cc, cr, None, c1h)
        out.append({"ts": ts / 1000, "model": model or "unknown", "tokens": i + o + cc + cr,
                    "cost": cost, "project": project or ""})  # fmt: skip
    return out


def _latest_session(store: Store) -> dict[str, Any] | None:
    row = store.conn.execute(
        "SELECT session_id, project FROM entries WHERE session_id IS NOT NULL "
        "ORDER BY ts DESC LIMIT 1").fetchone()  # fmt: skip
    if row is None:
        return None
    first, last, n = store.conn.execute(
        "SELECT MIN(ts), MAX(ts), COUNT(*) FROM entries WHERE session_id = ?", (row[0],)
    ).fetchone()
    return {"id": row[0], "project": row[1] or "", "first": first / 1000, "last": last / 1000,
            "messages": n}  # fmt: skip
