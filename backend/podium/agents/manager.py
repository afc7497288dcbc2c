"""`AgentManager`: the agents of one repository, behind one thread-safe facade.

The work is done by the modules beside it: `spec` (what a spawn may ask), `workspace` (names,
branches, worktrees), `launch` + `profiles` (command lines, environments), `supervisor` +
`process` (process trees), `events` + `reducer` (what the agent says → its state), `watcher`
(diff stats on file events), `registry` + `record` (the records, their lock, their rows in
`podium.store.AgentsRepo`, the `on_change` listener).

Threads and locks (docs/architecture.md): the registry's lock guards only the in-memory
records; it is never held across a process call, a git call or a SQLite write. Operations on
one agent serialise on that agent's `op_lock`, so `list()` and `get()` never wait behind
another agent's stop, pause or remove.
"""

from __future__ import annotations

import builtins  # `list` below names the method that lists the agents
import contextlib
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from podium.agents import gitops, session_io
from podium.agents.events import STDERR_FILE, STDOUT_FILE, RateLimitInfo
from podium.agents.launch import new_record, plan_launch
from podium.agents.models import TERMINAL_STATUSES, Agent, AgentStatus, DiffStats
from podium.agents.ownership import Ownership
from podium.agents.permissions import Permissions
from podium.agents.process import ProcessHandle, become_subreaper
from podium.agents.profiles import (
    DEFAULT_PERMISSION_MODE,
    PROFILES,
    SESSION_PROFILES,
    known_profiles,
)
from podium.agents.record import AgentRecord
from podium.agents.reducer import USAGE_LIMIT_REASON, usage_limit_reason
from podium.agents.registry import AgentRegistry
from podium.agents.rollback import Rollback
from podium.agents.sessions import OAUTH_ENV, Sessions
from podium.agents.spec import SpawnSpec, validate_spawn
from podium.agents.supervisor import Supervisor
from podium.agents.watcher import DiffWatcher
from podium.agents.workspace import Workspace
from podium.errors import AgentError, InvalidInput, PodiumError
from podium.store.agents_repo import AgentsRepo
from podium.usage.queries import UsageTotals, totals

if TYPE_CHECKING:
    from podium.store import Store

__all__ = ["PROFILES", "USAGE_LIMIT_REASON", "AgentManager", "usage_limit_reason"]


class AgentManager:
    """Owns every agent of one repository. Thread-safe; `on_change` may be called from any
    thread (the caller of a control method, the poller, the watcher's threads), never with a
    lock of the manager held."""

    def __init__(
        self,
        store: Store,
        repo: str | Path,
        *,
        worktree_dir: str | Path | None = None,
        claude_config_dir: str | Path | None = None,
        profiles: dict[str, list[str]] | None = None,
        keep_running: bool = False,
        on_change: Callable[[Agent], None] | None = None,
        idle_after: float = 60.0,
        stop_grace: float = 3.0,
        diff_concurrency: int = 4,
        diff_debounce_ms: int = 150,
    ) -> None:
        self.store = store
        self.workspace = Workspace(repo, worktree_dir)
        self.claude_config_dir = str(claude_config_dir) if claude_config_dir else None
        self.profiles = dict(profiles or {})
        #: settings.sourceOverrides {agentName: source}, read at spawn
        self.source_overrides: dict[str, str] = {}
        #: settings.permissionMode and settings.profilePermissionModes, read at spawn
        self.permission_mode = DEFAULT_PERMISSION_MODE
        self.profile_permission_modes: dict[str, str] = {}
        self._closed = False
        #: one spawn at a time, from choosing the name to the stored row
        self._spawn_lock = threading.Lock()
        self._registry = AgentRegistry(AgentsRepo(store), on_change)
        self._supervisor = Supervisor(self._registry, stop_grace=stop_grace,
                                      idle_after=idle_after, keep_running=keep_running)  # fmt: skip
        become_subreaper()  # what an agent orphans and its keeper lost re-parents to us
        self._watcher = DiffWatcher(
            self.workspace.worktree_dir, self._registry.worktrees,
            lambda agent_id: self._refresh_diff(agent_id, True),
            concurrency=diff_concurrency, debounce_ms=diff_debounce_ms,
        )  # fmt: skip
        self._sessions = Sessions(self._registry, self._supervisor, lambda: self.profiles)
        self._supervisor.after_events = self._sessions.flush
        self._permissions = Permissions(self._registry, self.workspace.state_root)
        root = str(self.workspace.root)
        self._registry.load(root)
        self.ownership = Ownership(store, root, self.workspace.state_root,
                                   owner_file=self.workspace.is_repo)  # fmt: skip
        self._registry.ownership = self.ownership
        self._registry.take_over = self._take_over
        # the owner re-attaches; another Podium's agents are shown read-only
        self.ownership.ensure(self._take_over)

    def _take_over(self) -> None:
        """This manager became the owner of the repository's agents: their rows as the last
        owner left them, then re-attach to the running ones."""
        self._registry.notify(self._registry.refresh())
        self._supervisor.reattach()

    # -- spawning -------------------------------------------------------------------------------
    def spawn(
        self,
        task: str,
        *,
        name: str | None = None,
        base_ref: str | None = None,
        profile: str = "fake",
        command: list[str] | None = None,
        env: dict[str, str] | None = None,
        source: str | None = None,
        limit_usd: float | None = None,
        fake_args: list[str] | None = None,
        permission_mode: str | None = None,
    ) -> Agent:
        """Create branch `podium/<name>` and its worktree, then launch the agent there. A
        `claude` session gets the task as its first message and asks Podium for permissions
        (`permission_mode`: default the profile's, else the setting's)."""
        if self._closed:
            raise AgentError("the agent manager is closed")
        spec = validate_spawn(task=task, name=name, base_ref=base_ref, profile=profile,
                              command=command, env=env, source=source, limit_usd=limit_usd,
                              permission_mode=permission_mode)  # fmt: skip
        if profile not in PROFILES and profile not in self.profiles:
            raise InvalidInput(f"unknown profile {profile!r}; use one of "
                               f"{', '.join(known_profiles(self.profiles))}", field="profile")  # fmt: skip
        if profile == "shell" and not command and "shell" not in self.profiles:
            raise InvalidInput("the shell profile needs a command (argv)", field="command")
        with self._spawn_lock:
            if self._closed:  # closed while this spawn waited
                raise AgentError("the agent manager is closed")
            self._registry.require_owner()
            record = self._launch(spec, profile, fake_args)
        self._watcher.restart()
        self._registry.notify([record])
        return self._registry.snapshot(record)

    def _launch(self, spec: SpawnSpec, profile: str, fake_args: list[str] | None) -> AgentRecord:
        """Workspace, process, row and record of a new agent (under `_spawn_lock`): all of
        them, or — whichever step fails — none (docs/architecture.md "Spawn")."""
        repo = self.workspace.open()
        base_commit = self.workspace.base_commit(repo, spec.base_ref)
        agent_id = "ag-" + uuid.uuid4().hex[:8]
        root = str(self.workspace.root)
        taken = {agent.name for agent in self._registry.snapshots()}
        taken |= self._registry.rows.names_in_use(root)  # also another Podium's agents of this repo
        name = self.workspace.pick_name(repo, spec.name, taken)
        place = self.workspace.placement(name, agent_id)
        session = profile in SESSION_PROFILES
        mode = (spec.permission_mode or self.profile_permission_modes.get(profile)
                or self.permission_mode) if session else None  # fmt: skip
        plan = plan_launch(
            spec, profile, place, agent_id, str(uuid.uuid4()), user_profiles=self.profiles,
            fake_args=fake_args, claude_config_dir=self.claude_config_dir,
            source_override=spec.source or self.source_overrides.get(name),
            permission_mode=mode or DEFAULT_PERMISSION_MODE,
        )  # fmt: skip
        with Rollback(f"start agent {name}") as undo:  # all of it, or nothing left behind
            undo.push(lambda: self.workspace.discard(repo, place))
            self.workspace.create(repo, place, base_commit, claude_hooks=profile == "claude")
            self.ownership.publish()  # owner.json, for the agents' permission hooks
            record = new_record(spec, profile, place, plan, agent_id=agent_id, repo=root,
                                base_commit=base_commit, permission_mode=mode)  # fmt: skip
            fifo = session_io.ensure_fifo(place.state_dir) if session else None
            handle = ProcessHandle.launch(
                plan.argv, cwd=place.worktree, env=plan.env, stdin_fifo=fifo,
                stdout=place.state_dir / STDOUT_FILE, stderr=place.state_dir / STDERR_FILE,
                keep_running=self.keep_running, grace=self._supervisor.stop_grace,
            )  # fmt: skip
            undo.push(lambda: handle.terminate(self._supervisor.stop_grace))
            if fifo is not None:  # the task is the first message (never in the argv)
                session_io.send(fifo, spec.task)
                record.turn_running = True
            record.handle = handle
            record.pid_create_time = handle.create_time
            record.agent.pid = handle.pid
            self._registry.add(record)  # the row, last: nothing can fail after it
        return record

    @property
    def keep_running(self) -> bool:
        """Whether agents outlive this manager (settings.keepAgentsRunning); swapping it tells
        every agent's keeper at once, so a killed Podium ends its agents or leaves them alone
        as the setting in force says."""
        return self._supervisor.keep_running

    @keep_running.setter
    def keep_running(self, keep: bool) -> None:
        self._supervisor.set_keep_running(keep)

    # -- reading --------------------------------------------------------------------------------
    def get(self, agent_id: str) -> Agent:
        return self._registry.snapshot(self._registry.get(agent_id))

    def list(self) -> list[Agent]:
        return self._registry.snapshots()

    def diff(self, agent_id: str) -> DiffStats:
        """Cached diff stats; computed now when no watcher keeps them fresh."""
        cached = self._registry.get(agent_id).diff
        if self._watcher.running and cached is not None:
            return cached
        return self._refresh_diff(agent_id, notify=False) or cached or DiffStats()

    def usage(self, agent_id: str) -> UsageTotals:
        return totals(self.store, agents=[self.get(agent_id)])

    # -- control --------------------------------------------------------------------------------
    def pause(self, agent_id: str, reason: str | None = None) -> Agent:
        """SIGSTOP the agent's tree and wait until it is stopped."""
        return self._supervisor.pause(agent_id, reason)

    def resume(self, agent_id: str) -> Agent:
        """Continue a paused agent (SIGCONT), or an ended session in a new process
        (`--resume <session id>` in its worktree)."""
        record = self._registry.get(agent_id)
        with self._registry.lock:
            ended = record.agent.status in TERMINAL_STATUSES
            session = record.agent.profile in SESSION_PROFILES
        if ended and session:
            return self._sessions.restart(agent_id)
        return self._supervisor.resume(agent_id)

    # -- the conversation -------------------------------------------------------------------------
    def send_message(self, agent_id: str, text: str) -> bool:
        """A follow-up message; True when queued until the running turn ends (or the pause
        does). The text is never stored."""
        return self._sessions.send(agent_id, text)

    def answer_permission(self, agent_id: str, request_id: str, decision: str,
                          scope: str = "once") -> str:  # fmt: skip
        """Answer a pending permission request (NotFound when there is no such request or it
        was answered already)."""
        return self._permissions.answer(agent_id, request_id, decision, scope)

    def switch_to_api(self, agent_id: str, api_key: str) -> Agent:
        """Continue the session under an API key: the process is restarted with `--resume`,
        `ANTHROPIC_API_KEY` set and the OAuth login removed; its source becomes `api`. The
        key stays in memory (the process environment), never in the store."""
        if not api_key.strip():
            raise InvalidInput("the API key is empty", field="apiKeyEnv")
        with self._registry.lock:
            record = self._registry.find_locked(agent_id)
            mid_turn = bool(record and (record.turn_running
                                        or record.agent.status == AgentStatus.RATE_LIMITED))  # fmt: skip
        return self._sessions.restart(agent_id, env={"ANTHROPIC_API_KEY": api_key},
                                      drop_env=OAUTH_ENV, source="api", continue_turn=mid_turn)  # fmt: skip

    def take_plan_updates(self) -> builtins.list[tuple[Agent, RateLimitInfo]]:
        """The plan figures agents reported (`rate_limit_event`) since the last call."""
        taken = []
        with self._registry.lock:
            for record in self._registry.records_locked():
                for update in record.plan_updates:
                    taken.append((record.snapshot(), update))
                record.plan_updates = []
        return taken

    def stop(self, agent_id: str) -> Agent:
        """Terminate the agent's tree (SIGKILL after `stop_grace` seconds)."""
        return self._supervisor.stop(agent_id)

    def remove(self, agent_id: str, *, delete_branch: bool = False, force: bool = False) -> None:
        """Stop the agent, remove its worktree (refused when that loses work, unless
        `force`) and, when asked, its branch."""
        registry = self._registry
        record = registry.get(agent_id)
        stopped = False
        try:
            with registry.operation(record):
                agent = registry.snapshot(record)
                repo = self.workspace.check_removable(agent, delete_branch=delete_branch,
                                                      force=force)  # fmt: skip
                if record.handle is not None:  # also ends what an exited agent left running
                    stopped = self._supervisor.stop_locked(record)
                self.workspace.remove(repo, agent, delete_branch=delete_branch, force=force)
                registry.drop(record, time.time())
        finally:
            if stopped:
                registry.notify([record])
        self._watcher.restart()

    # -- supervision ----------------------------------------------------------------------------
    def note_activity(self, session_ids: set[str], cwds: set[str]) -> builtins.list[str]:
        """After an ingest: agents whose session or worktree saw new entries are active."""
        return self._supervisor.note_activity(session_ids, cwds)

    def poll(self) -> builtins.list[str]:
        """Reap ended processes, read new stream-json and hook events, send queued messages,
        detect idleness; keep the ownership (heartbeat), or, read-only, re-read the rows and
        take over once the owner is gone."""
        changed = self._supervisor.keep_ownership(time.time())
        return [*changed, *(i for i in self._supervisor.poll() if i not in changed)]

    @property
    def read_only(self) -> bool:
        """Another Podium process owns this repository's agents (see `ownership`)."""
        return not self.ownership.owns

    def reattach(self) -> builtins.list[Agent]:
        """Re-attach to agents of this repo still running from an earlier Podium (same pid
        *and* create time); mark the others exited. Returns the re-attached ones."""
        self._registry.require_owner()
        return self._supervisor.reattach()

    async def run_watchers(self) -> None:
        """Keep diff stats fresh from file events (see `watcher.DiffWatcher`). Returns when
        `close()` is called."""
        await self._watcher.run(lambda: self._closed)

    def close(self) -> None:
        """Stop agents (unless keep_running) and the watchers."""
        with self._spawn_lock:  # a spawn under way ends first; its agent is stopped below
            if self._closed:
                return
            self._closed = True
        if not self.ownership.owns:  # another Podium's agents: not ours to stop
            self._watcher.stop()
            return
        # agents that ended on their own may have left processes behind
        records = [r for r in self._registry.records() if r.handle is not None]
        for record in records:
            with contextlib.suppress(PodiumError):
                if not self.keep_running:
                    self._supervisor.stop(record.id)
                    continue
                with self._registry.operation(record):
                    if record.handle is not None and not record.handle.finished:
                        self._supervisor.drain(record)
                        self._registry.persist(record)
                    if record.handle is not None:  # its keeper keeps it for the next Podium
                        record.handle.detach()
        self.ownership.release()  # after the agents: a taker-over finds them settled
        self._watcher.stop()

    def __enter__(self) -> AgentManager:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- diff stats -----------------------------------------------------------------------------
    def _refresh_diff(self, agent_id: str, notify: bool = True) -> DiffStats | None:
        registry = self._registry
        with registry.lock:
            record = registry.find_locked(agent_id)
            if record is None:
                return None
            worktree, base = record.agent.worktree, record.agent.base_commit
        if not Path(worktree).is_dir():
            return None
        try:
            stats = gitops.diff_stats(worktree, base)  # git: no lock held
        except PodiumError:
            return None
        with registry.lock:
            if record.removed:
                return stats
            changed = record.diff != stats
            record.diff = record.agent.diff = stats
            if changed:
                record.extra["diff"] = [stats.added, stats.removed, stats.files]
        if changed:
            registry.persist(record)
            if notify:
                registry.notify([record])
        return stats
