"""Reading log files safely: regular files only, up to a known size, lines counted by reason.

The pure-Python reader lives here, and `chunks`, which reads one file of an ingest run with it
or with an adapter's native scanner (`_scan.c`, its fast twin with the same results;
tests/usage/scan_parity.py checks both). `podium.usage.ingest` decides what to read and writes
what was read.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Callable, Iterator
from typing import BinaryIO

from podium.redact import clip
from podium.usage.adapters import LogAdapter, LogFile
from podium.usage.adapters.base import ESCAPE_ASCII_DIGITS, ESCAPE_PREFIX, OutOfRange
from podium.usage.models import UsageEntry

#: adapters.base.ESCAPE_PREFIX followed by one of ESCAPE_ASCII_DIGITS
_ESCAPED_ASCII = re.compile(
    re.escape(ESCAPE_PREFIX) + b"[" + bytes(sorted(ESCAPE_ASCII_DIGITS)) + b"]"
)
FINGERPRINT_BYTES = 128
NATIVE_LIMIT = 16 << 20  # a native scan call returns after about this many bytes (bounds memory)  # from the head of a file and from just before its offset


class NotRegularFile(OSError):
    """A log path that is a FIFO, device, socket or directory: never opened for reading."""


class Counters:
    """Lines skipped, by reason (the reasons `podium doctor` shows)."""

    __slots__ = ("invalid_utf8", "last_error", "malformed", "out_of_range", "oversized")

    def __init__(self) -> None:
        self.malformed = 0  # not JSON, not an object, or a usage line missing what it needs
        self.invalid_utf8 = 0
        self.out_of_range = 0  # a number outside adapters.base.Bounds
        self.oversized = 0  # longer than the reader's max_line
        self.last_error: str | None = None

    def take(self) -> Counters:
        """A copy of the counts so far; these start again from zero."""
        taken = Counters()
        for name in Counters.__slots__:
            setattr(taken, name, getattr(self, name))
        Counters.__init__(self)
        return taken


def file_kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "FIFO"), (stat.S_ISCHR, "character device"),
                       (stat.S_ISBLK, "block device"), (stat.S_ISSOCK, "socket"),
                       (stat.S_ISDIR, "directory")):  # fmt: skip
        if test(mode):
            return name
    return "not a regular file"


def open_regular(path: str) -> int:
    """A read-only fd on `path`, which must be a regular file once opened. O_NONBLOCK makes
    opening a FIFO return at once (a plain open waits for a writer forever); fstat of the fd,
    not of the path, decides, so a path swapped after an earlier stat is still caught."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        os.close(fd)
        raise
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise NotRegularFile(f"not a regular file ({file_kind(mode)})")
    return fd


def fingerprint(fd: int, offset: int) -> int:
    """A 64-bit hash of the bytes at the head of a file and just before `offset`: when a file
    keeps its inode and has grown but these changed, it was rewritten, not appended to."""
    head = os.pread(fd, min(offset, FINGERPRINT_BYTES), 0)
    start = max(offset - FINGERPRINT_BYTES, 0)
    tail = os.pread(fd, offset - start, start)
    digest = hashlib.blake2b(head + b"\0" + tail, digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)  # fits SQLite's INTEGER


def rewritten(path: str, offset: int, known: int | None) -> bool:
    """Did the bytes before `offset` change since their fingerprint `known` was taken (a file
    rewritten in place keeps its inode)? False when unknown or unreadable (the read reports)."""
    if known is None or offset == 0:
        return False
    try:
        fd = open_regular(path)
    except OSError:
        return False
    try:
        return fingerprint(fd, offset) != known
    finally:
        os.close(fd)


def parse_counted(line: bytes, offset: int, parse: Callable[..., UsageEntry | None],
                  log: LogFile, counters: Counters) -> UsageEntry | None:  # fmt: skip
    """One line through the adapter's parser; a bad line is counted by reason, never raised:
    whatever a line holds, the lines after it are still read."""
    import orjson

    try:
        return parse(line, log, offset)
    except OutOfRange as exc:
        counters.out_of_range += 1
        error: Exception = exc
    except orjson.JSONDecodeError as exc:
        text = str(exc)
        if "UTF-8" in text or "utf-8" in text:
            counters.invalid_utf8 += 1
        elif "infinity" in text:  # 1e400: valid JSON, no finite number
            counters.out_of_range += 1
        else:
            counters.malformed += 1
        error = exc
    except Exception as exc:  # anything else a hostile line provokes counts as malformed
        counters.malformed += 1
        error = exc
    counters.last_error = clip(f"offset {offset}: {error}", 300)  # scrubbed, then cut
    return None


def _candidate_lines(buf: bytes, end: int, needle: bytes) -> list[tuple[int, int]]:
    """(start, stop) of the lines in buf[:end] holding the needle or a \\u escape of an ASCII
    character (see adapters.base.ESCAPE_PREFIX), in order."""
    lines = []
    i = buf.find(needle, 0, end)
    while i >= 0:
        start = buf.rfind(b"\n", 0, i) + 1
        stop = buf.find(b"\n", i, end)
        lines.append((start, stop))
        i = buf.find(needle, stop + 1, end)
    found = _ESCAPED_ASCII.search(buf, 0, end)
    if found is None:  # (nearly always: one pass, ~25 % faster than a loop of finds)
        return lines
    escaped = []
    while found is not None:
        j = found.start()
        start = buf.rfind(b"\n", 0, j) + 1
        stop = buf.find(b"\n", j, end)
        escaped.append((start, stop))
        found = _ESCAPED_ASCII.search(buf, stop + 1, end)
    return sorted(set(lines).union(escaped))


def scan_buffer(buf: bytes, end: int, base: int, needle: bytes,
                parse: Callable[..., UsageEntry | None], log: LogFile, counters: Counters,
                out: list[UsageEntry]) -> None:  # fmt: skip
    """Parse the candidate lines of buf[:end] (complete lines) into `out`."""
    for start, stop in _candidate_lines(buf, end, needle):
        line = buf[start:stop]
        if line.endswith(b"\r"):
            line = line[:-1]
        entry = parse_counted(line, base + start, parse, log, counters)
        if entry is not None:
            out.append(entry)


def read_lines(fh: BinaryIO, offset: int, end: int, adapter: LogAdapter, log: LogFile,
               counters: Counters, *, chunk_size: int,
               max_line: int) -> Iterator[tuple[int, list[UsageEntry]]]:  # fmt: skip
    """Yield (offset after the last complete line consumed, entries) per chunk, reading no
    further than `end` (the size the file had when it was looked at: a file that keeps growing
    is read up to there, the rest next time). Lines longer than `max_line` are skipped without
    being held in memory and counted as oversized; a half-written last line is left unread."""
    fh.seek(offset)
    needle = adapter.needle
    parse = adapter.parse_line
    pieces: list[bytes] = []  # the current incomplete line, in pieces (no quadratic joins)
    pending_len = 0
    skipping = False  # inside an oversized line: drop bytes until its newline
    base = offset  # file offset of the first byte of pieces / of the next chunk
    at = offset  # file offset of the next byte to read
    while at < end:
        chunk = fh.read(min(chunk_size, end - at))
        if not chunk:
            return
        at += len(chunk)
        if skipping:
            nl = chunk.find(b"\n")
            if nl < 0:
                base += len(chunk)
                continue
            skipping = False
            counters.oversized += 1
            base += nl + 1
            chunk = chunk[nl + 1 :]
            yield base, []
        last_nl = chunk.rfind(b"\n")
        if last_nl < 0:
            pieces.append(chunk)
            pending_len += len(chunk)
            if pending_len > max_line:
                skipping = True
                base += pending_len
                pieces.clear()
                pending_len = 0
            continue
        entries: list[UsageEntry] = []
        if pieces:
            first_nl = chunk.find(b"\n")
            pieces.append(chunk[: first_nl + 1])
            line_start = base
            head = b"".join(pieces)
            pieces.clear()
            pending_len = 0
            if len(head) - 1 > max_line:
                counters.oversized += 1
            else:
                scan_buffer(head, len(head), line_start, needle, parse, log, counters, entries)
            base += len(head)
            chunk = chunk[first_nl + 1 :]
            last_nl -= first_nl + 1
        if last_nl >= 0:
            stop = last_nl + 1
            scan_buffer(chunk, stop, base, needle, parse, log, counters, entries)
            base += stop
            rest = chunk[stop:]
        else:
            rest = chunk
        if rest:
            pieces.append(rest)
            pending_len = len(rest)
        yield base, entries


# -- a file of an ingest run, in chunks ---------------------------------------------------------


class FileJob:
    """One file to read in this run."""

    __slots__ = ("adapter", "file_id", "fingerprint", "log", "native", "offset", "st")

    def __init__(self, adapter: LogAdapter, log: LogFile, st: os.stat_result, file_id: int,
                 offset: int, native: Callable[..., tuple] | None) -> None:  # fmt: skip
        self.adapter, self.log, self.st = adapter, log, st
        self.file_id, self.offset, self.native = file_id, offset, native
        self.fingerprint: int | None = None  # of the bytes before the offset reached


class Chunk:
    """Consecutive complete lines of one file, as row tuples (`UsageEntry.as_row`)."""

    __slots__ = ("counters", "end_offset", "eof", "items")

    def __init__(self, items: list[tuple], end_offset: int, oversized: int, eof: bool) -> None:
        self.items = items
        self.end_offset = end_offset  # just past the last complete line consumed
        self.eof = eof
        self.counters = Counters()
        self.counters.oversized = oversized


def chunks(job: FileJob, first: Chunk | None, chunk_size: int, max_line: int) -> Iterator[Chunk]:
    """The file's new lines as chunks of row tuples (and, from the native scanner,
    (offset, line) pairs the Python parser must decide), read up to the size the file had
    when stat'ed. Sets `job.fingerprint` for the offset reached."""
    fd = open_regular(job.log.name)
    try:
        end = job.st.st_size
        offset = job.offset
        if job.native is None:
            with open(fd, "rb", closefd=False) as fh:
                counters = Counters()
                for offset, entries in read_lines(
                    fh, job.offset, end, job.adapter, job.log, counters,
                    chunk_size=chunk_size, max_line=max_line,
                ):  # fmt: skip
                    rows = [e.as_row(job.file_id, job.adapter.name) for e in entries]
                    chunk = Chunk(rows, offset, 0, False)
                    chunk.counters = counters.take()
                    yield chunk
        else:
            native = job.native
            chunk = (
                first
                if first is not None
                else _native_chunk(native, job, fd, offset, end, chunk_size, max_line)
            )
            while True:
                decide_fallbacks(job, chunk)
                yield chunk
                offset = chunk.end_offset
                if chunk.eof:
                    break
                chunk = _native_chunk(native, job, fd, offset, end, chunk_size, max_line)
        job.fingerprint = fingerprint(fd, offset)
    finally:
        os.close(fd)


def _native_chunk(native: Callable[..., tuple], job: FileJob, fd: int, offset: int, end: int,
                  chunk_size: int, max_line: int) -> Chunk:  # fmt: skip
    items, new_offset, oversized, eof = native(
        fd, offset, NATIVE_LIMIT, max_line, chunk_size, job.file_id, job.log, end
    )
    return Chunk(items, new_offset, oversized, eof)


def decide_fallbacks(job: FileJob, chunk: Chunk) -> None:
    """Lines the native scanner left to Python: parse them like the pure-Python path."""
    items = chunk.items
    if 2 not in map(len, items):  # (offset, line) pairs; rows are longer (C-speed check)
        return
    counters = chunk.counters
    rows = []
    for item in items:
        if len(item) != 2:
            rows.append(item)
            continue
        offset, line = item
        entry = parse_counted(line, offset, job.adapter.parse_line, job.log, counters)
        if entry is not None:
            rows.append(entry.as_row(job.file_id, job.adapter.name))
    chunk.items = rows
