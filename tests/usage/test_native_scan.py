"""The C scanner (podium/usage/_scan.c) against the Python parser it accelerates.

The invariant: a line the scanner accepts gives exactly the row `parse_line` gives; anything
else it hands back to Python, so counts of malformed lines and every edge case stay the
Python parser's. Checked line by line on hand-written edge cases, on random mutations of real
lines (which also shows the C code survives garbage), and end to end through the Ingestor.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import orjson
import pytest
from tests.usage.conftest import T0, message
from tests.usage.scan_parity import (
    base_line,
    check_parity,
    edge_lines,
    python_row,
    reader_parity,
    scan_lines,
)

from podium.store import Store
from podium.usage import synthetic as syn
from podium.usage.adapters.base import LogFile
from podium.usage.adapters.claude import ClaudeCodeAdapter
from podium.usage.ingest import Ingestor
from podium.usage.models import ENTRY_COLUMNS


def test_native_scanner_is_built():
    """`make test` builds the extension; a silent fallback to Python would hide regressions."""
    from podium.usage import _scan as module

    assert ClaudeCodeAdapter().scan_native is not None
    assert callable(module.scan_claude)


def test_edge_lines_match_the_python_parser(tmp_path):
    accepted, deferred = check_parity(edge_lines(), tmp_path)
    # the ordinary shapes take the fast path, the odd ones go to Python
    assert accepted >= 25 and deferred >= 30


def test_realistic_lines_never_fall_back(tmp_path):
    rng = random.Random(3)
    lines = []
    for i in range(200):
        sidechain = i % 7 == 0
        for line in message(T0 + i * 997, out=rng.randint(1, 5000), session=f"s{i % 5}",
                            blocks=rng.randint(1, 3)):  # fmt: skip
            line["isSidechain"] = sidechain
            lines.append(orjson.dumps(line))
        lines.append(orjson.dumps(syn.user_line("s", "/w", T0 + i, "hi \"there\"\n\u00e9")))
    accepted, deferred = check_parity(lines, tmp_path)
    assert deferred == 0 and accepted > 200


@pytest.mark.parametrize("seed", range(6))
def test_random_mutations_match_the_python_parser(tmp_path, seed):
    rng = random.Random(seed)
    base = [orjson.dumps(line) for line in message(T0, out=9, blocks=2)] + edge_lines()[:20]
    alphabet = b'{}[]":,\\ 0123456789.-eEtrufalsn\x00\x1f\x7f\x80\xbf\xc3\xe2\xed\xf0\xff'
    lines = []
    for _ in range(2000):
        line = bytearray(rng.choice(base))
        for _ in range(rng.randint(1, 4)):
            if not line:
                line = bytearray(b"{}")
            op, at = rng.random(), rng.randrange(len(line))
            if op < 0.4:
                line[at] = rng.choice(alphabet)
            elif op < 0.7:
                line.insert(at, rng.choice(alphabet))
            elif op < 0.9:
                del line[at]
            else:
                del line[at:]
        lines.append(bytes(line).replace(b"\n", b" "))
    accepted, deferred = check_parity(lines, tmp_path, f"m{seed}.jsonl")
    assert accepted > 100 and deferred > 100  # both sides of the contract were exercised


def _store_dump(store: Store) -> tuple[list, list]:
    entries = store.conn.execute(f"SELECT {ENTRY_COLUMNS} FROM entries ORDER BY key").fetchall()
    files = store.conn.execute(
        "SELECT path, size, offset, malformed, invalid_utf8, oversized FROM files ORDER BY path"
    ).fetchall()
    return entries, files


@pytest.mark.parametrize("chunk_size", [64, 1000, 1 << 20])
def test_ingest_native_equals_python_including_chunk_edges(tmp_path, chunk_size):
    """Same corpus, both paths, tiny to large chunks, a half-written tail and an oversized
    line: identical entries, offsets and counters."""
    root = tmp_path / "claude"
    rng = random.Random(chunk_size)
    for f in range(6):
        proj = root / "projects" / f"-p{f % 2}"
        proj.mkdir(parents=True, exist_ok=True)
        with open(proj / f"s{f}.jsonl", "wb") as fh:
            for i in range(30):
                for line in message(T0 + i * 1000, out=i + f, session=f"s{f % 3}"):
                    line["isSidechain"] = rng.random() < 0.2
                    fh.write(syn.dumps(line))
                if i == 10:
                    fh.write(b'{"type":"file-history-snapshot","x":"' + b"y" * 5000 + b'"}\n')
                if i == 20:
                    fh.write(edge_lines()[rng.randrange(40)] + b"\n")
            fh.write(syn.dumps(message(T0 + 99_000, out=5)[-1])[:-40])  # no newline yet
    results = []
    for native in (True, False):
        store = Store(tmp_path / f"{native}.db")
        ingestor = Ingestor(store, [ClaudeCodeAdapter([str(root)])], chunk_size=chunk_size,
                            max_line=4096, native=native, workers=2)  # fmt: skip
        r = ingestor.run()
        results.append((_store_dump(store), r.malformed, r.invalid_utf8, r.oversized))
        store.close()
    assert results[0] == results[1]
    (entries, files), _, _, oversized = results[0]
    assert len(entries) > 100 and oversized == 6
    assert all(size > offset for _, size, offset, *_ in files)  # the tails wait


def _prefetch_files(tmp_path: Path, rng: random.Random, n: int) -> list[Path]:
    """Files mixing usage lines, edge lines, big lines, CRLF and a half-written tail."""
    edges = edge_lines()
    paths = []
    for f in range(n):
        path = tmp_path / "projects" / f"-p{f % 3}" / f"s{f}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as fh:
            for i in range(rng.randint(0, 40)):
                for line in message(T0 + i * 1000, out=i + f, session=f"s{f % 4}"):
                    fh.write(syn.dumps(line))
                roll = rng.random()
                if roll < 0.1:
                    fh.write(rng.choice(edges) + b"\r\n")
                elif roll < 0.15:
                    fh.write(b'{"type":"x","blob":"' + b"y" * rng.choice([300, 3000, 9000]) + b'"}\n')
            if rng.random() < 0.5:
                fh.write(syn.dumps(message(T0 + 99_000, out=5)[-1])[:-30])  # no newline yet
        paths.append(path)
    return paths


@pytest.mark.parametrize("seed", range(8))
def test_prefetcher_gives_what_scan_claude_gives_file_by_file(tmp_path, seed):
    """The Prefetcher's thread runs the same read loop: same items, offsets, oversized counts
    and eof flags for every file, whatever the window, limit and buffer sizes."""

    rng = random.Random(seed)
    paths = _prefetch_files(tmp_path, rng, 25)
    adapter = ClaudeCodeAdapter([str(tmp_path)])
    logs = [LogFile(p, p.parent.name) for p in paths]
    offsets = [0 if rng.random() < 0.7 else rng.randint(0, max(os.path.getsize(p), 1))
               for p in paths]  # fmt: skip
    limit = rng.choice([1 << 30, 20_000])  # a small limit stops mid-file: eof is False
    max_line, chunk = rng.choice([(4096, 1024), (8192, 64), (1 << 20, 4096)])
    max_held = rng.choice([0, 50_000, 1 << 30])  # 0: the threads wait for every file
    threads = 1 + seed % 4  # files are handed out to 1–4 threads, results come back in order
    fetch = adapter.prefetch_native(logs, offsets, limit, max_line, chunk, max_held, threads)
    direct = adapter.scan_native
    seen_partial = seen_oversized = 0
    for i, (log, offset) in enumerate(zip(logs, offsets, strict=True)):
        got = fetch(i + 1, log)
        fd = os.open(log.name, os.O_RDONLY)
        try:
            want = direct(fd, offset, limit, max_line, chunk, i + 1, log)
        finally:
            os.close(fd)
        assert got == want, (log.name, offset)
        seen_partial += got[1] < os.path.getsize(log.name)
        seen_oversized += got[2]
    assert seen_partial > 0
    with pytest.raises(IndexError):
        fetch(99, logs[0])
    if max_line == 4096:
        assert seen_oversized > 0


def test_prefetcher_reports_unreadable_files_and_can_be_dropped_midway(tmp_path):
    from podium.usage import _scan

    paths = _prefetch_files(tmp_path, random.Random(9), 6)
    missing = tmp_path / "projects" / "-p0" / "gone.jsonl"
    adapter = ClaudeCodeAdapter([str(tmp_path)])
    logs = [LogFile(p, "-p0") for p in [paths[0], missing, *paths[1:]]]
    fetch = adapter.prefetch_native(logs, [0] * len(logs), 1 << 30, 1 << 20, 4096, 0)
    assert isinstance(fetch(1, logs[0])[0], list)
    with pytest.raises(FileNotFoundError) as err:
        fetch(2, logs[1])
    assert err.value.filename == str(missing)
    fetch(3, logs[2])
    del fetch  # the thread is waiting on its window: dropping the prefetcher stops it
    with pytest.raises(ValueError):
        _scan.Prefetcher([str(paths[0])], [-1], 1, 1, 16, b"x", 0)
    with pytest.raises(ValueError):
        _scan.Prefetcher([str(paths[0])], [0, 0], 1, 1, 16, b"x", 0)
    with pytest.raises(ValueError):
        _scan.Prefetcher([str(paths[0])], [0], 1, 1, 16, b"x", 0, 9)


# -- regressions: each of these failed before its fix --------------------------------------------


def test_a_cost_longer_than_63_bytes_reads_as_python_reads_it(tmp_path):
    """The scanner copied the number into a 64-byte buffer: `1.<70 zeros>e-5` lost its
    exponent and read as 1.0 instead of 1e-05. Long numbers go to Python now."""
    raw = orjson.dumps(base_line())
    long_cost = b"1." + b"0" * 70 + b"e-5"
    line = raw.replace(b'"costUSD":0.125', b'"costUSD":' + long_cost)
    assert long_cost in line
    adapter, log, items = scan_lines([line], tmp_path)
    verdict, row = python_row(adapter, log, line, 0)
    assert verdict == "row" and row[16] == 1e-05
    assert items == [(0, line)]  # left to Python, which gives the row above
    check_parity([line, raw.replace(b'"costUSD":0.125', b'"costUSD":' + b"2" * 60 + b".5")],
                  tmp_path, "long2.jsonl")  # fmt: skip


def test_a_limit_below_one_is_refused_instead_of_returning_no_progress(tmp_path):
    """With limit <= 0 scan_claude returned (no items, same offset, not EOF): the ingest loop
    asking again until EOF would spin forever."""
    from podium.usage import _scan

    path = tmp_path / "projects" / "-p" / "s.jsonl"
    path.parent.mkdir(parents=True)
    path.write_bytes(orjson.dumps(base_line()) + b"\n")
    fd = os.open(path, os.O_RDONLY)
    try:
        for limit in (0, -1):
            with pytest.raises(ValueError):
                _scan.scan_claude(fd, 0, limit, 1 << 20, 4096, b'"usage"', 1, "-p", "claude",
                                  "s", str(path))  # fmt: skip
        items, new_offset, _, _ = _scan.scan_claude(
            fd, 0, 1, 1 << 20, 4096, b'"usage"', 1, "-p", "claude", "s", str(path)
        )
        assert new_offset == path.stat().st_size and len(items) == 1
    finally:
        os.close(fd)
    with pytest.raises(ValueError):
        _scan.Prefetcher([str(path)], [0], 0, 1 << 20, 4096, b'"usage"', 0)


def test_prefetcher_next_from_several_threads_hands_out_each_file_once(tmp_path):
    """next() read its cursor before taking the lock: two Python threads calling it at once
    (each waits with the GIL released) could both take the same file and skip another."""
    import threading

    from podium.usage import _scan

    paths = []
    for i in range(300):
        path = tmp_path / f"f{i}.jsonl"
        path.write_bytes(b'{"a":1}\n' * (i % 7))
        paths.append(str(path))
    want = sorted(os.path.getsize(p) for p in paths)
    for _ in range(60):
        prefetcher = _scan.Prefetcher(paths, [0] * len(paths), 1 << 30, 1 << 20, 4096,
                                      b'"usage"', 1 << 30, 2)  # fmt: skip
        got: list[int] = []

        def drain(prefetcher=prefetcher, got=got) -> None:
            while True:
                try:
                    got.append(prefetcher.next(1, "p", "claude", "s", "x")[1])
                except IndexError:
                    return

        threads = [threading.Thread(target=drain) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(got) == want


def _mutated_file(rng: random.Random, n: int) -> bytes:
    """Usage lines, edge lines and long lines, mutated byte by byte (newlines included)."""
    base = [orjson.dumps(line) for line in message(T0, out=9, blocks=2)] + edge_lines()
    alphabet = b'{}[]":,\\ \n\r0123456789.-eEtrufalsn\x00\x1f\x80\xbf\xc3\xed\xff'
    out = bytearray()
    for _ in range(n):
        line = bytearray(rng.choice(base))
        if rng.random() < 0.05:
            line += b" " * rng.choice([200, 5000])
        for _ in range(rng.randint(0, 3)):
            at = rng.randrange(len(line) + 1)
            if rng.random() < 0.5:
                line.insert(at, rng.choice(alphabet))
            elif line:
                del line[min(at, len(line) - 1)]
        out += line + (b"\r\n" if rng.random() < 0.1 else b"\n")
    if rng.random() < 0.5:
        out += orjson.dumps(base_line())[:50]  # a half-written tail
    return bytes(out)


@pytest.mark.parametrize("seed", range(4))
def test_both_readers_agree_on_mutated_files_with_small_buffers(tmp_path, seed):
    """The native and Python readers of `Ingestor` over whole files, with buffers and limits
    that put line ends everywhere: same rows, same offset reached, same skipped counts."""
    rng = random.Random(100 + seed)
    path = tmp_path / "projects" / "-p" / f"m{seed}.jsonl"
    path.parent.mkdir(parents=True)
    path.write_bytes(_mutated_file(rng, 400))
    seen_rows = seen_skipped = 0
    for chunk_size, max_line, limit in [(16, 300, 1), (64, 4096, 100), (1000, 1 << 20, 1 << 30),
                                        (4096, 2000, 5000)]:  # fmt: skip
        rows, _, skipped = reader_parity(path, chunk_size=chunk_size, max_line=max_line,
                                         limit=limit)  # fmt: skip
        seen_rows += len(rows)
        seen_skipped += sum(skipped)
    assert seen_rows > 50 and seen_skipped > 10


# -- hostile input (issue 15): bounds, spelling, files ------------------------------------------


def test_bounds_reach_the_scanner_and_it_never_builds_a_row_outside_them(tmp_path):
    """The C scanner takes the bounds from adapters.base.Bounds (set at import): a value at
    the edge is a native row, one past it goes to Python, which counts it out of range."""
    from podium.usage.adapters.base import Bounds, OutOfRange

    base = base_line()
    inside = orjson.loads(orjson.dumps(base))
    inside["message"]["usage"]["input_tokens"] = Bounds.TOKENS_MAX
    outside = orjson.loads(orjson.dumps(inside))
    outside["message"]["usage"]["input_tokens"] = Bounds.TOKENS_MAX + 1
    lines = [orjson.dumps(inside), orjson.dumps(outside)]
    adapter, log, items = scan_lines(lines, tmp_path)
    assert len(items) == 2 and len(items[0]) == 20 and items[0][7] == Bounds.TOKENS_MAX
    assert items[1] == (len(lines[0]) + 1, lines[1])
    with pytest.raises(OutOfRange):
        adapter.parse_line(lines[1], log, 0)
    from podium.usage import _scan

    with pytest.raises(ValueError):
        _scan.set_bounds(-1, 0, 1, 6)


def test_escaped_and_spaced_keys_are_read_by_both_readers(tmp_path):
    raw = orjson.dumps(base_line())
    lines = [raw.replace(b'"usage":{', b'"usage" : {'), raw.replace(b'"usage"', b'"\\u0075sage"'),
             raw.replace(b'"message"', b'"m\\u0065ssage"')]  # fmt: skip
    for i, line in enumerate(lines):
        path = tmp_path / "projects" / "-p" / f"e{i}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(line + b"\n")
        rows, _, skipped = reader_parity(path, chunk_size=4096, max_line=1 << 20, limit=1 << 30)
        assert len(rows) == 1 and rows[0][8] == 42 and skipped == (0, 0, 0, 0), line[:80]


def test_reads_stop_at_the_given_end_and_the_prefetcher_skips_a_fifo(tmp_path):
    """`end` bounds a read (a file that keeps growing is read up to the size it had); a FIFO
    given to the Prefetcher is refused at once, not opened for a writer that never comes."""
    from podium.usage import _scan

    path = tmp_path / "projects" / "-p" / "s.jsonl"
    path.parent.mkdir(parents=True)
    lines = [orjson.dumps(line) for line in message(T0, out=5, blocks=3)]
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    end = len(lines[0]) + 1 + len(lines[1]) // 2  # inside the second line
    adapter = ClaudeCodeAdapter([str(tmp_path)])
    log = LogFile(path, "-p")
    fd = os.open(path, os.O_RDONLY)
    try:
        items, new_offset, _, eof = adapter.scan_native(fd, 0, 1 << 30, 1 << 20, 64, 1, log, end)
    finally:
        os.close(fd)
    assert (len(items), new_offset, eof) == (1, len(lines[0]) + 1, True)
    fifo = tmp_path / "projects" / "-p" / "fifo.jsonl"
    os.mkfifo(fifo)
    prefetcher = _scan.Prefetcher([str(fifo), str(path)], [0, 0], 1 << 30, 1 << 20, 4096,
                                  b'"usage"', 1 << 30, 1, [1 << 20, end])  # fmt: skip
    with pytest.raises(OSError):
        prefetcher.next(1, "-p", "claude", "fifo", str(fifo))
    assert prefetcher.next(2, "-p", "claude", "s", str(path))[1:] == (len(lines[0]) + 1, 0, True)
