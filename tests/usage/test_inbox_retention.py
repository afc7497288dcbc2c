"""Inbox retention: `podium archive` deletes the inbox files read to their end and idle since
the cutoff (podium.usage.inbox.prune); report totals are the same before and after, and a file
not fully read, or written since the cutoff, is kept."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from podium.track import Tracker

DAY = 86_400_000
NOW = int(time.time() * 1000)


def lines(prefix: str, n: int, ts: int) -> bytes:
    out = b""
    for i in range(n):
        out += json.dumps({"id": f"{prefix}{i}", "agent": prefix, "provider": "openai",
                           "model": "gpt-4o", "inputTokens": 100 + i, "outputTokens": 7,
                           "timestamp": ts + i}).encode() + b"\n"  # fmt: skip
    return out


def age(path: Path, days: int) -> None:
    then = (NOW - days * DAY) / 1000
    os.utime(path, (then, then))


def test_archive_prunes_only_fully_read_idle_inbox_files(tmp_path: Path) -> None:
    inbox, db = tmp_path / "inbox", tmp_path / "podium.db"
    inbox.mkdir()
    old, partial, fresh = inbox / "old.jsonl", inbox / "partial.jsonl", inbox / "fresh.jsonl"
    old.write_bytes(lines("old", 20, NOW - 200 * DAY))
    partial.write_bytes(lines("part", 5, NOW - 150 * DAY) + b'{"id": "half", "mod')  # no \n
    fresh.write_bytes(lines("fresh", 8, NOW - 120 * DAY))  # old records, recently written
    age(old, 100)
    age(partial, 100)
    env = {**os.environ, "CLAUDE_CONFIG_DIR": str(tmp_path / "none"), "PODIUM_INBOX": ""}
    (tmp_path / "none").mkdir()

    def report() -> dict:  # `since` moves with the clock
        return {k: v for k, v in json.loads(podium(*usage)).items() if k != "since"}

    def podium(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "podium", *args, "--db", str(db),
                               "--inbox", str(inbox)],
                              capture_output=True, text=True, timeout=120, env=env)  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done.stdout

    usage = ["report", "usage", "--by", "agent", "--last", "400d", "--json", "--include-archive"]
    before = report()
    assert before["totals"]["calls"] == 20 + 5 + 8

    plan = json.loads(podium("archive", "--older-than", "90d", "--dry-run", "--json"))
    assert plan["inboxFilesPruned"] == 1
    assert old.exists() and partial.exists() and fresh.exists()
    text = podium("archive", "--older-than", "90d", "--dry-run")
    assert f"would delete {old}" in text and str(partial) not in text

    done = json.loads(podium("archive", "--older-than", "90d", "--json"))
    assert done["inboxFilesPruned"] == 1 and done["records"] == 20 + 5 + 8
    assert not old.exists() and partial.exists() and fresh.exists()
    assert report() == before  # the records live on in the archives

    # the half line completed: read, then (idle again) pruned with the rest of its file
    with open(partial, "ab") as fh:
        fh.write(b'el": "gpt-4o", "agent": "part", "inputTokens": 1}\n')
    age(partial, 100)
    after = report()
    assert after["totals"]["calls"] == before["totals"]["calls"] + 1
    done = json.loads(podium("archive", "--older-than", "90d", "--json"))
    assert done["inboxFilesPruned"] == 1 and not partial.exists() and fresh.exists()
    assert report() == after


def test_the_python_api_writes_a_new_file_when_its_idle_one_was_pruned(tmp_path: Path) -> None:
    tracker = Tracker(str(tmp_path / "inbox"), agent="marcus")
    tracker.log_llm(model="gpt-4o", input_tokens=1)
    assert tracker.flush()
    (first,) = (tmp_path / "inbox").iterdir()
    first.unlink()  # what prune does to an idle, fully read file
    tracker.log_llm(model="gpt-4o", input_tokens=2)
    assert tracker.flush()
    (again,) = (tmp_path / "inbox").iterdir()
    assert json.loads(again.read_text())["inputTokens"] == 2


def test_a_new_file_under_a_pruned_name_is_counted(tmp_path: Path) -> None:
    """Records without an `id` are keyed by file name and offset: a script that writes a file
    under a pruned one's name again must not have its lines taken for the old ones."""
    from podium.store import Store
    from podium.usage.inbox import Inbox, prune

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    daily = inbox / "daily.jsonl"

    def no_ids(n: int, ts: int, tokens: int) -> bytes:
        return b"".join(json.dumps({"agent": "cron", "provider": "openai", "model": "gpt-4o",
                                    "inputTokens": tokens, "outputTokens": 1,
                                    "timestamp": ts + i}).encode() + b"\n"
                        for i in range(n))  # fmt: skip

    with Store(tmp_path / "podium.db") as store:
        for generation in range(3):  # the same name three times, pruned between
            daily.write_bytes(no_ids(4, NOW - (300 - generation) * DAY, 100 + generation))
            age(daily, 200)
            assert Inbox(store, str(inbox)).run().written == 4, generation
            assert prune(store, str(inbox), NOW - 90 * DAY) == [str(daily)]
            assert not daily.exists()
        rows = store.conn.execute(
            "SELECT input, COUNT(*) FROM entries GROUP BY input ORDER BY input").fetchall()
    assert rows == [(100, 4), (101, 4), (102, 4)]
