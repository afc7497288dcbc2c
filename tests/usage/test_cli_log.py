"""`podium log` (one call from options, or a file of records) and the inbox read by the
commands that ingest (`podium ingest`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from podium.store import Store


def podium(*args: str, db: Path, stdin: str | None = None, env: dict | None = None):
    return subprocess.run([sys.executable, "-m", "podium", *args, "--db", str(db)],
                          input=stdin, capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})})  # fmt: skip


def test_one_call_from_options_and_the_same_id_once(tmp_path: Path) -> None:
    db = tmp_path / "podium.db"
    args = ("log", "llm", "--id", "walt-1", "--agent", "walt", "--provider", "openai",
            "--model", "gpt-4-turbo", "--task-type", "review", "--input", "12000",
            "--output", "8000", "--cache-read", "50000", "--duration-ms", "15000")  # fmt: skip
    first = podium(*args, db=db)
    assert first.returncode == 0 and first.stdout.strip() == "logged 1 record"
    again = podium(*args, "--json", db=db)
    assert json.loads(again.stdout) == {"accepted": 1, "new": 0, "duplicates": 1, "errors": []}
    api = podium("log", "api", "--agent", "scout", "--service", "serpapi", "--endpoint",
                 "/search", "--status-code", "200", "--duration-ms", "1200", db=db)  # fmt: skip
    assert api.returncode == 0
    with Store(db) as store:
        assert store.conn.execute(
            "SELECT kind, via, agent, task_type, service, status_code FROM usage_records "
            "ORDER BY id").fetchall() == [("llm", "cli", "walt", "review", None, None),
                                          ("api", "cli", "scout", None, "serpapi", 200)]  # fmt: skip
        assert store.conn.execute("SELECT input, output, cache_read FROM entries").fetchall() \
            == [(12000, 8000, 50000)]  # fmt: skip


def test_a_file_keeps_good_records_and_names_bad_ones(tmp_path: Path) -> None:
    db = tmp_path / "podium.db"
    body = "\n".join([
        json.dumps({"agent": "a", "model": "gpt-4o", "inputTokens": 5}),
        "{oops",
        json.dumps({"agent": "b", "model": "gpt-4o", "inputTokens": "five"}),
        json.dumps({"kind": "api", "agent": "c", "service": "github", "statusCode": 404}),
    ])  # fmt: skip
    done = podium("log", "--file", "-", db=db, stdin=body)
    assert done.returncode == 1
    assert "record 2" in done.stderr and "record 3" in done.stderr and "inputTokens" in done.stderr
    assert done.stdout.strip() == "logged 2 records, 2 rejected"
    with Store(db) as store:
        assert store.conn.execute("SELECT COUNT(*) FROM usage_records").fetchone()[0] == 2
        assert store.conn.execute("SELECT status FROM usage_records WHERE kind = 'api'"
                                  ).fetchone()[0] == "error"  # a 404 is an error  # fmt: skip


def test_ingest_reads_the_inbox_beside_the_store(tmp_path: Path) -> None:
    db = tmp_path / "data" / "podium.db"
    inbox = tmp_path / "data" / "inbox"
    inbox.mkdir(parents=True)
    (inbox / "cron.jsonl").write_text(
        json.dumps({"id": "x1", "agent": "cron", "model": "gpt-4o", "inputTokens": 9}) + "\n"
        + "not json\n")
    claude = tmp_path / "claude"
    (claude / "projects").mkdir(parents=True)
    env = {"CLAUDE_CONFIG_DIR": str(claude), "PODIUM_INBOX": ""}
    done = podium("ingest", "--json", db=db, env=env)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert (summary["inboxRecords"], summary["inboxBadRecords"]) == (1, 1)
    assert "cron.jsonl" in done.stderr  # the bad line is named
    again = json.loads(podium("ingest", "--json", db=db, env=env).stdout)
    assert again["inboxRecords"] == 0


def test_a_file_that_cannot_be_read_is_one_plain_line(tmp_path: Path) -> None:
    db = tmp_path / "podium.db"
    (tmp_path / "bin.jsonl").write_bytes(b"\xff\xfe\x00garbage")
    cases = {str(tmp_path / "missing.jsonl"): "cannot read " + str(tmp_path / "missing.jsonl")
             + ": No such file or directory",
             str(tmp_path): "Is a directory",
             str(tmp_path / "bin.jsonl"): "is not UTF-8 text"}  # fmt: skip
    for path, words in cases.items():
        got = podium("log", "--file", path, db=db)
        assert got.returncode == 2 and words in got.stderr, got.stderr
        assert "Errno" not in got.stderr and len(got.stderr.strip().splitlines()) == 1
