"""Talking to long-lived Claude Code sessions: follow-up messages (sent now, or queued while a
turn runs and sent when its `result` arrives), and restarting an ended session with
`--resume <session id>` in its own worktree (also under another credential: `switch_to_api`).

Messages travel through the session's stdin FIFO (`session_io`); their text stays in memory
only (the queue), never in the store or a log.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from podium.agents import session_io
from podium.agents.events import STDERR_FILE, STDOUT_FILE
from podium.agents.hooks import install_hooks
from podium.agents.launch import plan_resume
from podium.agents.models import TERMINAL_STATUSES, Agent, AgentStatus
from podium.agents.permissions import deny_pending
from podium.agents.process import ProcessHandle
from podium.agents.profiles import SESSION_PROFILES, redacted_argv
from podium.agents.record import AgentRecord
from podium.agents.registry import AgentRegistry
from podium.agents.supervisor import Supervisor
from podium.agents.workspace import make_private_dir, make_private_file
from podium.errors import AgentError, InvalidInput
from podium.textlimits import MAX_TASK_BYTES, utf8_size

log = logging.getLogger(__name__)

#: what a session restarted mid-turn (switch to an API key) is told, so the turn goes on
CONTINUE_TEXT = "Continue where you left off."
#: environment variables that carry a subscription login (dropped when switching to a key)
OAUTH_ENV = ("CLAUDE_CODE_OAUTH_TOKEN",)


def check_message(text: object) -> str:
    if not isinstance(text, str):
        raise InvalidInput("text: must be text", field="text")
    if not text.strip():
        raise InvalidInput("text: must not be empty", field="text")
    try:
        size = utf8_size(text)
    except ValueError as exc:
        raise InvalidInput(f"text: {exc}", field="text") from None
    if size > MAX_TASK_BYTES:
        raise InvalidInput(f"text: must be at most {MAX_TASK_BYTES:,} bytes", field="text")
    return text


def fifo_of(record: AgentRecord) -> Path:
    return Path(record.agent.state_dir) / session_io.FIFO_FILE


class Sessions:
    def __init__(self, registry: AgentRegistry, supervisor: Supervisor,
                 user_profiles: Callable[[], dict[str, list[str]]]) -> None:  # fmt: skip
        self.registry = registry
        self.supervisor = supervisor
        self.user_profiles = user_profiles

    # -- messages ----------------------------------------------------------------------------
    def send(self, agent_id: str, text: str) -> bool:
        """Send a follow-up; True when it was queued (a turn runs, or the agent is paused)."""
        text = check_message(text)
        registry = self.registry
        record = registry.get(agent_id)
        with registry.operation(record):
            with registry.lock:
                self._check_takes_messages(record)
                if record.turn_running or record.outbox or record.agent.status == AgentStatus.PAUSED:
                    record.outbox.append(text)
                    return True
            self._write(record, text)
            registry.persist(record)
        registry.notify([record])
        return False

    def _check_takes_messages(self, record: AgentRecord) -> None:
        agent = record.agent
        if agent.profile not in SESSION_PROFILES:
            raise AgentError(f"agent {agent.name} (profile {agent.profile}) does not take "
                             "messages", field="agentId")  # fmt: skip
        if agent.status in TERMINAL_STATUSES or record.handle is None or record.handle.finished:
            raise AgentError(f"agent {agent.name} has ended ({agent.status.value}); resume it "
                             "first", field="agentId")  # fmt: skip

    def _write(self, record: AgentRecord, text: str) -> None:
        """Write one message now: a turn starts (the agent's `op_lock` held)."""
        session_io.send(fifo_of(record), text)
        with self.registry.lock:
            record.turn_running = True
            record.last_activity = time.time()
            if record.agent.status not in TERMINAL_STATUSES and not record.pending:
                record.set_status(AgentStatus.WORKING, None)

    def flush(self, record: AgentRecord) -> bool:
        """From the poller (the agent's `op_lock` held): send the next queued message once no
        turn runs. True when one was sent."""
        with self.registry.lock:
            agent = record.agent
            if (not record.outbox or record.turn_running or agent.status == AgentStatus.PAUSED
                    or agent.status in TERMINAL_STATUSES):  # fmt: skip
                return False
            text = record.outbox.popleft()
        try:
            self._write(record, text)
        except AgentError as exc:
            log.warning("agent %s: a queued message was not sent: %s", agent.name, exc)
            return False
        return True

    # -- restarts ----------------------------------------------------------------------------
    def restart(self, agent_id: str, *, env: dict[str, str] | None = None,
                drop_env: tuple[str, ...] = (), source: str | None = None,
                continue_turn: bool = False) -> Agent:  # fmt: skip
        """Continue the agent's session in a new process (`--resume`), in its worktree. A
        running process is stopped first (its pending requests denied). `env` entries are
        added to the spawn's and kept for later restarts; `drop_env` removed; `source`
        overrides the billing source; `continue_turn` tells the session to go on."""
        registry = self.registry
        record = registry.get(agent_id)
        with registry.operation(record):
            agent = registry.snapshot(record)
            if agent.profile not in SESSION_PROFILES or not agent.claude_session_id:
                raise AgentError(f"agent {agent.name} has no session to resume", field="agentId")
            if not Path(agent.worktree).is_dir():
                raise AgentError(f"agent {agent.name}'s worktree {agent.worktree} is gone",
                                 field="agentId")  # fmt: skip
            handle = record.handle
            if handle is not None and not handle.finished and handle.poll():
                deny_pending(record, registry)
                handle.terminate(self.supervisor.stop_grace)
                self.supervisor.drain(record)
            launch_env = {k: v for k, v in (record.launch_env or {}).items() if k not in drop_env}
            launch_env.update(env or {})
            override = source or record.source_override
            plan = plan_resume(agent, record.extra.get("base_command"), launch_env,
                               user_profiles=self.user_profiles(), source_override=override,
                               drop=drop_env)  # fmt: skip
            state_dir = Path(agent.state_dir)
            make_private_dir(state_dir)
            make_private_file(install_hooks(state_dir))
            fifo = session_io.ensure_fifo(state_dir)
            new = ProcessHandle.launch(plan.argv, cwd=Path(agent.worktree), env=plan.env,
                                       stdout=state_dir / STDOUT_FILE,
                                       stderr=state_dir / STDERR_FILE, stdin_fifo=fifo,
                                       keep_running=self.supervisor.keep_running,
                                       grace=self.supervisor.stop_grace)  # fmt: skip
            with registry.lock:
                record.handle = new
                record.pid_create_time = new.create_time
                record.launch_env = launch_env
                record.source_override = override
                record.env_source = plan.env_source
                record.refresh_source()
                record.turn_running = False
                record.pending.clear()
                a = record.agent
                a.pid, a.exit_code, a.ended_at = new.pid, None, None
                a.command = redacted_argv(plan.argv, "")
                record.last_activity = time.time()
                record.set_status(AgentStatus.WAITING, None)
            if continue_turn:
                self._write(record, CONTINUE_TEXT)
            registry.persist(record)
        registry.notify([record])
        return registry.snapshot(record)
