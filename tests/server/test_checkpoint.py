"""The server commits without copying the WAL back, and checkpoints once ingest is idle."""

from __future__ import annotations

import os
import time

import pytest

from podium.server.scheduler import CHECKPOINT_IDLE_S
from podium.server.state import Core
from podium.settings import Settings
from podium.store import Store
from podium.store.db import SERVER_AUTOCHECKPOINT
from podium.usage import synthetic as syn

T0 = 1_760_000_000_000


def _transcript(root, n: int) -> str:
    proj = root / "projects" / "-work-shop"
    proj.mkdir(parents=True, exist_ok=True)
    path = proj / "s-1.jsonl"
    lines = []
    for i in range(n):
        lines += syn.assistant_lines("s-1", "/work/shop", T0 + i * 1000, "claude-sonnet-4-5",
                                     syn.usage_dict(10, i + 1, 1000, 20000),
                                     blocks=[{"type": "text", "text": "x" * 200}])  # fmt: skip
    path.write_bytes(b"".join(map(syn.dumps, lines)))
    return str(path)


def test_commits_leave_the_wal_to_the_idle_checkpoint(tmp_path):
    root = tmp_path / "claude"
    log = _transcript(root, 15_000)
    db = tmp_path / "podium.db"
    store = Store(db, autocheckpoint=SERVER_AUTOCHECKPOINT)
    core = Core(store, tmp_path, Settings(claudeConfigDirs=[str(root)]))
    schema_only = os.path.getsize(db)

    result = core.ingest([log])
    wrote_at = time.monotonic()
    assert store.conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0] == 15_000
    # committed, readable from another connection, but still only in the WAL
    other = Store(db, readonly=True)
    assert other.conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0] == 15_000
    wal = os.path.getsize(f"{db}-wal")
    # more than SQLite's default autocheckpoint (1,000 pages) would have let through
    assert wal > 1000 * 4096 and os.path.getsize(db) == schema_only
    assert result.files_read == 1 and not result.errors

    # not idle yet: nothing happens
    assert not core.checkpoint_if_idle(wrote_at + CHECKPOINT_IDLE_S / 2)
    assert os.path.getsize(db) == schema_only
    # idle: the pages go back into the database file, readers still see the same rows
    assert core.checkpoint_if_idle(wrote_at + CHECKPOINT_IDLE_S + 0.1)
    assert os.path.getsize(db) > schema_only + 1000 * 4096
    assert other.conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0] == 15_000
    # once done it is not due again until the next write
    assert not core.checkpoint_due(wrote_at + 60)
    other.close()
    store.close()


def test_checkpoint_modes_are_checked(tmp_path):
    store = Store(tmp_path / "p.db")
    busy, log, done = store.checkpoint("TRUNCATE")
    assert busy == 0 and log == done
    with pytest.raises(ValueError, match="unknown checkpoint mode"):
        store.checkpoint("ALL; DROP TABLE entries")
    store.close()
