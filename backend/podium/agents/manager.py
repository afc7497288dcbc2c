"""`AgentManager`: spawns agents in their own git worktrees, supervises their process trees,
derives their state, keeps diff stats fresh and persists everything in the store."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from podium.agents import gitops
from podium.agents.hooks import HOOKS_FILE, SETTINGS_FILE, install_hooks
from podium.agents.models import TERMINAL_STATUSES, Agent, AgentStatus, DiffStats
from podium.agents.process import ProcessHandle, resolve_executable
from podium.agents.source import SOURCES, detect_source
from podium.errors import AgentError, GitError, InvalidInput, NotFound, PodiumError

if TYPE_CHECKING:
    from podium.store import Store
    from podium.usage.queries import UsageTotals

PROFILES: tuple[str, ...] = ("fake", "claude", "shell")
NATO = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
        "juliett", "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo",
        "sierra", "tango", "uniform", "victor", "whiskey", "xray", "yankee", "zulu")  # fmt: skip
STDOUT_FILE = "stdout.jsonl"
STDERR_FILE = "stderr.log"
#: largest stdout/hook chunk read per poll; the rest is read on the next polls
_READ_CHUNK = 1 << 20
#: a line longer than this on stdout is skipped (stream-json lines are small)
_MAX_LINE = 8 << 20


@dataclass
class _Live:
    """The manager's mutable record of one agent."""

    agent: Agent
    handle: ProcessHandle | None = None
    source_override: str | None = None
    env_source: str = "subscription"
    api_key_source: str | None = None
    stdout_offset: int = 0
    stdout_partial: bytes = b""
    hooks_offset: int = 0
    hooks_partial: bytes = b""
    last_activity: float = 0.0
    resume_status: AgentStatus = AgentStatus.WORKING
    diff: DiffStats | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class AgentManager:
    """Owns every agent of one repository. Thread-safe; `on_change` may be called from any
    thread (the caller of a control method, the poller, the watcher loop)."""

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
        self.repo_path = Path(repo).expanduser()
        try:
            self.root = gitops.repo_root(self.repo_path)
        except PodiumError:
            # Not (yet) a repository: usage still works; spawn says what is wrong.
            self.root = self.repo_path.resolve()
        wt = Path(worktree_dir).expanduser() if worktree_dir else Path(".podium/worktrees")
        # resolved: agents' logged cwds are real paths, attribution compares them as text
        self.worktree_dir = (wt if wt.is_absolute() else self.root / wt).resolve()
        self.state_root = self.root / ".podium" / "state"
        self.claude_config_dir = str(claude_config_dir) if claude_config_dir else None
        self.profiles = dict(profiles or {})
        #: settings.sourceOverrides {agentName: source}, read at spawn
        self.source_overrides: dict[str, str] = {}
        self.keep_running = keep_running
        self.on_change = on_change
        self.idle_after = idle_after
        self.stop_grace = stop_grace
        self.diff_concurrency = max(1, diff_concurrency)
        self.diff_debounce_ms = diff_debounce_ms
        self._lock = threading.RLock()
        self._agents: dict[str, _Live] = {}
        self._closed = False
        # watcher state (run_watchers)
        self._watching = False
        self._watch_restart: Any = None  # asyncio.Event, created inside the loop
        self._watch_loop: Any = None
        self._watch_stop: Any = None
        self._load()
        self.reattach()

    # -- public API ---------------------------------------------------------------------------
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
        if not isinstance(task, str):
            raise InvalidInput("task must be text", field="task")
        if profile not in PROFILES and profile not in self.profiles:
            known = sorted(set(PROFILES) | set(self.profiles))
            raise InvalidInput(f"unknown profile {profile!r}; use one of {', '.join(known)}",
                               field="profile")  # fmt: skip
        if command is not None and (
            not isinstance(command, list) or not command
            or not all(isinstance(a, str) and a for a in command)
        ):  # fmt: skip
            raise InvalidInput("command must be a non-empty list of strings", field="command")
        if profile == "shell" and not command and "shell" not in self.profiles:
            raise InvalidInput("the shell profile needs a command (argv)", field="command")
        if source is not None and source not in SOURCES:
            raise InvalidInput(f"unknown source {source!r}; use one of {', '.join(SOURCES)}",
                               field="source")  # fmt: skip
        if limit_usd is not None and (
            isinstance(limit_usd, bool) or not isinstance(limit_usd, int | float) or limit_usd < 0
        ):
            raise InvalidInput("limitUSD must be a non-negative number", field="limitUSD")
        if env is not None and not (
            isinstance(env, dict)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in env.items())
        ):
            raise InvalidInput("env must map names to string values", field="env")

        repo = gitops.open_repo(self.repo_path)
        root = Path(repo.working_tree_dir).resolve()
        if root != self.root:
            self.root = root
        base_commit_head = gitops.head_commit(repo)  # raises on a repo without commits
        if base_ref:
            base_commit = gitops.resolve_ref(repo, base_ref)
        else:
            base_commit = base_commit_head
            if gitops.is_dirty(repo):
                raise GitError(
                    f"{root} has uncommitted changes that the agent would not see; commit or "
                    "stash them, or give an explicit base ref",
                    field="baseRef",
                )

        agent_env = dict(os.environ)
        agent_env.update(env or {})
        agent_env.pop("PODIUM_AGENT_ID", None)
        session_id = str(uuid.uuid4())
        agent_id = "ag-" + uuid.uuid4().hex[:8]

        with self._lock:
            name = self._pick_name(repo, name)
            if source is None:
                source = self.source_overrides.get(name)
            branch = gitops.BRANCH_PREFIX + name
            worktree = self.worktree_dir / name
            state_dir = self.state_root / agent_id
            argv, claude_session_id = self._command_for(
                profile, command, task, session_id, state_dir, fake_args
            )
            # Check the executable before touching git so a typo leaves nothing behind.
            resolve_executable(argv[0], agent_env)
            if profile == "fake" and self.claude_config_dir and "CLAUDE_CONFIG_DIR" not in (
                env or {}
            ):
                agent_env["CLAUDE_CONFIG_DIR"] = self.claude_config_dir
            agent_env["PODIUM_AGENT_ID"] = agent_id
            agent_env["PWD"] = str(worktree)  # an inherited PWD would name Podium's own cwd

            try:
                gitops.ensure_excluded(repo, ".podium/")
                state_dir.mkdir(parents=True, exist_ok=True)
                if profile == "claude":
                    install_hooks(state_dir)  # the argv already names its settings file
                gitops.add_worktree(repo, worktree, branch, base_commit)
            except (OSError, PodiumError) as exc:
                # nothing of this agent is kept; a file-system error (a worktreeDir that is a
                # file or not writable) is a message for the user, not an internal error
                shutil.rmtree(state_dir, ignore_errors=True)
                if isinstance(exc, PodiumError):
                    raise
                where = f"{exc.filename}: " if exc.filename else ""
                raise PodiumError(f"cannot set up agent {name}: {where}{exc.strerror or exc}"
                                  ) from None  # fmt: skip
            now = time.time()
            env_source = detect_source(agent_env)
            agent = Agent(
                id=agent_id, name=name, task=_scrub(task), status=AgentStatus.STARTING,
                status_since=now, status_reason=None, started_at=now, repo=str(root),
                worktree=str(worktree), branch=branch, base_ref=base_ref,
                base_commit=base_commit, profile=profile, command=_redacted_argv(argv, task),
                pid=None, claude_session_id=claude_session_id,
                source=detect_source(agent_env, override=source), model=None, exit_code=None,
                limit_usd=float(limit_usd) if limit_usd else None, state_dir=str(state_dir),
            )  # fmt: skip
            live = _Live(agent=agent, source_override=source, env_source=env_source,
                         last_activity=now)  # fmt: skip
            try:
                handle = ProcessHandle.launch(
                    argv, cwd=worktree, env=agent_env, stdout=state_dir / STDOUT_FILE,
                    stderr=state_dir / STDERR_FILE,
                )  # fmt: skip
            except PodiumError:
                with contextlib.suppress(PodiumError):
                    gitops.remove_worktree(repo, worktree, force=True)
                    gitops.delete_branch(repo, branch)
                shutil.rmtree(state_dir, ignore_errors=True)
                raise
            live.handle = handle
            agent.pid = handle.pid
            self._agents[agent_id] = live
            self._insert(live)
        self._restart_watchers()
        self._notify([live])
        return self._snapshot(live)

    def get(self, agent_id: str) -> Agent:
        with self._lock:
            return self._snapshot(self._live(agent_id))

    def list(self) -> list[Agent]:
        with self._lock:
            return [self._snapshot(live) for live in self._agents.values()]

    def pause(self, agent_id: str, reason: str | None = None) -> Agent:
        with self._lock:
            live = self._live(agent_id)
            if live.agent.status == AgentStatus.PAUSED:
                return self._snapshot(live)
            handle = self._running_handle(live, "pause")
            handle.pause()
            procs = handle.tree()  # listed once: a full listing scans every process
            _wait_until(lambda: all(_is_stopped(p) for p in procs), 3.0)
            live.resume_status = live.agent.status
            self._set_status(live, AgentStatus.PAUSED, _scrub(reason) if reason else None)
        self._notify([live])
        return self._snapshot(live)

    def resume(self, agent_id: str) -> Agent:
        with self._lock:
            live = self._live(agent_id)
            if live.agent.status != AgentStatus.PAUSED:
                self._running_handle(live, "resume")
                return self._snapshot(live)
            handle = self._running_handle(live, "resume")
            handle.resume()
            back = live.resume_status
            if back in (AgentStatus.PAUSED, AgentStatus.STARTING) or back in TERMINAL_STATUSES:
                back = AgentStatus.WORKING
            live.last_activity = time.time()
            self._set_status(live, back, None)
        self._notify([live])
        return self._snapshot(live)

    def stop(self, agent_id: str) -> Agent:
        with self._lock:
            live = self._live(agent_id)
            handle = live.handle
            if handle is None or handle.finished or not handle.poll():
                if handle is not None:
                    handle.terminate(self.stop_grace)  # what it left in its process group
                self._finish(live)
                return self._snapshot(live)
            code = handle.terminate(self.stop_grace)
            self._drain(live)
            live.agent.exit_code = code
            live.agent.ended_at = time.time()
            self._set_status(live, AgentStatus.STOPPED, "stopped by the user")
        self._notify([live])
        return self._snapshot(live)

    def remove(self, agent_id: str, *, delete_branch: bool = False, force: bool = False) -> None:
        with self._lock:
            live = self._live(agent_id)
            worktree = Path(live.agent.worktree)
            # GitError, as documented: the editor offers to force the removal on that code
            if not force and gitops.worktree_has_changes(worktree):
                raise GitError(
                    f"agent {live.agent.name} has uncommitted work in {worktree}; commit it "
                    "or remove with force to discard it",
                    field="force",
                )
            repo = gitops.open_repo(live.agent.repo)
            branch = live.agent.branch
            if delete_branch and not force:
                ahead = gitops.unmerged_commits(repo, branch)
                if ahead:  # `git branch -D` would drop them for good
                    raise GitError(
                        f"branch {branch} has {ahead} commit{'s' if ahead != 1 else ''} not "
                        "merged into the main checkout's HEAD; merge it, keep the branch, or "
                        "remove with force to delete them",
                        field="force",
                    )
            if live.handle is not None:  # also ends what an exited agent left running
                self.stop(agent_id)
            if not force and gitops.worktree_has_changes(worktree):
                raise GitError(
                    f"agent {live.agent.name} left uncommitted work in {worktree} while "
                    "stopping; it was stopped, not removed (remove with force to discard)",
                    field="force",
                )
            gitops.remove_worktree(repo, worktree, force=force)
            if delete_branch:
                gitops.delete_branch(repo, branch)
            shutil.rmtree(live.agent.state_dir, ignore_errors=True)
            with self.store.transaction() as conn:
                conn.execute("UPDATE agents SET removed = 1, ended_at = COALESCE(ended_at, ?) "
                             "WHERE id = ?", (time.time(), agent_id))  # fmt: skip
            del self._agents[agent_id]
        self._restart_watchers()

    def diff(self, agent_id: str) -> DiffStats:
        """Cached diff stats; computed now when no watcher keeps them fresh."""
        with self._lock:
            live = self._live(agent_id)
            cached = live.diff
            fresh = self._watching and cached is not None
        if fresh:
            return cached
        return self._refresh_diff(agent_id, notify=False) or cached or DiffStats()

    def usage(self, agent_id: str) -> UsageTotals:
        from podium.usage.queries import totals

        with self._lock:
            agent = self._live(agent_id).agent
            session_ids = [agent.claude_session_id] if agent.claude_session_id else []
            prefixes = [agent.worktree]
        return totals(self.store, session_ids=session_ids, cwd_prefixes=prefixes)

    def note_activity(self, session_ids: set[str], cwds: set[str]) -> list[str]:
        """After an ingest: agents whose session or worktree saw new entries are active."""
        if not session_ids and not cwds:
            return []
        now = time.time()
        matched: list[str] = []
        changed: list[_Live] = []
        with self._lock:
            for live in self._agents.values():
                agent = live.agent
                hit = bool(agent.claude_session_id and agent.claude_session_id in session_ids)
                if not hit:
                    hit = any(_inside(cwd, agent.worktree) for cwd in cwds)
                if not hit:
                    continue
                matched.append(agent.id)
                if agent.status in (AgentStatus.STARTING, AgentStatus.IDLE):
                    live.last_activity = now
                    self._set_status(live, AgentStatus.WORKING, None)
                    changed.append(live)
                elif agent.status == AgentStatus.WORKING:
                    live.last_activity = now
        self._notify(changed)
        return matched

    def poll(self) -> list[str]:
        """Reap ended processes, read new stream-json and hook events, detect idleness."""
        changed: list[_Live] = []
        now = time.time()
        with self._lock:
            for live in self._agents.values():
                handle = live.handle
                if handle is None or handle.finished:
                    continue
                before = (live.agent.status, live.agent.model, live.agent.source,
                          live.agent.claude_session_id)  # fmt: skip
                alive = handle.poll()
                self._drain(live)
                if not alive:
                    self._finish(live)
                elif (
                    live.agent.status == AgentStatus.WORKING
                    and now - live.last_activity > self.idle_after
                ):
                    self._set_status(live, AgentStatus.IDLE, None)
                after = (live.agent.status, live.agent.model, live.agent.source,
                         live.agent.claude_session_id)  # fmt: skip
                if after != before:
                    self._save(live)
                    changed.append(live)
        self._notify(changed)
        return [live.agent.id for live in changed]

    async def run_watchers(self) -> None:
        """Watch every worktree (watchfiles, .git excluded) and refresh the diff stats of the
        agents whose files changed: debounced, at most `diff_concurrency` at a time, and
        nothing at all while no file changes. Returns when `close()` is called."""
        import asyncio

        import watchfiles

        self._watch_loop = asyncio.get_running_loop()
        self._watch_restart = asyncio.Event()
        self._watch_stop = asyncio.Event()
        semaphore = asyncio.Semaphore(self.diff_concurrency)
        running: dict[str, asyncio.Task] = {}
        again: set[str] = set()

        async def refresh(agent_id: str) -> None:
            try:
                while True:
                    again.discard(agent_id)
                    async with semaphore:
                        await asyncio.to_thread(self._refresh_diff, agent_id, True)
                    if agent_id not in again:
                        return
            finally:
                running.pop(agent_id, None)

        def schedule(agent_ids: set[str]) -> None:
            for agent_id in agent_ids:
                if agent_id in running:
                    again.add(agent_id)  # one more pass once the running one ends
                else:
                    running[agent_id] = asyncio.create_task(refresh(agent_id))

        self._watching = True
        try:
            while not self._watch_stop.is_set() and not self._closed:
                self._watch_restart.clear()
                roots = self._watch_roots()
                # whatever happened while (re)starting is caught by one refresh of everyone
                schedule(set(self._worktrees()))
                if not roots:
                    await _wait_any(self._watch_restart, self._watch_stop)
                    continue
                stop_this = asyncio.Event()

                async def relay(stop_this: asyncio.Event = stop_this) -> None:
                    await _wait_any(self._watch_restart, self._watch_stop)
                    stop_this.set()

                relay_task = asyncio.create_task(relay())
                try:
                    async for changes in watchfiles.awatch(
                        *roots, watch_filter=_worktree_filter, debounce=1000,
                        step=self.diff_debounce_ms, stop_event=stop_this,
                        rust_timeout=60_000, ignore_permission_denied=True,
                    ):  # fmt: skip
                        schedule(self._agents_for_paths(p for _c, p in changes))
                finally:
                    relay_task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await relay_task
        finally:
            self._watching = False
            for task in list(running.values()):
                task.cancel()
            self._watch_restart = None

    def reattach(self) -> list[Agent]:
        """Re-attach to agents of this repo still running from an earlier Podium (same pid
        *and* create time); mark the others exited. Returns the re-attached ones."""
        attached: list[_Live] = []
        ended: list[_Live] = []
        with self._lock:
            for live in self._agents.values():
                if live.handle is not None or live.agent.status in TERMINAL_STATUSES:
                    continue
                pid = live.agent.pid
                create_time = live.extra.get("pid_create_time")
                handle = (
                    ProcessHandle.attach(pid, create_time)
                    if pid and create_time is not None
                    else None
                )
                if handle is None:
                    live.handle = None
                    self._set_status(live, AgentStatus.EXITED,
                                     "process ended while Podium was not running")  # fmt: skip
                    live.agent.ended_at = time.time()
                    self._save(live)
                    ended.append(live)
                    continue
                live.handle = handle
                stored = (live.agent.status, live.agent.status_since, live.agent.status_reason)
                self._drain(live, replay=True)
                if handle.is_stopped():
                    live.agent.status, live.agent.status_since, live.agent.status_reason = (
                        AgentStatus.PAUSED, stored[1] if stored[0] == AgentStatus.PAUSED
                        else time.time(), stored[2] if stored[0] == AgentStatus.PAUSED else None,
                    )  # fmt: skip
                elif live.agent.status == stored[0]:
                    live.agent.status_since = stored[1]
                    live.agent.status_reason = stored[2]
                live.last_activity = time.time()
                self._save(live)
                attached.append(live)
        self._notify(ended + attached)
        return [self._snapshot(live) for live in attached]

    def close(self) -> None:
        """Stop agents (unless keep_running) and the watchers."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            ids = [aid for aid, live in self._agents.items()
                   if live.handle is not None and not live.handle.finished]  # fmt: skip
            # agents that ended on their own may have left processes in their group
            ended = [aid for aid, live in self._agents.items()
                     if live.handle is not None and live.handle.finished]  # fmt: skip
        if not self.keep_running:
            for agent_id in ids + ended:
                with contextlib.suppress(PodiumError):
                    self.stop(agent_id)
        else:
            with self._lock:
                for agent_id in ids:
                    live = self._agents[agent_id]
                    self._drain(live)
                    self._save(live)
        self._signal_watchers(stop=True)

    def __enter__(self) -> AgentManager:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- commands -----------------------------------------------------------------------------
    def _command_for(
        self, profile: str, command: list[str] | None, task: str, session_id: str,
        state_dir: Path, fake_args: list[str] | None,
    ) -> tuple[list[str], str | None]:  # fmt: skip
        """argv for a profile, and the Claude session id when Podium fixes it."""
        if profile == "fake":
            base = command or self.profiles.get("fake") or [sys.executable, "-m", "podium",
                                                            "fake-agent"]  # fmt: skip
            extra = [str(a) for a in (fake_args or [])]
            return [*base, "--task", task, "--session-id", session_id, *extra], session_id
        if profile == "claude":
            base = command or self.profiles.get("claude") or ["claude"]
            settings = str(state_dir / SETTINGS_FILE)
            # the task after `--`: one starting with `-` ("-c …") must not be read as an option
            argv = [*base, "-p", "--session-id", session_id, "--output-format", "stream-json",
                    "--verbose", "--settings", settings, "--", task]  # fmt: skip
            return argv, session_id
        base = command or self.profiles.get(profile) or []
        if not base:
            raise InvalidInput(f"profile {profile!r} has no command", field="command")
        # a user profile may place the task with a {task} placeholder
        return [a.replace("{task}", task) for a in base], None

    # -- names --------------------------------------------------------------------------------
    def _pick_name(self, repo: Any, name: str | None) -> str:
        taken = {live.agent.name for live in self._agents.values()}
        with self.store.lock:
            taken |= {row[0] for row in self.store.conn.execute(
                "SELECT name FROM agents WHERE repo = ? AND removed = 0", (str(self.root),))}  # fmt: skip
        if name is not None:
            gitops.validate_name(name)
            if name in taken:
                raise InvalidInput(f"an agent named {name!r} already exists", field="name")
            if gitops.branch_exists(repo, gitops.BRANCH_PREFIX + name):
                raise InvalidInput(
                    f"branch {gitops.BRANCH_PREFIX}{name} already exists (kept from an earlier "
                    "agent?); delete it or pick another name",
                    field="name",
                )
            if (self.worktree_dir / name).exists():
                raise InvalidInput(f"{self.worktree_dir / name} already exists; pick another name",
                                   field="name")  # fmt: skip
            return name
        for round_ in range(1, 1000):
            for word in NATO:
                candidate = word if round_ == 1 else f"{word}-{round_}"
                if (
                    candidate not in taken
                    and not gitops.branch_exists(repo, gitops.BRANCH_PREFIX + candidate)
                    and not (self.worktree_dir / candidate).exists()
                ):
                    return candidate
        raise AgentError("no free agent name left")  # pragma: no cover

    # -- state --------------------------------------------------------------------------------
    def _live(self, agent_id: str) -> _Live:
        live = self._agents.get(agent_id) if isinstance(agent_id, str) else None
        if live is None:
            raise NotFound(f"unknown agent id {agent_id!r}", field="agentId")
        return live

    def _running_handle(self, live: _Live, action: str) -> ProcessHandle:
        handle = live.handle
        if handle is None or handle.finished or not handle.poll():
            if handle is not None and handle.finished:
                self._finish(live)
            raise AgentError(
                f"cannot {action} agent {live.agent.name}: it is not running "
                f"({live.agent.status.value})",
                field="agentId",
            )
        return handle

    def _set_status(self, live: _Live, status: AgentStatus, reason: str | None) -> None:
        agent = live.agent
        if agent.status == status and agent.status_reason == reason:
            return
        if agent.status != status:
            agent.status_since = time.time()
        agent.status = status
        agent.status_reason = reason
        self._save(live)

    def _finish(self, live: _Live) -> None:
        """The process is gone: record how it ended (a stop keeps its `stopped`)."""
        agent = live.agent
        handle = live.handle
        if handle is not None:
            agent.exit_code = handle.exit_code
        if agent.ended_at is None:
            agent.ended_at = time.time()
        if agent.status in (AgentStatus.STOPPED, AgentStatus.EXITED):
            self._save(live)
            return
        if agent.status == AgentStatus.ERROR:
            self._save(live)  # keep the error and its reason; the exit code is added
            return
        code = agent.exit_code
        reason = None if code in (0, None) else f"exited with code {code}"
        self._set_status(live, AgentStatus.EXITED, reason)
        self._save(live)

    # -- stream-json and hook events ------------------------------------------------------------
    def _drain(self, live: _Live, *, replay: bool = False) -> None:
        """Apply new complete lines of the agent's stdout (stream-json) and hook file."""
        state_dir = Path(live.agent.state_dir)
        if replay:
            live.stdout_offset = live.hooks_offset = 0
            live.stdout_partial = live.hooks_partial = b""
        for line in _read_new_lines(live, state_dir / STDOUT_FILE, "stdout"):
            self._on_stream_event(live, line)
        for line in _read_new_lines(live, state_dir / HOOKS_FILE, "hooks"):
            self._on_hook_event(live, line)

    def _on_stream_event(self, live: _Live, raw: bytes) -> None:
        try:
            event = json.loads(raw)
        except ValueError:
            return  # not stream-json (a shell profile's plain output)
        if not isinstance(event, dict):
            return
        agent = live.agent
        kind = event.get("type")
        # lines written just before a pause change no state
        paused = agent.status == AgentStatus.PAUSED
        active_status = None if paused else AgentStatus.WORKING
        if kind == "system" and event.get("subtype") == "init":
            sid = event.get("session_id")
            if isinstance(sid, str) and sid:
                agent.claude_session_id = sid
            model = event.get("model")
            if isinstance(model, str) and model:
                agent.model = model
            key_source = event.get("apiKeySource")
            if isinstance(key_source, str):
                live.api_key_source = key_source
                agent.source = self._source(live)
        elif kind in ("assistant", "user"):
            message = event.get("message")
            if isinstance(message, dict):
                model = message.get("model")
                if isinstance(model, str) and model and not model.startswith("<"):
                    agent.model = model
        elif kind == "result":
            if active_status is None:
                return
            if event.get("is_error"):
                text = event.get("result") if isinstance(event.get("result"), str) else ""
                reason = _scrub(text.strip()[:200]) if text else "the agent reported an error"
                if "usage limit reached" in text.lower():
                    reason = usage_limit_reason(text)
                self._set_status(live, AgentStatus.ERROR, reason)
            else:
                self._set_status(live, AgentStatus.WAITING, None)
            live.last_activity = time.time()
            return
        else:
            return
        if active_status is not None and agent.status not in TERMINAL_STATUSES:
            live.last_activity = time.time()
            self._set_status(live, active_status, None)
        else:
            self._save(live)

    def _on_hook_event(self, live: _Live, raw: bytes) -> None:
        try:
            event = json.loads(raw)
        except ValueError:
            return
        if not isinstance(event, dict) or live.agent.status == AgentStatus.PAUSED:
            return
        name = event.get("podium_event") or event.get("hook_event_name")
        sid = event.get("session_id")
        if isinstance(sid, str) and sid and not live.agent.claude_session_id:
            live.agent.claude_session_id = sid
        if live.agent.status in TERMINAL_STATUSES:
            return
        live.last_activity = time.time()
        if name in ("UserPromptSubmit", "PreToolUse", "PostToolUse"):
            self._set_status(live, AgentStatus.WORKING, None)
        elif name == "Stop":
            self._set_status(live, AgentStatus.WAITING, None)
        elif name == "Notification":
            message = event.get("message")
            reason = _scrub(message[:200]) if isinstance(message, str) and message else None
            self._set_status(live, AgentStatus.WAITING, reason or "needs your attention")

    def _source(self, live: _Live) -> str:
        env = {"ANTHROPIC_API_KEY": "x"} if live.env_source == "api" else {}
        if live.env_source == "proxy":
            env["ANTHROPIC_BASE_URL"] = "http://proxy.invalid"
        return detect_source(env, api_key_source=live.api_key_source,
                             override=live.source_override)  # fmt: skip

    # -- diff stats -----------------------------------------------------------------------------
    def _refresh_diff(self, agent_id: str, notify: bool = True) -> DiffStats | None:
        with self._lock:
            live = self._agents.get(agent_id)
            if live is None:
                return None
            worktree, base = live.agent.worktree, live.agent.base_commit
        if not Path(worktree).is_dir():
            return None
        try:
            stats = gitops.diff_stats(worktree, base)
        except PodiumError:
            return None
        with self._lock:
            live = self._agents.get(agent_id)
            if live is None:
                return stats
            changed = live.diff != stats
            live.diff = stats
            live.agent.diff = stats
            if changed:
                live.extra["diff"] = [stats.added, stats.removed, stats.files]
                self._save(live)
        if changed and notify:
            self._notify([live])
        return stats

    def _worktrees(self) -> dict[str, str]:
        with self._lock:
            return {aid: live.agent.worktree for aid, live in self._agents.items()}

    def _watch_roots(self) -> list[str]:
        """The worktree dir (covers every agent spawned into it, even later ones) plus any
        worktree elsewhere (agents spawned with another worktree dir)."""
        roots: set[str] = set()
        if self.worktree_dir.is_dir():
            roots.add(str(self.worktree_dir))
        for worktree in self._worktrees().values():
            if Path(worktree).is_dir() and not _inside(worktree, str(self.worktree_dir)):
                roots.add(worktree)
        return sorted(roots)

    def _agents_for_paths(self, paths: Any) -> set[str]:
        worktrees = self._worktrees()
        hits: set[str] = set()
        for path in paths:
            for agent_id, worktree in worktrees.items():
                if agent_id not in hits and _inside(path, worktree):
                    hits.add(agent_id)
        return hits

    def _restart_watchers(self) -> None:
        self._signal_watchers(stop=False)

    def _signal_watchers(self, *, stop: bool) -> None:
        loop = self._watch_loop
        event = self._watch_stop if stop else self._watch_restart
        if loop is None or event is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(event.set)

    # -- persistence ----------------------------------------------------------------------------
    def _load(self) -> None:
        with self.store.lock:
            rows = self.store.conn.execute(
                "SELECT * FROM agents WHERE repo = ? AND removed = 0 ORDER BY started_at",
                (str(self.root),),
            )
            names = [d[0] for d in rows.description]
            fetched = rows.fetchall()
        for values in fetched:
            row = dict(zip(names, values, strict=True))
            try:
                extra = json.loads(row["extra_json"] or "{}")
                command = json.loads(row["command_json"] or "[]")
            except ValueError:
                extra, command = {}, []
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
                profile=row["profile"], command=command, pid=row["pid"],
                claude_session_id=row["claude_session_id"], source=row["source"],
                model=row["model"], exit_code=row["exit_code"], limit_usd=row["limit_usd"],
                state_dir=row["state_dir"], diff=stats or DiffStats(), ended_at=row["ended_at"],
            )  # fmt: skip
            extra["pid_create_time"] = row["pid_create_time"]
            live = _Live(agent=agent, source_override=row["source_override"],
                         env_source=extra.get("env_source", "subscription"),
                         api_key_source=extra.get("api_key_source"), diff=stats, extra=extra)  # fmt: skip
            resume = extra.get("resume_status")
            if resume in AgentStatus.__members__.values():
                live.resume_status = AgentStatus(resume)
            self._agents[agent.id] = live

    def _extra_json(self, live: _Live) -> str:
        extra = {k: v for k, v in live.extra.items() if k != "pid_create_time"}
        extra["env_source"] = live.env_source
        extra["api_key_source"] = live.api_key_source
        extra["resume_status"] = live.resume_status.value
        return json.dumps(extra)

    def _insert(self, live: _Live) -> None:
        a = live.agent
        create_time = live.handle.create_time if live.handle else None
        live.extra["pid_create_time"] = create_time
        with self.store.transaction() as conn:
            conn.execute(
                "INSERT INTO agents(id, name, task, repo, worktree, branch, base_ref, base_commit,"
                " profile, command_json, state_dir, claude_session_id, pid, pid_create_time,"
                " source, source_override, model, status, status_since, status_reason,"
                " exit_code, started_at, ended_at, limit_usd, removed, extra_json)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,0,?)",
                (a.id, a.name, a.task, a.repo, a.worktree, a.branch, a.base_ref, a.base_commit,
                 a.profile, json.dumps(a.command), a.state_dir, a.claude_session_id, a.pid,
                 create_time, a.source, live.source_override, a.model, a.status.value,
                 a.status_since, a.status_reason, a.exit_code, a.started_at, a.ended_at,
                 a.limit_usd, self._extra_json(live)),
            )  # fmt: skip

    def _save(self, live: _Live) -> None:
        a = live.agent
        with self.store.transaction() as conn:
            conn.execute(
                "UPDATE agents SET claude_session_id=?, pid=?, source=?, model=?, status=?,"
                " status_since=?, status_reason=?, exit_code=?, ended_at=?, limit_usd=?,"
                " extra_json=? WHERE id=?",
                (a.claude_session_id, a.pid, a.source, a.model, a.status.value, a.status_since,
                 a.status_reason, a.exit_code, a.ended_at, a.limit_usd, self._extra_json(live),
                 a.id),
            )  # fmt: skip

    # -- notifications --------------------------------------------------------------------------
    def _snapshot(self, live: _Live) -> Agent:
        return replace(live.agent, command=list(live.agent.command))

    def _notify(self, lives: list[_Live]) -> None:
        callback = self.on_change
        if callback is None or not lives:
            return
        seen: set[str] = set()
        for live in lives:
            if live.agent.id in seen:
                continue
            seen.add(live.agent.id)
            with self._lock:
                snapshot = self._snapshot(live)
            try:
                callback(snapshot)
            except Exception:  # a broken listener must not break supervision
                import logging

                logging.getLogger(__name__).exception("on_change listener failed")


# -- helpers ---------------------------------------------------------------------------------------


USAGE_LIMIT_REASON = "usage limit reached"


def usage_limit_reason(text: str, now: float | None = None) -> str:
    """`usage limit reached; resets 14:05` from Claude Code's `Claude AI usage limit
    reached|<epoch>` (the day too when the reset is not today, local time)."""
    _, _, tail = text.partition("|")
    try:
        resets = float(tail.strip().split()[0]) if tail.strip() else None
    except ValueError:
        resets = None
    if resets is None or not 0 < resets < 1e11:
        return USAGE_LIMIT_REASON
    at = time.localtime(resets)
    same_day = time.localtime(time.time() if now is None else now)[:3] == at[:3]
    when = time.strftime("%H:%M" if same_day else "%b %d %H:%M", at)
    return f"{USAGE_LIMIT_REASON}; resets {when}"


def _scrub(text: str) -> str:
    try:
        from podium.redact import scrub
    except ImportError:  # pragma: no cover - redact is another engineer's module
        return text
    return scrub(text)


def _redacted_argv(argv: list[str], task: str) -> list[str]:
    """The stored command line: the task text is free text, so it is replaced by a marker."""
    return ["<task>" if a == task and task else a for a in argv]


def _inside(path: str, directory: str) -> bool:
    if not path or not directory:
        return False
    directory = directory.rstrip(os.sep)
    return path == directory or path.startswith(directory + os.sep)


def _worktree_filter(change: Any, path: str) -> bool:
    return f"{os.sep}.git{os.sep}" not in path and not path.endswith(f"{os.sep}.git")


def _is_stopped(proc: Any) -> bool:
    import psutil

    try:
        return proc.status() in (psutil.STATUS_STOPPED, psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return True


def _wait_until(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)


async def _wait_any(*events: Any) -> None:
    import asyncio

    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()


def _read_new_lines(live: _Live, path: Path, which: str) -> list[bytes]:
    """Complete lines appended to `path` since the last call (cheap when nothing changed: one
    stat)."""
    offset = live.stdout_offset if which == "stdout" else live.hooks_offset
    partial = live.stdout_partial if which == "stdout" else live.hooks_partial
    try:
        size = os.stat(path).st_size
    except OSError:
        return []
    if size < offset:  # truncated: start over
        offset, partial = 0, b""
    if size == offset:
        return []
    with open(path, "rb") as fh:
        fh.seek(offset)
        data = fh.read(min(size - offset, _READ_CHUNK))
    offset += len(data)
    data = partial + data
    lines = data.split(b"\n")
    partial = lines.pop()
    if len(partial) > _MAX_LINE:
        partial = b""
    if which == "stdout":
        live.stdout_offset, live.stdout_partial = offset, partial
    else:
        live.hooks_offset, live.hooks_partial = offset, partial
    return [line for line in lines if line.strip()]
