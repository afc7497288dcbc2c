"""Upgrading a store keeps every entry and every report sum."""

from __future__ import annotations

import sqlite3

from podium.store import Store
from podium.store.migrations import LATEST_VERSION, MIGRATIONS, REBUILD_BUCKETS
from podium.usage.dedupe import UPSERT_ALWAYS
from podium.usage.models import ENTRY_COLUMNS

ROWS = [
    # key, file_id, ts, session, cwd, project, model, in, out, cc, cr, 5m, 1h, total,
    # message id, request id, cost_logged, speed, adapter, sidechain
    ("m1:r1", 1, 1_760_000_000_000, "s1", "/a", "-a", "claude-sonnet-4-5", 10, 20, 30, 40,
     30, 0, 100, "m1", "r1", None, None, "claude", 0),
    ("m2:r2", 1, 1_760_000_900_000, "s1", "/a", "-a", "claude-opus-4-5", 1, 2, 3, 4,
     None, None, 10, "m2", "r2", 0.5, None, "claude", 1),
    ("m3", 2, 1_760_003_600_000, "s2", "/b", "-b", None, 5, 5, 0, 0,
     None, None, 10, "m3", None, None, "fast", "claude", 0),
]  # fmt: skip


def _store_at(path, version: int) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    for target, script in MIGRATIONS:
        if target > version:
            break
        conn.executescript(f"BEGIN;\n{script}\n;PRAGMA user_version = {target};\nCOMMIT;")
    conn.executemany(
        f"INSERT INTO entries ({ENTRY_COLUMNS}) VALUES ({', '.join('?' * len(ROWS[0]))})", ROWS
    )
    conn.close()


def test_v5_store_upgrades_to_a_rowid_table_with_the_same_entries_and_buckets(tmp_path):
    db = tmp_path / "old.db"
    _store_at(db, 5)
    old = sqlite3.connect(db)
    buckets_before = old.execute("SELECT * FROM usage_buckets ORDER BY 1, 2").fetchall()
    old.close()
    assert len(buckets_before) == 3  # the v5 triggers kept them

    with Store(db) as store:
        assert store.schema_version == LATEST_VERSION >= 6
        conn = store.conn
        assert conn.execute(f"SELECT {ENTRY_COLUMNS} FROM entries ORDER BY key").fetchall() == ROWS
        assert conn.execute("SELECT * FROM usage_buckets ORDER BY 1, 2").fetchall() == buckets_before
        indexes = {r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'entries'")}
        assert {"entries_key", "entries_ts", "entries_cwd", "entries_sidechain",
                "entries_session_message"} <= indexes  # fmt: skip
        # upserts on the key still replace in place, and the triggers still keep the buckets
        bigger = (*ROWS[0][:13], 1000, *ROWS[0][14:])
        with store.transaction():
            conn.execute(UPSERT_ALWAYS, bigger)
        assert conn.execute("SELECT COUNT(*), SUM(total) FROM entries").fetchone() == (3, 1020)
        after = conn.execute("SELECT * FROM usage_buckets ORDER BY 1, 2").fetchall()
        with store.transaction():
            for sql in REBUILD_BUCKETS.split(";"):
                if sql.strip():
                    conn.execute(sql)
        assert conn.execute("SELECT * FROM usage_buckets ORDER BY 1, 2").fetchall() == after


def test_a_migration_another_process_already_applied_is_skipped_not_rerun(tmp_path):
    # Two processes opening a new store both migrate it; one that read an old version before
    # the other finished must not re-run an old migration over the newer schema (migration 6
    # rebuilt `entries` and set the version back, so the next open failed forever).
    with Store(tmp_path / "db.sqlite") as store:
        conn = store.conn
        conn.executemany(
            f"INSERT INTO entries ({ENTRY_COLUMNS}) VALUES ({', '.join('?' * len(ROWS[0]))})",
            ROWS,
        )
        schema = conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY 1, 2").fetchall()
        store._migrate(version=4)  # what the slower process read before waiting for the lock
        assert store.schema_version == LATEST_VERSION
        assert conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY 1, 2").fetchall() == schema
        assert conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0] == len(ROWS)
    with Store(tmp_path / "db.sqlite") as again:
        assert again.schema_version == LATEST_VERSION
