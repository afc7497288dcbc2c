"""One line for any error that reaches the command line: what went wrong, and what to do.

Exit codes: 2 for everything a person can act on (a bad option or path, permissions, a full
or read-only disk, a damaged store: as the store's own checks, podium.store.health), 70 for a
bug.
"""

from __future__ import annotations

import errno
import sqlite3

from podium.errors import PodiumError

REPAIR = "`podium doctor --repair` moves it aside and rebuilds it from the Claude Code logs"
BUG = 70  # EX_SOFTWARE


def describe(exc: BaseException, db: str | None = None) -> tuple[str, int]:
    if isinstance(exc, PodiumError):
        return str(exc), 2
    store = _store_path(db)
    health = _classified(exc, store)
    if health:
        return health, 2
    if isinstance(exc, sqlite3.DatabaseError):
        return _sqlite(exc, store), 2
    if isinstance(exc, OSError):
        return _os(exc), 2
    from podium.store.db import StoreError

    if isinstance(exc, StoreError):
        return str(exc), 2
    kind = type(exc).__name__
    return (f"internal error ({kind}: {exc}); run again with --debug for the traceback and "
            "please report it"), BUG  # fmt: skip


def _store_path(db: str | None) -> str:
    if db:
        return db
    try:
        from podium.store.db import default_db_path

        return default_db_path()
    except Exception:
        return "the store"


def _classified(exc: BaseException, store: str) -> str | None:
    """The store's own diagnosis (podium.store.health), the same words the server uses."""
    from podium.store.health import classify

    try:
        problem = classify(exc, store)
    except Exception:
        return None
    return problem.message if problem is not None else None


def _sqlite(exc: sqlite3.DatabaseError, store: str) -> str:
    text = str(exc).lower()
    if "disk is full" in text or "disk full" in text:
        return f"the disk holding the store {store} is full; free some space and run again"
    if "readonly" in text or "read-only" in text:
        return (f"the store {store} cannot be written (read-only file or file system); "
                "point --db or PODIUM_DB at a writable place")  # fmt: skip
    if "unable to open" in text:
        return (f"cannot open the store {store}: its folder must exist and be writable "
                "(--db or PODIUM_DB chooses another place)")  # fmt: skip
    if "locked" in text or "busy" in text:
        return f"the store {store} is busy (another Podium is writing); try again in a moment"
    if any(w in text for w in ("malformed", "not a database", "corrupt", "no such table",
                               "no such column", "encrypted", "decode")):  # fmt: skip
        return f"the store {store} is damaged ({exc}); {REPAIR}"
    return f"store error in {store}: {exc}"


def _os(exc: OSError) -> str:
    if exc.filename is None:  # a socket, a pipe: no path to name
        return str(exc.strerror or exc)
    where = str(exc.filename)
    if exc.filename2:
        where = f"{exc.filename} → {exc.filename2}"
    code = exc.errno
    if code == errno.ENOSPC or code == errno.EDQUOT:
        return f"no space left on the device writing {where}; free some space and run again"
    if code == errno.EROFS:
        return f"{where} is on a read-only file system; choose a writable place"
    if code in (errno.EACCES, errno.EPERM):
        return f"permission denied: {where}; check its owner and mode, or choose another place"
    if code == errno.ENOTDIR:
        return f"{where}: a part of this path is a file, not a folder"
    if code == errno.EISDIR:
        return f"{where} is a folder; give a file path"
    if code == errno.ENOENT:
        return f"{where} does not exist"
    return f"{exc.strerror or exc}: {where}"
