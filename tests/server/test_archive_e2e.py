"""`archiveOlderThanDays`: the server moves old usage into archive/YYYY-MM.db on its monthly
check, remembers the month, and what it shows for today does not change."""

from __future__ import annotations

import os
import time
from pathlib import Path

from podium.store import Store
from podium.store.archive import archive_files, include_archives
from podium.usage.inbox import Inbox, default_inbox_dir
from podium.usage.queries import totals
from podium.usage.records import parse_record, write_records

DAY = 86_400_000


def seed_inbox(db: Path, now: int) -> tuple[Path, Path]:
    """An inbox file read to its end and one with a half line, both idle for 100 days."""
    inbox = Path(default_inbox_dir(str(db)))
    inbox.mkdir(parents=True, exist_ok=True)
    line = b'{"id": "inbox%d", "agent": "walt", "model": "gpt-4o", "inputTokens": 5, ' \
        b'"timestamp": %d}\n'  # fmt: skip
    done, partial = inbox / "done.jsonl", inbox / "partial.jsonl"
    done.write_bytes(line % (1, now - 120 * DAY))
    partial.write_bytes(line % (2, now - 120 * DAY) + b'{"id": "inbox3", "ag')
    with Store(db) as store:
        Inbox(store, str(inbox)).run()
    for path in (done, partial):
        os.utime(path, (now / 1000 - 100 * 86400,) * 2)
    return done, partial


def seed(db: Path) -> tuple[int, int]:
    now = int(time.time() * 1000)
    records = [parse_record({"id": f"old{i}", "agent": "walt", "model": "gpt-4o",
                             "inputTokens": 1000 + i, "timestamp": now - (100 + i) * DAY},
                            via="cli") for i in range(40)]  # fmt: skip
    records += [parse_record({"id": "today", "agent": "walt", "model": "gpt-4o",
                              "inputTokens": 777, "timestamp": now}, via="cli")]  # fmt: skip
    with Store(db) as store, store.transaction() as conn:
        write_records(conn, records)
    seed_inbox(db, now)
    with Store(db) as store:
        return totals(store).input, len(records) + 2


async def test_the_monthly_archive_runs_once_and_keeps_the_totals(start_server, server_env):
    db = Path(server_env["PODIUM_DB"])
    all_input, count = seed(db)
    client = await start_server({"archiveOlderThanDays": 90})

    def archived() -> bool:
        if not archive_files(str(db)):
            return False
        with Store(db) as store:
            return store.get_meta("archive.month") is not None

    await client.wait_for(archived, timeout=30)
    inbox = Path(default_inbox_dir(str(db)))
    await client.wait_for(lambda: not (inbox / "done.jsonl").exists(), timeout=30)
    assert (inbox / "partial.jsonl").exists()  # its half line is still to come
    summary = await client.request("podium/usageSummary", {})
    assert summary["today"]["inputTokens"] == 777
    await client.close()
    with Store(db) as store:
        assert store.conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0] == 1
        assert store.get_meta("archive.month") == time.strftime("%Y-%m", time.gmtime())
        with include_archives(store):
            kept = totals(store)
        assert (kept.input, kept.messages) == (all_input, count)
