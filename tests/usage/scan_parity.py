"""The C scanner against the Python reader, as reusable checks (not a test module).

Used by tests/usage/test_native_scan.py and by the sanitizer/fuzz harness (bench/fuzz_scan.py),
which runs the same checks against an ASan + UBSan build of the extension.

- `check_parity`: line by line, whatever the scanner accepts gives exactly `parse_line`'s row,
  whatever it skips `parse_line` also finds no usage in, the rest it hands back unchanged.
- `reader_parity`: a whole file through both readers of `Ingestor` (native chunks with their
  fallbacks decided, and the pure-Python `_read`), with small buffers: the same rows in the same
  order, the same offset reached, the same counts of skipped lines by reason.
"""

from __future__ import annotations

import os
from pathlib import Path

import orjson
from tests.usage.conftest import T0, message

from podium.usage.adapters.base import ESCAPE_ASCII_DIGITS, ESCAPE_PREFIX, LogFile
from podium.usage.adapters.claude import ClaudeCodeAdapter
from podium.usage.reading import Counters, parse_counted, read_lines

FILE_ID = 7


def is_candidate(adapter: ClaudeCodeAdapter, line: bytes) -> bool:
    """Would the readers parse this line at all (the needle or an escaped ASCII character)?"""
    if adapter.needle in line:
        return True
    at = line.find(ESCAPE_PREFIX)
    while at >= 0:
        if at + 4 < len(line) and line[at + 4] in ESCAPE_ASCII_DIGITS:
            return True
        at = line.find(ESCAPE_PREFIX, at + 1)
    return False

def base_line() -> dict:
    line = message(T0, out=42, blocks=1)[-1]
    line["costUSD"] = 0.125
    line["message"]["usage"]["speed"] = "fast"
    return line


def edge_lines() -> list[bytes]:
    base = base_line()
    d = orjson.dumps

    def variant(**changes) -> bytes:
        obj = orjson.loads(d(base))
        for path, value in changes.items():
            target = obj
            *parents, leaf = path.split("__")
            for p in parents:
                target = target[p]
            if value is KeyError:
                target.pop(leaf, None)
            else:
                target[leaf] = value
        return d(obj)

    raw = d(base)
    return [
        raw,
        raw + b"\r",
        b"  " + raw + b" \t",
        variant(message__model="<synthetic>"),
        variant(message__model=None),
        variant(message__model="caf\u00e9-\U0001f600"),
        variant(message__model='quote"d'),
        variant(message__id=None),
        variant(message__id=""),
        variant(message__id=KeyError),
        variant(requestId=KeyError),
        variant(requestId=""),
        variant(requestId=7),
        variant(sessionId=KeyError),
        variant(sessionId=""),
        variant(cwd="C:\\work\\shop"),
        variant(cwd="/tmp/\u00fcber"),
        variant(isSidechain=True),
        variant(isSidechain="true"),
        variant(costUSD=3),
        variant(costUSD=1e-7),
        variant(costUSD=True),
        variant(costUSD=KeyError),
        variant(timestamp="2026-09-21T10:00:00Z"),
        variant(timestamp="2026-09-21T10:00:00.5Z"),
        variant(timestamp="2026-09-21T10:00:00.123456Z"),
        variant(timestamp="2026-09-21T10:00:00.123+00:00"),
        variant(timestamp="2026-09-21T10:00:00.123+02:00"),
        variant(timestamp="2026-02-30T10:00:00.000Z"),
        variant(timestamp="2024-02-29T23:59:59.999Z"),
        variant(timestamp="2026-09-21 10:00:00Z"),
        variant(timestamp=1790000000),
        variant(timestamp=KeyError),
        variant(message__usage__input_tokens=KeyError),
        variant(message__usage__output_tokens=None),
        variant(message__usage__input_tokens=1.0),
        variant(message__usage__input_tokens=1.5),
        variant(message__usage__input_tokens=True),
        variant(message__usage__input_tokens="3"),
        variant(message__usage__input_tokens=-4),
        variant(message__usage__input_tokens=2**62),
        variant(message__usage__input_tokens=10**18 - 1),  # the scanner's longest integer
        variant(message__usage__input_tokens=2**63 - 1),
        variant(message__usage__input_tokens=2**63),  # past int64 (and SQLite's INTEGER)
        variant(message__usage__output_tokens=10**19 - 1),
        variant(message__usage__output_tokens=-(2**63)),
        raw.replace(b'"input_tokens":10', b'"input_tokens":1180591620717411303424'),
        variant(message__usage__cache_read_input_tokens=None),
        variant(message__usage__cache_read_input_tokens=KeyError),
        variant(message__usage__cache_creation=None),
        variant(message__usage__cache_creation={}),
        variant(message__usage__cache_creation={"ephemeral_1h_input_tokens": None}),
        variant(message__usage__cache_creation={"ephemeral_5m_input_tokens": 2.0}),
        variant(message__usage__cache_creation=[1, 2]),
        variant(message__usage__speed=5),
        variant(message__usage="x"),
        variant(message="x"),
        variant(message=KeyError),
        raw.replace(b'"timestamp"', b'"time\\u0073tamp"'),
        raw.replace(b'{"parentUuid"', b'{"cwd":"/dup","parentUuid"'),
        raw.replace(b'"usage":{', b'"usage":{"input_tokens":9,'),
        raw.replace(b'"usage":{', b'"usage":{"usage":{"input_tokens":1},'),
        raw.replace(b'"type":"text"', b'"type":"\\ud83d\\ude00"'),
        raw.replace(b'"type":"text"', b'"type":"\\ud83d"'),
        raw.replace(b'"type":"text"', b'"type":"\\ude00"'),
        raw.replace(b'"type":"text"', b'"type":"\\x"'),
        raw.replace(b'"type":"text"', b'"type":"t\x01"'),
        raw.replace(b'"type":"text"', b'"type":"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"'),
        raw.replace(b'"type":"text"', b'"type":"\xc0\xaf"'),
        raw.replace(b'"type":"text"', b'"type":"\xed\xa0\x80"'),
        raw.replace(b'"type":"text"', b'"type":"\xf4\x90\x80\x80"'),
        raw.replace(b'"type":"text"', b'"type":"\xe2\x82"'),
        raw.replace(b'"type":"text"', b'"type":1e400'),
        raw.replace(b'"type":"text"', b'"type":12345678901234567890123'),
        raw.replace(b'"type":"text"', b'"type":-0.0e-5'),
        raw.replace(b'"type":"text"', b'"type":01'),
        raw.replace(b'"type":"text"', b'"type":NaN'),
        raw.replace(b'"type":"text"', b'"type":[' * 300 + b"]" * 300),
        raw.replace(b'"type":"text"', b'"type":[[[[{}]]]]'),
        raw[:-1],
        raw + b"x",
        raw + b"{}",
        b"[" + raw + b"]",
        b'{"message":{"usage":{}}}',
        b'"usage":{',
        b"\xef\xbb\xbf" + raw,
        # spacing and escapes: the same usage whatever the writer's style
        raw.replace(b'"usage":{', b'"usage": {'),
        raw.replace(b'"usage":{', b'"usage"\t:\r{'),
        raw.replace(b'"usage":{', b'"us\\u0061ge":{'),
        raw.replace(b'"message":{', b'"m\\u0065ssage":{'),
        raw.replace(b'"input_tokens"', b'"input_t\\u006fkens"'),
        raw.replace(b'"type":"text"', b'"type":"\\u001b[0m"'),  # escaped, not ASCII: not parsed
        raw.replace(b'"usage":{', b'"usage":"none","u":{'),
        # bounds (adapters.base.Bounds): at the edges, and past them
        variant(message__usage__input_tokens=10**9),
        variant(message__usage__input_tokens=10**9 + 1),
        variant(message__usage__cache_creation={"ephemeral_1h_input_tokens": -1}),
        variant(costUSD=999999.99),
        variant(costUSD=10**6),
        variant(costUSD=1000000.5),
        variant(costUSD=-0.0),
        variant(costUSD=-1),
        raw.replace(b'"costUSD":0.125', b'"costUSD":1.5e-7'),
        raw.replace(b'"costUSD":0.125', b'"costUSD":1.5e+2'),
        raw.replace(b'"costUSD":0.125', b'"costUSD":1e400'),
        variant(timestamp="1970-01-01T00:00:00.000Z"),
        variant(timestamp="1969-12-31T23:59:59.999Z"),
        variant(timestamp="2099-12-31T23:59:59.999Z"),
        variant(timestamp="2100-01-01T00:00:00.000Z"),
    ]


def scan_lines(lines: list[bytes], tmp_path: Path, name: str = "s.jsonl"):
    path = tmp_path / "projects" / "-p" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    adapter = ClaudeCodeAdapter([str(tmp_path)])
    log = LogFile(path, "-p")
    fd = os.open(path, os.O_RDONLY)
    try:
        items, new_offset, oversized, eof = adapter.scan_native(
            fd, 0, 1 << 40, 1 << 20, 4096, FILE_ID, log
        )
    finally:
        os.close(fd)
    assert eof and new_offset == path.stat().st_size and oversized == 0
    return adapter, log, items


def python_row(adapter, log, line: bytes, offset: int):
    """parse_line's verdict: ('row', tuple) / ('none', None) / ('error', None)."""
    try:
        entry = adapter.parse_line(line.rstrip(b"\r"), log, offset)
    except (ValueError, TypeError, KeyError):
        return "error", None
    return ("none", None) if entry is None else ("row", entry.as_row(FILE_ID, "claude"))


def check_parity(lines: list[bytes], tmp_path: Path, name: str = "s.jsonl") -> tuple[int, int]:
    adapter, log, items = scan_lines(lines, tmp_path, name)
    offsets, pos = [], 0
    for line in lines:
        offsets.append(pos)
        pos += len(line) + 1
    rows = iter(item for item in items if len(item) != 2)
    fallbacks = {item[0]: item[1] for item in items if len(item) == 2}
    accepted = deferred = 0
    for line, offset in zip(lines, offsets, strict=True):
        if not is_candidate(adapter, line):
            continue
        verdict, row = python_row(adapter, log, line, offset)
        if offset in fallbacks:
            deferred += 1
            assert fallbacks[offset] == line.rstrip(b"\r")
            continue
        if verdict == "row":
            assert next(rows) == row, line[:200]
            accepted += 1
        else:
            # the scanner skipped it: Python must agree there is no usage and no error
            assert verdict == "none", (verdict, line[:300])
    assert next(rows, None) is None
    return accepted, deferred



def reader_parity(path: str | os.PathLike[str], *, chunk_size: int, max_line: int,
                  limit: int) -> tuple[list[tuple], int, tuple[int, ...]]:  # fmt: skip
    """Both readers over one file from offset 0; asserts they agree and returns (rows, offset
    reached, (malformed, invalid_utf8, out_of_range, oversized))."""
    root = Path(path).parent.parent.parent
    adapter = ClaudeCodeAdapter([str(root)])
    log = LogFile(path, Path(path).parent.name)
    chunk_size = min(chunk_size, max_line + 1)  # as Ingestor does: both see oversized alike
    size = os.path.getsize(path)

    counters = Counters()
    py_rows: list[tuple] = []
    py_end = 0
    with open(path, "rb") as fh:
        for end, entries in read_lines(fh, 0, size, adapter, log, counters,
                                       chunk_size=chunk_size, max_line=max_line):  # fmt: skip
            py_rows.extend(e.as_row(FILE_ID, adapter.name) for e in entries)
            py_end = end
    py = (py_rows, py_end, (counters.malformed, counters.invalid_utf8, counters.out_of_range,
                            counters.oversized))  # fmt: skip

    native = adapter.scan_native
    counters = Counters()
    c_rows: list[tuple] = []
    oversized = offset = 0
    fd = os.open(path, os.O_RDONLY)
    try:
        while True:
            items, new_offset, over, eof = native(fd, offset, limit, max_line, chunk_size,
                                                  FILE_ID, log, size)  # fmt: skip
            assert new_offset >= offset
            assert eof or new_offset > offset, "a call that is not at EOF must make progress"
            oversized += over
            for item in items:
                if len(item) == 2:
                    entry = parse_counted(item[1], item[0], adapter.parse_line, log, counters)
                    if entry is not None:
                        c_rows.append(entry.as_row(FILE_ID, adapter.name))
                else:
                    c_rows.append(item)
            offset = new_offset
            if eof:
                break
    finally:
        os.close(fd)
    c = (c_rows, offset, (counters.malformed, counters.invalid_utf8, counters.out_of_range,
                          oversized))  # fmt: skip
    assert c == py
    return py


def prefetch_parity(path: str | os.PathLike[str], *, chunk_size: int, max_line: int,
                    limit: int) -> None:  # fmt: skip
    """The Prefetcher's threads return, file by file, what scan_claude returns."""
    adapter = ClaudeCodeAdapter([str(Path(path).parent.parent.parent)])
    log = LogFile(path, Path(path).parent.name)
    size = os.path.getsize(path)
    offsets = [0, size // 2, size]
    logs = [log] * len(offsets)
    fetch = adapter.prefetch_native(logs, offsets, limit, max_line, chunk_size, 0, 1)
    fd = os.open(path, os.O_RDONLY)
    try:
        for offset in offsets:
            want = adapter.scan_native(fd, offset, limit, max_line, chunk_size, FILE_ID, log)
            assert fetch(FILE_ID, log) == want
    finally:
        os.close(fd)
