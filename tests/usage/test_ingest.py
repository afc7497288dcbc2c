"""Ingest edge cases: every one with real files and a real SQLite store."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from podium.store import Store
from podium.usage import synthetic as syn
from podium.usage.adapters.claude import ClaudeCodeAdapter, claude_roots, encode_cwd
from podium.usage.ingest import Ingestor
from podium.usage.models import ENTRY_COLUMNS

from .conftest import T0, message

pytestmark = pytest.mark.usefixtures("scanner")


def test_streaming_copies_count_once_with_final_usage(corpus):
    lines = message(out=300, blocks=3)
    assert len(lines) == 3 and lines[0]["message"]["usage"]["output_tokens"] < 300
    corpus.write("s-1.jsonl", [syn.user_line("s-1", "/work/shop", T0 - 1000, "hi"), *lines])
    r = corpus.ingest()
    assert r.entries_parsed == 3
    assert corpus.totals() == (1, 10, 300, 1000, 20000)


def test_second_run_reads_only_appended_bytes(corpus):
    p = corpus.write("s-1.jsonl", message(T0))
    first = corpus.ingest()
    assert first.bytes_read == p.stat().st_size
    size_before = p.stat().st_size
    corpus.write("s-1.jsonl", message(T0 + 60_000, out=7))
    second = corpus.ingest()
    assert second.bytes_read == p.stat().st_size - size_before
    assert corpus.totals()[0] == 2
    third = corpus.ingest()
    assert third.files_read == 0 and third.bytes_read == 0


def test_resumed_session_replaying_lines_in_another_file(corpus):
    original = message(T0, out=50) + message(T0 + 5000, out=60)
    corpus.write("s-1.jsonl", original)
    corpus.ingest()
    # a resumed session copies earlier lines verbatim into a new file, then continues
    corpus.write("s-2.jsonl", original + message(T0 + 10_000, out=70, session="s-2"))
    corpus.ingest()
    count, _, out, _, _ = corpus.totals()
    assert (count, out) == (3, 50 + 60 + 70)


def test_dedupe_survives_restart_and_new_store_handle(corpus):
    lines = message(T0, out=42)
    corpus.write("a.jsonl", lines)
    corpus.ingest()
    corpus.store.close()
    corpus.store = Store(corpus.db)  # a restart: new process, same file
    corpus.write("b.jsonl", lines, project="-other")
    corpus.ingest()
    assert corpus.totals()[:3] == (1, 10, 42)


def test_missing_request_id_dedupes_on_message_session_and_timestamp(corpus):
    """Without requestId ccusage 20.0.24 keys on message id + session id + timestamp: a
    verbatim replay is one entry, streaming copies (distinct timestamps) all count."""
    streamed = message(T0, out=80, request_id=None, message_id="msg_01NOREQ", blocks=2)
    assert all("requestId" not in line for line in streamed)
    corpus.write("a.jsonl", streamed)
    corpus.write("b.jsonl", streamed)  # a resumed session's verbatim replay
    corpus.ingest()
    corpus.ingest()
    rows = corpus.store.conn.execute("SELECT message_id, request_id FROM entries").fetchall()
    assert rows == [("msg_01NOREQ", None)] * 2


def test_sidechain_replay_matches_parent_whatever_its_request_id(corpus):
    parent = message(T0, out=50, message_id="msg_01SIDE", blocks=1)
    replay = message(T0 + 5000, out=70, message_id="msg_01SIDE", blocks=1, request_id="other")
    for line in replay:
        line["isSidechain"] = True
    corpus.write("s-1/subagents/agent-x.jsonl", replay)  # the sub-agent copy is seen first
    corpus.ingest()
    assert corpus.totals()[2] == 70
    corpus.write("s-1.jsonl", parent)  # the parent's line wins even with fewer tokens
    corpus.ingest()
    assert corpus.totals()[:3] == (1, 10, 50)
    corpus.write("s-1/subagents/agent-y.jsonl", replay)
    corpus.ingest()
    assert corpus.totals()[:3] == (1, 10, 50)


def test_lines_without_message_id_are_each_counted_once_across_runs(corpus):
    lines = message(T0, out=5, blocks=1)
    for line in lines:
        del line["message"]["id"]
    corpus.write("a.jsonl", lines + lines)
    corpus.ingest()
    corpus.ingest()
    assert corpus.totals()[0] == 2  # no id: nothing to dedupe on, but never re-counted


def test_synthetic_messages_are_not_counted(corpus):
    corpus.write("a.jsonl", [syn.limit_error_line("s-1", "/work/shop", T0, 1_790_018_000)])
    corpus.write("a.jsonl", message(T0, model="<synthetic>", blocks=1))
    corpus.ingest()
    assert corpus.totals()[0] == 0


def test_half_written_last_line_waits_until_complete(corpus):
    full = syn.dumps(message(T0, out=99, blocks=1)[0])
    p = corpus.path("a.jsonl")
    p.write_bytes(full[:57])
    r = corpus.ingest()
    assert corpus.totals()[0] == 0 and r.malformed == 0
    with open(p, "ab") as fh:
        fh.write(full[57:])
    corpus.ingest()
    assert corpus.totals()[:3] == (1, 10, 99)
    offset = corpus.store.conn.execute("SELECT offset FROM files").fetchone()[0]
    assert offset == len(full)


def test_truncated_and_rewritten_file_is_reread_without_double_counting(corpus):
    p = corpus.write("a.jsonl", message(T0, out=10) + message(T0 + 1000, out=20))
    corpus.ingest()
    assert corpus.totals()[2] == 30
    p.write_bytes(b"")  # truncate, then rewrite with other content
    corpus.write("a.jsonl", message(T0 + 2000, out=5))
    r = corpus.ingest()
    assert r.files_reset == 1
    assert corpus.totals()[:3] == (1, 10, 5)


def test_replaced_file_new_inode_is_reread(corpus):
    p = corpus.write("a.jsonl", message(T0, out=10))
    corpus.ingest()
    tmp = p.with_suffix(".tmp")
    tmp.write_bytes(b"".join(syn.dumps(x) for x in message(T0, out=10) + message(T0 + 1, out=1)))
    os.replace(tmp, p)  # same size class, new inode
    corpus.ingest()
    assert corpus.totals()[2] == 11


def test_reset_restores_winner_from_sibling_copy(corpus):
    lines = message(T0, out=33)
    corpus.write("a.jsonl", lines)
    corpus.write("b.jsonl", lines)  # resumed copy in a sibling file
    corpus.ingest()
    corpus.path("a.jsonl").write_bytes(b"")  # the file holding the winner is emptied
    corpus.ingest()
    assert corpus.totals()[:3] == (1, 10, 33)


def test_crlf_line_endings(corpus):
    corpus.write("a.jsonl", message(T0, out=11) + message(T0 + 1, out=12), newline=b"\r\n")
    r = corpus.ingest()
    assert r.malformed == 0
    assert corpus.totals()[2] == 23


def test_malformed_and_non_utf8_lines_are_skipped_and_counted(corpus):
    good = message(T0, out=13, blocks=1)
    bad_json = b'{"message":{"usage":{"input_tokens": 1, "output_tokens": '
    bad_utf8 = syn.dumps(message(T0 + 5, out=1, blocks=1)[0]).replace(b"part 0", b"p\xff\xfe")
    wrong_type = b'{"timestamp":"2026-09-21T00:00:00Z","message":{"usage":{"input_tokens":"x",' \
        b'"output_tokens":1}}}'
    corpus.write("a.jsonl", [bad_json, *good, bad_utf8, wrong_type, b"[1,2]", b""])
    r = corpus.ingest()
    assert (r.malformed, r.invalid_utf8) == (2, 1)
    assert corpus.totals()[:3] == (1, 10, 13)
    malformed, utf8, err = corpus.store.conn.execute(
        "SELECT malformed, invalid_utf8, last_error FROM files"
    ).fetchone()
    assert (malformed, utf8) == (2, 1) and "offset" in err


def test_huge_single_line_is_skipped_in_bounded_memory(tmp_path):
    """A 300 MB `file-history-snapshot` line, generated here, between two usage lines: it is
    skipped and counted, the usage around it is kept, and the reader's peak RSS stays far below
    the line's size (measured in a child process)."""
    root = tmp_path / "claude"
    proj = root / "projects" / "-big"
    proj.mkdir(parents=True)
    path = proj / "big.jsonl"
    before = syn.dumps(message(T0, out=1, blocks=1)[0])
    after = syn.dumps(message(T0 + 1, out=2, blocks=1)[0])
    chunk = b"x" * (8 << 20)
    with open(path, "wb") as fh:
        fh.write(before)
        fh.write(b'{"type":"file-history-snapshot","snapshot":{"usage":"')
        for _ in range(300 // 8):
            fh.write(chunk)
        fh.write(b'"}}\n')
        fh.write(after)
    assert path.stat().st_size > 300_000_000
    script = textwrap.dedent(f"""
        import json, sys
        from podium.store import Store
        from podium.usage.adapters.claude import ClaudeCodeAdapter
        from podium.usage.ingest import Ingestor
        store = Store({str(tmp_path / "db.sqlite")!r})
        r = Ingestor(store, [ClaudeCodeAdapter([{str(root)!r}])]).run()
        out = store.conn.execute("SELECT SUM(output) FROM entries").fetchone()[0]
        # VmHWM is this program's own peak: ru_maxrss would carry the parent's peak over
        # (Python starts children with vfork, and Linux keeps the old mm's peak across exec)
        hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")][0]
        rss_mb = int(hwm.split()[1]) / 1024
        print(json.dumps({{"oversized": r.oversized, "out": out, "rss": rss_mb}}))
    """)
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True)  # fmt: skip
    import json

    data = json.loads(res.stdout)
    assert data["oversized"] == 1
    assert data["out"] == 3
    assert data["rss"] < 150, f"peak RSS {data['rss']:.0f} MB while skipping a 300 MB line"


def test_killed_ingest_loses_nothing_committed_and_double_counts_nothing(tmp_path):
    root = tmp_path / "claude"
    for f in range(40):
        proj = root / "projects" / f"-p{f % 4}"
        proj.mkdir(parents=True, exist_ok=True)
        with open(proj / f"s{f}.jsonl", "wb") as fh:
            for i in range(400):
                for line in message(T0 + f * 10_000_000 + i * 1000, out=i + 1, session=f"s{f}"):
                    fh.write(syn.dumps(line))
    db = tmp_path / "db.sqlite"
    env = os.environ | {"CLAUDE_CONFIG_DIR": str(root), "PODIUM_DB": str(db)}
    proc = subprocess.Popen([sys.executable, "-m", "podium", "ingest"], env=env)
    # kill it as soon as some (but typically not all) of the work is committed
    import time

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proc.poll() is None:
        if db.exists():
            try:
                with Store(db) as s:
                    if s.conn.execute("SELECT COUNT(*) FROM files").fetchone()[0] > 3:
                        break
            except Exception:
                pass
        time.sleep(0.005)
    proc.kill()
    proc.wait()
    subprocess.run([sys.executable, "-m", "podium", "ingest"], env=env, check=True,
                   capture_output=True)  # fmt: skip
    with Store(db) as s:
        got = s.conn.execute("SELECT COUNT(*), SUM(output) FROM entries").fetchone()
    assert got == (40 * 400, 40 * sum(range(1, 401)))


def test_roots_from_env_list_and_defaults(monkeypatch, tmp_path):
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", f"{tmp_path}/a, {tmp_path}/b")
    assert claude_roots() == [str(tmp_path / "a"), str(tmp_path / "b")]
    monkeypatch.delenv("CLAUDE_CONFIG_DIR")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert claude_roots() == [str(tmp_path / "xdg" / "claude"), str(tmp_path / "home" / ".claude")]


def test_flat_and_subagent_layouts_across_roots(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    flat = a / "projects" / encode_cwd("/home/u/my.proj") / "s-1.jsonl"
    sub = b / "projects" / "-x" / "s-2" / "subagents" / "agent-7.jsonl"
    for p, out in ((flat, 3), (sub, 4)):
        p.parent.mkdir(parents=True)
        p.write_bytes(b"".join(syn.dumps(x) for x in message(T0 + out, out=out)))
    assert flat.parent.name == "-home-u-my-proj"
    with Store(tmp_path / "db") as store:
        r = Ingestor(store, [ClaudeCodeAdapter([str(a), str(b)])]).run()
        assert r.files_read == 2
        rows = store.conn.execute("SELECT project, output FROM entries ORDER BY output").fetchall()
    assert rows == [("-home-u-my-proj", 3), ("-x", 4)]


def test_ingest_of_explicit_paths_ignores_foreign_files(corpus, tmp_path):
    p = corpus.write("a.jsonl", message(T0))
    foreign = tmp_path / "elsewhere.jsonl"
    foreign.write_bytes(syn.dumps(message(T0 + 9)[0]))
    r = corpus.ingest([p, foreign])
    assert r.files_read == 1 and corpus.totals()[0] == 1


@pytest.mark.parametrize("few_rows_bytes", [0, 1 << 40])
def test_dedupe_against_the_store_loads_or_asks_the_same(tmp_path, monkeypatch, few_rows_bytes):
    """A second run dedupes against stored entries either by loading every stored sidechain
    pair (big runs) or by asking per row (small runs): both give the one-run result."""
    import random

    from podium.usage import ingest as ingest_mod

    monkeypatch.setattr(ingest_mod, "FEW_ROWS_BYTES", few_rows_bytes)
    rng = random.Random(5)
    lines = []
    for i in range(120):
        for line in message(T0 + i * 1000, out=i + 1, session=f"s{i % 3}"):
            line["isSidechain"] = rng.random() < 0.3
            lines.append(line)
    replays = [dict(line, isSidechain=not line["isSidechain"], requestId=f"r{n}")
               for n, line in enumerate(rng.sample(lines, 60))]  # fmt: skip
    results = []
    for split in (False, True):
        root = tmp_path / f"claude-{split}"
        proj = root / "projects" / "-p"
        proj.mkdir(parents=True)
        store = Store(tmp_path / f"{split}.db")
        ingestor = Ingestor(store, [ClaudeCodeAdapter([str(root)])])
        (proj / "a.jsonl").write_bytes(b"".join(map(syn.dumps, lines)))
        if split:
            ingestor.run()
        with open(proj / "a.jsonl", "ab") as fh:
            fh.write(b"".join(map(syn.dumps, replays)))
        ingestor.run()
        results.append(store.conn.execute(f"SELECT {ENTRY_COLUMNS} FROM entries ORDER BY key").fetchall())
        store.close()
    assert results[0] == results[1] and len(results[0]) > 100
