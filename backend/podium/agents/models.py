"""Agent snapshots handed to the rest of Podium (the manager owns the live state)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class AgentStatus(StrEnum):
    STARTING = "starting"
    WORKING = "working"
    WAITING = "waiting"  # turn finished, or a permission request: needs the user
    RATE_LIMITED = "rateLimited"  # alive, held by an API rate limit or the plan's usage limit
    IDLE = "idle"  # alive, no activity for a while
    PAUSED = "paused"
    STOPPED = "stopped"  # stopped by Podium or the user
    EXITED = "exited"  # the process ended on its own (see exit_code)
    ERROR = "error"

    @property
    def is_live(self) -> bool:
        """A process may still be running in this state."""
        return self not in (AgentStatus.STOPPED, AgentStatus.EXITED, AgentStatus.ERROR)


TERMINAL_STATUSES = frozenset({AgentStatus.STOPPED, AgentStatus.EXITED, AgentStatus.ERROR})


@dataclass(frozen=True, slots=True)
class DiffStats:
    """Lines added/removed and files changed against the agent's base commit."""

    added: int = 0
    removed: int = 0
    files: int = 0


@dataclass(frozen=True, slots=True)
class PendingRequest:
    """A permission request the agent waits on (its hook blocks until it is answered)."""

    request_id: str
    tool: str
    summary: str  # scrubbed: a file path relative to the worktree, or a command
    since: float  # epoch seconds


@dataclass(slots=True)
class Agent:
    """A snapshot of one agent session."""

    id: str
    name: str
    task: str
    status: AgentStatus
    status_since: float  # epoch seconds
    status_reason: str | None
    started_at: float
    repo: str
    worktree: str
    branch: str
    base_ref: str | None
    base_commit: str
    profile: str
    command: list[str]
    pid: int | None
    claude_session_id: str | None
    source: str  # "subscription" | "api" | "proxy"
    model: str | None
    exit_code: int | None
    limit_usd: float | None
    state_dir: str
    diff: DiffStats = field(default_factory=DiffStats)
    ended_at: float | None = None
    #: the session's --permission-mode (claude profile), else None
    permission_mode: str | None = None
    #: permission requests waiting for an answer, oldest first
    pending: list[PendingRequest] = field(default_factory=list)
    #: one line on how the last turn ended ("wrote 2 files", "denied Write", "error: …")
    last_turn: str | None = None
    #: Claude Code's own cost of the agent's turns (sum of its per-turn `costUSD`)
    reported_cost_usd: float | None = None
