"""`archiveOlderThanDays`: the server moves old usage into archive/YYYY-MM.db on its monthly
check, remembers the month, and what it shows for today does not change."""

from __future__ import annotations

import time
from pathlib import Path

from podium.store import Store
from podium.store.archive import archive_files, include_archives
from podium.usage.queries import totals
from podium.usage.records import parse_record, write_records

DAY = 86_400_000


def seed(db: Path) -> tuple[int, int]:
    now = int(time.time() * 1000)
    records = [parse_record({"id": f"old{i}", "agent": "walt", "model": "gpt-4o",
                             "inputTokens": 1000 + i, "timestamp": now - (100 + i) * DAY},
                            via="cli") for i in range(40)]  # fmt: skip
    records += [parse_record({"id": "today", "agent": "walt", "model": "gpt-4o",
                              "inputTokens": 777, "timestamp": now}, via="cli")]  # fmt: skip
    with Store(db) as store, store.transaction() as conn:
        write_records(conn, records)
    with Store(db) as store:
        return totals(store).input, len(records)


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
    summary = await client.request("podium/usageSummary", {})
    assert summary["today"]["inputTokens"] == 777
    await client.close()
    with Store(db) as store:
        assert store.conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0] == 1
        assert store.get_meta("archive.month") == time.strftime("%Y-%m", time.gmtime())
        with include_archives(store):
            kept = totals(store)
        assert (kept.input, kept.messages) == (all_input, count)
