"""Agent → AgentCard payload (the `podium/agentCard` shape of docs/protocol.md)."""

from __future__ import annotations

from typing import Any, Protocol

from podium.agents.models import TERMINAL_STATUSES


class _AgentLike(Protocol):
    id: str
    name: str
    task: str
    status: Any
    status_since: float
    status_reason: str | None
    started_at: float
    worktree: str
    branch: str
    pid: int | None
    exit_code: int | None
    profile: str
    source: str
    model: str | None


def epoch_ms(seconds: float | None) -> int | None:
    return None if seconds is None else round(seconds * 1000)


def usage_payload(usage: Any | None) -> dict[str, Any]:
    """UsageTotals (or None) → the card's `usage` object."""
    if usage is None:
        return {
            "inputTokens": 0, "outputTokens": 0, "cacheCreationTokens": 0,
            "cacheReadTokens": 0, "costUSD": 0.0, "messages": 0,
        }  # fmt: skip
    return {
        "inputTokens": int(usage.input),
        "outputTokens": int(usage.output),
        "cacheCreationTokens": int(usage.cache_create),
        "cacheReadTokens": int(usage.cache_read),
        "costUSD": round(float(usage.cost_usd), 6),
        "messages": int(usage.messages),
    }


def diff_payload(diff: Any | None) -> dict[str, int]:
    if diff is None:
        return {"added": 0, "removed": 0, "files": 0}
    return {"added": int(diff.added), "removed": int(diff.removed), "files": int(diff.files)}


def limit_payload(limit: Any | None) -> dict[str, Any] | None:
    """AgentLimit (usedPct, limitUSD, action) or a ready dict → the card's `limit`."""
    if limit is None:
        return None
    if isinstance(limit, dict):
        return {
            "usedPct": round(float(limit["usedPct"]), 2),
            "limitUSD": float(limit["limitUSD"]),
            "action": str(limit["action"]),
        }
    return {
        "usedPct": round(float(limit.usedPct), 2),
        "limitUSD": float(limit.limitUSD),
        "action": str(limit.action),
    }


def render_card(
    agent: _AgentLike, usage: Any | None, diff: Any | None, limit: Any | None
) -> dict[str, Any]:
    """The AgentCard dict for one agent (camelCase, JSON-ready)."""
    models = list(getattr(usage, "models", None) or [])
    return {
        "agentId": agent.id,
        "name": agent.name,
        "task": agent.task,
        "status": str(agent.status),
        "statusSince": epoch_ms(agent.status_since),
        "statusReason": agent.status_reason,
        "startedAt": epoch_ms(agent.started_at),
        "worktree": agent.worktree,
        "branch": agent.branch,
        # protocol: null once it ended (the old pid may be someone else's by now)
        "pid": None if str(agent.status) in TERMINAL_STATUSES else agent.pid,
        "exitCode": agent.exit_code,
        "profile": agent.profile,
        "source": agent.source,
        "model": agent.model or (models[-1] if models else None),
        "usage": usage_payload(usage),
        "diff": diff_payload(diff),
        "limit": limit_payload(limit),
    }


def fallback_agent_limit(
    limit_usd: float | None, cost_usd: float, action: str
) -> dict[str, Any] | None:
    """An agent's budget figure when the limits engine is not available."""
    if not limit_usd:
        return None
    return {"usedPct": 100.0 * cost_usd / limit_usd, "limitUSD": limit_usd, "action": action}
