"""Incremental ingest: read only what was appended since last time, exactly once.

Per file the store keeps (dev, inode, size, offset). A run stats every file, reads the bytes
past `offset`, and consumes only complete lines: a half-written last line stays unread until its
newline arrives. A file that shrank or got a new inode was truncated or replaced: its entries are
dropped and it is read again from 0, together with the other files of its project (resumed
sessions copy lines between them), which is safe because every upsert is idempotent: the entry
key is the dedupe key, and the copy with the largest token total wins.

A file that kept its inode and grew is also read again from 0 when the bytes before its offset
changed (`fingerprint`): it was rewritten in place, not appended to.

Only regular files are opened (non-blocking, checked on the open fd): a FIFO or a symlink to a
device is skipped and its reason kept on its `files` row. Each run reads a file no further than
the size it had when stat'ed. Only lines containing the adapter's needle (`"usage"`, or a
`\\u` escape that could spell it) are parsed at all; the rest (user turns, tool results,
multi-hundred-MB `file-history-snapshot` lines) are skipped at memchr speed and never become
Python objects. A line that cannot be used is skipped and counted by reason (malformed, invalid
UTF-8, a number out of range, oversized), never the file, and never the run.
"""

from __future__ import annotations

import contextlib
import operator
import os
import sqlite3
import stat
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

from podium.redact import scrub_secrets
from podium.store import Store
from podium.store.rollups import REBUILD_BUCKETS_FROM_HISTORY, REBUILD_HISTORY
from podium.usage.adapters import LogAdapter, LogFile, default_adapters
from podium.usage.dedupe import Deduper
from podium.usage.reading import (
    NATIVE_LIMIT,
    Chunk,
    FileJob,
    NotRegularFile,
    chunks,
    file_kind,
    rewritten,
)

if TYPE_CHECKING:
    from podium.usage.inbox import InboxResult

CHUNK_SIZE = 4 << 20  # 4 MiB reads
MAX_LINE = 64 << 20  # longer lines are skipped (and counted) without being held in memory
COMMIT_BYTES = 64 << 20  # commit at least every 64 MiB read
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

    #: the inbox run alongside (set by podium.usage.cli_common.ingest_quietly)
    inbox: InboxResult

    def __init__(self) -> None:
        self.files_seen = 0
        self.files_read = 0
        self.files_reset = 0
        self.bytes_read = 0
        self.entries_parsed = 0
        self.entries_written = 0
        self.malformed = 0
        self.invalid_utf8 = 0
        self.out_of_range = 0
        self.oversized = 0
        #: files not read: not regular (FIFO, device, ...) or unreadable
        self.files_skipped = 0
        #: session ids and cwds of entries parsed in this run (what may have changed)
        self.sessions: set[str] = set()
        self.cwds: set[str] = set()
        self.errors: list[str] = []

    @property
    def skipped(self) -> int:
        return self.malformed + self.invalid_utf8 + self.out_of_range + self.oversized

    def __repr__(self) -> str:
        return f"IngestResult({self.__dict__!r})"


_Pending = tuple  # (adapter, log, stat, _FileState | None, offset; -1 = read again from 0)
_FILE_UPDATE = (
    "UPDATE files SET dev = ?, ino = ?, size = ?, offset = ?, mtime_ns = ?, "
    "malformed = malformed + ?, invalid_utf8 = invalid_utf8 + ?, "
    "out_of_range = out_of_range + ?, oversized = oversized + ?, "
    "last_error = COALESCE(?, last_error), fingerprint = ?, skipped = NULL WHERE id = ?"
)
#: a file not read, with why (a row is kept so `podium doctor` can show it)
_FILE_SKIPPED = (
    "INSERT INTO files(path, adapter, dev, ino, size, offset, mtime_ns, skipped) "
    "VALUES (?, ?, 0, 0, 0, 0, 0, ?) ON CONFLICT(path) DO UPDATE SET skipped = excluded.skipped"
)


class _FileState:
    __slots__ = ("dev", "fingerprint", "id", "ino", "mtime_ns", "offset", "size", "skipped")

    def __init__(self, id: int, dev: int, ino: int, size: int, offset: int, mtime_ns: int,
                 fingerprint: int | None, skipped: str | None) -> None:  # fmt: skip
        self.id, self.dev, self.ino, self.size, self.offset = id, dev, ino, size, offset
        self.mtime_ns, self.fingerprint, self.skipped = mtime_ns, fingerprint, skipped


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
        self._skips: list[tuple] = []  # (path, adapter, reason) for _FILE_SKIPPED

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
        rows = self.store.conn.execute(
            "SELECT path, id, dev, ino, size, offset, mtime_ns, fingerprint, skipped FROM files"
        )
        return {r[0]: _FileState(*r[1:]) for r in rows}

    # -- the run ----------------------------------------------------------------------------------
    def run(self, paths: Iterable[str | os.PathLike[str]] | None = None) -> IngestResult:
        """Ingest every known log file (paths=None) or just the given ones."""
        result = IngestResult()
        self._file_updates.clear()  # (left over only if a previous run was rolled back)
        self._skips.clear()
        states = self._load_states()
        targets = self._targets(paths)
        result.files_seen = len(targets)
        pending: list[_Pending] = []
        reset_projects: set[tuple[str, str | None]] = set()
        for adapter, log in targets:
            try:
                st = os.stat(log.name)  # follows symlinks; never blocks, even on a FIFO
            except OSError:
                continue  # vanished between discovery and stat: its entries stay (history)
            state = states.get(log.name)
            if not stat.S_ISREG(st.st_mode):
                self._skip(adapter, log, state, f"not a regular file ({file_kind(st.st_mode)})",
                           result)  # fmt: skip
            elif state is None:
                pending.append((adapter, log, st, None, 0))
            elif state.skipped and state.offset == 0:  # never read (was a FIFO, unreadable)
                pending.append((adapter, log, st, state, 0))
            elif (st.st_dev, st.st_ino) != (state.dev, state.ino) or st.st_size < state.offset:
                pending.append((adapter, log, st, state, -1))  # truncated or replaced
                reset_projects.add((_project_dir(log), log.project))
            elif st.st_size != state.size or st.st_mtime_ns != state.mtime_ns or state.skipped:
                # (unchanged since the last read, a half-written last line is not read again)
                if rewritten(log.name, state.offset, state.fingerprint):  # same inode, new bytes
                    pending.append((adapter, log, st, state, -1))
                    reset_projects.add((_project_dir(log), log.project))
                elif st.st_size > state.offset or state.skipped:
                    pending.append((adapter, log, st, state, state.offset))
        if reset_projects:
            pending = self._with_siblings(pending, reset_projects, states)
        if not pending and not self._skips:
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
                    except NotRegularFile as exc:  # swapped for a FIFO or device since stat
                        self._skip(job.adapter, job.log, None, str(exc), result)
                        read = 0
                    except OSError as exc:
                        reason = f"unreadable: {exc.strerror or exc}"
                        result.errors.append(f"{job.log.name}: {reason}")
                        self._skip(job.adapter, job.log, None, reason, result)
                        read = 0
                    except sqlite3.Error:
                        raise  # the store's trouble, not this file's: the run stops, rolled back
                    except Exception as exc:  # whatever a file provokes, the others are read
                        reason = f"not read: {type(exc).__name__}: {exc}"[:300]
                        result.errors.append(f"{job.log.name}: {reason}")
                        self._skip(job.adapter, job.log, None, reason, result)
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
                conn.execute("COMMIT")
            except BaseException:
                # nothing of a failed run may outlive it (a full disk: the next run reads the
                # same bytes again); SQLite may have rolled back already
                self._file_updates.clear()
                if conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                raise
        return result

    def _flush(self, dedupe: Deduper, result: IngestResult) -> None:
        """Entries and file offsets, written together before a commit."""
        result.entries_written += dedupe.flush()
        if self._reported:
            from podium.usage.reported import upsert

            upsert(self.store.conn, self._reported)
            self._reported.clear()
        if self._file_updates:
            self.store.conn.executemany(_FILE_UPDATE, self._file_updates)
            self._file_updates.clear()
        if self._skips:
            self.store.conn.executemany(_FILE_SKIPPED, self._skips)
            self._skips.clear()

    def _skip(self, adapter: LogAdapter, log: LogFile, state: _FileState | None, reason: str,
              result: IngestResult) -> None:  # fmt: skip
        """A file not read this run: counted, and its reason kept (written only when it
        changed, so a FIFO left in place costs no write per run). Its entries stay."""
        result.files_skipped += 1
        if state is None or state.skipped != reason:
            self._skips.append((log.name, adapter.name, reason))

    def _with_siblings(self, pending: list[_Pending], reset_projects: set[tuple[str, str | None]],
                       states: dict[str, _FileState]) -> list[_Pending]:  # fmt: skip
        """The other files of a reset file's project (resumed sessions, sub-agents) are
        re-read from 0, which is idempotent, so a dedupe winner dropped with the reset file is
        restored from its other copies."""
        queued = {p[1].name for p in pending}
        extra = []
        prefixes = tuple(d + os.sep for d, _ in reset_projects)
        for path, state in states.items():
            if path in queued or state.skipped or not path.startswith(prefixes):
                continue  # (a skipped file is queued already when it can be read now)
            for adapter in self.adapters:
                log = adapter.log_file_for(path)
                if log is None:
                    continue
                try:
                    st = os.stat(path)
                except OSError:
                    break
                if stat.S_ISREG(st.st_mode):
                    extra.append((adapter, log, st, state, 0))
                break
        return pending + extra

    def _prepare_files(self, pending: list[_Pending], result: IngestResult) -> list[FileJob]:
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
                        "UPDATE files SET malformed = 0, invalid_utf8 = 0, out_of_range = 0, "
                        "oversized = 0, last_error = NULL WHERE id = ?",
                        (file_id,),
                    )
                    result.files_reset += 1
                    offset = 0
            native = getattr(adapter, "scan_native", None) if self.native else None
            jobs.append(FileJob(adapter, log, st, file_id, offset, native))
        return jobs

    # -- scanning ---------------------------------------------------------------------------------
    def _scanned(self, jobs: list[FileJob]) -> Iterator[tuple[FileJob, Iterator[Chunk]]]:
        """Each job with its chunks, in order. With enough bytes to read, an adapter's native
        prefetcher reads and parses the next files on its own thread (no GIL) while this
        thread dedupes and writes; it stays a bounded number of bytes ahead."""
        native = [j for j in jobs if j.native is not None]
        pending_bytes = sum(max(j.st.st_size - j.offset, 0) for j in native)
        if self.workers < 2 or pending_bytes < PARALLEL_BYTES or len(native) < PREFETCH_MIN_FILES:
            for job in jobs:
                yield job, chunks(job, None, self.chunk_size, self.max_line)
            return
        fetchers: dict[int, Callable[..., tuple] | None] = {}
        for adapter in {id(j.adapter): j.adapter for j in native}.values():
            mine = [j for j in native if j.adapter is adapter]
            make = getattr(adapter, "prefetch_native", None)
            fetchers[id(adapter)] = make(
                [j.log for j in mine], [j.offset for j in mine], NATIVE_LIMIT, self.max_line,
                self.chunk_size, PREFETCH_HELD, PREFETCH_THREADS, [j.st.st_size for j in mine],
            ) if make is not None else None  # fmt: skip
        for job in jobs:
            fetch = fetchers.get(id(job.adapter)) if job.native is not None else None
            first = None
            if fetch is not None:
                try:
                    items, end_offset, oversized, eof = fetch(job.file_id, job.log)
                    first = Chunk(items, end_offset, oversized, eof)
                except OSError:
                    first = None  # read again below, where the error is recorded for the file
            yield job, chunks(job, first, self.chunk_size, self.max_line)

    # -- writing ----------------------------------------------------------------------------------
    def _ingest_file(self, job: FileJob, chunks: Iterator[Chunk], dedupe: Deduper,
                     result: IngestResult) -> int:  # fmt: skip
        """Apply one file's new rows (in line order) and queue its new offset; returns the
        bytes consumed. Both reach the store at the next flush, always before the transaction
        commits."""
        malformed = invalid_utf8 = out_of_range = oversized = 0
        last_error: str | None = None
        new_offset = job.offset
        sessions, cwds = result.sessions, result.cwds
        add = dedupe.add
        for chunk in chunks:
            items = _without_secrets(chunk.items)
            for row in items:
                add(row)
            if items:  # set.update over map(): the per-row work stays in C
                sessions.update(map(_SESSION_OF, items))
                cwds.update(map(_CWD_OF, items))
            result.entries_parsed += len(items)
            counted = chunk.counters
            malformed += counted.malformed
            invalid_utf8 += counted.invalid_utf8
            out_of_range += counted.out_of_range
            oversized += counted.oversized
            last_error = counted.last_error or last_error
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
             malformed, invalid_utf8, out_of_range, oversized, last_error, job.fingerprint,
             job.file_id)
        )  # fmt: skip
        result.files_read += 1
        result.bytes_read += new_offset - job.offset
        result.malformed += malformed
        result.invalid_utf8 += invalid_utf8
        result.out_of_range += out_of_range
        result.oversized += oversized
        return new_offset - job.offset


_SESSION_OF = operator.itemgetter(3)  # UsageEntry.as_row: session_id
_CWD_OF = operator.itemgetter(4)  # cwd
#: the free-text columns of a row (UsageEntry.as_row: cwd, project, model, speed)
_TEXT_COLUMNS = (4, 5, 6, 17)


def _without_secrets(rows: list[tuple]) -> list[tuple]:
    """Rows whose free text (a cwd, a model name) holds no key or token: a key in a path
    would otherwise be kept in the store and shown in reports and exports. Such values repeat
    on every line: the distinct ones of a chunk are checked (cached), and rows are rebuilt only
    in the rare chunk that holds a secret."""
    if not rows:
        return rows
    dirty = {value for column in _TEXT_COLUMNS
             for value in set(map(operator.itemgetter(column), rows))
             if value and scrub_secrets(value) != value}  # fmt: skip
    if not dirty:
        return rows
    return [
        tuple(scrub_secrets(v) if i in _TEXT_COLUMNS and v in dirty else v for i, v in enumerate(row))
        for row in rows
    ]


def _drop_entry_extras(conn: sqlite3.Connection) -> list[str]:
    """Drop the secondary indexes and triggers of `entries` (a bulk load rebuilds what they
    maintain at the end); returns the SQL that recreates them and rebuilds the sums. The
    unique key index stays: upserts need it, and rows arrive in key order, so it only grows
    at its end."""
    rows = conn.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE type IN ('index', 'trigger') "
        "AND tbl_name = 'entries' AND sql IS NOT NULL AND name != 'entries_key' ORDER BY type"
    ).fetchall()
    for kind, name, _ in rows:
        conn.execute(f'DROP {kind.upper()} "{name}"')
    # the history sums from the entries, the report buckets from them (fewer rows to read)
    script = REBUILD_HISTORY + REBUILD_BUCKETS_FROM_HISTORY
    rebuild = [sql.strip() for sql in script.split(";") if sql.strip()]
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
