"""A full disk under the store (a 2 MiB tmpfs): the CLI says so in one line, nothing is lost,
and the next run after space returns catches up to a clean ingest, to the token."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.store.fulldisk import fill, small_tmpfs, transcript_lines


def podium(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "podium", *args], env=env, capture_output=True,
                          text=True, timeout=120)  # fmt: skip


def totals(db: Path) -> tuple[int, ...]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT COUNT(*), SUM(input), SUM(output), SUM(cache_read) "
                            "FROM entries").fetchone()  # fmt: skip


def test_cli_on_a_full_disk_says_so_and_loses_nothing(tmp_path: Path) -> None:
    claude = tmp_path / "claude"
    log = claude / "projects" / "-work-shop" / "s-1.jsonl"
    log.parent.mkdir(parents=True)
    log.write_bytes(transcript_lines("s-1", 0, 20))
    with small_tmpfs(tmp_path / "disk") as disk:
        env = dict(os.environ, CLAUDE_CONFIG_DIR=str(claude), PODIUM_DB=str(disk / "podium.db"))
        assert podium("ingest", env=env).returncode == 0
        filler = fill(disk)
        with open(log, "ab") as fh:  # a lot more to ingest than the WAL has room for
            fh.write(transcript_lines("s-1", 20, 3000))
        run = podium("ingest", env=env)
        assert run.returncode == 2, (run.stdout, run.stderr)
        assert "Traceback" not in run.stderr
        lines = run.stderr.strip().splitlines()
        assert len(lines) == 1 and "full" in lines[0], lines
        filler.unlink()
        again = podium("ingest", env=env)
        assert again.returncode == 0, again.stderr
        clean_env = dict(env, PODIUM_DB=str(tmp_path / "clean.db"))
        assert podium("ingest", env=clean_env).returncode == 0
        assert totals(disk / "podium.db") == totals(tmp_path / "clean.db")
        assert totals(disk / "podium.db")[0] == 3020


async def _until(condition, what: str, timeout: float = 60.0) -> None:
    import asyncio

    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


def _count(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            return conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0]
    except sqlite3.Error:
        return -1


async def test_server_on_a_full_disk_alerts_once_keeps_serving_and_catches_up(
    tmp_path: Path, git_repo: Path
) -> None:
    from tests.server.rawlsp import RawLsp

    claude = tmp_path / "claude"
    log = claude / "projects" / "-work-shop" / "s-1.jsonl"
    log.parent.mkdir(parents=True)
    log.write_bytes(transcript_lines("s-1", 0, 20))
    with small_tmpfs(tmp_path / "disk") as disk:
        db = disk / "podium.db"
        env = dict(os.environ, CLAUDE_CONFIG_DIR=str(claude), PODIUM_DB=str(db))
        env.pop("ANTHROPIC_API_KEY", None)
        raw = RawLsp()
        await raw.launch(git_repo, env, tmp_path / "server.log")
        try:
            await raw.initialize(git_repo)
            await _until(lambda: _count(db) == 20, "the history ingest")
            filler = fill(disk)
            with open(log, "ab") as fh:
                fh.write(transcript_lines("s-1", 20, 3000))

            def store_alerts(level: str) -> list[dict]:
                return [n["params"] for n in raw.notes if n["method"] == "podium/alert"
                        and n["params"]["scope"] == "store" and n["params"]["level"] == level]

            def last_status() -> dict:
                bars = [n["params"] for n in raw.notes if n["method"] == "podium/statusBar"]
                return bars[-1] if bars else {}

            await _until(lambda: store_alerts("critical"), "the disk-full alert")
            assert "full" in store_alerts("critical")[0]["message"]
            await _until(lambda: last_status().get("severity") == "error", "the error state")
            # still serving, and quiet: the pump keeps retrying without a word per try
            for _ in range(3):
                assert (await raw.request({"method": "podium/listAgents"}))["result"] == {
                    "agents": []}  # fmt: skip
                await __import__("asyncio").sleep(1.0)
            assert len(store_alerts("critical")) == 1
            assert last_status()["severity"] == "error"
            logged = [n for n in raw.notes if n["method"] == "window/logMessage"
                      and "update failed" in n["params"]["message"]]  # fmt: skip
            assert logged == []

            filler.unlink()  # space returns: the server catches up by itself
            await _until(lambda: store_alerts("info"), "the recovery note")
            await _until(lambda: _count(db) == 3020, "the lines written while the disk was full")
            await _until(lambda: last_status().get("severity") != "error", "the usual status bar")
        finally:
            await raw.close()
        clean = dict(env, PODIUM_DB=str(tmp_path / "clean.db"))
        assert podium("ingest", env=clean).returncode == 0
        assert totals(db) == totals(tmp_path / "clean.db")
        assert "Traceback" not in (tmp_path / "server.log").read_text()


def test_a_failed_ingest_leaves_no_stale_state_in_a_long_lived_ingestor(tmp_path: Path) -> None:
    """One process (the server) ingests on: a run that failed on the full disk must not leave
    file offsets behind that a later run (of other files) would write."""
    import pytest

    from podium.store import Store
    from podium.usage.ingest import Ingestor

    claude = tmp_path / "claude"
    project = claude / "projects" / "-work-shop"
    project.mkdir(parents=True)
    a, b = project / "a.jsonl", project / "b.jsonl"
    a.write_bytes(transcript_lines("a", 0, 5))
    b.write_bytes(transcript_lines("b", 0, 5))
    with small_tmpfs(tmp_path / "disk") as disk:
        store = Store(disk / "podium.db")
        ingestor = Ingestor(store, claude_config_dirs=[str(claude)])
        ingestor.run()
        filler = fill(disk)
        with open(a, "ab") as fh:
            fh.write(transcript_lines("a", 5, 3000))
        with pytest.raises(sqlite3.Error):
            ingestor.run(paths=[str(a)])
        assert not store.conn.in_transaction
        filler.unlink()
        with open(b, "ab") as fh:
            fh.write(transcript_lines("b", 5, 5))
        ingestor.run(paths=[str(b)])
        ingestor.run(paths=[str(a)])
        store.close()
        clean = Store(tmp_path / "clean.db")
        Ingestor(clean, claude_config_dirs=[str(claude)]).run()
        clean.close()
        assert totals(disk / "podium.db") == totals(tmp_path / "clean.db")
        assert totals(disk / "podium.db")[0] == 3015
