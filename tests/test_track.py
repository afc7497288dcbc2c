"""`podium.track`: calls return at once, records reach the inbox at flush and at exit, a bad
record or an unwritable inbox never reaches the caller, and a forked child writes its own file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from podium.track import Tracker


def lines(inbox: Path) -> list[dict]:
    return [json.loads(line) for f in sorted(inbox.glob("*.jsonl"))
            for line in f.read_text().splitlines()]  # fmt: skip


def test_flush_writes_every_record_in_the_inbox_shape(tmp_path: Path) -> None:
    tracker = Tracker(str(tmp_path / "inbox"), agent="marcus")
    tracker.log_llm(model="qwen3:4b", provider="lmstudio", task_type="heartbeat",
                    task_description="Checking email and calendar", input_tokens=800,
                    output_tokens=50, duration_ms=1200)  # fmt: skip
    tracker.log_api(service="serpapi", endpoint="/search?q=x", status_code=200, agent="scout")
    assert tracker.flush(10)
    llm, api = lines(tmp_path / "inbox")
    assert llm["kind"] == "llm" and llm["agent"] == "marcus" and llm["via"] == "python"
    assert (llm["inputTokens"], llm["outputTokens"], llm["taskType"]) == (800, 50, "heartbeat")
    assert api["kind"] == "api" and api["agent"] == "scout" and api["endpoint"] == "/search"
    assert llm["id"] != api["id"] and tracker.written == 2


def test_records_queued_at_exit_are_written(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    script = (
        "from podium import track\n"
        f"track.configure({str(inbox)!r}, agent='cron')\n"
        "for i in range(300):\n"
        "    track.log_llm(model='gpt-4o', input_tokens=i, task_type='cron')\n"
    )  # no flush: the atexit hook writes them
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    written = lines(inbox)
    assert len(written) == 300 and {r["inputTokens"] for r in written} == set(range(300))


def test_a_bad_record_or_an_unwritable_inbox_never_reaches_the_caller(tmp_path: Path) -> None:
    tracker = Tracker(str(tmp_path / "inbox"))
    tracker.log_llm(model="gpt-4o", input_tokens=-3)  # invalid: dropped by the writer
    tracker.log_llm(model="gpt-4o", input_tokens=3)
    assert tracker.flush(10)
    assert tracker.dropped == 1 and [r["inputTokens"] for r in lines(tmp_path / "inbox")] == [3]
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    broken = Tracker(str(blocked / "inbox"))
    broken.log_llm(model="gpt-4o", input_tokens=1)  # returns, as always
    assert broken.flush(10) and broken.dropped == 1 and broken.written == 0


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_logs_to_its_own_file(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    tracker = Tracker(str(inbox))
    tracker.log_llm(model="gpt-4o", input_tokens=1)
    assert tracker.flush(10)
    pid = os.fork()
    if pid == 0:  # the child: log, flush, leave without running the parent's handlers
        try:
            tracker.log_llm(model="gpt-4o", input_tokens=2)
            tracker.flush(10)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    tracker.log_llm(model="gpt-4o", input_tokens=3)
    assert tracker.flush(10)
    files = sorted(inbox.glob("*.jsonl"))
    assert len(files) == 2
    assert sorted(r["inputTokens"] for r in lines(inbox)) == [1, 2, 3]
