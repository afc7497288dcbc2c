"""Incremental ingest: read only what was appended since last time, exactly once.

Per file the store keeps (dev, inode, size, offset). A run stats every file, reads the bytes
past `offset`, and consumes only complete lines: a half-written last line stays unread until its
newline arrives. A file that shrank or got a new inode was truncated or replaced: its entries are
dropped and it is read again from 0, together with the other files of its project (resumed
sessions copy lines between them), which is safe because every upsert is idempotent: the entry
key is the dedupe key, and the copy with the largest token total wins.

Only lines containing the adapter's needle (`"usage"`) are parsed at all; the rest (user turns,
tool results, multi-hundred-MB `file-history-snapshot` lines) are skipped at memchr speed and
never become Python objects. Lines longer than `max_line` are skipped in a streaming fashion and
counted as oversized.
"""

from __future__ import annotations

import operator
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator

from podium.store import Store
from podium.store.migrations import REBUILD_BUCKETS
from podium.usage.adapters import LogAdapter, LogFile, default_adapters
from podium.usage.dedupe import Deduper
from podium.usage.models import UsageEntry

CHUNK_SIZE = 4 << 20  # 4 MiB reads
MAX_LINE = 64 << 20  # longer lines are skipped (and counted) without being held in memory
COMMIT_BYTES = 64 << 20  # commit at least every 64 MiB read
NATIVE_LIMIT = 16 << 20  # a native scan call returns after about this many bytes (bounds memory)
BULK_BYTES = 32 << 20  # a first load at least this big builds the entry indexes at the end
BULK_FLUSH_BYTES = 4 << 20  # a first load writes its rows every this many bytes read
FEW_ROWS_BYTES = 16 << 20  # below this, dedupe asks the store per row instead of loading it
PARALLEL_BYTES = 8 << 20  # below this, a scanning thread costs more than it saves
PREFETCH_HELD = 8 << 20  # the scanning thread stays at most about this far ahead (RSS)
PREFETCH_MIN_FILES = 2  # with one file there is nothing to overlap
# native threads reading and parsing ahead: one on 2 cores (measured: a second one competes
# with the Python thread and is slower); two when there are cores to spare
PREFETCH_THREADS = max(1, min(2, (os.cpu_count() or 2) - 1))


class IngestResult:
    """What one run did. (Plain classes here, not dataclasses: see podium.usage.models.)"""

    def __init__(self) -> None:
        self.files_seen = 0
        self.files_read = 0
        self.files_reset = 0
        self.bytes_read = 0
        self.entries_parsed = 0
        self.entries_written = 0
        self.malformed = 0
        self.invalid_utf8 = 0
        self.oversized = 0
        #: session ids and cwds of entries parsed in this run (what may have changed)
        self.sessions: set[str] = set()
        self.cwds: set[str] = set()
        self.errors: list[str] = []

    @property
    def skipped(self) -> int:
        return self.malformed + self.invalid_utf8 + self.oversized

    def __repr__(self) -> str:
        return f"IngestResult({self.__dict__!r})"


_Pending = tuple  # (adapter, log, stat, _FileState | None, offset; -1 = read again from 0)


class _Job:
    """One file to read in this run."""

    __slots__ = ("adapter", "file_id", "log", "native", "offset", "st")

    def __init__(self, adapter: LogAdapter, log: LogFile, st: os.stat_result, file_id: int,
                 offset: int, native: Callable[..., tuple] | None) -> None:  # fmt: skip
        self.adapter, self.log, self.st = adapter, log, st
        self.file_id, self.offset, self.native = file_id, offset, native


class _Chunk:
    """Consecutive complete lines of one file, as row tuples (`UsageEntry.as_row`)."""

    __slots__ = (
        "end_offset",
        "eof",
        "invalid_utf8",
        "items",
        "last_error",
        "malformed",
        "oversized",
    )  # fmt: skip

    def __init__(self, items: list[tuple], end_offset: int, oversized: int, eof: bool) -> None:
        self.items = items
        self.end_offset = end_offset  # just past the last complete line consumed
        self.oversized = oversized
        self.eof = eof
        self.malformed = 0
        self.invalid_utf8 = 0
        self.last_error: str | None = None


class _FileState:
    __slots__ = ("dev", "id", "ino", "offset", "size")

    def __init__(self, id: int, dev: int, ino: int, size: int, offset: int) -> None:
        self.id, self.dev, self.ino, self.size, self.offset = id, dev, ino, size, offset


class _Counters:
    __slots__ = ("invalid_utf8", "last_error", "malformed", "oversized")

    def __init__(self) -> None:
        self.malformed = 0
        self.invalid_utf8 = 0
        self.oversized = 0
        self.last_error: str | None = None


class Ingestor:
    """Reads new log lines into the store. One Ingestor per writer."""

    def __init__(
        self,
        store: Store,
        adapters: list[LogAdapter] | None = None,
        *,
        claude_config_dirs: list[str] | None = None,
        max_line: int = MAX_LINE,
        chunk_size: int = CHUNK_SIZE,
        native: bool | None = None,
        workers: int | None = None,
    ) -> None:
        self.store = store
        self.adapters = adapters if adapters is not None else default_adapters(claude_config_dirs)
        self.max_line = max_line
        # a line longer than max_line never fits in one chunk, so both readers see it as
        # oversized the same way
        self.chunk_size = min(chunk_size, max_line + 1)
        #: use an adapter's native scanner when it has one (PODIUM_NATIVE=0 turns it off)
        self.native = native if native is not None else os.environ.get("PODIUM_NATIVE") != "0"
        #: 2 (the default): big runs read and parse the next files on a native thread (no
        #: GIL) while this one dedupes and writes; 1: everything on the calling thread
        self.workers = workers if workers is not None else 2
        self._file_updates: list[tuple] = []
        self._reported: list[tuple] = []  # session_costs rows (podium.usage.reported)

    # -- discovery ------------------------------------------------------------------------------
    def _targets(self, paths: Iterable[str | os.PathLike[str]] | None) -> list[tuple[LogAdapter, LogFile]]:
        if paths is None:
            return [(a, log) for a in self.adapters for log in a.discover()]
        targets = []
        for path in paths:
            for adapter in self.adapters:
                log = adapter.log_file_for(path)
                if log is not None:
                    targets.append((adapter, log))
                    break
        return targets

    def _load_states(self) -> dict[str, _FileState]:
        rows = self.store.conn.execute("SELECT path, id, dev, ino, size, offset FROM files")
        return {r[0]: _FileState(*r[1:]) for r in rows}

    # -- the run ----------------------------------------------------------------------------------
    def run(self, paths: Iterable[str | os.PathLike[str]] | None = None) -> IngestResult:
        """Ingest every known log file (paths=None) or just the given ones."""
        result = IngestResult()
        states = self._load_states()
        targets = self._targets(paths)
        result.files_seen = len(targets)
        pending: list[_Pending] = []
        reset_projects: set[tuple[str, str | None]] = set()
        for adapter, log in targets:
            try:
                st = os.stat(log.name)
            except OSError:
                continue  # vanished between discovery and stat: its entries stay (history)
            state = states.get(log.name)
            if state is None:
                pending.append((adapter, log, st, None, 0))
            elif (st.st_dev, st.st_ino) != (state.dev, state.ino) or st.st_size < state.offset:
                pending.append((adapter, log, st, state, -1))  # truncated or replaced
                reset_projects.add((_project_dir(log), log.project))
            elif st.st_size > state.offset:
                pending.append((adapter, log, st, state, state.offset))
        if reset_projects:
            pending = self._with_siblings(pending, reset_projects, states)
        if not pending:
            return result
        # Many files per transaction (a commit per file costs more than reading it); a file's
        # entries and its new offset always land in the same transaction, so a kill between
        # commits loses only uncommitted work, which the next run reads again.
        conn = self.store.conn
        with self.store.lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                jobs = self._prepare_files(pending, result)
                to_read = sum(max(j.st.st_size - j.offset, 0) for j in jobs)
                dedupe = Deduper(conn, few_rows=to_read < FEW_ROWS_BYTES)
                # A first load into an empty store is one transaction with the secondary
                # indexes and the report buckets built once at the end: sorting once beats
                # updating them row by row.
                bulk = not dedupe.stored and to_read >= BULK_BYTES
                rebuild = _drop_entry_extras(conn) if bulk else []
                since_commit = since_flush = 0
                for job, chunks in self._scanned(jobs):
                    try:
                        read = self._ingest_file(job, chunks, dedupe, result)
                    except OSError as exc:
                        result.errors.append(f"{job.log.path}: {exc.strerror or exc}")
                        read = 0
                    since_commit += read
                    since_flush += read
                    if since_commit >= COMMIT_BYTES and not bulk:
                        self._flush(dedupe, result)
                        conn.execute("COMMIT")
                        conn.execute("BEGIN IMMEDIATE")
                        since_commit = since_flush = 0
                    elif bulk and since_flush >= BULK_FLUSH_BYTES:
                        # write what is decided so far while the prefetch thread parses the
                        # next files (rows replaced later are upserted again; one transaction)
                        self._flush(dedupe, result)
                        since_flush = 0
                self._flush(dedupe, result)
                for sql in rebuild:
                    conn.execute(sql)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        return result

    def _flush(self, dedupe: Deduper, result: IngestResult) -> None:
        """Entries and file offsets, written together before a commit."""
        result.entries_written += dedupe.flush()
        if self._reported:
            from podium.usage.reported import upsert

            upsert(self.store.conn, self._reported)
            self._reported.clear()
        if self._file_updates:
            self.store.conn.executemany(
                "UPDATE files SET dev = ?, ino = ?, size = ?, offset = ?, mtime_ns = ?, "
                "malformed = malformed + ?, invalid_utf8 = invalid_utf8 + ?, "
                "oversized = oversized + ?, last_error = COALESCE(?, last_error) WHERE id = ?",
                self._file_updates,
            )
            self._file_updates.clear()

    def _with_siblings(self, pending, reset_projects, states):
        """The other files of a reset file's project (resumed sessions, sub-agents) are
        re-read from 0, which is idempotent, so a dedupe winner dropped with the reset file is
        restored from its other copies."""
        queued = {p[1].name for p in pending}
        extra = []
        prefixes = tuple(d + os.sep for d, _ in reset_projects)
        for path, state in states.items():
            if path in queued or not path.startswith(prefixes):
                continue
            for adapter in self.adapters:
                log = adapter.log_file_for(path)
                if log is None:
                    continue
                try:
                    st = os.stat(path)
                except OSError:
                    break
                extra.append((adapter, log, st, state, 0))
                break
        return pending + extra

    def _prepare_files(self, pending: list[_Pending], result: IngestResult) -> list[_Job]:
        """Row ids for the files (new ones get one), after forgetting what truncated or
        replaced files contributed."""
        conn = self.store.conn
        new = [(log.name, adapter.name, st.st_dev, st.st_ino)
               for adapter, log, st, state, _ in pending if state is None]  # fmt: skip
        ids: dict[str, int] = {}
        if new:
            conn.executemany(
                "INSERT INTO files(path, adapter, dev, ino, size, offset, mtime_ns) "
                "VALUES (?, ?, ?, ?, 0, 0, 0) ON CONFLICT(path) DO UPDATE SET adapter = "
                "excluded.adapter",
                new,
            )
            ids = dict(conn.execute("SELECT path, id FROM files"))
        jobs = []
        for adapter, log, st, state, offset in pending:
            if state is None:
                file_id, offset = ids[log.name], 0
            else:
                file_id = state.id
                if offset < 0:
                    conn.execute("DELETE FROM entries WHERE file_id = ?", (file_id,))
                    conn.execute("DELETE FROM session_costs WHERE file_id = ?", (file_id,))
                    conn.execute(
                        "UPDATE files SET malformed = 0, invalid_utf8 = 0, oversized = 0, "
                        "last_error = NULL WHERE id = ?",
                        (file_id,),
                    )
                    result.files_reset += 1
                    offset = 0
            native = getattr(adapter, "scan_native", None) if self.native else None
            jobs.append(_Job(adapter, log, st, file_id, offset, native))
        return jobs

    # -- scanning ---------------------------------------------------------------------------------
    def _scanned(self, jobs: list[_Job]) -> Iterator[tuple[_Job, Iterator[_Chunk]]]:
        """Each job with its chunks, in order. With enough bytes to read, an adapter's native
        prefetcher reads and parses the next files on its own thread (no GIL) while this
        thread dedupes and writes; it stays a bounded number of bytes ahead."""
        native = [j for j in jobs if j.native is not None]
        pending_bytes = sum(max(j.st.st_size - j.offset, 0) for j in native)
        if self.workers < 2 or pending_bytes < PARALLEL_BYTES or len(native) < PREFETCH_MIN_FILES:
            for job in jobs:
                yield job, self._chunks(job)
            return
        fetchers: dict[int, Callable[..., tuple] | None] = {}
        for adapter in {id(j.adapter): j.adapter for j in native}.values():
            mine = [j for j in native if j.adapter is adapter]
            make = getattr(adapter, "prefetch_native", None)
            fetchers[id(adapter)] = make(
                [j.log for j in mine], [j.offset for j in mine], NATIVE_LIMIT, self.max_line,
                self.chunk_size, PREFETCH_HELD, PREFETCH_THREADS,
            ) if make is not None else None  # fmt: skip
        for job in jobs:
            fetch = fetchers.get(id(job.adapter)) if job.native is not None else None
            first = None
            if fetch is not None:
                try:
                    items, end_offset, oversized, eof = fetch(job.file_id, job.log)
                    first = _Chunk(items, end_offset, oversized, eof)
                except OSError:
                    first = None  # read again below, where the error is recorded for the file
            yield job, self._chunks(job, first)

    def _native_chunk(self, job: _Job, fd: int, offset: int) -> _Chunk:
        items, new_offset, oversized, eof = job.native(
            fd, offset, NATIVE_LIMIT, self.max_line, self.chunk_size, job.file_id, job.log
        )
        return _Chunk(items, new_offset, oversized, eof)

    def _chunks(self, job: _Job, first: _Chunk | None = None) -> Iterator[_Chunk]:
        """The file's new lines as chunks of row tuples (and, from the native scanner,
        (offset, line) pairs the Python parser must decide)."""
        if job.native is None:
            with open(job.log.name, "rb") as fh:
                counters = _Counters()
                for end_offset, entries in self._read(fh, job.offset, job.adapter, job.log,
                                                      counters):  # fmt: skip
                    rows = [e.as_row(job.file_id, job.adapter.name) for e in entries]
                    chunk = _Chunk(rows, end_offset, counters.oversized, False)
                    counters.oversized = 0
                    chunk.malformed, chunk.invalid_utf8 = counters.malformed, counters.invalid_utf8
                    chunk.last_error = counters.last_error
                    counters.malformed = counters.invalid_utf8 = 0
                    counters.last_error = None
                    yield chunk
            return
        chunk = first
        if chunk is not None and chunk.eof:  # the whole file was read ahead
            self._decide_fallbacks(job, chunk)
            yield chunk
            return
        fd = os.open(job.log.name, os.O_RDONLY)  # plain fd: no buffered file object needed
        try:
            if chunk is None:
                chunk = self._native_chunk(job, fd, job.offset)
            while True:
                self._decide_fallbacks(job, chunk)
                yield chunk
                if chunk.eof:
                    return
                chunk = self._native_chunk(job, fd, chunk.end_offset)
        finally:
            os.close(fd)

    def _decide_fallbacks(self, job: _Job, chunk: _Chunk) -> None:
        """Lines the native scanner left to Python: parse them like the pure-Python path."""
        items = chunk.items
        if 2 not in map(len, items):  # (offset, line) pairs; rows are longer (C-speed check)
            return
        counters = _Counters()
        rows = []
        for item in items:
            if len(item) != 2:
                rows.append(item)
                continue
            offset, line = item
            entry = self._parse(line, offset, job.adapter.parse_line, job.log, counters)
            if entry is not None:
                rows.append(entry.as_row(job.file_id, job.adapter.name))
        chunk.items = rows
        chunk.malformed, chunk.invalid_utf8 = counters.malformed, counters.invalid_utf8
        chunk.last_error = counters.last_error

    # -- writing ----------------------------------------------------------------------------------
    def _ingest_file(self, job: _Job, chunks: Iterator[_Chunk], dedupe: Deduper,
                     result: IngestResult) -> int:  # fmt: skip
        """Apply one file's new rows (in line order) and queue its new offset; returns the
        bytes consumed. Both reach the store at the next flush, always before the transaction
        commits."""
        malformed = invalid_utf8 = oversized = 0
        last_error: str | None = None
        new_offset = job.offset
        sessions, cwds = result.sessions, result.cwds
        add = dedupe.add
        for chunk in chunks:
            items = chunk.items
            for row in items:
                add(row)
            if items:  # set.update over map(): the per-row work stays in C
                sessions.update(map(_SESSION_OF, items))
                cwds.update(map(_CWD_OF, items))
            result.entries_parsed += len(items)
            malformed += chunk.malformed
            invalid_utf8 += chunk.invalid_utf8
            oversized += chunk.oversized
            last_error = chunk.last_error or last_error
            new_offset = chunk.end_offset
        for seen in (sessions, cwds):  # lines without a session id or cwd
            seen.discard(None)
            seen.discard("")
        find_cost = getattr(job.adapter, "last_reported_cost", None)
        if find_cost is not None and new_offset > job.offset:  # the CLI's own cost figure
            try:
                cost = find_cost(job.log, job.offset, new_offset)
            except OSError as exc:  # the entries still count; only this figure is missed
                result.errors.append(f"{job.log.path}: {exc.strerror or exc}")
                cost = None
            if cost is not None:
                self._reported.append(cost.as_row(job.file_id))
                result.sessions.add(cost.session_id)
        st = job.st
        self._file_updates.append(
            (st.st_dev, st.st_ino, max(st.st_size, new_offset), new_offset, st.st_mtime_ns,
             malformed, invalid_utf8, oversized, last_error, job.file_id)
        )  # fmt: skip
        result.files_read += 1
        result.bytes_read += new_offset - job.offset
        result.malformed += malformed
        result.invalid_utf8 += invalid_utf8
        result.oversized += oversized
        return new_offset - job.offset

    # -- reading ----------------------------------------------------------------------------------
    def _read(self, fh, offset: int, adapter: LogAdapter, log: LogFile,
              counters: _Counters) -> Iterator[tuple[int, list[UsageEntry]]]:  # fmt: skip
        """Yield (offset after the last complete line consumed, entries) per chunk."""
        fh.seek(offset)
        needle = adapter.needle
        parse = adapter.parse_line
        max_line = self.max_line
        pieces: list[bytes] = []  # the current incomplete line, in pieces (no quadratic joins)
        pending_len = 0
        skipping = False  # inside an oversized line: drop bytes until its newline
        base = offset  # file offset of the first byte of pieces / of the next chunk
        while True:
            chunk = fh.read(self.chunk_size)
            if not chunk:
                return
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
            if pieces:
                first_nl = chunk.find(b"\n")
                pieces.append(chunk[: first_nl + 1])
                line_start = base
                head = b"".join(pieces)
                pieces.clear()
                pending_len = 0
                entries: list[UsageEntry] = []
                if len(head) - 1 > max_line:
                    counters.oversized += 1
                else:
                    self._scan(head, len(head), line_start, needle, parse, log, counters, entries)
                base += len(head)
                chunk = chunk[first_nl + 1 :]
                last_nl -= first_nl + 1
            else:
                entries = []
            if last_nl >= 0:
                end = last_nl + 1
                self._scan(chunk, end, base, needle, parse, log, counters, entries)
                base += end
                rest = chunk[end:]
            else:
                rest = chunk
            if rest:
                pieces.append(rest)
                pending_len = len(rest)
            yield base, entries

    @staticmethod
    def _scan(buf: bytes, end: int, base: int, needle: bytes, parse, log: LogFile,
              counters: _Counters, out: list[UsageEntry]) -> None:  # fmt: skip
        """Parse the lines of buf[:end] (complete lines) that contain the needle."""
        i = buf.find(needle, 0, end)
        while i >= 0:
            start = buf.rfind(b"\n", 0, i) + 1
            stop = buf.find(b"\n", i, end)
            line = buf[start:stop]
            if line.endswith(b"\r"):
                line = line[:-1]
            entry = Ingestor._parse(line, base + start, parse, log, counters)
            if entry is not None:
                out.append(entry)
            i = buf.find(needle, stop + 1, end)

    @staticmethod
    def _parse(line: bytes, offset: int, parse, log: LogFile,
               counters: _Counters) -> UsageEntry | None:  # fmt: skip
        """One line through the adapter's parser; a bad line is counted, never raised."""
        import orjson

        try:
            return parse(line, log, offset)
        except orjson.JSONDecodeError as exc:
            if "UTF-8" in str(exc) or "utf-8" in str(exc):
                counters.invalid_utf8 += 1
            else:
                counters.malformed += 1
            counters.last_error = f"offset {offset}: {exc}"[:300]
        except (ValueError, TypeError, KeyError) as exc:
            counters.malformed += 1
            counters.last_error = f"offset {offset}: {exc}"[:300]
        return None


_SESSION_OF = operator.itemgetter(3)  # UsageEntry.as_row: session_id
_CWD_OF = operator.itemgetter(4)  # cwd


def _drop_entry_extras(conn: sqlite3.Connection) -> list[str]:
    """Drop the secondary indexes and triggers of `entries` (a bulk load rebuilds what they
    maintain at the end); returns the SQL that recreates them and rebuilds the buckets. The
    unique key index stays: upserts need it, and rows arrive in key order, so it only grows
    at its end."""
    rows = conn.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE type IN ('index', 'trigger') "
        "AND tbl_name = 'entries' AND sql IS NOT NULL AND name != 'entries_key' ORDER BY type"
    ).fetchall()
    for kind, name, _ in rows:
        conn.execute(f'DROP {kind.upper()} "{name}"')
    rebuild = [sql.strip() for sql in REBUILD_BUCKETS.split(";") if sql.strip()]
    return [sql for _, _, sql in rows] + rebuild


def _project_dir(log: LogFile) -> str:
    """`…/projects/<project>` for a log file (its own directory when it has no project)."""
    path = log.name
    if log.project:
        marker = f"{os.sep}{log.project}{os.sep}"
        cut = path.rfind(marker)
        if cut >= 0:
            return path[: cut + len(marker) - 1]
    return os.path.dirname(path)


def ingest_all(store: Store, claude_config_dirs: list[str] | None = None) -> IngestResult:
    """Convenience for CLIs: ingest everything new from the default adapters."""
    return Ingestor(store, claude_config_dirs=claude_config_dirs).run()


__all__ = ["IngestResult", "Ingestor", "ingest_all", "sqlite3"]
