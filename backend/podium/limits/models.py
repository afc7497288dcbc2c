"""What the limits engine reports: plan windows with their source and age, limit events."""

from __future__ import annotations

from dataclasses import dataclass, field

LEVELS: tuple[str, ...] = ("warning", "critical", "exceeded")
SCOPES: tuple[str, ...] = ("agent", "session", "daily", "monthly", "plan")
WINDOWS: tuple[str, ...] = ("five_hour", "seven_day")


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

    def as_dict(self) -> dict:
        """camelCase, times in epoch ms (docs/protocol.md `UsageSummary.plan`)."""
        return {
            "usedPct": round(self.used_pct, 2),
            "source": self.source,
            "observedAt": int(self.observed_at * 1000),
            "resetsAt": int(self.resets_at * 1000) if self.resets_at is not None else None,
            "stale": self.stale,
            "staleReason": self.stale_reason,
        }


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

    @property
    def headline(self) -> PlanWindow | None:
        """The figure the status bar shows: the 5-hour window, else the 7-day one."""
        return self.five_hour or self.seven_day

    def as_dict(self) -> dict:
        return {
            "plan": self.plan,
            "fiveHour": self.five_hour.as_dict() if self.five_hour else None,
            "sevenDay": self.seven_day.as_dict() if self.seven_day else None,
            "burnUSDPerHour": round(self.burn_usd_per_hour, 4),
            "tokensPerMin": round(self.tokens_per_min, 1),
            "projectedUSDAtWindowEnd": _round(self.projected_usd_at_window_end, 4),
            "minutesToLimit": _round(self.minutes_to_limit, 1),
            "errors": list(self.errors),
        }


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

    def as_alert(self) -> dict:
        """The `podium/alert` params (docs/protocol.md): `exceeded` is sent as `critical`."""
        return {
            "level": "critical" if self.level == "exceeded" else self.level,
            "message": self.message,
            "agentId": self.agent_id,
            "scope": self.scope,
            "scopeKey": self.scope_key,
            "action": self.action,
            "used": round(self.used, 6),
            "limit": round(self.limit, 6),
            "pct": round(self.pct, 2),
        }


@dataclass
class AgentLimit:
    usedPct: float
    limitUSD: float
    action: str

    def as_dict(self) -> dict:
        return {"usedPct": round(self.usedPct, 2), "limitUSD": self.limitUSD, "action": self.action}


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)
