"""SQLite connection management.

WAL mode lets readers (reports, the statusLine command) run while the one writer (the server or
`podium ingest`) commits; every write happens inside a transaction, so killing the process loses
at most the uncommitted batch and never leaves half of one.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from podium.store.health import NEWER, READONLY, StoreCorrupt, StoreError, classify
from podium.store.migrations import LATEST_VERSION, MIGRATIONS

__all__ = ["SERVER_AUTOCHECKPOINT", "Store", "StoreCorrupt", "StoreError", "default_db_path"]

ENV_DB = "PODIUM_DB"


def default_db_path() -> str:
    """`$PODIUM_DB`, else `podium.db` in the platform's user data dir."""
    env = os.environ.get(ENV_DB)
    if env:
        return os.path.expanduser(env)
    from podium.userdirs import data_dir

    return os.path.join(data_dir(), "podium.db")


def _statements(script: str) -> Iterator[str]:
    """The SQL statements of a migration script, one at a time (`executescript` would commit
    the caller's transaction first); SQLite's own tokenizer says where one ends, so a `;`
    inside a trigger body, a string or a comment does not split it."""
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \t\r\n;"):
                yield pending
            pending = ""


def _connect_readonly(path: str) -> sqlite3.Connection:
    """A connection that never writes the store nor creates a file beside it (a report on a
    store whose folder this user cannot write). `mode=ro` first; in WAL mode SQLite still
    needs the -shm file, and without it and a writable folder it cannot open the store: then
    `immutable=1`, which reads the database file alone, without locks. That is safe when
    nobody writes the store meanwhile (a writer would need the -wal and -shm files this folder
    lacks); a -wal holding commits would be skipped, so that case is refused in one line."""
    from urllib.parse import quote

    base = "file:" + quote(os.path.abspath(path))
    conn = sqlite3.connect(f"{base}?mode=ro", uri=True, timeout=30.0, isolation_level=None,
                           check_same_thread=False)  # fmt: skip
    try:
        conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        return conn
    except sqlite3.OperationalError:
        conn.close()
    try:
        pending = os.path.getsize(path + "-wal") > 0
    except OSError:
        pending = False
    if pending:
        raise StoreError(f"cannot read the store {path} read-only: its -wal file holds recent "
                         "commits and its folder cannot be written; run any podium command once "
                         "as a user who can write that folder, or copy the store elsewhere",
                         kind=READONLY)  # fmt: skip
    return sqlite3.connect(f"{base}?mode=ro&immutable=1", uri=True, timeout=30.0,
                           isolation_level=None, check_same_thread=False)  # fmt: skip


#: WAL pages after which a commit checkpoints by itself in a long-running process (the
#: server), which checkpoints when idle instead (see `Store.checkpoint`); ~40 MB
SERVER_AUTOCHECKPOINT = 10_000


class Store:
    """An open Podium database. Not thread-safe: one `Store` per thread.

    `autocheckpoint` sets SQLite's `wal_autocheckpoint` (pages; None keeps its 1,000): a
    long-running writer raises it and calls `checkpoint()` when idle, so commits never wait
    for the WAL to be copied back and synced.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *, readonly: bool = False,
                 autocheckpoint: int | None = None):  # fmt: skip
        #: the database file (a plain string: `pathlib` stays out of CLI start-up)
        self.path = os.fspath(path) if path is not None else default_db_path()
        self.readonly = readonly
        #: serialises transactions when a Store is shared between threads (the server)
        self.lock = threading.RLock()
        try:
            if not readonly:
                os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
            self.conn = _connect_readonly(self.path) if readonly else sqlite3.connect(
                self.path, timeout=30.0, isolation_level=None, check_same_thread=False
            )
        except (OSError, sqlite3.Error) as exc:
            problem = classify(exc, self.path)
            kind = problem.kind if problem is not None else None
            raise StoreError(f"cannot open the store {self.path}: {exc}", kind=kind) from exc
        try:
            self._configure(readonly, autocheckpoint)
            self._migrate()
        except sqlite3.Error as exc:
            self.conn.close()
            # a damaged file, a full disk, a read-only folder: one line, not a traceback
            problem = classify(exc, self.path)
            if problem is None:
                raise
            error = StoreCorrupt if problem.kind == "corrupt" else StoreError
            raise error(problem.message, kind=problem.kind) from exc

    def _set_wal(self, patience_s: float = 30.0) -> None:
        """Switch to WAL. Processes opening a brand-new store together (two windows, a CLI)
        all try it; SQLite then answers BUSY at once, without its busy handler (waiting could
        deadlock), so the loser tries again shortly (it was 5–8 of 300 failed opens)."""
        deadline = time.monotonic() + patience_s
        delay = 0.005
        while True:
            try:
                self.conn.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                busy = getattr(exc, "sqlite_errorname", "").startswith(("SQLITE_BUSY", "SQLITE_LOCKED"))
                if not (busy or "locked" in str(exc)) or time.monotonic() > deadline:
                    raise
            time.sleep(delay)
            delay = min(delay * 2, 0.1)

    def _configure(self, readonly: bool, autocheckpoint: int | None) -> None:
        self.conn.execute("PRAGMA busy_timeout = 30000")
        if not readonly:
            self._set_wal()
            self.conn.execute("PRAGMA synchronous = NORMAL")
        self.conn.execute("PRAGMA temp_store = MEMORY")
        self.conn.execute("PRAGMA cache_size = -16000")  # 16 MB page cache
        if autocheckpoint is not None:
            self.conn.execute(f"PRAGMA wal_autocheckpoint = {int(autocheckpoint)}")
        # reads the schema: a damaged first page or schema table shows here, at open
        self.conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()

    # -- schema -----------------------------------------------------------------------------
    def _migrate(self, version: int | None = None) -> None:
        """Apply the migrations past the store's version (`version`: what this process read
        before, if it did; the version is read again under the write lock in any case)."""
        if version is None:
            version = self.schema_version
        self._check_version(version)
        if version == LATEST_VERSION:
            return
        if self.readonly:
            raise StoreError(f"store {self.path} needs migration; run a writer first")
        # Several processes may open a brand-new store at once (two windows, a CLI): the
        # version is read again under the write lock, so only the first one migrates and the
        # others see its result (reading it before the lock made them all run v1).
        with self.lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                version = self.schema_version
                self._check_version(version)
                for target, script in MIGRATIONS:
                    if target > version:
                        for statement in _statements(script):
                            self.conn.execute(statement)
                        self.conn.execute(f"PRAGMA user_version = {int(target)}")
                self.conn.execute("COMMIT")
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise

    def _check_version(self, version: int) -> None:
        if version > LATEST_VERSION:
            raise StoreError(
                f"store {self.path} has schema v{version}, newer than this Podium "
                f"(v{LATEST_VERSION}); upgrade Podium or use another --db",
                kind=NEWER,
            )

    @property
    def schema_version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    # -- transactions -----------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE … COMMIT; rolls back on any exception."""
        with self.lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
                self.conn.execute("COMMIT")
            except BaseException:
                # a failed COMMIT (a full disk) must not leave the transaction open, and
                # SQLite may have rolled it back already: the original error is the one raised
                if self.conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        self.conn.execute("ROLLBACK")
                raise

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute(
            "INSERT INTO meta(key, value) VALUES(?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def checkpoint(self, mode: str = "PASSIVE") -> tuple[int, int, int]:
        """Copy committed WAL pages back into the database file (SQLite's
        `wal_checkpoint(mode)`); PASSIVE never waits for readers or writers. Returns
        (busy, WAL pages, pages checkpointed)."""
        if mode not in ("PASSIVE", "FULL", "RESTART", "TRUNCATE"):
            raise ValueError(f"unknown checkpoint mode {mode!r}")
        with self.lock:
            busy, log, done = self.conn.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
        return int(busy), int(log), int(done)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
