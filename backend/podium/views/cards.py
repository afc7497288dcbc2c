"""Agent → AgentCard (the `podium/agentCard` payload of docs/protocol.md)."""

from __future__ import annotations

from typing import Any, Protocol

from podium.agents.models import TERMINAL_STATUSES
from podium.protocol.models import AgentCard, AgentUsageRow, Diff, Limit, PendingRequest, Usage


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


def epoch_ms(seconds: float) -> int:
    return round(seconds * 1000)


def usage_of(usage: Any | None) -> Usage:
    """UsageTotals (or None: nothing yet) → the `usage` object of cards and the summary."""
    if usage is None:
        return Usage()
    return Usage(
        input_tokens=usage.input,
        output_tokens=usage.output,
        cache_creation_tokens=usage.cache_create,
        cache_read_tokens=usage.cache_read,
        cost_usd=round(float(usage.cost_usd), 6),
        messages=usage.messages,
    )


def diff_of(diff: Any | None) -> Diff:
    if diff is None:
        return Diff()
    return Diff(added=diff.added, removed=diff.removed, files=diff.files)


def limit_of(limit: Any | None) -> Limit | None:
    """limits.AgentLimit (used_pct, limit_usd, action) → the card's `limit`."""
    if limit is None:
        return None
    return Limit(used_pct=round(float(limit.used_pct), 2), limit_usd=float(limit.limit_usd),
                 action=limit.action)  # fmt: skip


def render_card(agent: _AgentLike, usage: Any | None, diff: Any | None, limit: Any | None,
                *, status_reason: str | None = None) -> AgentCard:  # fmt: skip
    """The AgentCard of one agent; `status_reason` overrides the agent's (a stop by a limit)."""
    models = list(getattr(usage, "models", None) or [])
    status = str(agent.status)
    return AgentCard(
        agent_id=agent.id,
        name=agent.name,
        task=agent.task,
        status=status,
        status_since=epoch_ms(agent.status_since),
        status_reason=status_reason or agent.status_reason,
        started_at=epoch_ms(agent.started_at),
        worktree=agent.worktree,
        branch=agent.branch,
        # protocol: null once it ended (the old pid may be someone else's by now)
        pid=None if status in TERMINAL_STATUSES else agent.pid,
        exit_code=agent.exit_code,
        profile=agent.profile,
        source=agent.source,
        model=agent.model or (models[-1] if models else None),
        usage=usage_of(usage),
        diff=diff_of(diff),
        limit=limit_of(limit),
        pending=[
            PendingRequest(request_id=p.request_id, tool=p.tool, summary=p.summary,
                           since=epoch_ms(p.since))
            for p in getattr(agent, "pending", None) or []
        ],
        last_turn=getattr(agent, "last_turn", None),
        reported_cost_usd=_usd(getattr(agent, "reported_cost_usd", None)),
        permission_mode=getattr(agent, "permission_mode", None),
    )


def _usd(value: float | None) -> float | None:
    return None if value is None else round(float(value), 6)


def usage_row(card: AgentCard) -> AgentUsageRow:
    """One agent's line of `podium/usageSummary`."""
    return AgentUsageRow(agent_id=card.agent_id, name=card.name, status=card.status,
                         source=card.source, usage=card.usage, limit=card.limit)  # fmt: skip
