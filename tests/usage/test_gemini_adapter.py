"""The Gemini CLI adapter on the file the real CLI wrote (tests/fixtures/gemini_real) and on
generated ones: replies counted once (a reply is appended again with its tool calls), input
without cached plus tool prompts, thoughts as output, sessions and cwd from the files."""

from __future__ import annotations

import json
import random
import shutil
import uuid
from pathlib import Path

import pytest
from tests.other_clis.cli import GEMINI_MAIN
from tests.usage.cli_logs import GEMINI_REAL, gemini_real_chat, gemini_session, sums

from podium.store import Store
from podium.usage.adapters.gemini import UNKNOWN_MODEL, GeminiAdapter
from podium.usage.ingest import Ingestor

T0 = 1_790_000_000_000


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def ingest(store: Store, home: Path):
    return Ingestor(store, [GeminiAdapter([str(home)])]).run()


def chat_path(home: Path, project: str, name: str) -> Path:
    path = home / ".gemini" / "tmp" / project / "chats" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def test_the_real_file(store: Store, home: Path) -> None:
    shutil.copytree(GEMINI_REAL / ".gemini", home / ".gemini")
    result = ingest(store, home)
    assert result.malformed == result.out_of_range == 0
    assert sums(store) == (
        len(GEMINI_MAIN), sum(t.input - t.cached + t.tool for t in GEMINI_MAIN),
        sum(t.cached for t in GEMINI_MAIN), sum(t.output + t.reasoning for t in GEMINI_MAIN))
    output = json.loads((GEMINI_REAL / "output.json").read_text())
    cwd = (GEMINI_REAL / ".gemini" / "tmp" / "work" / ".project_root").read_text().strip()
    assert store.conn.execute("SELECT DISTINCT session_id, cwd FROM entries").fetchall() == [
        (output["session_id"], cwd)]
    assert ingest(store, home).entries_written == 0


def test_appended_in_pieces_and_a_reply_rewritten_with_more_tokens(store: Store,
                                                                    home: Path) -> None:  # fmt: skip
    data = gemini_real_chat().read_bytes()
    target = chat_path(home, "work", gemini_real_chat().name)
    for cut in range(0, len(data), 301):
        with open(target, "ab") as fh:
            fh.write(data[cut:cut + 301])
        ingest(store, home)
    assert sums(store)[0] == len(GEMINI_MAIN)
    # the CLI appends a message again when it changes; the copy with the most tokens wins
    last = json.loads(data.splitlines()[-2])
    last["tokens"] = dict(last["tokens"], output=last["tokens"]["output"] + 100)
    with open(target, "ab") as fh:
        fh.write(json.dumps(last).encode() + b"\n")
    ingest(store, home)
    n, _i, _c, output = sums(store)
    assert n == len(GEMINI_MAIN) and output == sum(t.output + t.reasoning
                                                   for t in GEMINI_MAIN) + 100  # fmt: skip


def test_subagent_files_rewinds_and_replies_without_a_model(store: Store, home: Path) -> None:
    parent = str(uuid.uuid4())
    chat_path(home, "shop", "session-2026-09-21T10-00-aaaa.jsonl").write_text(
        gemini_session(parent, T0, [(1000, 400, 50, 10, 0)]) + json.dumps(
            {"$rewindTo": "x"}) + "\n")  # a rewind: the call still happened
    sub = str(uuid.uuid4())
    text = gemini_session(sub, T0 + 5000, [(300, 0, 20, 0, 5)])
    lines = [json.loads(line) for line in text.splitlines()]
    for line in lines:
        line.pop("model", None)
    chat_path(home, "shop", f"{parent}/{sub}.jsonl").write_text(
        "".join(json.dumps(line) + "\n" for line in lines))
    ingest(store, home)
    assert sums(store) == (2, 600 + 305, 400, 60 + 20)
    assert dict(store.conn.execute("SELECT session_id, model FROM entries").fetchall()) == {
        parent: "gemini-2.5-pro", sub: UNKNOWN_MODEL}


def test_a_large_generated_corpus(tmp_path: Path, home: Path) -> None:
    rng = random.Random(11)
    want = [0, 0, 0]
    for s in range(400):
        replies = []
        for _ in range(rng.randint(1, 30)):
            i = rng.randint(100, 200_000)
            c, o, th, tool = rng.randint(0, i), rng.randint(1, 8000), rng.randint(0, 2000), \
                rng.randint(0, 50)  # fmt: skip
            replies.append((i, c, o, th, tool))
            want[0] += i - c + tool
            want[1] += c
            want[2] += o + th
        chat_path(home, f"p{s % 9}", f"session-{s:04d}.jsonl").write_text(
            gemini_session(str(uuid.uuid4()), T0 + s * 60_000, replies))
    with Store(tmp_path / "big.db") as store:
        assert ingest(store, home).malformed == 0
        assert list(sums(store)[1:]) == want
