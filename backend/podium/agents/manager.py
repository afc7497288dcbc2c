"""`AgentManager`: the agents of one repository, behind one thread-safe facade.

The work is done by the modules beside it: `spec` (what a spawn may ask), `workspace` (names,
branches, worktrees), `profiles` (command lines), `process` (supervised process trees),
`events` + `reducer` (the agent's stream-json and hook events → its state), `watcher` (diff
stats on file events), `record` and `podium.store.AgentsRepo` (its row in the store).

Threads and locks (docs/architecture.md): `_lock` guards only the in-memory map of records and
their fields; it is never held across a process call, a git call or a SQLite write. Operations
on one agent (pause, resume, stop, remove, reading its events) serialise on that agent's
`op_lock`, so `list()` and `get()` never wait behind another agent's stop.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from podium.agents import gitops, reducer
from podium.agents.events import STDERR_FILE, STDOUT_FILE, EventSource
from podium.agents.models import TERMINAL_STATUSES, Agent, AgentStatus, DiffStats
from podium.agents.process import ProcessHandle, resolve_executable
from podium.agents.profiles import PROFILES, command_for, known_profiles, redacted_argv
from podium.agents.record import AgentRecord
from podium.agents.reducer import USAGE_LIMIT_REASON, usage_limit_reason
from podium.agents.source import detect_source
from podium.agents.spec import SpawnSpec, validate_spawn
from podium.agents.watcher import DiffWatcher, inside
from podium.agents.workspace import Workspace
from podium.errors import AgentError, InvalidInput, NotFound, PodiumError
from podium.redact import scrub
from podium.store.agents_repo import AgentsRepo

if TYPE_CHECKING:
    from podium.store import Store
    from podium.usage.queries import UsageTotals

__all__ = ["PROFILES", "USAGE_LIMIT_REASON", "AgentManager", "usage_limit_reason"]

log = logging.getLogger(__name__)
#: how long a pause waits for every process of the tree to be stopped
PAUSE_WAIT_S = 3.0


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
        self.rows = AgentsRepo(store)
        self.workspace = Workspace(repo, worktree_dir)
        self.claude_config_dir = str(claude_config_dir) if claude_config_dir else None
        self.profiles = dict(profiles or {})
        #: settings.sourceOverrides {agentName: source}, read at spawn
        self.source_overrides: dict[str, str] = {}
        self.keep_running = keep_running
        self.on_change = on_change
        self.idle_after = idle_after
        self.stop_grace = stop_grace
        self._lock = threading.Lock()
        #: one spawn at a time, from choosing the name to the stored row (never `_lock`)
        self._spawn_lock = threading.Lock()
        self._agents: dict[str, AgentRecord] = {}
        self._closed = False
        self._watcher = DiffWatcher(
            self.workspace.worktree_dir, self._worktrees,
            lambda agent_id: self._refresh_diff(agent_id, True),
            concurrency=diff_concurrency, debounce_ms=diff_debounce_ms,
        )  # fmt: skip
        for row in self.rows.load(str(self.workspace.root)):
            record = AgentRecord.from_row(row)
            record.saved_row = record.row()
            self._agents[record.id] = record
        self.reattach()

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
    ) -> Agent:
        """Create branch `podium/<name>` and its worktree, then launch the agent there."""
        if self._closed:
            raise AgentError("the agent manager is closed")
        spec = validate_spawn(task=task, name=name, base_ref=base_ref, profile=profile,
                              command=command, env=env, source=source, limit_usd=limit_usd)  # fmt: skip
        if profile not in PROFILES and profile not in self.profiles:
            raise InvalidInput(f"unknown profile {profile!r}; use one of "
                               f"{', '.join(known_profiles(self.profiles))}", field="profile")  # fmt: skip
        if profile == "shell" and not command and "shell" not in self.profiles:
            raise InvalidInput("the shell profile needs a command (argv)", field="command")
        with self._spawn_lock:
            record = self._launch(spec, profile, fake_args)
        self._watcher.restart()
        self._notify([record])
        return self._snapshot(record)

    def _launch(self, spec: SpawnSpec, profile: str, fake_args: list[str] | None) -> AgentRecord:
        """Workspace, process, row and record of a new agent (under `_spawn_lock`)."""
        repo = self.workspace.open()
        base_commit = self.workspace.base_commit(repo, spec.base_ref)
        agent_env = dict(os.environ)
        agent_env.update(spec.env or {})
        agent_env.pop("PODIUM_AGENT_ID", None)
        session_id = str(uuid.uuid4())
        agent_id = "ag-" + uuid.uuid4().hex[:8]

        root = str(self.workspace.root)
        with self._lock:
            taken = {r.agent.name for r in self._agents.values()}
        taken |= self.rows.names_in_use(root)  # also another Podium's agents of this repo
        place = self.workspace.placement(self.workspace.pick_name(repo, spec.name, taken),
                                         agent_id)  # fmt: skip
        source = spec.source if spec.source is not None else self.source_overrides.get(place.name)
        argv, claude_session_id = command_for(
            profile, spec.command, spec.task, session_id, place.state_dir,
            user_profiles=self.profiles, fake_args=fake_args,
        )  # fmt: skip
        # check what can fail before touching git, so a typo leaves nothing behind
        resolve_executable(argv[0], agent_env)
        env_source = detect_source(agent_env)
        agent_source = detect_source(agent_env, override=source)
        if profile == "fake" and self.claude_config_dir and "CLAUDE_CONFIG_DIR" not in (
            spec.env or {}
        ):
            agent_env["CLAUDE_CONFIG_DIR"] = self.claude_config_dir
        agent_env["PODIUM_AGENT_ID"] = agent_id
        agent_env["PWD"] = str(place.worktree)  # an inherited PWD would name Podium's own cwd

        self.workspace.create(repo, place, base_commit, claude_hooks=profile == "claude")
        now = time.time()
        agent = Agent(
            id=agent_id, name=place.name, task=scrub(spec.task), status=AgentStatus.STARTING,
            status_since=now, status_reason=None, started_at=now, repo=root,
            worktree=str(place.worktree), branch=place.branch, base_ref=spec.base_ref,
            base_commit=base_commit, profile=profile,
            command=redacted_argv(argv, spec.task), pid=None,
            claude_session_id=claude_session_id, source=agent_source, model=None,
            exit_code=None, limit_usd=float(spec.limit_usd) if spec.limit_usd else None,
            state_dir=str(place.state_dir),
        )  # fmt: skip
        record = AgentRecord(agent=agent, events=EventSource(place.state_dir),
                             source_override=source, env_source=env_source, last_activity=now)  # fmt: skip
        try:
            handle = ProcessHandle.launch(
                argv, cwd=place.worktree, env=agent_env, stdout=place.state_dir / STDOUT_FILE,
                stderr=place.state_dir / STDERR_FILE,
            )  # fmt: skip
        except PodiumError:
            self.workspace.discard(repo, place)
            raise
        record.handle = handle
        record.pid_create_time = handle.create_time
        agent.pid = handle.pid
        record.saved_row = record.row()
        self.rows.insert(record.saved_row)
        with self._lock:
            self._agents[agent_id] = record
        return record

    # -- reading --------------------------------------------------------------------------------
    def get(self, agent_id: str) -> Agent:
        with self._lock:
            return self._record(agent_id).snapshot()

    def list(self) -> list[Agent]:
        with self._lock:
            return [record.snapshot() for record in self._agents.values()]

    def diff(self, agent_id: str) -> DiffStats:
        """Cached diff stats; computed now when no watcher keeps them fresh."""
        with self._lock:
            cached = self._record(agent_id).diff
        if self._watcher.running and cached is not None:
            return cached
        return self._refresh_diff(agent_id, notify=False) or cached or DiffStats()

    def usage(self, agent_id: str) -> UsageTotals:
        from podium.usage.queries import totals

        with self._lock:
            agent = self._record(agent_id).agent
            session_ids = [agent.claude_session_id] if agent.claude_session_id else []
            prefixes = [agent.worktree]
        return totals(self.store, session_ids=session_ids, cwd_prefixes=prefixes)

    # -- control --------------------------------------------------------------------------------
    def pause(self, agent_id: str, reason: str | None = None) -> Agent:
        record = self._record_of(agent_id)
        with self._operation(record):
            with self._lock:
                if record.agent.status == AgentStatus.PAUSED:
                    return record.snapshot()
            handle = self._running_handle(record, "pause")
            handle.pause(wait=PAUSE_WAIT_S)
            with self._lock:
                record.resume_status = record.agent.status
                record.set_status(AgentStatus.PAUSED, scrub(reason) if reason else None)
            self._persist(record)
        self._notify([record])
        return self._snapshot(record)

    def resume(self, agent_id: str) -> Agent:
        record = self._record_of(agent_id)
        with self._operation(record):
            handle = self._running_handle(record, "resume")
            with self._lock:
                if record.agent.status != AgentStatus.PAUSED:
                    return record.snapshot()
            handle.resume()
            with self._lock:
                back = record.resume_status
                if back in (AgentStatus.PAUSED, AgentStatus.STARTING) or back in TERMINAL_STATUSES:
                    back = AgentStatus.WORKING
                record.last_activity = time.time()
                record.set_status(back, None)
            self._persist(record)
        self._notify([record])
        return self._snapshot(record)

    def stop(self, agent_id: str) -> Agent:
        record = self._record_of(agent_id)
        with self._operation(record):
            was_running = self._stop(record)
        if was_running:
            self._notify([record])
        return self._snapshot(record)

    def _stop(self, record: AgentRecord) -> bool:
        """Terminate the agent's tree (its `op_lock` held); True when it was running."""
        handle = record.handle
        if handle is None or handle.finished or not handle.poll():
            if handle is not None:
                handle.terminate(self.stop_grace)  # what it left in its process group
            with self._lock:
                record.finish()
            self._persist(record)
            return False
        code = handle.terminate(self.stop_grace)
        self._drain(record)
        with self._lock:
            record.agent.exit_code = code
            record.agent.ended_at = time.time()
            record.set_status(AgentStatus.STOPPED, "stopped by the user")
        self._persist(record)
        return True

    def remove(self, agent_id: str, *, delete_branch: bool = False, force: bool = False) -> None:
        record = self._record_of(agent_id)
        stopped = False
        try:
            with self._operation(record):
                agent = self._snapshot(record)
                repo = self.workspace.check_removable(agent, delete_branch=delete_branch,
                                                      force=force)  # fmt: skip
                if record.handle is not None:  # also ends what an exited agent left running
                    stopped = self._stop(record)
                self.workspace.remove(repo, agent, delete_branch=delete_branch, force=force)
                self.rows.mark_removed(agent_id, time.time())
                with self._lock:
                    record.removed = True
                    self._agents.pop(agent_id, None)
        finally:
            if stopped:
                self._notify([record])
        self._watcher.restart()

    # -- supervision ----------------------------------------------------------------------------
    def note_activity(self, session_ids: set[str], cwds: set[str]) -> list[str]:
        """After an ingest: agents whose session or worktree saw new entries are active."""
        if not session_ids and not cwds:
            return []
        now = time.time()
        matched: list[str] = []
        changed: list[AgentRecord] = []
        with self._lock:
            for record in self._agents.values():
                agent = record.agent
                hit = bool(agent.claude_session_id and agent.claude_session_id in session_ids)
                if not hit and not any(inside(cwd, agent.worktree) for cwd in cwds):
                    continue
                matched.append(agent.id)
                if agent.status in (AgentStatus.STARTING, AgentStatus.IDLE):
                    record.last_activity = now
                    record.set_status(AgentStatus.WORKING, None)
                    changed.append(record)
                elif agent.status == AgentStatus.WORKING:
                    record.last_activity = now
        for record in changed:
            self._persist(record)
        self._notify(changed)
        return matched

    def poll(self) -> list[str]:
        """Reap ended processes, read new stream-json and hook events, detect idleness. An
        agent with an operation under way is skipped: that operation reports it."""
        with self._lock:
            records = list(self._agents.values())
        changed: list[AgentRecord] = []
        for record in records:
            if not record.op_lock.acquire(blocking=False):
                continue
            try:
                handle = record.handle
                if record.removed or handle is None or handle.finished:
                    continue
                alive = handle.poll()
                events = record.events.read()
                now = time.time()
                with self._lock:
                    agent = record.agent
                    before = (agent.status, agent.model, agent.source, agent.claude_session_id)
                    for event in events:
                        reducer.apply(record, event, now)
                    if not alive:
                        record.finish()
                    elif (agent.status == AgentStatus.WORKING
                          and now - record.last_activity > self.idle_after):  # fmt: skip
                        record.set_status(AgentStatus.IDLE, None)
                    after = (agent.status, agent.model, agent.source, agent.claude_session_id)
                self._persist(record)
                if after != before:
                    changed.append(record)
            finally:
                record.op_lock.release()
        self._notify(changed)
        return [record.id for record in changed]

    async def run_watchers(self) -> None:
        """Keep diff stats fresh from file events (see `watcher.DiffWatcher`). Returns when
        `close()` is called."""
        await self._watcher.run(lambda: self._closed)

    def reattach(self) -> list[Agent]:
        """Re-attach to agents of this repo still running from an earlier Podium (same pid
        *and* create time); mark the others exited. Returns the re-attached ones."""
        with self._lock:
            candidates = [r for r in self._agents.values()
                          if r.handle is None and r.agent.status not in TERMINAL_STATUSES]  # fmt: skip
        attached: list[AgentRecord] = []
        ended: list[AgentRecord] = []
        for record in candidates:
            with record.op_lock:
                if record.removed or record.handle is not None:
                    continue
                pid, create_time = record.agent.pid, record.pid_create_time
                handle = (ProcessHandle.attach(pid, create_time)
                          if pid and create_time is not None else None)  # fmt: skip
                if handle is None:
                    with self._lock:
                        record.set_status(AgentStatus.EXITED,
                                          "process ended while Podium was not running")  # fmt: skip
                        record.agent.ended_at = time.time()
                    self._persist(record)
                    ended.append(record)
                    continue
                stopped = handle.is_stopped()
                record.events.rewind()
                events = record.events.read()
                now = time.time()
                with self._lock:
                    record.handle = handle
                    agent = record.agent
                    stored = (agent.status, agent.status_since, agent.status_reason)
                    for event in events:
                        reducer.apply(record, event, now)
                    if stopped:
                        was_paused = stored[0] == AgentStatus.PAUSED
                        agent.status = AgentStatus.PAUSED
                        agent.status_since = stored[1] if was_paused else now
                        agent.status_reason = stored[2] if was_paused else None
                    elif agent.status == stored[0]:
                        agent.status_since, agent.status_reason = stored[1], stored[2]
                    record.last_activity = now
                self._persist(record)
                attached.append(record)
        self._notify(ended + attached)
        return [self._snapshot(record) for record in attached]

    def close(self) -> None:
        """Stop agents (unless keep_running) and the watchers."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            # agents that ended on their own may have left processes in their group
            ids = [aid for aid, r in self._agents.items() if r.handle is not None]
        for agent_id in ids:
            with contextlib.suppress(PodiumError):
                if not self.keep_running:
                    self.stop(agent_id)
                    continue
                record = self._record_of(agent_id)
                with self._operation(record):
                    if record.handle is not None and not record.handle.finished:
                        self._drain(record)
                        self._persist(record)
        self._watcher.stop()

    def __enter__(self) -> AgentManager:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- records --------------------------------------------------------------------------------
    def _record(self, agent_id: str) -> AgentRecord:
        """The record of `agent_id` (`_lock` held); NotFound when there is none."""
        record = self._agents.get(agent_id) if isinstance(agent_id, str) else None
        if record is None:
            raise NotFound(f"unknown agent id {agent_id!r}", field="agentId")
        return record

    def _record_of(self, agent_id: str) -> AgentRecord:
        with self._lock:
            return self._record(agent_id)

    def _snapshot(self, record: AgentRecord) -> Agent:
        with self._lock:
            return record.snapshot()

    @contextlib.contextmanager
    def _operation(self, record: AgentRecord) -> Iterator[None]:
        """This agent's operations one at a time (other agents' are not held up)."""
        with record.op_lock:
            if record.removed:  # removed while this operation waited
                raise NotFound(f"unknown agent id {record.id!r}", field="agentId")
            yield

    def _running_handle(self, record: AgentRecord, action: str) -> ProcessHandle:
        handle = record.handle
        if handle is None or handle.finished or not handle.poll():
            with self._lock:
                if handle is not None and handle.finished:
                    record.finish()
                status = record.agent.status.value
            self._persist(record)
            raise AgentError(f"cannot {action} agent {record.agent.name}: it is not running "
                             f"({status})", field="agentId")  # fmt: skip
        return handle

    def _drain(self, record: AgentRecord) -> None:
        """Apply the agent's new events (its `op_lock` held)."""
        events = record.events.read()
        if not events:
            return
        now = time.time()
        with self._lock:
            for event in events:
                reducer.apply(record, event, now)

    def _persist(self, record: AgentRecord) -> None:
        """Write the record's row if it changed; outside `_lock`, and never older over newer."""
        with self._lock:
            row = record.row()
            record.snapshots += 1
            seq = record.snapshots
        with record.save_lock:
            if seq <= record.saved:
                return  # a newer snapshot is already written
            record.saved = seq
            if row == record.saved_row:
                return
            self.rows.update(record.id, row)
            record.saved_row = row

    # -- diff stats -----------------------------------------------------------------------------
    def _refresh_diff(self, agent_id: str, notify: bool = True) -> DiffStats | None:
        with self._lock:
            record = self._agents.get(agent_id)
            if record is None:
                return None
            worktree, base = record.agent.worktree, record.agent.base_commit
        if not Path(worktree).is_dir():
            return None
        try:
            stats = gitops.diff_stats(worktree, base)
        except PodiumError:
            return None
        with self._lock:
            if record.removed:
                return stats
            changed = record.diff != stats
            record.diff = record.agent.diff = stats
            if changed:
                record.extra["diff"] = [stats.added, stats.removed, stats.files]
        if changed:
            self._persist(record)
            if notify:
                self._notify([record])
        return stats

    def _worktrees(self) -> dict[str, str]:
        with self._lock:
            return {aid: record.agent.worktree for aid, record in self._agents.items()}

    # -- notifications --------------------------------------------------------------------------
    def _notify(self, records: list[AgentRecord]) -> None:
        callback = self.on_change
        if callback is None:
            return
        seen: set[str] = set()
        for record in records:
            if record.id in seen:
                continue
            seen.add(record.id)
            snapshot = self._snapshot(record)
            try:
                callback(snapshot)
            except Exception:  # a broken listener must not break supervision
                log.exception("on_change listener failed")
