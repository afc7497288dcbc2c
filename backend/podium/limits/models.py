"""What the limits engine reports: plan windows with their source and age, limit events."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class PlanWindow:
    """One plan window figure, with where it came from."""

    window: str  # "five_hour" | "seven_day"
    used_pct: float  # 0..100 (an estimate may exceed 100)
    source: str  # "official" | "oauth" | "estimate"
    observed_at: float  # epoch s when the figure was recorded / computed
    resets_at: float | None
    stale: bool
    stale_reason: str | None


@dataclass
class PlanStatus:
    plan: str
    five_hour: PlanWindow | None
    seven_day: PlanWindow | None
    burn_usd_per_hour: float
    tokens_per_min: float
    projected_usd_at_window_end: float | None
    minutes_to_limit: float | None
    #: problems getting a figure, shown as such (e.g. "oauth usage: HTTP 401 Unauthorized")
    errors: list[str] = field(default_factory=list)


@dataclass
class LimitEvent:
    """Something to alert about, and maybe act on.

    `alert` is False for an enforcement-only event: the alert for this (scope, window, level)
    was already sent and this event only asks for `action` on another agent (a daily budget
    exceeded pauses every live agent, one event each, but the user is told once).
    """

    level: str  # "warning" | "critical" | "exceeded"
    scope: str  # "agent" | "session" | "daily" | "monthly" | "plan"
    scope_key: str  # agent id, session id, date "2026-11-23", month "2026-11", window name
    agent_id: str | None
    used: float
    limit: float
    pct: float
    message: str  # human text, already scrubbed
    action: str | None  # None | "warn" | "pause" | "stop" (what should be done to agent_id)
    window: str = ""  # the window key the event is unique in (see LimitsEngine)
    unit: str = "usd"  # "usd" | "tokens" | "pct"
    alert: bool = True


@dataclass(frozen=True)
class AgentLimit:
    """An agent's budget and how much of it is used."""

    used_pct: float  # 0..100+
    limit_usd: float
    action: str  # settings.on_limit: warn | pause | stop


def agent_limit_usd(own: float | None, default: float | None) -> float | None:
    """The agent's own budget (`limitUSD` at spawn) overrides `limits.agentUSD`; 0 = none."""
    limit = own if own is not None else default
    return float(limit) if limit and limit > 0 else None


def agent_limit(own: float | None, default: float | None, cost_usd: float,
                action: str) -> AgentLimit | None:  # fmt: skip
    limit = agent_limit_usd(own, default)
    if limit is None:
        return None
    return AgentLimit(used_pct=100.0 * cost_usd / limit, limit_usd=limit, action=action)
