"""Retention: usage older than a cutoff moves into monthly archive databases
(`archive/YYYY-MM.db` beside the store, UTC months), and reports can read the store and its
archives as one (`include_archives`).

An archive is a complete Podium store (same migrations), so `podium report --db
archive/2026-01.db` works on it alone. Moving a month is one transaction on the store with the
archive attached: the rows are copied (a key already archived keeps the copy with the larger
total, as ingest's dedupe does), then deleted from the store, so no row arriving in between is
lost. In WAL mode SQLite commits the two files one after the other: a crash between them leaves
rows in both, which `include_archives` reads once (a key in an archive hides the store's row)
and the next run removes. Usage entries and logged records move; files, agents, alerts, plan
snapshots and the CLIs' own session costs stay (the costs are per session, looked up by id).
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime

from podium.store.db import Store
from podium.store.migrations import BUCKET_MS, long_level

ARCHIVE_DIR = "archive"
_MONTH_FILE = re.compile(r"^(\d{4})-(\d{2})\.db$")
_ENTRY_COLUMNS = (
    "key, file_id, ts, session_id, cwd, project, model, input, output, cache_create, "
    "cache_read, cache_5m, cache_1h, total, message_id, request_id, cost_logged, speed, "
    "adapter, sidechain"
)
_RECORD_COLUMNS = (
    "key, kind, ts, via, agent, provider, model, task_type, task_description, session_key, "
    "status, error_message, duration_ms, service, endpoint, status_code, file_id"
)
_SUMS = ("input", "output", "cache_create", "cache_read", "cache_1h", "cost_logged", "n")
#: an entry already there is replaced by a copy with a larger token total (ingest's rule)
_LARGER_WINS = "ON CONFLICT(key) DO UPDATE SET " + ", ".join(
    f"{c} = excluded.{c}" for c in _ENTRY_COLUMNS.split(", ") if c != "key"
) + " WHERE excluded.total > total"


def archive_dir(store_path: str) -> str:
    return os.path.join(os.path.dirname(os.path.abspath(store_path)), ARCHIVE_DIR)


def archive_files(store_path: str) -> list[str]:
    """The store's archive databases, oldest month first."""
    directory = archive_dir(store_path)
    try:
        names = sorted(n for n in os.listdir(directory) if _MONTH_FILE.match(n))
    except OSError:
        return []
    return [os.path.join(directory, n) for n in names]


def _month_bounds(ts_ms: int) -> tuple[str, int, int]:
    """('YYYY-MM', first ms, first ms of the next month) of the UTC month holding ts_ms."""
    day = datetime.fromtimestamp(ts_ms / 1000, tz=UTC)
    start = datetime(day.year, day.month, 1, tzinfo=UTC)
    end = datetime(day.year + (day.month == 12), day.month % 12 + 1, 1, tzinfo=UTC)
    return f"{day.year:04d}-{day.month:02d}", int(start.timestamp() * 1000), \
        int(end.timestamp() * 1000)  # fmt: skip


class MonthMove:
    __slots__ = ("entries", "month", "path", "records")

    def __init__(self, month: str, path: str, entries: int, records: int) -> None:
        self.month, self.path, self.entries, self.records = month, path, entries, records

    def as_dict(self) -> dict:
        return {"month": self.month, "path": self.path, "entries": self.entries,
                "records": self.records}  # fmt: skip


class ArchiveResult:
    def __init__(self, cutoff_ms: int, dry_run: bool) -> None:
        self.cutoff_ms = cutoff_ms
        self.dry_run = dry_run
        self.months: list[MonthMove] = []
        self.bytes_before = 0
        self.bytes_after = 0
        #: inbox files deleted (dry run: that would be), read to their end and idle since the
        #: cutoff (podium.usage.inbox.prune; the caller fills it)
        self.inbox_pruned: list[str] = []

    @property
    def entries(self) -> int:
        return sum(m.entries for m in self.months)

    @property
    def records(self) -> int:
        return sum(m.records for m in self.months)

    def as_dict(self) -> dict:
        return {"cutoff": self.cutoff_ms, "dryRun": self.dry_run, "entries": self.entries,
                "records": self.records, "months": [m.as_dict() for m in self.months],
                "bytesBefore": self.bytes_before, "bytesAfter": self.bytes_after,
                "inboxFilesPruned": len(self.inbox_pruned)}  # fmt: skip


def archive(store: Store, cutoff_ms: int, *, dry_run: bool = False,
            vacuum: bool = True) -> ArchiveResult:  # fmt: skip
    """Move the usage entries and logged records older than `cutoff_ms` into their months'
    archives; then VACUUM the store (it shrinks). `dry_run`: only say what would move."""
    result = ArchiveResult(cutoff_ms, dry_run)
    result.bytes_before = _size(store.path)
    conn = store.conn
    months: dict[str, tuple[int, int, int, int]] = {}
    for table in ("entries", "usage_records"):
        for first, count in conn.execute(
            f"SELECT MIN(ts), COUNT(*) FROM {table} WHERE ts < ? GROUP BY ts / 86400000",
            (cutoff_ms,),
        ):  # fmt: skip
            month, start, end = _month_bounds(first)
            e, r, s, n = months.get(month, (0, 0, start, end))
            months[month] = (e + count, r, s, n) if table == "entries" else (e, r + count, s, n)
    for month in sorted(months):
        entries, records, start, end = months[month]
        path = os.path.join(archive_dir(store.path), f"{month}.db")
        result.months.append(MonthMove(month, path, entries, records))
        if not dry_run:
            _move_month(store, path, start, min(end, cutoff_ms))
    if result.months and not dry_run and vacuum:
        with store.lock:
            conn.execute("VACUUM")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    result.bytes_after = _size(store.path)
    return result


def _move_month(store: Store, path: str, start: int, end: int) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Store(path).close()  # created and migrated to this Podium's schema
    conn = store.conn
    with store.lock:
        conn.execute("ATTACH DATABASE ? AS arch", (path,))
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                span = "ts >= ? AND ts < ?"
                conn.execute(
                    f"INSERT INTO arch.entries ({_ENTRY_COLUMNS}) SELECT {_ENTRY_COLUMNS} "
                    f"FROM main.entries WHERE {span} ORDER BY key {_LARGER_WINS}",
                    (start, end))  # fmt: skip
                conn.execute(
                    f"INSERT INTO arch.usage_records ({_RECORD_COLUMNS}) SELECT {_RECORD_COLUMNS} "
                    f"FROM main.usage_records WHERE {span} ON CONFLICT(key) DO NOTHING",
                    (start, end))  # fmt: skip
                conn.execute(f"DELETE FROM main.entries WHERE {span}", (start, end))
                conn.execute(f"DELETE FROM main.usage_records WHERE {span}", (start, end))
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            conn.execute("DETACH DATABASE arch")


def _size(path: str) -> int:
    return sum(os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p))


# -- reading the store with its archives ---------------------------------------------------------
def _buckets_of(source: str, sign: str = "") -> str:
    """SQL: `source`'s rows summed into report buckets (the usage_buckets columns)."""
    return (
        f"SELECT ts / {BUCKET_MS} AS bucket, COALESCE(model, '') AS model, {long_level()} AS long, "
        "cost_logged IS NOT NULL AS has_logged, "
        + ", ".join(f"{sign}SUM({c}) AS {c}" for c in ("input", "output", "cache_create",
                                                     "cache_read"))
        + f", {sign}SUM(COALESCE(cache_1h, 0)) AS cache_1h, "
        f"{sign}SUM(COALESCE(cost_logged, 0)) AS cost_logged, {sign}COUNT(*) AS n "
        f"FROM {source} GROUP BY 1, 2, 3, 4"
    )  # fmt: skip


@contextlib.contextmanager
def include_archives(store: Store) -> Iterator[int]:
    """Within the block, `entries`, `usage_records` and `usage_buckets` on this connection
    read the store and all its archives as one (temporary views and tables that shadow the
    store's), each key once (an archived copy wins). Yields how many archives there are. For
    reading only: ingest before, never inside."""
    paths = archive_files(store.path)
    if not paths:
        yield 0
        return
    conn = store.conn
    with store.lock:
        conn.execute("PRAGMA temp_store = FILE")  # archives can be big; not in memory
        try:
            _build_views(conn, paths)
            yield len(paths)
        finally:
            for sql in ("DROP VIEW IF EXISTS temp.entries", "DROP VIEW IF EXISTS temp.usage_records",
                        "DROP TABLE IF EXISTS temp.usage_buckets",
                        "DROP TABLE IF EXISTS temp.arch_entries",
                        "DROP TABLE IF EXISTS temp.arch_records"):  # fmt: skip
                with contextlib.suppress(sqlite3.Error):
                    conn.execute(sql)
            conn.execute("PRAGMA temp_store = MEMORY")


def _build_views(conn: sqlite3.Connection, paths: list[str]) -> None:
    conn.execute(f"CREATE TEMP TABLE arch_entries AS SELECT id, {_ENTRY_COLUMNS} "
                 "FROM main.entries WHERE 0")  # fmt: skip
    conn.execute(f"CREATE TEMP TABLE arch_records AS SELECT id, {_RECORD_COLUMNS} "
                 "FROM main.usage_records WHERE 0")  # fmt: skip
    conn.execute("CREATE UNIQUE INDEX temp.arch_entries_key ON arch_entries(key)")
    conn.execute("CREATE UNIQUE INDEX temp.arch_records_key ON arch_records(key)")
    for path in paths:  # one at a time: SQLite attaches at most ~10 databases
        conn.execute("ATTACH DATABASE ? AS a", (path,))  # only read
        try:
            # the same key in two months (moved late): the copy with the larger total
            conn.execute(
                f"INSERT INTO temp.arch_entries (id, {_ENTRY_COLUMNS}) SELECT id, "
                f"{_ENTRY_COLUMNS} FROM a.entries WHERE true {_LARGER_WINS}")  # fmt: skip
            conn.execute(
                f"INSERT OR IGNORE INTO temp.arch_records (id, {_RECORD_COLUMNS}) SELECT id, "
                f"{_RECORD_COLUMNS} FROM a.usage_records")  # fmt: skip
        finally:
            conn.execute("DETACH DATABASE a")
    columns = f"id, {_ENTRY_COLUMNS}"
    shadowed = "key IN (SELECT key FROM temp.arch_entries)"
    conn.execute(
        f"CREATE TEMP VIEW entries AS SELECT {columns} FROM main.entries WHERE NOT ({shadowed}) "
        f"UNION ALL SELECT {columns} FROM temp.arch_entries")  # fmt: skip
    conn.execute(
        f"CREATE TEMP VIEW usage_records AS SELECT id, {_RECORD_COLUMNS} FROM main.usage_records "
        "WHERE key NOT IN (SELECT key FROM temp.arch_records) "
        f"UNION ALL SELECT id, {_RECORD_COLUMNS} FROM temp.arch_records")  # fmt: skip
    # the store's 15-minute sums, plus the archives', minus the store rows an archive hides
    parts = " UNION ALL ".join([
        "SELECT bucket, model, long, has_logged, " + ", ".join(_SUMS) + " FROM main.usage_buckets",
        _buckets_of("temp.arch_entries"),
        _buckets_of(f"(SELECT * FROM main.entries WHERE {shadowed})", sign="-"),
    ])  # fmt: skip
    conn.execute(
        "CREATE TEMP TABLE usage_buckets AS SELECT bucket, model, long, has_logged, "
        + ", ".join(f"SUM({c}) AS {c}" for c in _SUMS)
        + f" FROM ({parts}) GROUP BY bucket, model, long, has_logged")  # fmt: skip
