"""Seed 003's redaction categories (secrets, emails, user names in paths, private IPs, dollar
amounts) on every way in: the `podium/logUsage` request, `podium log`, an inbox line and
`podium.track`. The stored text keeps the marker and loses the value; the prompt is never
stored at all, and the Python API never even writes it to its inbox file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from podium.store import Store
from podium.track import Tracker
from podium.usage.inbox import Inbox

#: category → (text with a value to hide, the value, what replaces it)
CATEGORIES = {
    "openai-key": ("retry with sk-proj-4f9a8b7c6d5e4f3a2b1c0d9e8f", "4f9a8b7c6d5e4f3a2b1c0d9e8f",
                   "[REDACTED:openai-key]"),
    "anthropic-key": ("key sk-ant-api03-Zx81kLmN0pQr7 failed", "Zx81kLmN0pQr7",
                      "[REDACTED:anthropic-key]"),
    "password": ("DB_PASSWORD=hunter2horse in .env", "hunter2horse", "[REDACTED]"),
    "email": ("mail the report to dana.lopez@example.org", "dana.lopez", "[email]"),
    "posix-home": ("read /home/dlopez/projects/shop/app.py", "dlopez", "~/projects/shop"),
    "mac-home": ("wrote /Users/dlopez/notes.md", "dlopez", "~/notes.md"),
    "windows-home": ("opened C:\\Users\\dlopez\\repo\\x.ts", "dlopez", "~\\repo"),
    "private-ip": ("db at 192.168.14.20 and 10.2.3.4 timed out", "192.168.14.20",
                   "[private-ip]"),
    "dollars": ("the client pays $12,500.00 per month", "12,500", "$[amount]"),
}  # fmt: skip
PROMPT = "PROMPT-BODY-d41d8cd9"


def record(category: str, n: int) -> dict:
    text = CATEGORIES[category][0]
    return {"id": f"{category}-{n}", "agent": "walt", "provider": "openai", "model": "gpt-4o",
            "taskDescription": text, "errorMessage": text, "inputTokens": 10,
            "outputTokens": 1, "prompt": f"{PROMPT} {text}", "response": PROMPT}  # fmt: skip


def stored_texts(store: Store, key: str) -> list[str]:
    row = store.conn.execute(
        "SELECT task_description, error_message FROM usage_records WHERE key = ?", (key,)
    ).fetchone()
    assert row is not None, key
    return list(row)


def assert_redacted(texts: list[str], category: str) -> None:
    _text, value, marker = CATEGORIES[category]
    for text in texts:
        assert value not in text and marker in text, (category, text)


def assert_no_prompt(*files: Path) -> None:
    for path in files:
        if path.exists():
            assert PROMPT.encode() not in path.read_bytes(), path


@pytest.mark.parametrize("category", sorted(CATEGORIES))
def test_cli(category: str, tmp_path: Path) -> None:
    db = tmp_path / "podium.db"
    text = CATEGORIES[category][0]
    done = subprocess.run(
        [sys.executable, "-m", "podium", "log", "llm", "--db", str(db), "--id", "c1",
         "--agent", "walt", "--model", "gpt-4o", "--description", text, "--error", text,
         "--input", "10"],
        capture_output=True, text=True, timeout=60, env={**os.environ, "PODIUM_INBOX": ""},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    with Store(db) as store:
        assert_redacted(stored_texts(store, "log:c1"), category)


@pytest.mark.parametrize("category", sorted(CATEGORIES))
def test_inbox_line(category: str, store: Store, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "script.jsonl").write_text(json.dumps(record(category, 1)) + "\n")
    assert Inbox(store, str(inbox)).run().written == 1
    assert_redacted(stored_texts(store, f"log:{category}-1"), category)
    store.checkpoint("TRUNCATE")
    assert_no_prompt(tmp_path / "podium.db")


@pytest.mark.parametrize("category", sorted(CATEGORIES))
def test_python_api(category: str, store: Store, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    tracker = Tracker(str(inbox), agent="walt")
    text = CATEGORIES[category][0]
    tracker.log_llm(model="gpt-4o", task_description=text, error_message=text, input_tokens=10,
                    prompt=f"{PROMPT} {text}", response=PROMPT)  # fmt: skip
    assert tracker.flush(10)
    (written,) = inbox.glob("*.jsonl")
    assert_no_prompt(written)  # never on disk, not even in the queue file
    value = CATEGORIES[category][1]
    assert value not in written.read_text()  # redacted before it is written
    assert Inbox(store, str(inbox)).run().written == 1
    (key,) = store.conn.execute("SELECT key FROM usage_records").fetchone()
    assert_redacted(stored_texts(store, key), category)


async def test_request(start_server, server_env, tmp_path: Path) -> None:
    client = await start_server()
    batch = [record(category, 2) for category in sorted(CATEGORIES)]
    outcome = await client.request("podium/logUsage", {"records": batch})
    assert outcome == {"accepted": len(batch), "new": len(batch), "duplicates": 0, "errors": []}
    await client.close()
    db = Path(server_env["PODIUM_DB"])
    with Store(db) as store:
        for category in CATEGORIES:
            assert_redacted(stored_texts(store, f"log:{category}-2"), category)
        store.checkpoint("TRUNCATE")
    assert_no_prompt(db, db.with_name(db.name + "-wal"))
