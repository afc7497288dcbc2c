"""What is wrong with the store, in one line: for the CLI (no traceback) and the server (one
alert, an error state, recovery). Pure classification of exceptions; no I/O.

SQLite says what went wrong in `sqlite_errorname` (Python ≥ 3.11): SQLITE_CORRUPT and
SQLITE_NOTADB are a damaged store (`podium doctor --repair`), SQLITE_FULL a full disk (a
transaction that fails is rolled back whole, so nothing is lost: the next run reads the same
log bytes again), SQLITE_READONLY / SQLITE_CANTOPEN a store Podium cannot write or open.
"""

from __future__ import annotations

import errno
import os
import sqlite3

CORRUPT = "corrupt"
FULL = "full"
READONLY = "readonly"
UNAVAILABLE = "unavailable"
BUSY = "busy"
NEWER = "newer"

REPAIR_HINT = "`podium doctor --repair` moves it aside and rebuilds it from the logs"


class StoreProblem:
    """(A plain class: this module loads with every store, and `dataclasses` imports `inspect`,
    ~5 ms of every CLI start.)"""

    __slots__ = ("kind", "message")

    def __init__(self, kind: str, message: str) -> None:
        self.kind = kind
        #: one line for a person: what is wrong and what to do
        self.message = message

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StoreProblem) and (self.kind, self.message) == (other.kind, other.message)

    def __hash__(self) -> int:
        return hash((self.kind, self.message))

    def __repr__(self) -> str:
        return f"StoreProblem(kind={self.kind!r}, message={self.message!r})"


class StoreError(RuntimeError):
    """The store cannot be opened or is from a newer Podium."""

    kind = UNAVAILABLE

    def __init__(self, message: str, *, kind: str | None = None) -> None:
        super().__init__(message)
        if kind is not None:
            self.kind = kind


class StoreCorrupt(StoreError):
    """The store file is damaged or is not a SQLite database."""

    kind = CORRUPT


_CORRUPT_CODES = {"SQLITE_CORRUPT", "SQLITE_NOTADB"}
_FULL_CODES = {"SQLITE_FULL"}
_READONLY_CODES = {"SQLITE_READONLY", "SQLITE_PERM", "SQLITE_AUTH"}
_OPEN_CODES = {"SQLITE_CANTOPEN", "SQLITE_IOERR", "SQLITE_NOLFS"}
_BUSY_CODES = {"SQLITE_BUSY", "SQLITE_LOCKED"}


def _code(exc: sqlite3.Error) -> str:
    """The primary result code: SQLITE_IOERR_WRITE → SQLITE_IOERR."""
    return "_".join((getattr(exc, "sqlite_errorname", None) or "").split("_")[:2])


def _fix(path: str | None) -> str:
    """What to do about a store that cannot be written: SQLite also writes its -wal and -shm
    files beside it, so a read-only folder is enough to stop it."""
    if not path:
        return ""
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(folder) and not os.access(folder, os.W_OK | os.X_OK):
        return (f"; its folder {folder} is not writable by this user (SQLite writes the -wal "
                "and -shm files there): make it writable, or move the store (--db, PODIUM_DB)")
    return "; make it writable, or move the store (--db, PODIUM_DB)"


def classify(exc: BaseException, path: str | None = None) -> StoreProblem | None:
    """The store problem behind `exc`, or None when it is not one (a bug: let it surface)."""
    where = f" {path}" if path else ""
    if isinstance(exc, StoreError):
        return StoreProblem(exc.kind, str(exc))
    if isinstance(exc, sqlite3.Error):
        code, detail = _code(exc), str(exc)
        if code in _CORRUPT_CODES or "malformed" in detail or "not a database" in detail:
            return StoreProblem(CORRUPT, f"the store{where} is damaged ({detail}); {REPAIR_HINT}")
        if code in _FULL_CODES or "disk is full" in detail:
            return StoreProblem(FULL, f"the disk holding the store{where} is full; nothing was "
                                      "lost: free some space and Podium catches up")  # fmt: skip
        if code in _READONLY_CODES or "readonly" in detail:
            return StoreProblem(READONLY, f"cannot write the store{where} ({detail}){_fix(path)}")
        if code in _OPEN_CODES or "unable to open" in detail:
            return StoreProblem(UNAVAILABLE, f"cannot open the store{where} ({detail})")
        if code in _BUSY_CODES or "locked" in detail:
            return StoreProblem(BUSY, f"the store{where} stayed locked by another process "
                                      f"({detail}); try again")  # fmt: skip
        return None
    if isinstance(exc, OSError):
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            target = f" ({exc.filename})" if exc.filename else ""
            return StoreProblem(FULL, f"the disk is full{target}; nothing was lost: free some "
                                      "space and try again")  # fmt: skip
        if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM) and exc.filename and path and (
            str(exc.filename).startswith(path.rsplit("/", 1)[0])
        ):
            return StoreProblem(READONLY, f"cannot write the store{where} ({exc.strerror})"
                                          f"{_fix(path)}")  # fmt: skip
    return None


def corrupt(exc: sqlite3.Error, path: str) -> StoreCorrupt | None:
    """`exc` as a StoreCorrupt when it says the file at `path` is damaged."""
    problem = classify(exc, path)
    if problem is not None and problem.kind == CORRUPT:
        return StoreCorrupt(problem.message)
    return None
