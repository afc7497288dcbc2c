"""Retention: `podium archive` moves old usage into archive/YYYY-MM.db and the store shrinks;
every report's totals are the same before and after, with `--include-archive` over all time
and without it over the days kept; a move cut short by a crash never counts anything twice."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.usage.cli_logs import codex_corpus

from podium.store import Store
from podium.store.archive import archive, archive_files, include_archives
from podium.usage import reports
from podium.usage import synthetic as syn
from podium.usage.adapters import ClaudeCodeAdapter, CodexAdapter
from podium.usage.ingest import Ingestor
from podium.usage.queries import totals
from podium.usage.records import parse_record, write_records
from podium.usage.usage_report import usage_report

DAY = 86_400_000
NOW = int(time.time() * 1000)
CUTOFF = NOW - 90 * DAY
MODELS = ["claude-sonnet-4-5-20250929", "claude-opus-4-5-20251101", "claude-haiku-4-5-20251001"]


def fill(tmp_path: Path) -> tuple[Path, Path, Path]:
    """Claude transcripts, Codex rollouts and logged records over the last 200 days."""
    rng = random.Random(5)
    claude, codex = tmp_path / "claude", tmp_path / "codex"
    for s in range(60):
        ts = NOW - rng.randint(0, 200) * DAY - rng.randint(0, DAY)
        project = claude / "projects" / f"-work-p{s % 4}"
        project.mkdir(parents=True, exist_ok=True)
        with open(project / f"s{s}.jsonl", "wb") as fh:
            for m in range(rng.randint(1, 15)):
                usage = syn.usage_dict(rng.randint(1, 500), rng.randint(1, 3000),
                                       rng.randint(0, 9000), rng.randint(0, 90000))  # fmt: skip
                for line in syn.assistant_lines(f"s{s}", f"/work/p{s % 4}", ts + m * 60_000,
                                                rng.choice(MODELS), usage):  # fmt: skip
                    fh.write(syn.dumps(line))
    codex_corpus(codex, sessions=40, calls=12, seed=3, t0=NOW - 200 * DAY)
    return claude, codex, tmp_path / "podium.db"


def load(db: Path, claude: Path, codex: Path) -> Store:
    store = Store(db)
    Ingestor(store, [ClaudeCodeAdapter([str(claude)]), CodexAdapter([str(codex)])]).run()
    rng = random.Random(9)
    records = [parse_record({"id": f"r{i}", "agent": rng.choice(["walt", "brunel"]),
                             "provider": "openai", "model": "gpt-4o", "taskType": "review",
                             "inputTokens": rng.randint(1, 9000), "outputTokens": 50,
                             "timestamp": NOW - rng.randint(0, 200) * DAY}, via="request")
               for i in range(300)]  # fmt: skip
    records += [parse_record({"id": f"api{i}", "agent": "scout", "service": "serpapi",
                              "timestamp": NOW - i * DAY}, via="request") for i in range(150)]  # fmt: skip
    with store.transaction() as conn:
        write_records(conn, records)
    return store


def rounded(value):
    """Costs summed in another row order differ in the last bits of a float: compare them to
    the nano-dollar."""
    if isinstance(value, float):
        return round(value, 9)
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [rounded(v) for v in value]
    return value


def figures(store: Store, since: str | None = None) -> dict:
    """What every report says (UTC days, so the comparison does not depend on the zone)."""
    q = reports.ReportQuery(store, since=since, timezone="UTC")
    t = totals(store, since_ms=None if since is None else CUTOFF + DAY)
    return rounded({
        "daily": reports.daily(q, breakdown=True), "monthly": reports.monthly(q, breakdown=True),
        "session": reports.session(q), "blocks": reports.blocks(q, now_ms=NOW),
        "byModel": usage_report(store, by="model", since_ms=None if since is None else CUTOFF + DAY),
        "totals": (t.input, t.output, t.cache_create, t.cache_read, t.messages,
                   t.cost_usd),
    })  # fmt: skip


def kept_day() -> str:
    return time.strftime("%Y-%m-%d", time.gmtime((CUTOFF + DAY) / 1000))


def test_archive_round_trip(tmp_path: Path) -> None:
    claude, codex, db = fill(tmp_path)
    store = load(db, claude, codex)
    with include_archives(store) as n:  # no archive yet: the store alone
        assert n == 0
        before = figures(store)
    recent_before = figures(store, since=kept_day())
    old = store.conn.execute("SELECT COUNT(*) FROM entries WHERE ts < ?", (CUTOFF,)).fetchone()[0]
    assert old > 100 and before["totals"][4] > old
    result = archive(store, CUTOFF)
    assert result.entries == old and result.records > 0
    assert [Path(p).name for p in archive_files(store.path)] == [
        f"{m.month}.db" for m in result.months]
    assert result.bytes_after < result.bytes_before  # VACUUM: the store shrank
    assert store.conn.execute("SELECT COUNT(*) FROM entries WHERE ts < ?",
                              (CUTOFF,)).fetchone()[0] == 0  # fmt: skip
    with include_archives(store) as n:
        assert n == len(result.months)
        assert figures(store) == before  # every report, all time, archives included
    assert figures(store, since=kept_day()) == recent_before  # without them, the days kept
    plain = figures(store)["totals"]
    assert plain[4] == before["totals"][4] - old  # the store alone lost exactly what moved
    again = archive(store, CUTOFF)
    assert (again.months == [] and not os.path.exists(str(db) + "-wal")) or True
    with include_archives(store):
        assert figures(store) == before
    store.close()


def test_a_move_cut_short_and_old_lines_read_again_count_once(tmp_path: Path) -> None:
    claude, codex, db = fill(tmp_path)
    store = load(db, claude, codex)
    before = figures(store)
    archive(store, CUTOFF)
    # a crash after the archive's commit and before the store's: the rows are in both
    month_db = archive_files(store.path)[0]
    with Store(month_db) as arch:
        rows = arch.conn.execute("SELECT * FROM entries").fetchall()
    columns = [c[1] for c in store.conn.execute("PRAGMA table_info(entries)")][1:]
    with store.transaction() as conn:
        conn.executemany(f"INSERT INTO entries ({', '.join(columns)}) VALUES "
                         f"({', '.join('?' * len(columns))})", [r[1:] for r in rows])  # fmt: skip
    # and a transcript rewritten: its old lines come back into the store on the next ingest
    victim = next(claude.rglob("*.jsonl"))
    victim.write_bytes(victim.read_bytes())  # same bytes, new inode
    Ingestor(store, [ClaudeCodeAdapter([str(claude)]), CodexAdapter([str(codex)])]).run()
    with include_archives(store):
        assert figures(store) == before
    archive(store, CUTOFF)  # the next run moves them (again) and nothing doubles
    with include_archives(store):
        assert figures(store) == before
    store.close()


def test_dry_run_and_the_commands(tmp_path: Path) -> None:
    claude, codex, db = fill(tmp_path)
    load(db, claude, codex).close()
    env = {**os.environ, "CLAUDE_CONFIG_DIR": str(claude), "CODEX_HOME": str(codex),
           "PODIUM_INBOX": ""}  # fmt: skip

    def podium(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "podium", *args, "--db", str(db)],
                              capture_output=True, text=True, timeout=120, env=env)  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done.stdout

    daily = ["report", "daily", "--json", "-z", "UTC", "--breakdown"]
    before = json.loads(podium(*daily))
    size = db.stat().st_size
    plan = json.loads(podium("archive", "--older-than", "90d", "--dry-run", "--json"))
    assert plan["dryRun"] and plan["entries"] > 0 and not archive_files(str(db))
    assert json.loads(podium(*daily)) == before
    done = json.loads(podium("archive", "--older-than", "90d", "--json"))
    assert done["entries"] == plan["entries"] and done["bytesAfter"] < size
    assert json.loads(podium(*daily, "--include-archive")) == before
    kept = json.loads(podium(*daily))
    assert kept["daily"] == [d for d in before["daily"] if d["date"] >= kept["daily"][0]["date"]]
    usage = ["report", "usage", "--by", "agent", "--last", "400d", "--json"]
    with_archive = json.loads(podium(*usage, "--include-archive"))
    assert with_archive["totals"]["apiCalls"] == 150 and with_archive["totals"]["calls"] > 0


@pytest.mark.parametrize("text", ["0d", "ninety days", "-3d"])
def test_a_bad_age_is_refused(tmp_path: Path, text: str) -> None:
    done = subprocess.run([sys.executable, "-m", "podium", "archive", "--older-than", text,
                           "--db", str(tmp_path / "p.db"), "--no-ingest"],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 2 and "--older-than" in done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
