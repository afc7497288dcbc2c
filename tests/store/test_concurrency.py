"""Several processes opening a brand-new store at once (two editor windows and a CLI starting
together): every one of them opens it, and the schema is migrated exactly once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from podium.store import Store
from podium.store.migrations import LATEST_VERSION

_OPEN = """
import os, sys, time
from podium.store import Store
print("ready", flush=True)
go = sys.argv[2]
while not os.path.exists(go):
    time.sleep(0.001)
with Store(sys.argv[1]) as store:
    store.conn.execute("SELECT COUNT(*) FROM entries").fetchone()
    print(store.schema_version)
"""


def _race(db: Path, n: int) -> list[subprocess.CompletedProcess[str]]:
    go = db.parent / f"go-{db.name}"
    procs = [subprocess.Popen([sys.executable, "-c", _OPEN, str(db), str(go)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(n)]  # fmt: skip
    for p in procs:  # every interpreter has started and imported: now the opens collide
        assert p.stdout is not None and p.stdout.readline().strip() == "ready", p.communicate()
    go.touch()
    results = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        results.append(subprocess.CompletedProcess(p.args, p.returncode, out.strip(), err))
    return results


def test_ten_processes_create_one_store_at_once(tmp_path: Path) -> None:
    failures = []
    for round_ in range(4):
        db = tmp_path / f"r{round_}" / "podium.db"
        db.parent.mkdir()
        results = _race(db, 10)
        failures += [r.stderr.strip().splitlines()[-1] for r in results if r.returncode != 0]
        assert [r.stdout for r in results if r.returncode == 0] == [
            str(LATEST_VERSION)] * sum(r.returncode == 0 for r in results)  # fmt: skip
        with Store(db) as store:
            assert store.schema_version == LATEST_VERSION
            tables = {row[0] for row in store.conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}  # fmt: skip
            assert {"meta", "files", "entries", "agents", "alerts", "usage_buckets"} <= tables
    assert failures == []


def test_migrations_run_statement_by_statement_build_the_same_schema(tmp_path: Path) -> None:
    """`_statements` splits scripts with SQLite's tokenizer (triggers, comments, strings): the
    schema equals the one `executescript` builds from the same scripts."""
    import sqlite3

    from podium.store.migrations import MIGRATIONS

    reference = sqlite3.connect(tmp_path / "reference.db")
    for _version, script in MIGRATIONS:
        reference.executescript(script)

    def schema(conn: sqlite3.Connection) -> list[tuple[str, str, str]]:
        return conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()

    with Store(tmp_path / "podium.db") as store:
        assert schema(store.conn) == schema(reference)
        assert any(row[0] == "trigger" for row in schema(store.conn))
