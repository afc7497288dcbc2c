"""The inbox: a folder of JSON Lines files any program may append usage records to (one record
per line, the shape of podium.usage.records), read incrementally like the CLIs' logs.

Where: `$PODIUM_INBOX`, else `inbox/` beside the store (the Podium data dir by default). Per file
the store keeps (dev, inode, size, offset) in `files` (adapter 'inbox'), so each run reads only
complete lines appended since the last one; a half-written last line waits for its newline. A
record without an `id` is keyed by its file and offset, so reading a line twice never counts it
twice. A bad line is counted on its file (`podium doctor`) with its error; the others are kept.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, BinaryIO

from podium.store import Store

if TYPE_CHECKING:
    import sqlite3

if TYPE_CHECKING:  # imported when a file has new lines: an empty inbox (most runs) costs
    # `podium report` no import of records, uuid and platform
    from podium.usage.records import LoggedRecord

ENV_INBOX = "PODIUM_INBOX"
ADAPTER = "inbox"
#: a pruned file's `files` row is renamed PATH#pruned-N, so a new file written under the same
#: name later is generation N and its records get ids of their own (see `_generation`)
PRUNED = "#pruned-"
CHUNK = 4 << 20
MAX_LINE = 16 << 20  # a longer line (a script that logged a whole prompt) is skipped, counted
MAX_ERRORS = 20  # per run, in the result (the files table keeps each file's last one)


def default_inbox_dir(store_path: str | None = None) -> str:
    """`$PODIUM_INBOX`, else `inbox/` beside the store (default: the user data dir)."""
    env = os.environ.get(ENV_INBOX, "").strip()
    if env:
        return os.path.abspath(os.path.expanduser(env))
    if store_path is None:
        from podium.store.db import default_db_path

        store_path = default_db_path()
    return os.path.join(os.path.dirname(os.path.abspath(store_path)), "inbox")


class InboxResult:
    def __init__(self) -> None:
        self.files_read = 0
        self.records = 0  # valid records read
        self.written = 0  # of which new (not seen before)
        self.llm_written = 0
        self.bad = 0
        self.oversized = 0
        self.errors: list[str] = []

    def __repr__(self) -> str:
        return f"InboxResult({self.__dict__!r})"


class Inbox:
    """Reads one inbox folder into one store. One Inbox per writer connection."""

    def __init__(self, store: Store, directory: str | None = None) -> None:
        self.store = store
        self.directory = os.path.abspath(directory or default_inbox_dir(store.path))

    def owns(self, path: str) -> bool:
        path = os.path.abspath(path)
        return path.endswith(".jsonl") and path.startswith(self.directory.rstrip(os.sep) + os.sep)

    def files(self) -> list[str]:
        out: list[str] = []
        for root, dirs, names in os.walk(self.directory):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            out.extend(os.path.join(root, n) for n in names if n.endswith(".jsonl"))
        return sorted(out)

    def run(self, paths: list[str] | None = None) -> InboxResult:
        """Read what was appended to the inbox files (all of them, or just `paths`)."""
        result = InboxResult()
        targets = self.files() if paths is None else sorted(p for p in paths if self.owns(p))
        if not targets:
            return result
        conn = self.store.conn
        marks = ", ".join("?" * len(targets))
        states = {row[0]: row[1:] for row in conn.execute(
            f"SELECT path, id, dev, ino, offset FROM files WHERE path IN ({marks})", targets)}  # fmt: skip
        with self.store.transaction():
            for path in targets:
                try:
                    self._read_file(path, states.get(path), result)
                except OSError as exc:  # gone or unreadable: the others are still read
                    _note(result, f"{path}: {exc.strerror or exc}")
        return result

    def _read_file(self, path: str, state: tuple | None, result: InboxResult) -> None:
        conn = self.store.conn
        with open(path, "rb") as fh:
            st = os.fstat(fh.fileno())
            if state is None:
                file_id = conn.execute(
                    "INSERT INTO files(path, adapter, dev, ino, size, offset, mtime_ns) "
                    "VALUES (?, ?, ?, ?, 0, 0, 0) ON CONFLICT(path) DO UPDATE SET "
                    "adapter = excluded.adapter RETURNING id",
                    (path, ADAPTER, st.st_dev, st.st_ino),
                ).fetchone()[0]
                offset = 0
            else:
                file_id, dev, ino, offset = state
                if (st.st_dev, st.st_ino) != (dev, ino) or st.st_size < offset:
                    offset = 0  # replaced or truncated: read again (records are keyed)
            if st.st_size <= offset:
                return
            generation = _generation(conn, path)
            name = os.path.basename(path) + (f"#{generation}" if generation else "")
            records, end, bad, oversized, last_error = _read_lines(fh, path, name, offset,
                                                                   st.st_size, result)  # fmt: skip
        result.files_read += 1
        result.records += len(records)
        result.bad += bad
        result.oversized += oversized
        from podium.usage.records import write_records

        new, new_llm = write_records(conn, records, file_id)
        result.written += new
        result.llm_written += new_llm
        conn.execute(
            "UPDATE files SET dev = ?, ino = ?, size = ?, offset = ?, mtime_ns = ?, "
            "malformed = malformed + ?, oversized = oversized + ?, "
            "last_error = COALESCE(?, last_error) WHERE id = ?",
            (st.st_dev, st.st_ino, max(st.st_size, end), end, st.st_mtime_ns, bad, oversized,
             last_error, file_id),
        )  # fmt: skip


def _generation(conn: sqlite3.Connection, path: str) -> int:
    """How many files under this path were pruned before: a record without an `id` is keyed by
    file name and offset, and a new file under a pruned one's name must not reuse its keys (its
    lines would be taken for the old ones and not counted)."""
    prefix = path + PRUNED
    return int(conn.execute(  # a range on the path's index: every row starting with prefix
        "SELECT COUNT(*) FROM files WHERE path >= ? AND path < ? AND adapter = ?",
        (prefix, prefix + "\U0010ffff", ADAPTER)).fetchone()[0])  # fmt: skip


def _read_lines(fh: BinaryIO, path: str, name: str, offset: int, size: int,
                result: InboxResult) -> tuple[list[LoggedRecord], int, int, int, str | None]:  # fmt: skip
    """Complete lines of [offset, size) as records; returns (records, offset after the last
    complete line, bad lines, oversized lines, the last error)."""
    import orjson

    from podium.usage.records import RecordError, parse_record

    records: list[LoggedRecord] = []
    bad = oversized = 0
    last_error = None
    fh.seek(offset)
    pending = b""
    base = offset  # file offset of pending[0]
    skipping = False
    while base + len(pending) < size:
        chunk = fh.read(min(CHUNK, size - base - len(pending)))
        if not chunk:
            break
        data = pending + chunk
        start = 0
        while True:
            nl = data.find(b"\n", start)
            if nl < 0:
                break
            line = data[start:nl].strip()
            line_at = base + start
            start = nl + 1
            if skipping:
                skipping = False
                continue
            if not line:
                continue
            try:
                raw = orjson.loads(line)
                if isinstance(raw, dict) and "id" not in raw:
                    raw["id"] = f"{name}@{line_at}"
                records.append(parse_record(raw, via="inbox"))
            except (orjson.JSONDecodeError, RecordError) as exc:
                bad += 1
                field = getattr(exc, "field", None)
                last_error = f"offset {line_at}: {field + ': ' if field else ''}{exc}"[:300]
                _note(result, f"{path}: {last_error}")
        pending = data[start:]
        base += start
        if len(pending) > MAX_LINE:  # drop it; the rest of the line goes when its \n comes
            oversized += 1
            base += len(pending)
            pending = b""
            skipping = True
    # an oversized line not ended yet is resumed inside: its tail counts as a bad line
    return records, base, bad, oversized, last_error


def _note(result: InboxResult, message: str) -> None:
    if len(result.errors) < MAX_ERRORS:
        result.errors.append(message)


def prune(store: Store, directory: str, cutoff_ms: int, *, dry_run: bool = False) -> list[str]:
    """Retention: delete the inbox files read to their end (the `files` checkpoint is at their
    current size, same inode) and last modified before `cutoff_ms`; their records live on in
    the store or its archives. A file not fully read (a half line pending, never read, or
    replaced) or modified since the cutoff is kept. Returns the files deleted (`dry_run`: the
    files that would be). A writer still holding such a file open would write into the void:
    podium.track reopens its file when it finds it unlinked; the age guards the others."""
    inbox = Inbox(store, directory)
    paths = inbox.files()
    if not paths:
        return []
    marks = ", ".join("?" * len(paths))
    checkpoints = {row[0]: row[1:] for row in store.conn.execute(
        f"SELECT path, dev, ino, size, offset FROM files WHERE adapter = ? AND path IN ({marks})",
        (ADAPTER, *paths))}  # fmt: skip
    gone: list[str] = []
    for path in paths:
        mark = checkpoints.get(path)
        try:
            st = os.stat(path)
        except OSError:
            continue
        if mark is None or st.st_mtime_ns >= cutoff_ms * 1_000_000:
            continue
        dev, ino, size, offset = mark
        if (st.st_dev, st.st_ino) != (dev, ino) or not st.st_size == size == offset:
            continue
        if not dry_run:
            try:
                os.unlink(path)
            except OSError:
                continue  # gone already, or the folder is read-only: kept, nothing lost
            with store.transaction() as conn:  # the next file of this name: a new generation
                conn.execute("UPDATE files SET path = ? WHERE adapter = ? AND path = ?",
                             (f"{path}{PRUNED}{_generation(conn, path) + 1}", ADAPTER, path))
        gone.append(path)
    return gone
