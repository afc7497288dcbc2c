"""Hostile logs: whatever sits in a projects dir, ingest finishes, keeps every usable line and
counts every skipped one by reason (issue 15, Logs).

Each case goes through both readers (the C scanner, alone and on its prefetch thread, and the
pure-Python reader: the `scanner` fixture) and through the CLI (`podium report daily --json`,
`podium doctor`) as subprocesses with a timeout that catches a hang; the FIFO and device case
also through a live `podium serve`.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from podium.store import Store
from podium.usage.adapters.claude import ClaudeCodeAdapter
from podium.usage.ingest import Ingestor

from .conftest import T0, message

HANG_S = 60  # far beyond any of these runs; a blocked open() on a FIFO never returns


@contextlib.contextmanager
def no_hang(seconds: int = HANG_S):
    """Fail instead of hanging: SIGALRM interrupts a blocking open() or read() in this thread."""

    def fire(*_):
        raise TimeoutError(f"still running after {seconds} s: something blocked")

    old = signal.signal(signal.SIGALRM, fire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def _line(k: int, **usage) -> dict:
    """One complete usage line with its own message id; `usage` overrides token fields."""
    line = message(T0 + k * 60_000, out=100 + k, blocks=1, message_id=f"msg_h{k:04d}",
                   session="s-h")[-1]  # fmt: skip
    line["message"]["usage"].update(usage)
    return line


def _tokens(line: dict) -> tuple[int, int, int, int]:
    u = line["message"]["usage"]
    return (u["input_tokens"], u["output_tokens"], u["cache_creation_input_tokens"],
            u["cache_read_input_tokens"])  # fmt: skip


class Hostile:
    """A projects dir holding one of everything (see `build`), with what ingest must find."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.project = root / "projects" / "-hostile"
        self.project.mkdir(parents=True)
        self.good: list[dict] = []  # lines that must become entries
        self.out_of_range = self.malformed = self.invalid_utf8 = 0
        self.not_read: dict[str, str] = {}
        self.pending_bytes = 0

    def totals(self) -> tuple[int, int, int, int, int]:
        sums = [sum(t) for t in zip(*map(_tokens, self.good), strict=True)]
        return (len(self.good), *sums)  # type: ignore[return-value]

    def build(self) -> Hostile:
        k = iter(range(1, 10_000))
        lines: list[bytes] = []

        def good(raw: bytes, obj: dict) -> None:
            lines.append(raw)
            self.good.append(obj)

        # spacing and spelling: valid JSON whatever the writer's style
        for style in range(7):
            obj = _line(next(k))
            if style == 0:
                raw = orjson.dumps(obj)
            elif style == 1:
                raw = json.dumps(obj).encode()  # `"usage": {`
            elif style == 2:
                raw = json.dumps(obj, separators=(" , ", " : ")).encode()
            elif style == 3:
                raw = b" \t" + json.dumps(obj, separators=(",\t", "\t:\t")).encode() + b"\t"
            elif style == 4:
                raw = orjson.dumps(obj).replace(b'"usage"', b'"us\\u0061ge"')
            elif style == 5:
                raw = orjson.dumps(obj).replace(b'"message"', b'"m\\u0065ssage"').replace(
                    b'"input_tokens"', b'"input_t\\u006fkens"')
            else:
                raw = orjson.dumps(obj) + b"\r"  # CRLF
            good(raw, obj)
        # numbers out of range: skipped and counted, the lines around them kept
        hostile_numbers = [
            {"input_tokens": 2**63}, {"input_tokens": 2**64}, {"input_tokens": 10**30},
            {"input_tokens": -5}, {"output_tokens": 1e300}, {"cache_read_input_tokens": -1},
            {"input_tokens": 1.5e9}, {"cache_creation": {"ephemeral_5m_input_tokens": 2**63}},
        ]  # fmt: skip
        for usage in hostile_numbers:
            lines.append(json.dumps(_line(next(k), **usage)).encode())  # (orjson: 64-bit only)
            good(orjson.dumps(obj := _line(next(k))), obj)
        for field, value in [("costUSD", -1.0), ("costUSD", 1e7), ("timestamp", "9999-12-31T23:59:59Z"),
                             ("timestamp", "0001-01-01T00:00:00Z"),
                             ("timestamp", "1969-12-31T23:59:59Z")]:  # fmt: skip
            obj = _line(next(k))
            obj[field] = value
            lines.append(orjson.dumps(obj))
        lines.append(orjson.dumps(_line(next(k))).replace(b'"cache_read_input_tokens":20000',
                                                           b'"cache_read_input_tokens":1e400'))  # fmt: skip
        self.out_of_range = len(hostile_numbers) + 6
        # malformed: nesting past any parser's limit, cut JSON, not an object, usage half there
        deep = orjson.dumps(_line(next(k)))[:-1] + b',"x":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
        cut = orjson.dumps(_line(next(k)))[:-20]
        no_input = _line(next(k))
        del no_input["message"]["usage"]["input_tokens"]
        lines += [deep, cut, b'"usage"', orjson.dumps(no_input)]
        self.malformed = 4
        bad = orjson.dumps(_line(next(k))).replace(b'"type":"text"', b'"type":"t\xff\xfe"')
        lines.append(bad)
        self.invalid_utf8 = 1
        lines += [b"\x00\x01\xff garbage without the needle", b"", b"{}"]  # not usage: not counted
        good(orjson.dumps(obj := _line(next(k))), obj)  # after all of that, still read
        tail = orjson.dumps(_line(next(k)))[:70]  # a half-written last line
        self.pending_bytes = len(tail)
        (self.project / "hostile.jsonl").write_bytes(b"\n".join(lines) + b"\n" + tail)
        clean = [_line(next(k)) for _ in range(3)]
        (self.project / "clean.jsonl").write_bytes(b"".join(orjson.dumps(o) + b"\n" for o in clean))
        self.good += clean
        # not regular files: never opened for reading
        os.mkfifo(self.project / "fifo.jsonl")
        os.symlink("/dev/zero", self.project / "zero.jsonl")
        os.symlink("/dev/urandom", self.project / "random.jsonl")
        (self.root / "elsewhere").mkdir()
        os.symlink(self.root / "elsewhere", self.project / "dir.jsonl")
        self.not_read = {
            "fifo.jsonl": "not a regular file (FIFO)",
            "zero.jsonl": "not a regular file (character device)",
            "random.jsonl": "not a regular file (character device)",
            "dir.jsonl": "not a regular file (directory)",
        }
        return self


@pytest.fixture
def hostile(tmp_path: Path) -> Hostile:
    return Hostile(tmp_path / "claude").build()


def _totals(store: Store) -> tuple[int, int, int, int, int]:
    return _totals_of(store.conn)


def _totals_of(conn: sqlite3.Connection) -> tuple[int, int, int, int, int]:
    return conn.execute(
        "SELECT COUNT(*), COALESCE(SUM(input),0), COALESCE(SUM(output),0), "
        "COALESCE(SUM(cache_create),0), COALESCE(SUM(cache_read),0) FROM entries"
    ).fetchone()


def _ingest(store: Store, root: Path):
    with no_hang():
        return Ingestor(store, [ClaudeCodeAdapter([str(root)])]).run()


def test_hostile_projects_dir_is_read_line_by_line_and_file_by_file(hostile, tmp_path, scanner):
    store = Store(tmp_path / "podium.db")
    try:
        r = _ingest(store, hostile.root)
        assert _totals(store) == hostile.totals()
        assert (r.out_of_range, r.malformed, r.invalid_utf8, r.oversized) == (
            hostile.out_of_range, hostile.malformed, hostile.invalid_utf8, 0)
        assert r.files_skipped == len(hostile.not_read) and r.files_read == 2
        skipped = dict(store.conn.execute("SELECT path, skipped FROM files WHERE skipped IS NOT NULL"))
        assert {os.path.basename(p): why for p, why in skipped.items()} == hostile.not_read
        pending = store.conn.execute(
            "SELECT size - offset FROM files WHERE path LIKE '%hostile.jsonl'").fetchone()[0]
        assert pending == hostile.pending_bytes
        # a second run: nothing new is read, nothing is written again, the same skips
        changes = store.conn.total_changes
        again = _ingest(store, hostile.root)
        assert again.files_read == 0 and again.files_skipped == len(hostile.not_read)
        assert store.conn.total_changes == changes
        # the FIFO replaced by a real log: read, and no longer listed as skipped
        fifo = hostile.project / "fifo.jsonl"
        fifo.unlink()
        fifo.write_bytes(orjson.dumps(obj := _line(9_999)) + b"\n")
        hostile.good.append(obj)
        third = _ingest(store, hostile.root)
        assert third.files_read == 1 and _totals(store) == hostile.totals()
        assert store.conn.execute("SELECT skipped FROM files WHERE path = ?",
                                  (str(fifo),)).fetchone() == (None,)  # fmt: skip
    finally:
        store.close()


def test_a_fifo_swapped_in_after_the_stat_is_not_opened_for_reading(tmp_path, scanner):
    """The check is made on the opened fd (O_NONBLOCK), not only on the path's stat."""
    from podium.usage.reading import NotRegularFile, open_regular

    fifo = tmp_path / "late.jsonl"
    os.mkfifo(fifo)
    with no_hang(), pytest.raises(NotRegularFile, match="FIFO"):
        open_regular(str(fifo))


def test_rewrite_and_truncate_while_tailing_reread_the_file(tmp_path, scanner):
    root = tmp_path / "claude"
    path = root / "projects" / "-t" / "s.jsonl"
    path.parent.mkdir(parents=True)
    store = Store(tmp_path / "podium.db")

    def write(objs: list[dict], tail: bytes = b"", mode: str = "wb") -> None:
        with open(path, mode) as fh:  # "wb" on an existing file: truncated, same inode
            fh.write(b"".join(orjson.dumps(o) + b"\n" for o in objs) + tail)

    def expect(objs: list[dict]) -> None:
        _ingest(store, root)
        sums = [sum(t) for t in zip(*map(_tokens, objs), strict=True)]
        assert _totals(store) == (len(objs), *sums)

    try:
        first = [_line(k) for k in range(3)]
        write(first, tail=orjson.dumps(_line(3))[:40])  # tailing: a half-written line waits
        expect(first)
        inode = path.stat().st_ino
        # rewritten in place with other lines, longer than the offset already read
        second = [_line(k, input_tokens=7) for k in range(10, 16)]
        write(second)
        assert path.stat().st_ino == inode and path.stat().st_size > sum(
            len(orjson.dumps(o)) + 1 for o in first)
        expect(second)
        # rewritten to exactly the same size (only the bytes differ)
        third = [_line(k, input_tokens=8) for k in range(20, 26)]
        write(third)
        assert path.stat().st_size == sum(len(orjson.dumps(o)) + 1 for o in second)
        st = path.stat()
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))  # coarse clocks
        expect(third)
        # truncated to less, then appended to while being read
        fourth = [_line(30)]
        write(fourth)
        expect(fourth)
        write([_line(31)], mode="ab")
        expect([*fourth, _line(31)])
    finally:
        store.close()


def _cli(*args: str, root: Path, db: Path, native: bool) -> subprocess.CompletedProcess:
    env = dict(os.environ, PODIUM_NATIVE="1" if native else "0")
    env.pop("CLAUDE_CONFIG_DIR", None)
    return subprocess.run(
        [sys.executable, "-m", "podium", *args, "--db", str(db), "--claude-config-dir", str(root)],
        capture_output=True, text=True, timeout=HANG_S, env=env, stdin=subprocess.DEVNULL,
    )  # fmt: skip


@pytest.mark.parametrize("native", [True, False], ids=["native", "python"])
def test_report_and_doctor_finish_and_show_every_skip(hostile, tmp_path, native):
    db = tmp_path / "podium.db"
    report = _cli("report", "daily", "--json", "--timezone", "UTC", root=hostile.root, db=db,
                  native=native)  # fmt: skip
    assert report.returncode == 0, report.stderr
    days = json.loads(report.stdout)["daily"]
    count, tin, tout, tcc, tcr = hostile.totals()
    assert sum(d["inputTokens"] for d in days) == tin
    assert sum(d["outputTokens"] for d in days) == tout
    assert sum(d["cacheCreationTokens"] for d in days) == tcc
    assert sum(d["cacheReadTokens"] for d in days) == tcr

    doctor = _cli("doctor", "--json", root=hostile.root, db=db, native=native)
    assert doctor.returncode == 0, doctor.stderr
    found = json.loads(doctor.stdout)
    assert found["entries"] == count
    assert found["skipped"] == {"malformed": hostile.malformed, "invalidUtf8": hostile.invalid_utf8,
                                "outOfRange": hostile.out_of_range, "oversized": 0}  # fmt: skip
    assert found["pending"] == {"files": 1, "bytes": hostile.pending_bytes}
    assert {os.path.basename(f["path"]): f["reason"] for f in found["filesNotRead"]} == (
        hostile.not_read)
    [worst] = found["filesWithSkippedLines"]
    assert worst["path"].endswith("hostile.jsonl") and worst["outOfRange"] == hostile.out_of_range

    text = _cli("doctor", root=hostile.root, db=db, native=native)
    assert text.returncode == 0, text.stderr
    assert f"{hostile.out_of_range} out of range" in text.stdout
    assert "not read     4 file(s)" in text.stdout and "(FIFO)" in text.stdout
    assert "half-written line" in text.stdout


async def test_server_with_a_fifo_and_devices_in_projects_answers_and_ingests(hostile, git_repo,
                                                                             tmp_path):  # fmt: skip
    from podium.server.client import PodiumClient

    env = dict(os.environ, CLAUDE_CONFIG_DIR=str(hostile.root), PODIUM_DB=str(tmp_path / "s.db"))
    env.pop("ANTHROPIC_API_KEY", None)
    client = PodiumClient()
    await client.launch(cwd=git_repo, env=env, stderr_path=tmp_path / "server.log")
    try:
        await client.initialize_podium(git_repo, {})
        done = await client.wait_for(
            lambda: next((m for _, m in client.log_messages if m.startswith("ingest: ")), None),
            timeout=HANG_S,
        )
        assert " from 2 files " in done, done  # the two regular ones; the rest skipped
        with contextlib.closing(sqlite3.connect(f"file:{tmp_path / 's.db'}?mode=ro", uri=True)) as db:
            assert _totals_of(db) == hostile.totals()
        assert await client.request("podium/listAgents", {}, timeout=30) == {"agents": []}
        assert "mode" in await client.request("podium/usageSummary", {}, timeout=30)
    finally:
        await client.close()


def test_a_file_whose_reading_fails_is_skipped_with_its_reason_and_the_others_are_read(tmp_path):
    """Whatever error a file provokes while being read (here the scanner raises for one
    file), the run goes on with the others, records why that one was not read, and reads it
    again next time."""

    class Flaky(ClaudeCodeAdapter):
        fail = True

        @property
        def scan_native(self):
            inner = super().scan_native

            def scan(fd, offset, limit, max_line, chunk_size, file_id, log, end=-1):
                if self.fail and log.name.endswith("boom.jsonl"):
                    raise RuntimeError("scanner broke")
                return inner(fd, offset, limit, max_line, chunk_size, file_id, log, end)

            return scan

    root = tmp_path / "claude"
    project = root / "projects" / "-p"
    project.mkdir(parents=True)
    (project / "boom.jsonl").write_bytes(orjson.dumps(_line(1)) + b"\n")
    (project / "fine.jsonl").write_bytes(orjson.dumps(_line(2)) + b"\n")
    adapter = Flaky([str(root)])
    store = Store(tmp_path / "podium.db")
    try:
        with no_hang():
            r = Ingestor(store, [adapter], native=True).run()
        assert r.files_read == 1 and r.files_skipped == 1 and _totals(store)[0] == 1
        assert any("scanner broke" in e for e in r.errors)
        assert store.conn.execute("SELECT skipped FROM files WHERE path LIKE '%boom.jsonl'"
                                  ).fetchone() == ("not read: RuntimeError: scanner broke",)  # fmt: skip
        adapter.fail = False
        with no_hang():
            again = Ingestor(store, [adapter], native=True).run()
        assert again.files_read == 1 and _totals(store)[0] == 2
    finally:
        store.close()
