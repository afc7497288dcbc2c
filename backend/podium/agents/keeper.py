"""The keeper: one small process per agent that owns the agent's whole process tree.

Podium starts `python -I -S keeper.py STATE_DIR LIFELINE_FD MODE GRACE -- ARGV...` (the agent's
cwd, environment, stdin, stdout and stderr), and the keeper starts ARGV as its only child.
Standard library only and no Podium imports: it runs as a script, without site-packages.

- It is a Linux child subreaper (`PR_SET_CHILD_SUBREAPER`): whatever the agent starts and
  orphans, a double-forked `setsid` daemon included, re-parents to the keeper, never to init.
  So the agent's processes are exactly the keeper's descendants, and the keeper reaps them all.
- The agent's root dies with the keeper (`PR_SET_PDEATHSIG`, reliable here: the keeper has
  one thread).
- Lifelines: the inherited LIFELINE_FD (one end of a socketpair whose other end only the
  Podium server holds) and any connection to `keeper.sock` in the state dir (a later Podium
  that re-attaches). When the last lifeline reaches end-of-file (the server exited, even by
  SIGKILL) and MODE is `kill` (keepAgentsRunning off), the keeper ends the whole tree. MODE
  `keep` lets the agent run on until a Podium re-attaches.
- Requests, one JSON object a line: `{"mode": "kill"|"keep"}`, `{"terminate": GRACE}` (SIGTERM
  and SIGCONT to every descendant, SIGKILL to what is left after GRACE seconds, repeated until
  none is left: a process forking meanwhile cannot escape).
- Answers: `{"started": PID}` or `{"error": TEXT}` on the inherited lifeline once the root was
  (not) started; `{"hello": {"root": PID, "ended": EXIT|null}}` to each new connection;
  `{"ended": EXIT}` to every lifeline when the keeper exits. EXIT is
  `{"pid", "code", "cause", "at"}`: `code` as subprocess reports it (negative: killed by that
  signal), `cause` `exited` | `stopped` | `podium-gone`. It is also written to `exit.json`
  (0600) when the root is reaped, so a Podium that was not running then still learns it.

The keeper exits once the root was reaped and it has no child left.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import selectors
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

SOCKET_FILE = "keeper.sock"
EXIT_FILE = "exit.json"
MODES = ("kill", "keep")

_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36
#: what the keeper ignores (and its root must not inherit: an ignored signal survives exec)
_IGNORED = (signal.SIGHUP, signal.SIGINT, signal.SIGTERM, signal.SIGPIPE)
#: after SIGKILL, how long the keeper keeps killing and reaping before it gives up (a process
#: in uninterruptible sleep dies only when its I/O ends)
_KILL_DEADLINE_S = 10.0


def prctl(option: int, value: int) -> bool:
    """Linux `prctl(option, value)`; False where it is not available."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(option, ctypes.c_ulong(value), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def become_subreaper() -> bool:
    """Make this process a child subreaper: orphaned descendants re-parent to it."""
    return sys.platform.startswith("linux") and prctl(_PR_SET_CHILD_SUBREAPER, 1)


def socket_address(state_dir: str) -> tuple[str, int]:
    """An address for `state_dir/keeper.sock` that fits AF_UNIX's 108 bytes whatever the state
    dir's length (through /proc/self/fd), and the directory fd to close after use."""
    path = os.path.join(state_dir, SOCKET_FILE)
    if len(os.fsencode(path)) < 100:
        return path, -1
    fd = os.open(state_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    return f"/proc/self/fd/{fd}/{SOCKET_FILE}", fd


def write_json_0600(path: str | os.PathLike[str], obj: object) -> None:
    """Write `obj` to `path` atomically (a unique tmp file + rename), readable by the owner
    only. The one private-JSON writer of the agents package: Podium's own modules use it too,
    and it stays stdlib-only because this file also runs as the keeper script."""
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.fspath(path)) or ".", prefix=".tmp-",
                               suffix=".json")  # fmt: skip
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(obj, fh)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


# -- the process table ----------------------------------------------------------------------------
def _stat(pid: int) -> tuple[int, int, str] | None:
    """(ppid, start time in clock ticks, state) of `pid`, None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    fields = data[data.rfind(b")") + 2 :].split()  # the command name may hold spaces and ")"
    return int(fields[1]), int(fields[19]), fields[0].decode()


def descendants(root: int) -> list[tuple[int, int]]:
    """(pid, start time) of every live (not zombie) descendant of `root`."""
    children: dict[int, list[tuple[int, int, str]]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            info = _stat(int(name))
            if info is not None:
                children.setdefault(info[0], []).append((int(name), info[1], info[2]))
    found: list[tuple[int, int]] = []
    todo = [root]
    while todo:
        for pid, start, state in children.get(todo.pop(), ()):
            todo.append(pid)
            if state != "Z":
                found.append((pid, start))
    return found


def send_signal(pid: int, start: int, sig: int) -> None:
    """`sig` to `pid` only while it is still the process that started at `start` (pids recycle:
    a pidfd pins the process, then its start time is checked)."""
    try:
        pidfd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        pidfd = -1
    try:
        info = _stat(pid)
        if info is None or info[1] != start:
            return
        if pidfd >= 0:
            signal.pidfd_send_signal(pidfd, sig)
        else:
            os.kill(pid, sig)
    except OSError:
        pass  # it ended meanwhile
    finally:
        if pidfd >= 0:
            os.close(pidfd)


class Keeper:
    def __init__(self, state_dir: str, mode: str, grace: float) -> None:
        self.state_dir = os.path.abspath(state_dir)
        self.mode = mode if mode in MODES else "kill"
        self.grace = grace
        self.root: subprocess.Popen | None = None
        self.ended: dict | None = None  # the root's EXIT, once reaped
        self.cause = "exited"
        self.childless = False
        self.done = False  # the tree was ended on request; the keeper exits
        self.sel = selectors.DefaultSelector()
        self.lifelines: dict[socket.socket, bytes] = {}
        self.wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        # the keeper outlives a closed terminal and a stray SIGTERM: only Podium ends it
        for sig in _IGNORED:
            signal.signal(sig, signal.SIG_IGN)
        self.sel.register(self.wake_r, selectors.EVENT_READ, "wake")

    # -- start ------------------------------------------------------------------------------
    def start(self, lifeline: socket.socket, argv: list[str]) -> int:
        become_subreaper()
        with contextlib.suppress(OSError):
            os.unlink(os.path.join(self.state_dir, EXIT_FILE))  # an earlier process's
        try:
            listener = self._listen()
            self.root = subprocess.Popen(argv, start_new_session=True, close_fds=True,
                                         preexec_fn=_die_with(os.getpid()))  # fmt: skip
        except (OSError, ValueError, UnicodeError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            _send(lifeline, {"error": f"cannot start {argv[0]}: {reason}"})
            return 127
        _send(lifeline, {"started": self.root.pid})
        # the agent works in its worktree; the keeper is Podium's, not the agent's: it leaves
        # (a process found by its cwd in a worktree is the agent's, and the dir is not held)
        with contextlib.suppress(OSError):
            os.chdir(self.state_dir)
        # the agent has its own copies; the keeper keeps no reader on its stdin (a FIFO)
        devnull = os.open(os.devnull, os.O_RDWR)
        os.dup2(devnull, 0)
        os.dup2(devnull, 1)
        os.close(devnull)
        self._add_lifeline(lifeline)
        self.sel.register(listener, selectors.EVENT_READ, "listen")
        return self.run()

    def _listen(self) -> socket.socket:
        path = os.path.join(self.state_dir, SOCKET_FILE)
        with contextlib.suppress(OSError):
            os.unlink(path)
        address, dir_fd = socket_address(self.state_dir)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            listener.bind(address)
        finally:
            if dir_fd >= 0:
                os.close(dir_fd)
        os.chmod(path, 0o600)
        listener.listen(8)
        listener.setblocking(False)
        return listener

    # -- the loop ---------------------------------------------------------------------------
    def run(self) -> int:
        while True:
            self.reap()
            if self.ended is not None and self.childless:
                return self._exit()
            for key, _ in self.sel.select(timeout=5.0):
                sock = key.fileobj
                if key.data == "wake":
                    self._drain_wake()
                elif not isinstance(sock, socket.socket):
                    continue
                elif key.data == "listen":
                    self._accept(sock)
                elif not self._read(sock) and not self.lifelines and self.mode == "kill":
                    self.terminate(self.grace, "podium-gone")
                if self.done:
                    return 0

    def _drain_wake(self) -> None:
        with contextlib.suppress(OSError):
            while os.read(self.wake_r, 512):
                pass

    def _accept(self, listener: socket.socket) -> None:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        _pid, uid, _gid = struct.unpack("3i", creds)
        if uid != os.getuid():  # the state dir is 0700; this is a second lock on the door
            conn.close()
            return
        root = self.root.pid if self.root else None
        _send(conn, {"hello": {"root": root, "ended": self.ended, "mode": self.mode}})
        self._add_lifeline(conn)

    def _add_lifeline(self, conn: socket.socket) -> None:
        conn.setblocking(False)
        self.lifelines[conn] = b""
        self.sel.register(conn, selectors.EVENT_READ, "lifeline")

    def _read(self, conn: socket.socket) -> bool:
        """Handle what a lifeline sent; False when it ended (and is dropped)."""
        try:
            data = conn.recv(4096)
        except BlockingIOError:
            return True
        except OSError:
            data = b""
        if not data:
            self.sel.unregister(conn)
            self.lifelines.pop(conn, None)
            conn.close()
            return False
        buffer = self.lifelines[conn] + data
        *lines, self.lifelines[conn] = buffer.split(b"\n")
        for line in lines:
            try:
                request = json.loads(line)
            except ValueError:
                continue
            if not isinstance(request, dict):
                continue
            if request.get("mode") in MODES:
                self.mode = request["mode"]
            if isinstance(request.get("terminate"), int | float):
                self.terminate(float(request["terminate"]), "stopped")
                return True
        return True

    # -- children ---------------------------------------------------------------------------
    def reap(self) -> None:
        """Collect every child that ended; note the root's status."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                self.childless = True
                return
            if pid == 0:
                return
            if self.root is not None and pid == self.root.pid:
                code = os.waitstatus_to_exitcode(status)
                self.root.returncode = code  # reaped here, not by Popen
                self.ended = {"pid": pid, "code": code, "cause": self.cause, "at": time.time()}
                with contextlib.suppress(OSError):
                    write_json_0600(os.path.join(self.state_dir, EXIT_FILE), self.ended)

    def _signal_tree(self, *sigs: int) -> None:
        for pid, start in descendants(os.getpid()):
            for sig in sigs:
                send_signal(pid, start, sig)

    def _wait_children(self, until: float) -> None:
        """Reap until no child is left or `until` (monotonic) passed."""
        while True:
            self.reap()
            left = until - time.monotonic()
            if self.childless or left <= 0:
                return
            if self.sel.select(timeout=min(left, 0.05)):
                self._drain_wake()

    def terminate(self, grace: float, cause: str) -> None:
        """End the whole tree: SIGTERM (and SIGCONT: a paused process handles it only then),
        SIGKILL after `grace` seconds, again and again until no descendant is left."""
        self.cause = cause
        self._signal_tree(signal.SIGTERM, signal.SIGCONT)
        self._wait_children(time.monotonic() + max(0.0, grace))
        deadline = time.monotonic() + _KILL_DEADLINE_S
        while not self.childless and time.monotonic() < deadline:
            self._signal_tree(signal.SIGKILL)
            self._wait_children(min(deadline, time.monotonic() + 0.05))
        self._exit()
        self.done = True

    def _exit(self) -> int:
        ended = self.ended or {"pid": self.root.pid if self.root else None, "code": None,
                               "cause": self.cause, "at": time.time()}  # fmt: skip
        for conn in list(self.lifelines):
            with contextlib.suppress(OSError):
                conn.setblocking(True)
                conn.settimeout(1.0)
                conn.sendall(_line({"ended": ended}))
        with contextlib.suppress(OSError):
            os.unlink(os.path.join(self.state_dir, SOCKET_FILE))
        return 0


def _line(obj: object) -> bytes:
    return (json.dumps(obj, separators=(",", ":")) + "\n").encode()


def _send(conn: socket.socket, obj: object) -> None:
    with contextlib.suppress(OSError):
        conn.sendall(_line(obj))


def _die_with(keeper_pid: int) -> Callable[[], None]:
    """preexec_fn of the root: SIGKILL when the keeper dies (and if it already did, now)."""

    def preexec() -> None:
        for sig in _IGNORED:
            signal.signal(sig, signal.SIG_DFL)
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != keeper_pid:
            os._exit(1)

    return preexec


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) < 6 or args[4] != "--":
        print("usage: keeper.py STATE_DIR LIFELINE_FD kill|keep GRACE -- ARGV...", file=sys.stderr)
        return 2
    state_dir, fd, mode, grace, command = args[0], int(args[1]), args[2], float(args[3]), args[5:]
    lifeline = socket.socket(fileno=fd)
    return Keeper(state_dir, mode, grace).start(lifeline, command)


if __name__ == "__main__":
    code = main()
    sys.stderr.flush()
    os._exit(code)  # no interpreter teardown: Podium waits for this exit during a stop
