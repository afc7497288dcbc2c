"""Limit events → `podium/alert` payloads (docs/protocol.md §Alert)."""

from __future__ import annotations

from typing import Any

from podium.protocol.models import Alert

#: a limit engine level → the alert level on the wire (`exceeded` is sent as `critical`)
ALERT_LEVEL = {"warning": "warning", "critical": "critical", "exceeded": "critical"}


def limit_alert(event: Any, action: str | None) -> Alert:
    """limits.LimitEvent → its alert; `action` is what the server did to `event.agent_id`."""
    return Alert(
        level=ALERT_LEVEL.get(event.level, "warning"),
        message=event.message,
        agent_id=event.agent_id,
        scope=event.scope,
        scope_key=event.scope_key,
        action=action,
        used=round(float(event.used), 6),
        limit=float(event.limit),
        pct=round(float(event.pct), 2),
    )


def usage_limit_alert(agent_id: str, message: str) -> Alert:
    """An agent ended on the plan's usage limit (Claude Code's `usage limit reached`)."""
    return Alert(level="critical", message=message, agent_id=agent_id, scope="usage_limit",
                 scope_key=agent_id)  # fmt: skip


def rate_limit_alert(agent_id: str, message: str, *, usage_limit: bool,
                     action: str | None) -> Alert:  # fmt: skip
    """An agent held by a rate limit (`rate_limit`) or the plan's usage limit (`usage_limit`);
    `action` is what `onRateLimit` did to it."""
    return Alert(level="critical" if usage_limit else "warning", message=message,
                 agent_id=agent_id, scope="usage_limit" if usage_limit else "rate_limit",
                 scope_key=agent_id, action=action)  # fmt: skip


def permission_alert(agent_id: str, request_id: str, message: str) -> Alert:
    """A new permission request (`alpha asks to Write src/x.py`), once per request."""
    return Alert(level="warning", message=message, agent_id=agent_id, scope="permission",
                 scope_key=request_id)  # fmt: skip
