"""The inbox folder (podium.usage.inbox): read incrementally, complete lines only, bad lines
counted with their error while the rest is kept, nothing counted twice."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from podium.usage.inbox import Inbox, default_inbox_dir


def line(i: int, **fields) -> bytes:
    rec = {"id": f"r{i}", "agent": "brunel", "model": "gpt-4o", "inputTokens": 100 + i,
           "outputTokens": 10, "timestamp": 1_790_000_000_000 + i, **fields}  # fmt: skip
    return json.dumps(rec).encode() + b"\n"


@pytest.fixture
def inbox(store, tmp_path: Path) -> Inbox:
    directory = tmp_path / "inbox"
    directory.mkdir()
    return Inbox(store, str(directory))


def counts(store) -> tuple[int, int]:
    return store.conn.execute(
        "SELECT (SELECT COUNT(*) FROM usage_records), COALESCE(SUM(input), 0) FROM entries"
    ).fetchone()


def test_appended_lines_are_read_once_and_a_half_line_waits(store, inbox: Inbox) -> None:
    path = Path(inbox.directory) / "script.jsonl"
    path.write_bytes(line(1) + line(2) + line(3)[:20])  # the third is half written
    first = inbox.run()
    assert (first.records, first.written) == (2, 2)
    assert counts(store) == (2, 101 + 102)
    assert inbox.run().records == 0  # nothing new: nothing read
    with open(path, "ab") as fh:
        fh.write(line(3)[20:] + line(4))
    assert inbox.run([str(path)]).written == 2
    assert counts(store) == (4, 101 + 102 + 103 + 104)


def test_a_bad_line_is_counted_and_named_and_the_rest_kept(store, inbox: Inbox) -> None:
    path = Path(inbox.directory) / "batch.jsonl"
    path.write_bytes(line(1) + b"{not json\n" + line(2, inputTokens=-5) + line(3))
    result = inbox.run()
    assert (result.written, result.bad) == (2, 2)
    assert any("inputTokens" in e for e in result.errors)
    malformed, last_error = store.conn.execute(
        "SELECT malformed, last_error FROM files WHERE path = ?", (str(path),)).fetchone()
    assert malformed == 2 and "inputTokens" in last_error


def test_lines_without_an_id_are_keyed_by_place_and_a_truncated_file_is_read_again(
    store, inbox: Inbox
) -> None:
    path = Path(inbox.directory) / "noid.jsonl"
    body = b"".join(json.dumps({"agent": "a", "model": "gpt-4o", "inputTokens": n}).encode()
                    + b"\n" for n in (5, 6))  # fmt: skip
    path.write_bytes(body)
    inbox.run()
    path.write_bytes(body[:10])  # truncated: read from 0 again, nothing counted twice
    path.write_bytes(body)
    inbox.run()
    assert counts(store) == (2, 11)


def test_only_jsonl_files_inside_the_folder_are_read(store, inbox: Inbox, tmp_path) -> None:
    (Path(inbox.directory) / "notes.txt").write_bytes(line(1))
    (Path(inbox.directory) / "team").mkdir()
    (Path(inbox.directory) / "team" / "b.jsonl").write_bytes(line(2))
    outside = tmp_path / "elsewhere.jsonl"
    outside.write_bytes(line(3))
    assert inbox.run([str(outside)]).records == 0
    assert inbox.run().written == 1


def test_the_default_folder_is_beside_the_store_unless_set(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("PODIUM_INBOX", raising=False)
    assert default_inbox_dir(str(tmp_path / "db" / "podium.db")) == str(tmp_path / "db" / "inbox")
    monkeypatch.setenv("PODIUM_INBOX", str(tmp_path / "mine"))
    assert default_inbox_dir(str(tmp_path / "db" / "podium.db")) == str(tmp_path / "mine")
