"""Figures → the `podium/usageSummary` result and the `plan` object in it (docs/protocol.md)."""

from __future__ import annotations

from typing import Any

from podium.protocol.models import (
    AgentCard,
    ApiSpend,
    LimitsInfo,
    PlanInfo,
    PlanWindowInfo,
    UsageSummary,
)
from podium.views.cards import usage_of, usage_row


def _rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def plan_window_info(window: Any | None) -> PlanWindowInfo | None:
    """limits.PlanWindow (times in epoch s) → the summary's window (epoch ms)."""
    if window is None:
        return None
    return PlanWindowInfo(
        used_pct=round(window.used_pct, 2),
        source=window.source,
        observed_at=int(window.observed_at * 1000),
        resets_at=int(window.resets_at * 1000) if window.resets_at is not None else None,
        stale=window.stale,
        stale_reason=window.stale_reason,
    )


def plan_info(status: Any) -> PlanInfo:
    """limits.PlanStatus → `UsageSummary.plan`."""
    return PlanInfo(
        plan=status.plan,
        five_hour=plan_window_info(status.five_hour),
        seven_day=plan_window_info(status.seven_day),
        burn_usd_per_hour=round(status.burn_usd_per_hour, 4),
        tokens_per_min=round(status.tokens_per_min, 1),
        projected_usd_at_window_end=_rounded(status.projected_usd_at_window_end, 4),
        minutes_to_limit=_rounded(status.minutes_to_limit, 1),
        errors=list(status.errors),
    )


def limits_info(limits: Any, on_limit: str) -> LimitsInfo:
    """settings.Limits and settings.on_limit → `UsageSummary.limits`."""
    return LimitsInfo(
        agent_usd=limits.agent_usd, session_usd=limits.session_usd,
        daily_usd=limits.daily_usd, monthly_usd=limits.monthly_usd,
        agent_tokens=limits.agent_tokens, session_tokens=limits.session_tokens,
        daily_tokens=limits.daily_tokens, monthly_tokens=limits.monthly_tokens,
        on_limit=on_limit,
    )  # fmt: skip


def render_usage_summary(
    *,
    mode: str,
    now: float,
    plan: Any | None,
    api_spend: tuple[float, float],
    today: Any | None,
    limits: Any,
    on_limit: str,
    cards: list[AgentCard],
    insight_count: int = 0,
) -> UsageSummary:
    """`plan` is a limits.PlanStatus (None without the limits engine), `api_spend` (today $,
    month $) billed to an API key, `today` the UsageTotals of all usage today."""
    api_today, api_month = api_spend
    return UsageSummary(
        mode=mode,
        generated_at=int(now * 1000),
        plan=plan_info(plan) if plan is not None else None,
        api=ApiSpend(today_usd=round(api_today, 6), month_usd=round(api_month, 6)),
        today=usage_of(today),
        limits=limits_info(limits, on_limit),
        agents=[usage_row(card) for card in cards],
        insight_count=insight_count,
    )
