"""The plan windows' figures for the status bar, the summary and the plan thresholds: the best
recorded figure per window (official, then oauth), else the store's estimate against the plan
table; with burn rate and projections over the active 5-hour block."""

from __future__ import annotations

from typing import TYPE_CHECKING

from podium.domain.plan_estimate import SEVEN_DAY_KEYS, estimate_pct
from podium.limits import plans
from podium.limits.models import PlanStatus, PlanWindow
from podium.settings import Settings
from podium.store import Store
from podium.usage.pricing import PriceTable
from podium.usage.queries import UsageTotals, totals

if TYPE_CHECKING:
    from podium.limits.oauth import OAuthUsage


def plan_status(store: Store, settings: Settings, prices: PriceTable, oauth: OAuthUsage | None,
                now: float, agents_working: bool) -> PlanStatus:  # fmt: skip
    """Plan windows, best source first (official, oauth, estimate), with burn rate and
    projections over the active 5-hour block."""
    if oauth is not None:
        oauth.refresh(store, now=now)
    now_ms = int(now * 1000)
    table = plans.plan_limits(settings.plan, settings.plan_limits)
    block = plans.active_block(store, now_ms)
    block_usage = (
        totals(store, since_ms=block.start_ms, until_ms=block.end_ms, prices=prices)
        if block else UsageTotals()
    )  # fmt: skip
    five = plans.best_recorded(store, "five_hour", now, agents_working)
    if five is None:
        five = _estimate_five_hour(block, block_usage, table, now)
    seven = plans.best_recorded(store, "seven_day", now, agents_working)
    if seven is None:
        seven = _estimate_seven_day(store, prices, table, now)
    burn_h = tok_min = 0.0
    projected = minutes = None
    if block is not None:
        span_min = (block.last_ms - block.first_ms) / 60_000
        if span_min > 0:
            burn_h = block_usage.cost_usd / span_min * 60
            tok_min = block_usage.total_tokens / span_min
        left_min = max(0.0, (block.end_ms - now_ms) / 60_000)
        projected = block_usage.cost_usd + burn_h / 60 * left_min
        minutes = _minutes_to_limit(five, block_usage, table, burn_h, tok_min)
    errors = [oauth.last_error] if oauth and oauth.last_error else []
    return PlanStatus(settings.plan, five, seven, burn_h, tok_min, projected, minutes, errors)


def _estimate_five_hour(block: plans.Block | None, usage: UsageTotals,
                        table: dict[str, float], now: float) -> PlanWindow:  # fmt: skip
    pct = estimate_pct(table, usage.input + usage.output, usage.cost_usd, usage.messages)
    resets = block.end_ms / 1000 if block else None
    return PlanWindow("five_hour", pct, "estimate", now, resets, False, None)


def _estimate_seven_day(store: Store, prices: PriceTable, table: dict[str, float],
                        now: float) -> PlanWindow | None:  # fmt: skip
    if not any(k in table for k in SEVEN_DAY_KEYS):
        return None
    since = int((now - plans.WINDOW_SECONDS["seven_day"]) * 1000)
    usage = totals(store, since_ms=since, until_ms=int(now * 1000) + 1, prices=prices)
    pct = estimate_pct(table, usage.input + usage.output, usage.cost_usd, usage.messages,
                       weekly=True)  # fmt: skip
    return PlanWindow("seven_day", pct, "estimate", now, None, False, None)


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
