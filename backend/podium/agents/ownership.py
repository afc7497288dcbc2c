"""One Podium process supervises a repository's agents at a time.

Two editor windows on the same repository (and store) each start a server; before this, both
signalled the same agents. Now the first `AgentManager` of a repository claims its row in the
store's `owners` table (one write transaction: two claiming at once never both win) and is the
*owner*: it re-attaches, spawns, pauses, stops. Any other manager is *read-only*: it shows the
agents from their rows (re-read every second) and answers control calls with `NotOwner`
("agents of this repo are owned by another Podium window (pid N)"). When the owner is gone —
released at its close, or its process ended (pid + create time on this host; a heartbeat older
than a minute for a process on another host sharing the store) — the next poll or control
call of another manager takes over: it claims the row, re-attaches to the running agents and
goes on.

The owner also writes `<repo>/.podium/state/owner.json` `{"pid", "createTime"}` (0600, in a
0700 dir) for the permission hooks of its agents (they deny when that process is gone) — when
it takes the agents over and at each spawn — and removes it on release.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
import uuid
import weakref
from collections.abc import Callable
from pathlib import Path

import psutil

from podium.agents.keeper import write_json_0600
from podium.errors import NotOwner
from podium.store.db import Store
from podium.store.owners import OwnerRow, OwnersRepo

OWNER_FILE = "owner.json"
#: how often the owner refreshes its heartbeat
HEARTBEAT_S = 5.0
#: an owner on another host is stale when its heartbeat is older than this
FOREIGN_STALE_S = 60.0
#: how often a read-only manager looks for a gone owner and re-reads the agents' rows
CHECK_S = 1.0
#: create times of one process read twice agree exactly on Linux; allow for float rounding
_CREATE_TIME_TOLERANCE = 0.05

#: this process's live ownerships by token (two managers in one process: tests, the CLI)
_LIVE: weakref.WeakValueDictionary[str, Ownership] = weakref.WeakValueDictionary()


def _me() -> tuple[int, float]:
    return os.getpid(), psutil.Process().create_time()


def process_alive(pid: int, create_time: float) -> bool:
    """Process `pid` runs and started at `create_time` (pids recycle)."""
    try:
        proc = psutil.Process(pid)
        return (abs(proc.create_time() - create_time) <= _CREATE_TIME_TOLERANCE
                and proc.status() != psutil.STATUS_ZOMBIE)  # fmt: skip
    except psutil.Error:
        return False


class Ownership:
    """This manager's claim on one repository's agents. Thread-safe."""

    def __init__(self, store: Store, repo: str, state_root: Path, *, owner_file: bool) -> None:
        self.rows = OwnersRepo(store)
        self.repo = repo
        self.state_root = state_root
        self.owner_file = owner_file
        self.token = uuid.uuid4().hex
        self.host = socket.gethostname()
        self.pid, self.create_time = _me()
        #: the store row is ours: rows may be written (also while a takeover re-attaches)
        self.claimed = False
        #: the takeover is complete: this manager controls the agents
        self.owns = False
        #: the owner seen at the last failed claim, or why the claim failed
        self.holder: OwnerRow | None = None
        self.problem: str | None = None
        self._lock = threading.Lock()  # one claim, takeover or release at a time
        self._last_beat = 0.0
        self._last_check = 0.0
        _LIVE[self.token] = self

    # -- claiming ---------------------------------------------------------------------------
    def ensure(self, take_over: Callable[[], None]) -> bool:
        """True when this manager owns the agents; claims them when their owner is gone, and
        then runs `take_over` (re-attach) before anyone may control them."""
        if self.owns:
            return True
        with self._lock:
            if self.owns:
                return True
            if not self._claim():
                return False
            try:
                take_over()
            finally:
                self.owns = True
            return True

    def _claim(self) -> bool:
        now = time.time()
        me = OwnerRow(self.repo, self.pid, self.create_time, self.host, self.token, now, now)
        try:
            winner = self.rows.claim(me, self._stale)
        except Exception as exc:  # the store refuses writes: nobody can own safely
            self.problem = f"the store cannot be written ({exc})"
            return False
        if winner.token != self.token:
            self.holder, self.problem = winner, None
            return False
        self.holder, self.problem = None, None
        self.claimed = True
        self._last_beat = now
        self._write_owner_file()
        return True

    def _stale(self, row: OwnerRow) -> bool:
        if row.host != self.host:
            return time.time() - row.heartbeat > FOREIGN_STALE_S
        if row.pid == self.pid and abs(row.create_time - self.create_time) <= _CREATE_TIME_TOLERANCE:
            other = _LIVE.get(row.token)  # another manager of this very process
            return other is None or not other.claimed
        return not process_alive(row.pid, row.create_time)

    # -- from the poll ----------------------------------------------------------------------
    def keep(self, now: float, take_over: Callable[[], None]) -> str:
        """Once per poll: `owner` (heartbeat when due), `acquired` (took over now), `lost`
        (another process holds the row now: stop controlling), `other` (read-only; `due`
        when it is time to re-read the rows)."""
        if self.owns:
            if now - self._last_beat < HEARTBEAT_S:
                return "owner"
            self._last_beat = now
            try:
                still = self.rows.heartbeat(self.repo, self.token, now)
            except Exception:  # a full disk: keep going, try again at the next beat
                return "owner"
            if still:
                return "owner"
            with self._lock:
                self.owns = self.claimed = False
            return "lost"
        if now - self._last_check < CHECK_S:
            return "other"
        self._last_check = now
        return "acquired" if self.ensure(take_over) else "due"

    def release(self) -> None:
        """Give the agents up (at close): another Podium may take over."""
        with self._lock:
            if not self.claimed:
                return
            self.owns = self.claimed = False
            with contextlib.suppress(Exception):
                self.rows.release(self.repo, self.token)
            self._remove_owner_file()

    # -- what others see --------------------------------------------------------------------
    def error(self) -> NotOwner:
        """The error a control call of a read-only manager answers."""
        if self.problem:
            return NotOwner(f"agents of this repo cannot be controlled: {self.problem}")
        holder = self.holder
        who = f" (pid {holder.pid}{'' if holder.host == self.host else ' on ' + holder.host})" \
            if holder else ""
        return NotOwner(f"agents of this repo are owned by another Podium window{who}; this "
                        "window shows them and takes over when that one exits")  # fmt: skip

    # -- owner.json for the permission hooks ------------------------------------------------
    def publish(self) -> None:
        """Write owner.json now that the state dir exists (a spawn created it)."""
        with self._lock:
            if self.claimed:
                self._write_owner_file()

    def _write_owner_file(self) -> None:
        # only where agents live: a repository without any keeps no .podium/ (git status)
        if not self.owner_file or not self.state_root.is_dir():
            return
        with contextlib.suppress(OSError):
            os.chmod(self.state_root, 0o700)
            write_json_0600(self.state_root / OWNER_FILE,
                            {"pid": self.pid, "createTime": self.create_time})  # fmt: skip

    def _remove_owner_file(self) -> None:
        if not self.owner_file:
            return
        path = self.state_root / OWNER_FILE
        with contextlib.suppress(OSError, ValueError, TypeError):
            current = json.loads(path.read_text(encoding="utf-8"))
            if current.get("pid") == self.pid and not any(
                    o.claimed for o in _LIVE.values() if o is not self and o.repo == self.repo):  # fmt: skip
                path.unlink()
