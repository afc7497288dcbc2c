"""Supervised process trees: launch in a new session, signal the whole tree, verify identity.

A pid alone is never trusted: every handle carries the process create time, and nothing is
signalled unless the running process with that pid still has that create time (pids recycle).
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

from podium.errors import AgentError

#: create times of one process read twice agree exactly on Linux; allow for float rounding
_CREATE_TIME_TOLERANCE = 0.05


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


class ProcessHandle:
    """One agent's root process: a child we launched (Popen) or one we re-attached to."""

    def __init__(self, pid: int, create_time: float, popen: subprocess.Popen | None = None):
        self.pid = pid
        self.create_time = create_time
        self.popen = popen
        self._proc: psutil.Process | None = None
        self.exit_code: int | None = None
        self.finished = False

    @classmethod
    def launch(cls, argv: list[str], *, cwd: Path, env: dict[str, str], stdout: Path,
               stderr: Path, stdin_fifo: Path | None = None) -> ProcessHandle:  # fmt: skip
        """Start `argv` in a new session. `stdin_fifo`: the child reads that FIFO, opened
        read-write for it (see `session_io`); else its stdin is /dev/null."""
        argv = [resolve_executable(argv[0], env), *argv[1:]]
        stdin = os.open(stdin_fifo, os.O_RDWR | os.O_CLOEXEC) if stdin_fifo else subprocess.DEVNULL
        try:
            with open(stdout, "ab") as out, open(stderr, "ab") as err:
                try:
                    popen = subprocess.Popen(
                        argv, cwd=str(cwd), env=env, stdin=stdin, stdout=out, stderr=err,
                        start_new_session=True, close_fds=True,
                    )  # fmt: skip
                except OSError as exc:
                    raise AgentError(f"cannot start {argv[0]}: {exc.strerror or exc}",
                                     field="command") from None  # fmt: skip
        finally:
            if stdin_fifo:
                os.close(stdin)  # the child has its own copy
        try:
            proc = psutil.Process(popen.pid)
            create_time = proc.create_time()
        except psutil.Error:  # exited already; still reap it below
            proc, create_time = None, time.time()
        handle = cls(popen.pid, create_time, popen)
        handle._proc = proc
        return handle

    @classmethod
    def attach(cls, pid: int, create_time: float) -> ProcessHandle | None:
        """A handle to `pid` only if it is still the same process (create time matches)."""
        try:
            proc = psutil.Process(pid)
            actual = proc.create_time()
            if abs(actual - create_time) > _CREATE_TIME_TOLERANCE:
                return None  # recycled pid: someone else's process
            if proc.status() == psutil.STATUS_ZOMBIE:
                return None
        except psutil.Error:
            return None
        handle = cls(pid, create_time)
        handle._proc = proc
        return handle

    # -- liveness -----------------------------------------------------------------------------
    def _process(self) -> psutil.Process | None:
        """The live psutil.Process, verified to be ours; None once gone."""
        if self.finished:
            return None
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
        """True while running; records `exit_code` (when we are the parent) once it ends."""
        if self.finished:
            return False
        if self.popen is not None:
            code = self.popen.poll()
            if code is None:
                return True
            self.exit_code = code
            self.finished = True
            return False
        if self._process() is None:
            self.finished = True  # not our child: the exit code is unknowable
            return False
        return True

    def is_stopped(self) -> bool:
        proc = self._process()
        try:
            return proc is not None and proc.status() == psutil.STATUS_STOPPED
        except psutil.Error:
            return False

    def tree(self) -> list[psutil.Process]:
        """The root and all its descendants (root first), plus stray members of its process
        group (a child that double-forked stays in the group)."""
        root = self._process()
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
        """SIGTERM the tree (continuing it if paused), SIGKILL what is left after `grace`
        seconds; returns the exit code when known. Also ends what an exited root left
        behind in its process group."""
        # once the root ended, what it left in its process group is still the agent's
        procs = self.tree() or self._group()
        if procs:
            self._signal(procs, signal.SIGTERM)
            self._signal(procs, signal.SIGCONT)  # a stopped process handles TERM only then
            # our own child is reaped through Popen so its exit code is kept
            others = [p for p in procs if p.pid != self.pid] if self.popen is not None else procs
            if self.popen is not None:
                try:
                    self.exit_code = self.popen.wait(timeout=grace)
                except subprocess.TimeoutExpired:
                    self.popen.kill()
                    self.exit_code = self.popen.wait(timeout=grace)
            _gone, alive = psutil.wait_procs(others, timeout=grace if self.popen is None else 0.5)
            for proc in alive:
                with contextlib.suppress(psutil.Error):
                    proc.kill()
            if alive:
                psutil.wait_procs(alive, timeout=grace)
        elif self.popen is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.exit_code = self.popen.wait(timeout=grace)
        self.finished = True
        return self.exit_code


def _is_stopped(proc: psutil.Process) -> bool:
    try:
        return proc.status() in (psutil.STATUS_STOPPED, psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return True  # gone: nothing left to stop
