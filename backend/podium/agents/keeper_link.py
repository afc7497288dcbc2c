"""Podium's side of an agent's keeper (see `keeper`): start it, re-attach to it, tell it whether
the agent outlives Podium, ask it to end the tree, read how the agent ended.

The link is a Unix stream socket: a socketpair end at launch, a connection to `keeper.sock` on
re-attach. Podium never needs to read it except during a handshake or a terminate; the keeper
treats its end-of-file (Podium exited, however) as "Podium is gone".
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import socket
import struct
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from podium.agents import keeper as keeper_script
from podium.errors import AgentError

#: how long a keeper may take to start the agent and say so
START_TIMEOUT_S = 15.0
#: on top of the grace: how long the keeper may take to SIGKILL and reap what is left
TERMINATE_SLACK_S = 15.0
_KEEPER = str(Path(keeper_script.__file__).resolve())


@dataclass(frozen=True, slots=True)
class Ended:
    """How an agent's root process ended, as its keeper saw it."""

    pid: int | None
    code: int | None  # negative: killed by that signal
    cause: str  # exited | stopped | podium-gone
    at: float | None = None  # epoch s, when the keeper reaped it

    @classmethod
    def parse(cls, obj: Any) -> Ended | None:
        if not isinstance(obj, dict):
            return None
        pid, code, cause, at = obj.get("pid"), obj.get("code"), obj.get("cause"), obj.get("at")
        when = float(at) if isinstance(at, int | float) and not isinstance(at, bool) else None
        return cls(pid if isinstance(pid, int) else None, code if isinstance(code, int) else None,
                   cause if isinstance(cause, str) else "exited",
                   when if when is not None and math.isfinite(when) else None)  # fmt: skip


def read_exit(state_dir: str | Path, pid: int) -> Ended | None:
    """The keeper's `exit.json` for root `pid` (None when absent, unreadable or another
    process's)."""
    try:
        with open(Path(state_dir) / keeper_script.EXIT_FILE, encoding="utf-8") as fh:
            ended = Ended.parse(json.load(fh))
    except (OSError, ValueError):
        return None
    return ended if ended is not None and ended.pid == pid else None


def _mode(keep_running: bool) -> str:
    return "keep" if keep_running else "kill"


class KeeperLink:
    """One open link to one agent's keeper."""

    def __init__(self, sock: socket.socket, keeper: psutil.Process,
                 popen: subprocess.Popen | None = None) -> None:  # fmt: skip
        self.sock = sock
        self.keeper = keeper
        self.popen = popen  # when this process started the keeper (it reaps it)
        self._buffer = b""

    # -- opening --------------------------------------------------------------------------------
    @classmethod
    def start(
        cls, argv: list[str], *, cwd: Path, env: dict[str, str], state_dir: Path,
        stdin: int, stdout: int, stderr: int, keep_running: bool, grace: float,
    ) -> tuple[KeeperLink, int]:  # fmt: skip
        """Start a keeper that starts `argv`; (the link, the root's pid). AgentError when the
        agent could not be started (nothing is left running then)."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        keeper_argv = [sys.executable, "-I", "-S", _KEEPER, str(state_dir), str(theirs.fileno()),
                       _mode(keep_running), repr(float(grace)), "--", *argv]  # fmt: skip
        try:
            popen = subprocess.Popen(
                keeper_argv, cwd=str(cwd), env=env, stdin=stdin, stdout=stdout, stderr=stderr,
                start_new_session=True, close_fds=True, pass_fds=(theirs.fileno(),),
            )  # fmt: skip
        except (OSError, ValueError, UnicodeError) as exc:
            ours.close()
            raise AgentError(f"cannot start {argv[0]}: {getattr(exc, 'strerror', None) or exc}",
                             field="command") from None  # fmt: skip
        finally:
            theirs.close()
        try:
            keeper = psutil.Process(popen.pid)
        except psutil.Error:
            keeper = None
        link = cls(ours, keeper, popen) if keeper is not None else None
        answer = link.receive(START_TIMEOUT_S) if link is not None else None
        if link is None or answer is None or not isinstance(answer.get("started"), int):
            reason = (answer or {}).get("error") or "its keeper did not start it"
            if link is not None:
                link.kill()
            else:
                ours.close()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    popen.wait(5)
            raise AgentError(str(reason), field="command")
        return link, answer["started"]

    @classmethod
    def connect(cls, state_dir: str | Path, keep_running: bool) -> tuple[KeeperLink, dict] | None:
        """Re-attach to the keeper of the agent in `state_dir`, if one runs; (the link, its
        hello: `root` pid and `ended`)."""
        try:
            address, dir_fd = keeper_script.socket_address(str(state_dir))
        except OSError:
            return None  # no state dir: no keeper
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(5.0)
            sock.connect(address)
            creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
            pid, uid, _gid = struct.unpack("3i", creds)
            if uid != os.getuid():
                raise OSError("keeper socket of another user")
            keeper = psutil.Process(pid)
        except (OSError, psutil.Error):
            sock.close()
            return None
        finally:
            if dir_fd >= 0:
                os.close(dir_fd)
        link = cls(sock, keeper)
        hello = link.receive(5.0)
        if hello is None or not isinstance(hello.get("hello"), dict):
            link.close()
            return None
        link.set_mode(keep_running)
        return link, hello["hello"]

    # -- talking --------------------------------------------------------------------------------
    def receive(self, timeout: float) -> dict | None:
        """The keeper's next message (None at end-of-file or after `timeout` seconds; 0: only
        what already arrived)."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            try:
                self.sock.settimeout(max(0.0, deadline - time.monotonic()))
                data = self.sock.recv(4096)
            except OSError:
                return None
            if not data:
                return None
            self._buffer += data
        line, self._buffer = self._buffer.split(b"\n", 1)
        try:
            obj = json.loads(line)
        except ValueError:
            return {}
        return obj if isinstance(obj, dict) else {}

    def _send(self, obj: dict) -> bool:
        try:
            self.sock.settimeout(2.0)
            self.sock.sendall((json.dumps(obj) + "\n").encode())
            return True
        except OSError:
            return False

    def set_mode(self, keep_running: bool) -> None:
        """Whether the agent outlives this Podium (`keepAgentsRunning`)."""
        self._send({"mode": _mode(keep_running)})

    def alive(self) -> bool:
        if self.popen is not None and self.popen.poll() is not None:
            return False
        try:
            return self.keeper.is_running() and self.keeper.status() != psutil.STATUS_ZOMBIE
        except psutil.Error:
            return False

    def processes(self) -> list[psutil.Process]:
        """The agent's processes: every descendant of the keeper."""
        try:
            return self.keeper.children(recursive=True) if self.alive() else []
        except psutil.Error:
            return []

    def terminate(self, grace: float) -> Ended | None:
        """Ask the keeper to end the whole tree and wait until it did; how the root ended
        (None when the keeper did not answer: it was killed, here and now)."""
        if self._send({"terminate": grace}):
            deadline = time.monotonic() + grace + TERMINATE_SLACK_S
            while (left := deadline - time.monotonic()) > 0:
                message = self.receive(left)
                if message is None:
                    break
                if "ended" in message:
                    self.close(wait=5.0)  # it exits right after saying so
                    return Ended.parse(message["ended"])
        self.kill()
        return None

    def kill(self) -> None:
        """The keeper and everything under it, SIGKILLed (the keeper does not answer)."""
        procs = self.processes()
        with contextlib.suppress(psutil.Error):
            self.keeper.kill()
        for proc in procs:
            with contextlib.suppress(psutil.Error):
                proc.kill()
        psutil.wait_procs(procs, timeout=5)
        self.close(wait=5.0)

    def close(self, wait: float = 0.0) -> None:
        """Drop the link (in `kill` mode the keeper then ends the agent, unless another Podium
        holds a link); reap the keeper when it was ours and ends within `wait` seconds."""
        with contextlib.suppress(OSError):
            self.sock.close()
        if self.popen is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=wait)
