"""Supervised process trees: each agent runs under its own keeper (see `keeper`), a child
subreaper that owns every process the agent starts, ends them all on request and ends them when
Podium is gone (unless the agent is kept running). Signals to the tree, pause and the wait until
it is stopped happen here.

A pid alone is never trusted: every handle carries the process create time, and nothing is
signalled unless the running process with that pid still has that create time (pids recycle).
An agent started by a Podium without keepers is still supervised the old way (its process
group, its descendants and the processes carrying its `PODIUM_AGENT_ID`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import psutil

from podium.agents.keeper import become_subreaper
from podium.agents.keeper_link import Ended, KeeperLink, read_exit
from podium.errors import AgentError

__all__ = ["PODIUM_GONE_REASON", "ProcessHandle", "become_subreaper", "exit_reason",
           "resolve_executable"]

#: create times of one process read twice agree exactly on Linux; allow for float rounding
_CREATE_TIME_TOLERANCE = 0.05
#: the status reason of an agent its keeper ended because Podium ended (keepAgentsRunning off)
PODIUM_GONE_REASON = "stopped when Podium ended (keepAgentsRunning is off)"
#: the environment variable every process of an agent inherits
AGENT_ID_ENV = "PODIUM_AGENT_ID"


def resolve_executable(argv0: str, env: dict[str, str]) -> str:
    """The executable `argv0` names, looked up on the agent's PATH; AgentError when missing."""
    if os.sep in argv0:
        path = Path(argv0).expanduser()
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
        raise AgentError(f"executable not found or not executable: {argv0}", field="command")
    found = shutil.which(argv0, path=env.get("PATH", os.defpath))
    if not found:
        raise AgentError(
            f"executable {argv0!r} not found on PATH; install it or give the full path",
            field="command",
        )
    return found


def exit_reason(code: int | None) -> str | None:
    """A card's reason for an ended process: "killed by SIGKILL" for -9, "exited with code 2"."""
    if code is None or code == 0:
        return None
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with code {code}"


def open_private(path: Path) -> int:
    """`path` opened for appending, created 0600 (agent output may hold secrets)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
    os.fchmod(fd, 0o600)  # also when an older Podium created it with the umask's mode
    return fd


class ProcessHandle:
    """One agent's root process (the command it runs) and the keeper that owns its tree."""

    def __init__(self, pid: int, create_time: float, *, link: KeeperLink | None = None,
                 state_dir: str | Path | None = None, agent_id: str | None = None) -> None:  # fmt: skip
        self.pid = pid
        self.create_time = create_time
        self.link = link
        self.state_dir = str(state_dir) if state_dir is not None else None
        self.agent_id = agent_id
        self._proc: psutil.Process | None = None
        self.exit_code: int | None = None
        #: why the keeper ended the root (`Ended.cause`), when it did
        self.end_cause: str | None = None
        self.finished = False
        #: the keeper exited by itself: none of the agent's processes is left
        self.tree_gone = False

    @classmethod
    def launch(cls, argv: list[str], *, cwd: Path, env: dict[str, str], stdout: Path,
               stderr: Path, stdin_fifo: Path | None = None, keep_running: bool = False,
               grace: float = 3.0) -> ProcessHandle:  # fmt: skip
        """Start `argv` under a new keeper (its own session); its output files are 0600.
        `stdin_fifo`: the agent reads that FIFO, opened read-write for it (see `session_io`);
        else its stdin is /dev/null. AgentError when it cannot be started (nothing is left
        running then)."""
        argv = [resolve_executable(argv[0], env), *argv[1:]]
        state_dir = stdout.parent
        fds: list[int] = []
        try:
            stdin = os.open(stdin_fifo, os.O_RDWR | os.O_CLOEXEC) if stdin_fifo else None
            if stdin is not None:
                fds.append(stdin)
            fds += [open_private(stdout), open_private(stderr)]
            link, pid = KeeperLink.start(
                argv, cwd=cwd, env=env, state_dir=state_dir,
                stdin=subprocess.DEVNULL if stdin is None else stdin, stdout=fds[-2],
                stderr=fds[-1], keep_running=keep_running, grace=grace,
            )  # fmt: skip
        finally:
            for fd in fds:  # the keeper and the agent have their own copies
                os.close(fd)
        try:
            proc = psutil.Process(pid)
            create_time = proc.create_time()
        except psutil.Error:  # exited already: its keeper tells how
            proc, create_time = None, time.time()
        handle = cls(pid, create_time, link=link, state_dir=state_dir,
                     agent_id=env.get(AGENT_ID_ENV))  # fmt: skip
        handle._proc = proc
        return handle

    @classmethod
    def attach(cls, pid: int, create_time: float, *, state_dir: str | Path | None = None,
               agent_id: str | None = None, keep_running: bool = False) -> ProcessHandle | None:  # fmt: skip
        """A handle to the agent whose root is `pid` (with that create time: pids recycle):
        through its keeper when one runs (also after the root ended, while processes it left
        run on), else the root itself. None when nothing of it runs."""
        link = None
        if state_dir is not None:
            found = KeeperLink.connect(state_dir, keep_running)
            if found is not None:
                link, hello = found
                if hello.get("root") != pid:
                    link.close()  # another process's keeper (a restarted session's?)
                    link = None
        proc = None
        with contextlib.suppress(psutil.Error):
            candidate = psutil.Process(pid)
            if (abs(candidate.create_time() - create_time) <= _CREATE_TIME_TOLERANCE
                    and candidate.status() != psutil.STATUS_ZOMBIE):  # fmt: skip
                proc = candidate
        if proc is None and link is None:
            return None
        handle = cls(pid, create_time, link=link, state_dir=state_dir, agent_id=agent_id)
        handle._proc = proc
        if proc is None:
            handle.poll()  # ended: its keeper says how
        return handle

    # -- liveness -----------------------------------------------------------------------------
    def _process(self) -> psutil.Process | None:
        """The live root psutil.Process, verified to be ours; None once gone."""
        proc = self._proc
        if proc is None:
            return None
        try:
            # is_running() compares psutil's remembered create time: false for a recycled pid
            if not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE:
                return None
        except psutil.Error:
            return None
        return proc

    def poll(self) -> bool:
        """True while the root runs; once it ended, `exit_code` (negative: killed by that
        signal) as its keeper reported it."""
        if self.finished:
            return False
        if self._process() is not None:
            return True
        link = self.link
        ended = read_exit(self.state_dir, self.pid) if self.state_dir else None
        if link is not None and link.alive():
            if ended is None:
                return True  # the keeper reaped it and is writing how it ended
            self._ended(ended)  # the link stays: what the root left may still run
            return False
        if link is not None:
            farewell = link.receive(0)  # a keeper that exited by itself said so
            link.close()
            self.link = None
            if farewell is not None and "ended" in farewell:
                self.tree_gone = True  # it exits only once none of its processes is left
                ended = ended or Ended.parse(farewell["ended"])
            else:  # the keeper was killed: what the agent left re-parented to us
                self._kill_marked(orphans_only=True)
        self._ended(ended)
        return False

    def _ended(self, ended: Ended | None) -> None:
        if ended is not None:
            self.exit_code, self.end_cause = ended.code, ended.cause
        self.finished = True

    def is_stopped(self) -> bool:
        proc = self._process()
        try:
            return proc is not None and proc.status() == psutil.STATUS_STOPPED
        except psutil.Error:
            return False

    def set_mode(self, keep_running: bool) -> None:
        """Whether the agent outlives this Podium (sent to its keeper)."""
        if self.link is not None:
            self.link.set_mode(keep_running)

    def detach(self) -> None:
        """Leave the agent running for another Podium: its keeper keeps it, link closed."""
        if self.link is not None:
            self.link.set_mode(True)
            self.link.close()
            self.link = None

    def tree(self) -> list[psutil.Process]:
        """Every process of the agent: its keeper's descendants (root first when alive).
        Without a keeper: the root, its descendants and stray members of its process group."""
        root = self._process()
        if self.link is not None and self.link.alive():
            procs = self.link.processes()
            return sorted(procs, key=lambda p: p.pid != self.pid)
        if root is None:
            return []
        procs = [root]
        with contextlib.suppress(psutil.Error):
            procs.extend(root.children(recursive=True))
        known = {p.pid for p in procs}
        procs.extend(p for p in self._group() if p.pid not in known)
        return procs

    def _group(self) -> list[psutil.Process]:
        """Live members of the process group the root leads (it was started in a new session,
        so only its descendants can be in it). Also after the root ended: Linux never reuses a
        pid while a process group still carries it, so a group with members is still ours
        unless another process now holds the root's pid."""
        with contextlib.suppress(psutil.Error):
            other = psutil.Process(self.pid)
            if abs(other.create_time() - self.create_time) > _CREATE_TIME_TOLERANCE:
                return []  # recycled pid: that group is not ours
        members = []
        for pid in psutil.pids():
            with contextlib.suppress(OSError, psutil.Error):
                if pid != self.pid and os.getpgid(pid) == self.pid:
                    proc = psutil.Process(pid)
                    if proc.status() != psutil.STATUS_ZOMBIE:
                        members.append(proc)
        return members

    def _marked(self, orphans_only: bool) -> list[psutil.Process]:
        """Processes carrying this agent's PODIUM_AGENT_ID (they inherited it), with their
        descendants: the ones that escaped a dead keeper. `orphans_only`: only our own children
        (this process is a subreaper, so that is where they went) — cheap enough for a poll."""
        if not self.agent_id:
            return []
        me = psutil.Process()
        candidates = me.children() if orphans_only else psutil.process_iter()
        uid = os.getuid()
        found: dict[int, psutil.Process] = {}
        for proc in candidates:
            with contextlib.suppress(psutil.Error):
                if proc.pid == me.pid or proc.uids().real != uid:
                    continue
                if proc.environ().get(AGENT_ID_ENV) == self.agent_id:
                    for p in (proc, *proc.children(recursive=True)):
                        found[p.pid] = p
        return list(found.values())

    def _kill_marked(self, orphans_only: bool) -> None:
        """SIGKILL what `_marked` finds and reap those that became our children."""
        procs = self._marked(orphans_only)
        for proc in procs:
            with contextlib.suppress(psutil.Error):
                proc.kill()
        psutil.wait_procs(procs, timeout=5)
        me = os.getpid()
        for proc in procs:
            with contextlib.suppress(psutil.Error, ChildProcessError, OSError):
                if proc.ppid() == me:
                    os.waitpid(proc.pid, os.WNOHANG)

    # -- control ------------------------------------------------------------------------------
    def signal_tree(self, sig: int) -> int:
        """Send `sig` once to every process of the tree; returns how many were signalled."""
        return len(self._signal(self.tree(), sig))

    def _signal(self, procs: list[psutil.Process], sig: int) -> list[psutil.Process]:
        """One `sig` per process: the process group at once while its leader is verified
        alive (after the leader dies the pgid could name someone else's group), then each
        process that left the group."""
        if not procs:
            return []
        group_sent = False
        if self._process() is not None:
            with contextlib.suppress(OSError):
                if os.getpgid(self.pid) == self.pid:
                    os.killpg(self.pid, sig)
                    group_sent = True
        for proc in procs:
            with contextlib.suppress(psutil.Error, OSError):
                if group_sent and os.getpgid(proc.pid) == self.pid:
                    continue
                proc.send_signal(sig)  # psutil refuses a recycled pid (NoSuchProcess)
        return procs

    def pause(self, wait: float = 0.0) -> bool:
        """SIGSTOP the tree, then wait up to `wait` seconds until every process of it is
        stopped (a signal is delivered asynchronously); True when all are."""
        procs = self.tree()  # listed once: a full listing scans every process
        self._signal(procs, signal.SIGSTOP)
        deadline = time.monotonic() + wait
        while not all(_is_stopped(p) for p in procs):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def resume(self) -> None:
        self.signal_tree(signal.SIGCONT)

    def terminate(self, grace: float = 3.0) -> int | None:
        """End the whole tree: SIGTERM (continuing it if paused), SIGKILL what is left after
        `grace` seconds; returns the root's exit code when known. Also ends what an exited
        root left behind (a daemon that double-forked and called setsid included)."""
        link = self.link
        if link is not None and link.alive():
            ended = link.terminate(grace)  # the keeper does it: it sees every descendant
            self.link = None
            if not self.finished:
                self._ended(ended if ended is not None and ended.pid == self.pid else None)
            if ended is None:
                self._kill_marked(orphans_only=False)
            return self.exit_code
        if link is not None:
            link.close()
            self.link = None
        if not self.tree_gone:
            self._terminate_without_keeper(grace)
        self.finished = True
        return self.exit_code

    def _terminate_without_keeper(self, grace: float) -> None:
        """The old way, for an agent whose keeper is gone or that never had one: its tree and
        process group, then whatever still carries its PODIUM_AGENT_ID."""
        procs = self.tree() or self._group()
        if procs:
            self._signal(procs, signal.SIGTERM)
            self._signal(procs, signal.SIGCONT)  # a stopped process handles TERM only then
            _gone, alive = psutil.wait_procs(procs, timeout=grace)
            for proc in alive:
                with contextlib.suppress(psutil.Error):
                    proc.kill()
            if alive:
                psutil.wait_procs(alive, timeout=grace)
        self._kill_marked(orphans_only=False)


def _is_stopped(proc: psutil.Process) -> bool:
    try:
        return proc.status() in (psutil.STATUS_STOPPED, psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return True  # gone: nothing left to stop
