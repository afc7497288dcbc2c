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

import os
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from podium.store import Store
from podium.usage.adapters import LogAdapter, LogFile, default_adapters
from podium.usage.models import ENTRY_COLUMNS, UsageEntry

CHUNK_SIZE = 4 << 20  # 4 MiB reads
MAX_LINE = 64 << 20  # longer lines are skipped (and counted) without being held in memory
BATCH = 5000  # entries per executemany
COMMIT_BYTES = 64 << 20  # commit at least every 64 MiB read

_COLUMNS = [c.strip() for c in ENTRY_COLUMNS.split(",")]
# A kept entry is replaced by a copy that is not a sidechain while it is one (the parent's line
# beats a sub-agent's replay), else by a copy with a larger token total (ccusage 20.0.24).
_REPLACES = (
    "(entries.sidechain = 1 AND excluded.sidechain = 0) OR "
    "(entries.sidechain = excluded.sidechain AND excluded.total > entries.total)"
)
_UPSERT = (
    f"INSERT INTO entries ({ENTRY_COLUMNS}) VALUES ({', '.join('?' * len(_COLUMNS))}) "
    "ON CONFLICT(key) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS if c != "key")
    + f" WHERE {_REPLACES}"
)
_ROW_TOTAL = _COLUMNS.index("total")
_ROW_SIDECHAIN = _COLUMNS.index("sidechain")


def _replaces(new_row: tuple, kept_sidechain: int, kept_total: int) -> bool:
    side = new_row[_ROW_SIDECHAIN]
    if kept_sidechain and not side:
        return True
    return side == kept_sidechain and new_row[_ROW_TOTAL] > kept_total


@dataclass
class IngestResult:
    files_seen: int = 0
    files_read: int = 0
    files_reset: int = 0
    bytes_read: int = 0
    entries_parsed: int = 0
    entries_written: int = 0
    malformed: int = 0
    invalid_utf8: int = 0
    oversized: int = 0
    #: session ids and cwds of entries parsed in this run (what may have changed)
    sessions: set[str] = field(default_factory=set)
    cwds: set[str] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)

    @property
    def skipped(self) -> int:
        return self.malformed + self.invalid_utf8 + self.oversized


@dataclass
class _FileState:
    id: int
    dev: int
    ino: int
    size: int
    offset: int


@dataclass
class _Counters:
    malformed: int = 0
    invalid_utf8: int = 0
    oversized: int = 0
    last_error: str | None = None


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
    ) -> None:
        self.store = store
        self.adapters = adapters if adapters is not None else default_adapters(claude_config_dirs)
        self.max_line = max_line
        self.chunk_size = chunk_size

    # -- discovery ------------------------------------------------------------------------------
    def _targets(self, paths: Iterable[str | os.PathLike[str]] | None) -> list[tuple[LogAdapter, LogFile]]:
        if paths is None:
            return [(a, log) for a in self.adapters for log in a.discover()]
        targets = []
        for raw in paths:
            path = Path(raw)
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
        # (message id, session id) of kept sidechain entries: lines matching one need the
        # replay rule; everything else takes the fast batched upsert
        self._side_pairs = set(
            self.store.conn.execute(
                "SELECT message_id, session_id FROM entries WHERE sidechain = 1"
            ).fetchall()
        )
        targets = self._targets(paths)
        result.files_seen = len(targets)
        pending: list[tuple[LogAdapter, LogFile, os.stat_result, _FileState | None, int]] = []
        reset_projects: set[tuple[str, str | None]] = set()
        for adapter, log in targets:
            try:
                st = os.stat(log.path)
            except OSError:
                continue  # vanished between discovery and stat: its entries stay (history)
            key = str(log.path)
            state = states.get(key)
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
                since_commit = 0
                for adapter, log, st, state, offset in pending:
                    try:
                        since_commit += self._ingest_file(adapter, log, st, state, offset, result)
                    except OSError as exc:
                        result.errors.append(f"{log.path}: {exc.strerror or exc}")
                    if since_commit >= COMMIT_BYTES:
                        conn.execute("COMMIT")
                        conn.execute("BEGIN IMMEDIATE")
                        since_commit = 0
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        return result

    def _with_siblings(self, pending, reset_projects, states):
        """The other files of a reset file's project (resumed sessions, sub-agents) are
        re-read from 0, which is idempotent, so a dedupe winner dropped with the reset file is
        restored from its other copies."""
        queued = {str(p[1].path) for p in pending}
        extra = []
        prefixes = tuple(d + os.sep for d, _ in reset_projects)
        for path, state in states.items():
            if path in queued or not path.startswith(prefixes):
                continue
            p = Path(path)
            for adapter in self.adapters:
                log = adapter.log_file_for(p)
                if log is None:
                    continue
                try:
                    st = os.stat(p)
                except OSError:
                    break
                extra.append((adapter, log, st, state, 0))
                break
        return pending + extra

    def _ingest_file(self, adapter, log: LogFile, st, state: _FileState | None, offset: int,
                     result: IngestResult) -> int:  # fmt: skip
        """Read one file's new lines into the open transaction; returns the bytes consumed."""
        conn = self.store.conn
        path = str(log.path)
        if state is None:
            file_id = conn.execute(
                "INSERT INTO files(path, adapter, dev, ino, size, offset, mtime_ns) "
                "VALUES (?, ?, ?, ?, 0, 0, 0) "
                "ON CONFLICT(path) DO UPDATE SET adapter = excluded.adapter RETURNING id",
                (path, adapter.name, st.st_dev, st.st_ino),
            ).fetchone()[0]
            offset = 0
        else:
            file_id = state.id
            if offset < 0:  # truncated or replaced: forget what it contributed
                conn.execute("DELETE FROM entries WHERE file_id = ?", (file_id,))
                conn.execute(
                    "UPDATE files SET malformed = 0, invalid_utf8 = 0, oversized = 0, "
                    "last_error = NULL WHERE id = ?",
                    (file_id,),
                )
                result.files_reset += 1
                offset = 0
        counters = _Counters()
        before = conn.total_changes
        new_offset = offset
        # streaming copies of one message sit next to each other: collapse them here so
        # SQLite sees each key once per batch
        best: dict[str, tuple] = {}
        sessions, cwds = result.sessions, result.cwds
        side_pairs = self._side_pairs
        with open(log.path, "rb") as fh:
            for end_offset, entries in self._read(fh, offset, adapter, log, counters):
                for e in entries:
                    row = e.as_row(file_id, adapter.name)
                    if e.message_id and (e.sidechain or (e.message_id, e.session_id) in side_pairs):
                        if best:  # keep line order: what came before is applied first
                            conn.executemany(_UPSERT, best.values())
                            best.clear()
                        self._apply_replay_rule(e, row)
                    else:
                        prev = best.get(e.key)
                        if prev is None or _replaces(row, prev[_ROW_SIDECHAIN], prev[_ROW_TOTAL]):
                            best[e.key] = row
                    if e.session_id:
                        sessions.add(e.session_id)
                    if e.cwd:
                        cwds.add(e.cwd)
                result.entries_parsed += len(entries)
                if len(best) >= BATCH:
                    conn.executemany(_UPSERT, best.values())
                    best.clear()
                new_offset = end_offset
        if best:
            conn.executemany(_UPSERT, best.values())
        written = conn.total_changes - before
        conn.execute(
            "UPDATE files SET dev = ?, ino = ?, size = ?, offset = ?, mtime_ns = ?, "
            "malformed = malformed + ?, invalid_utf8 = invalid_utf8 + ?, "
            "oversized = oversized + ?, last_error = COALESCE(?, last_error) WHERE id = ?",
            (st.st_dev, st.st_ino, max(st.st_size, new_offset), new_offset, st.st_mtime_ns,
             counters.malformed, counters.invalid_utf8, counters.oversized,
             counters.last_error, file_id),
        )  # fmt: skip
        result.files_read += 1
        result.bytes_read += new_offset - offset
        result.entries_written += written
        result.malformed += counters.malformed
        result.invalid_utf8 += counters.invalid_utf8
        result.oversized += counters.oversized
        return new_offset - offset

    def _apply_replay_rule(self, e: UsageEntry, row: tuple) -> None:
        """ccusage's second match: a sub-agent (sidechain) copy of a message matches any kept
        entry with the same message id and session id, whatever its request id or time."""
        conn = self.store.conn
        kept = conn.execute(
            "SELECT key, sidechain, total FROM entries WHERE key = ?", (e.key,)
        ).fetchone()
        if kept is None:
            kept = conn.execute(
                "SELECT key, sidechain, total FROM entries WHERE message_id = ? AND "
                "session_id = ? AND (sidechain = 1 OR ?) LIMIT 1",
                (e.message_id, e.session_id, int(e.sidechain)),
            ).fetchone()
        if kept is None:
            conn.execute(_UPSERT, row)
        elif _replaces(row, kept[1], kept[2]):
            if kept[0] != e.key:
                conn.execute("DELETE FROM entries WHERE key = ?", (kept[0],))
            conn.execute(_UPSERT, row)
        if e.sidechain:
            self._side_pairs.add((e.message_id, e.session_id))

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
            try:
                entry = parse(line, log, base + start)
            except orjson.JSONDecodeError as exc:
                if "UTF-8" in str(exc) or "utf-8" in str(exc):
                    counters.invalid_utf8 += 1
                else:
                    counters.malformed += 1
                counters.last_error = f"offset {base + start}: {exc}"[:300]
            except (ValueError, TypeError, KeyError) as exc:
                counters.malformed += 1
                counters.last_error = f"offset {base + start}: {exc}"[:300]
            else:
                if entry is not None:
                    out.append(entry)
            i = buf.find(needle, stop + 1, end)


def _project_dir(log: LogFile) -> str:
    """`…/projects/<project>` for a log file (its own directory when it has no project)."""
    path = str(log.path)
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
