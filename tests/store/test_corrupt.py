"""A damaged store is reported in one line by the CLI (never a traceback), and
`podium doctor --repair` moves it aside and rebuilds it from the logs, to the token."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "claude_corpus"


def podium(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "podium", *args], env=env, capture_output=True,
                          text=True, timeout=120)  # fmt: skip


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    claude = tmp_path / "claude"
    shutil.copytree(CORPUS, claude)
    return dict(os.environ, CLAUDE_CONFIG_DIR=str(claude),
                PODIUM_DB=str(tmp_path / "data" / "podium.db"), TZ="UTC")  # fmt: skip


def _totals(db: Path) -> tuple[int, ...]:
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT COUNT(*), SUM(input), SUM(output), SUM(cache_create), SUM(cache_read) "
            "FROM entries").fetchone()  # fmt: skip


def _healthy_store(env: dict[str, str]) -> tuple[Path, tuple[int, ...]]:
    db = Path(env["PODIUM_DB"])
    assert podium("ingest", env=env).returncode == 0
    conn = sqlite3.connect(db, isolation_level=None)
    with conn:  # an agent row no log holds: salvaged by the repair
        conn.execute("INSERT INTO agents(id, name, repo, worktree, branch, profile, state_dir, "
                     "status, status_since, started_at) VALUES ('ag-1', 'alpha', '/r', '/r/w', "
                     "'podium/alpha', 'fake', '/s', 'exited', 1, 1)")  # fmt: skip
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    totals = _totals(db)
    assert totals[0] > 50
    return db, totals


def _overwrite(at: Callable[[int], int], size: int) -> Callable[[Path], None]:
    def damage(db: Path) -> None:
        length = db.stat().st_size
        with open(db, "r+b") as fh:
            fh.seek(at(length))
            fh.write(bytes((i * 97 + 13) % 256 for i in range(size)))

    return damage


def _truncate(db: Path) -> None:
    os.truncate(db, db.stat().st_size // 2)


def _not_sqlite(db: Path) -> None:
    db.write_text("these are my notes, not a database\n" * 200)


DAMAGE = {
    "garbage-in-header-page": _overwrite(lambda n: 100, 3000),
    # the last pages: the usage the ingest wrote, past the schema and the small tables (the
    # file's middle held schema pages once the schema grew: a test store has ~50 pages)
    "garbage-in-usage-pages": _overwrite(lambda n: n - 16384, 16384),
    "truncated": _truncate,
    "not-sqlite": _not_sqlite,
}


@pytest.mark.parametrize("kind", sorted(DAMAGE))
def test_a_damaged_store_is_one_line_and_repair_rebuilds_it(env: dict[str, str], kind: str) -> None:
    db, totals = _healthy_store(env)
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    DAMAGE[kind](db)

    doctor = podium("doctor", env=env)
    assert doctor.returncode != 0, doctor.stdout
    lines = (doctor.stdout + doctor.stderr).strip().splitlines()
    assert len(lines) == 1 and "damaged" in lines[0] and "doctor --repair" in lines[0], lines
    for command in (["report", "daily"], ["report", "session", "--json"], ["ingest"],
                    ["export", "--no-ingest", "--path", str(db.parent.parent / "x.csv")]):  # fmt: skip
        run = podium(*command, env=env)
        assert "Traceback" not in run.stderr, (command, run.stderr)
        if run.returncode != 0:  # (a damage a command never reads does not stop it)
            assert len(run.stderr.strip().splitlines()) == 1, (command, run.stderr)
            assert "damaged" in run.stderr and "doctor --repair" in run.stderr

    repair = podium("doctor", "--repair", env=env)
    assert repair.returncode == 0, repair.stderr
    moved = [p for p in db.parent.iterdir() if re.fullmatch(r"podium\.db\.corrupt-\d{8}-\d{6}", p.name)]
    assert len(moved) == 1, sorted(p.name for p in db.parent.iterdir())
    assert "moved aside" in repair.stdout and "rebuilt" in repair.stdout
    assert _totals(db) == totals  # rebuilt from the logs, to the token
    if kind == "garbage-in-usage-pages":  # the agents table still reads: it came over
        with sqlite3.connect(db) as conn:
            assert conn.execute("SELECT name FROM agents").fetchall() == [("alpha",)]
    healthy = podium("doctor", env=env)
    assert healthy.returncode == 0 and "schema v" in healthy.stdout, healthy.stderr
    assert "healthy" in podium("doctor", "--repair", env=env).stdout


def test_repair_leaves_a_healthy_store_alone(env: dict[str, str]) -> None:
    db, totals = _healthy_store(env)
    before = db.read_bytes()
    run = podium("doctor", "--repair", env=env)
    assert run.returncode == 0 and "healthy" in run.stdout
    assert db.read_bytes() == before and _totals(db) == totals
    assert not [p for p in db.parent.iterdir() if ".corrupt-" in p.name]


def test_a_store_in_an_unwritable_place_is_one_line(tmp_path: Path, env: dict[str, str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the store's folder should be")
    env = dict(env, PODIUM_DB=str(blocker / "podium.db"))
    run = podium("report", "daily", env=env)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1 and "store" in run.stderr, run.stderr


async def test_the_server_on_a_damaged_store_is_up_in_an_error_state(
    env: dict[str, str], git_repo: Path, tmp_path: Path
) -> None:
    import asyncio

    from tests.server.rawlsp import RawLsp

    db = Path(env["PODIUM_DB"])
    db.parent.mkdir()
    _not_sqlite(db)
    before = db.read_bytes()
    raw = RawLsp()
    await raw.launch(git_repo, env, tmp_path / "server.log")
    try:
        await raw.initialize(git_repo)  # answered: the editor stays connected and is told why

        def seen(method: str) -> list[dict]:
            return [n["params"] for n in raw.notes if n["method"] == method]

        for _ in range(200):
            if seen("podium/statusBar") and seen("podium/alert"):
                break
            await asyncio.sleep(0.05)
        (alert,) = seen("podium/alert")
        assert alert["level"] == "critical" and alert["scope"] == "store"
        assert "damaged" in alert["message"] and "doctor --repair" in alert["message"]
        assert seen("podium/statusBar")[-1]["severity"] == "error"
        reply = await raw.request({"method": "podium/listAgents", "params": {}})
        assert reply["error"]["code"] == -31000, reply
        assert reply["error"]["data"]["kind"] == "StoreUnavailable"
        assert (await raw.request({"method": "shutdown"})).get("result", "x") is None
    finally:
        code = await raw.close()
    assert code == 0
    assert db.read_bytes() == before  # never written to
    log = (tmp_path / "server.log").read_text()
    assert "Traceback" not in log and log.count("is damaged") == 1, log
