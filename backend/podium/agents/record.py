"""`AgentRecord`: the manager's live, mutable state of one agent, and its mapping to the
`agents` table's rows (`podium.store.AgentsRepo`)."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field, replace
from typing import Any

from podium.agents.events import EventSource, RateLimitInfo, ToolUse
from podium.agents.models import TERMINAL_STATUSES, Agent, AgentStatus, DiffStats, PendingRequest
from podium.agents.process import PODIUM_GONE_REASON, ProcessHandle, exit_reason
from podium.agents.source import detect_source


@dataclass(eq=False)
class AgentRecord:
    """One agent as the manager knows it.

    Its fields are read and changed under the manager's lock (short, in memory). `op_lock`
    serialises what calls the process, git or the event files for this agent (pause, resume,
    stop, remove, draining the events); it is never taken while the manager's lock is held.
    """

    agent: Agent
    events: EventSource
    handle: ProcessHandle | None = None
    pid_create_time: float | None = None
    source_override: str | None = None
    env_source: str = "subscription"
    api_key_source: str | None = None
    last_activity: float = 0.0
    resume_status: AgentStatus = AgentStatus.WORKING
    diff: DiffStats | None = None
    #: stored extras (diff, sources, resume status) and any key an older Podium wrote
    extra: dict[str, Any] = field(default_factory=dict)
    removed: bool = False
    # -- the conversation (claude sessions); in memory only: message text is never stored
    #: a turn runs from a message sent until its `result`
    turn_running: bool = False
    #: what the running turn asked to do (its outcome is `agent.last_turn`)
    turn_tools: list[ToolUse] = field(default_factory=list)
    #: follow-ups waiting for the running turn to end
    outbox: deque[str] = field(default_factory=deque)
    #: the spawn's own environment entries, for a restarted session (never stored)
    launch_env: dict[str, str] | None = None
    # -- permissions: pending requests by id (oldest first), ids answered already
    pending: dict[str, PendingRequest] = field(default_factory=dict)
    answered: dict[str, str] = field(default_factory=dict)  # request id → decision
    # -- limits the agent reported: plan figures not yet handed over, last reset per window
    plan_updates: list[RateLimitInfo] = field(default_factory=list)
    resets: dict[str, float] = field(default_factory=dict)
    rate_limit_type: str | None = None
    op_lock: threading.Lock = field(default_factory=threading.Lock)
    # -- persistence order: a row snapshot older than the last one written is dropped
    save_lock: threading.Lock = field(default_factory=threading.Lock)
    snapshots: int = 0
    saved: int = 0
    saved_row: dict[str, Any] | None = None

    @property
    def id(self) -> str:
        return self.agent.id

    def snapshot(self) -> Agent:
        return replace(self.agent, command=list(self.agent.command),
                       pending=list(self.pending.values()))  # fmt: skip

    # -- state changes --------------------------------------------------------------------------
    def set_status(self, status: AgentStatus, reason: str | None) -> bool:
        """True when status or reason changed (`status_since` moves with the status only)."""
        agent = self.agent
        if agent.status == status and agent.status_reason == reason:
            return False
        if agent.status != status:
            agent.status_since = time.time()
        agent.status = status
        agent.status_reason = reason
        return True

    def finish(self) -> None:
        """The process is gone: record how it ended (a stop keeps its `stopped`, an error its
        reason; the exit code is added, negative when a signal killed it)."""
        agent = self.agent
        cause = None
        if self.handle is not None:
            agent.exit_code = self.handle.exit_code
            cause = self.handle.end_cause
        if agent.ended_at is None:
            agent.ended_at = time.time()
        self.turn_running = False
        self.pending.clear()  # the hooks died with the process
        if agent.status in (AgentStatus.STOPPED, AgentStatus.EXITED, AgentStatus.ERROR):
            return
        if cause == "podium-gone":  # its keeper ended it: the Podium it ran under was gone
            self.set_status(AgentStatus.STOPPED, PODIUM_GONE_REASON)
            return
        if agent.status == AgentStatus.RATE_LIMITED:  # ended while limited: the limit says why
            self.set_status(AgentStatus.ERROR, agent.status_reason)
            return
        self.set_status(AgentStatus.EXITED, exit_reason(agent.exit_code))

    def mark_active(self, now: float) -> None:
        """Something showed the agent at work (not while paused or after it ended)."""
        if self.agent.status == AgentStatus.PAUSED or self.agent.status in TERMINAL_STATUSES:
            return
        self.last_activity = now
        if not self.pending:  # else it waits on a person, whatever it prints meanwhile
            self.set_status(AgentStatus.WORKING, None)

    def refresh_source(self) -> None:
        """Billing source from the spawn environment, `apiKeySource` and the override."""
        env = {"ANTHROPIC_API_KEY": "x"} if self.env_source == "api" else {}
        if self.env_source == "proxy":
            env["ANTHROPIC_BASE_URL"] = "http://proxy.invalid"
        self.agent.source = detect_source(env, api_key_source=self.api_key_source,
                                          override=self.source_override)  # fmt: skip

    # -- rows -----------------------------------------------------------------------------------
    def row(self) -> dict[str, Any]:
        """Every column of the agent's row (`command` and `extra` decoded)."""
        a = self.agent
        extra = dict(self.extra)
        extra.update(env_source=self.env_source, api_key_source=self.api_key_source,
                     resume_status=self.resume_status.value, permission_mode=a.permission_mode,
                     last_turn=a.last_turn, reported_cost_usd=a.reported_cost_usd)  # fmt: skip
        return {
            "id": a.id, "name": a.name, "task": a.task, "repo": a.repo, "worktree": a.worktree,
            "branch": a.branch, "base_ref": a.base_ref, "base_commit": a.base_commit,
            "profile": a.profile, "state_dir": a.state_dir, "pid_create_time": self.pid_create_time,
            "source_override": self.source_override, "started_at": a.started_at,
            "claude_session_id": a.claude_session_id, "pid": a.pid, "source": a.source,
            "model": a.model, "status": a.status.value, "status_since": a.status_since,
            "status_reason": a.status_reason, "exit_code": a.exit_code, "ended_at": a.ended_at,
            "limit_usd": a.limit_usd, "command": list(a.command), "extra": extra,
        }  # fmt: skip

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> AgentRecord:
        extra = dict(row["extra"])
        diff = extra.get("diff")
        stats = DiffStats(*diff) if isinstance(diff, list) and len(diff) == 3 else None
        try:
            status = AgentStatus(row["status"])
        except ValueError:
            status = AgentStatus.ERROR
        agent = Agent(
            id=row["id"], name=row["name"], task=row["task"], status=status,
            status_since=row["status_since"], status_reason=row["status_reason"],
            started_at=row["started_at"], repo=row["repo"], worktree=row["worktree"],
            branch=row["branch"], base_ref=row["base_ref"], base_commit=row["base_commit"] or "",
            profile=row["profile"], command=row["command"], pid=row["pid"],
            claude_session_id=row["claude_session_id"], source=row["source"],
            model=row["model"], exit_code=row["exit_code"], limit_usd=row["limit_usd"],
            state_dir=row["state_dir"], diff=stats or DiffStats(), ended_at=row["ended_at"],
            permission_mode=_str_or_none(extra.get("permission_mode")),
            last_turn=_str_or_none(extra.get("last_turn")),
            reported_cost_usd=_float_or_none(extra.get("reported_cost_usd")),
        )  # fmt: skip
        record = cls(
            agent=agent, events=EventSource(agent.state_dir),
            pid_create_time=row["pid_create_time"], source_override=row["source_override"],
            env_source=extra.get("env_source", "subscription"),
            api_key_source=extra.get("api_key_source"), diff=stats, extra=extra,
        )  # fmt: skip
        resume = extra.get("resume_status")
        if isinstance(resume, str) and resume in AgentStatus.__members__.values():
            record.resume_status = AgentStatus(resume)
        return record


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _float_or_none(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
