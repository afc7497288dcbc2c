"""`podium doctor --repair`: a damaged store is moved aside (never deleted) and a new one is
built; the usage comes back from the logs (the caller's `rebuild`), and what can still be read
of the small tables no log holds (agents, alerts, plan snapshots, meta) is copied over."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from podium.store.db import Store

#: tables no log can rebuild: copied row by row from the damaged file when they still read
#: (agents' status history before agents: the row's trigger then finds its status already there)
SALVAGED_TABLES = ("agent_statuses", "agents", "alerts", "plan_snapshots", "meta")


@dataclass
class RepairResult:
    path: str
    #: None when the store was healthy (nothing was touched)
    problem: str | None = None
    moved: list[str] = field(default_factory=list)
    salvaged: dict[str, int] = field(default_factory=dict)
    rebuilt: Any = None


def check(path: str) -> str | None:
    """What is wrong with the store file at `path` (one line), or None when it reads whole.
    Opens it read-only: a damaged store is never written to here."""
    if not os.path.exists(path):
        return None
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30.0)
    except sqlite3.Error as exc:
        return f"cannot open it ({exc})"
    try:
        rows = conn.execute("PRAGMA quick_check").fetchall()
    except sqlite3.Error as exc:
        return str(exc)
    finally:
        conn.close()
    if rows == [("ok",)]:
        return None
    lines = [ln for row in rows for ln in str(row[0]).splitlines() if not ln.startswith("***")]
    first = lines[0] if lines else "unknown damage"
    return f"integrity check failed: {first} ({len(lines)} problem(s))"


def move_aside(path: str, now: float | None = None) -> list[str]:
    """Rename the store and its WAL/SHM files to `<path>.corrupt-<timestamp>[-wal|-shm]` (the
    names SQLite expects, so the moved set still opens together). Returns the new paths."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    base, n = f"{path}.corrupt-{stamp}", 2
    while os.path.exists(base):
        base, n = f"{path}.corrupt-{stamp}-{n}", n + 1
    moved = []
    for suffix in ("", "-wal", "-shm", "-journal"):
        if os.path.exists(path + suffix):
            os.replace(path + suffix, base + suffix)
            moved.append(base + suffix)
    return moved


def salvage(damaged: str, store: Store) -> dict[str, int]:
    """Copy what still reads of SALVAGED_TABLES into `store`; a table that does not read is
    skipped (its count is absent from the result)."""
    copied: dict[str, int] = {}
    try:
        old = sqlite3.connect(f"file:{damaged}?mode=ro", uri=True, timeout=5.0)
    except sqlite3.Error:
        return copied
    try:
        for table in SALVAGED_TABLES:
            try:
                old_columns = [r[1] for r in old.execute(f"PRAGMA table_info({table})")]
                rows = old.execute(f"SELECT * FROM {table}").fetchall()
            except sqlite3.Error:
                continue
            new_columns = {r[1] for r in store.conn.execute(f"PRAGMA table_info({table})")}
            keep = [i for i, c in enumerate(old_columns) if c in new_columns]
            if not keep:
                continue
            names = ", ".join(old_columns[i] for i in keep)
            marks = ", ".join("?" * len(keep))
            with store.transaction() as conn:
                conn.executemany(
                    f"INSERT OR IGNORE INTO {table} ({names}) VALUES ({marks})",
                    ([row[i] for i in keep] for row in rows),
                )
            copied[table] = len(rows)
    finally:
        old.close()
    return copied


def repair(path: str, rebuild: Callable[[Store], Any], *, force: bool = False) -> RepairResult:
    """Check the store; when it is damaged (or `force`), move it aside, create a new one,
    salvage the small tables and `rebuild(store)` the rest (the caller ingests the logs)."""
    result = RepairResult(path=path)
    problem = check(path)
    if problem is None and not force:
        return result
    result.problem = problem or "rebuild asked for"
    result.moved = move_aside(path)
    with Store(path) as store:
        damaged = result.moved[0] if result.moved else None
        if damaged is not None:
            result.salvaged = salvage(damaged, store)
        result.rebuilt = rebuild(store)
    return result
