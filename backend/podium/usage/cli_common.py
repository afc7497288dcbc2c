"""Options and helpers shared by the usage commands."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

from podium.errors import InvalidInput
from podium.store import Store

if TYPE_CHECKING:
    from podium.usage.inbox import InboxResult
    from podium.usage.ingest import IngestResult


def add_store_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", help="store path (default: $PODIUM_DB or the user data dir)")
    parser.add_argument(
        "--claude-config-dir",
        action="append",
        dest="claude_config_dirs",
        metavar="DIR",
        help="Claude config root holding projects/, or that projects/ folder itself "
        "(repeatable; default: $CLAUDE_CONFIG_DIR, else ~/.config/claude and ~/.claude)",
    )
    parser.add_argument("--inbox", metavar="DIR",
                        help="usage inbox folder of JSONL records (default: $PODIUM_INBOX, "
                        "else inbox/ beside the store)")  # fmt: skip


def add_output_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--compact", action="store_true",
                        help="the narrow table (fewer columns), whatever the terminal's width")  # fmt: skip
    color = parser.add_mutually_exclusive_group()
    color.add_argument("--color", dest="color", action="store_const", const=True, default=None,
                       help="colour even when piped (FORCE_COLOR=1 does the same)")  # fmt: skip
    color.add_argument("--no-color", dest="color", action="store_const", const=False,
                       help="no colour (NO_COLOR=1 does the same)")  # fmt: skip


#: a command may leave up to this much WAL for later runs instead of checkpointing it on close
#: (see `release`); past it, closing checkpoints as usual
CLI_WAL_BYTES = 16 << 20
#: stores a command left open for the process to exit without closing (podium.cli.entry)
LEFT_OPEN: list[Store] = []


def open_store(args: argparse.Namespace, *, keep_wal: bool = False,
               read_only: bool = False) -> Store:  # fmt: skip
    """The store of `--db`, checked first so that a bad path is one clear line. `keep_wal`: a
    command that ends with `release(store)`; its commits leave the WAL to grow to
    CLI_WAL_BYTES rather than checkpoint every 4 MB. `read_only`: a command that only reads
    (`--no-ingest`); a store it cannot write, or whose folder it cannot write, is opened
    read-only (podium.store.db) instead of refused."""
    path = getattr(args, "db", None)
    if path == "-":
        raise InvalidInput("--db - is not a store: give a file path", field="db")
    if path and os.path.isdir(path):
        raise InvalidInput(f"--db {path} is a folder; give the store's file path, e.g. "
                           f"{os.path.join(path, 'podium.db')}", field="db")  # fmt: skip
    target = os.path.abspath(path or _default_db())
    folder = os.path.dirname(target)
    while folder and not os.path.exists(folder):  # the first part of the path that exists
        folder = os.path.dirname(folder) if os.path.dirname(folder) != folder else ""
    if folder and not os.path.isdir(folder):
        raise InvalidInput(f"cannot create the store {target}: {folder} is a file, not a folder",
                           field="db")  # fmt: skip
    try:
        _check_writable(target, folder)
    except InvalidInput:
        if not (read_only and os.path.isfile(target) and os.access(target, os.R_OK)):
            raise
        return Store(target, readonly=True)
    return Store(path, autocheckpoint=CLI_WAL_BYTES // 4096 if keep_wal else None)


def release(store: Store) -> None:
    """The end of a command's use of the store. The last connection to close a WAL store
    copies the WAL back into the database and syncs it (~10 ms after a +1 % ingest, the CLI's
    biggest cost after imports). While the WAL is short, skip that: the process exits without
    closing (podium.cli.entry), the WAL keeps the committed transactions (SQLite reads them
    from it, as after any exit), and a later run, the server's idle checkpoint or a run that
    finds the WAL past CLI_WAL_BYTES copies many runs' pages back at once."""
    try:
        wal = os.path.getsize(store.path + "-wal")
    except OSError:
        wal = 0
    if wal < CLI_WAL_BYTES:
        LEFT_OPEN.append(store)
    else:
        store.close()


def _check_writable(target: str, folder: str) -> None:
    """Say why SQLite could not open the store before it says "unable to open database file"."""
    elsewhere = "; point --db or PODIUM_DB at a writable place"
    try:
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            raise InvalidInput(f"the store {target} is on a read-only file system{elsewhere}",
                               field="db")  # fmt: skip
    except OSError:
        return
    if os.path.exists(target) and not os.access(target, os.R_OK | os.W_OK):
        raise InvalidInput(f"the store {target} cannot be read and written by this user "
                           f"(permission denied){elsewhere}", field="db")  # fmt: skip
    beside = os.path.exists(target + "-wal") and os.path.exists(target + "-shm")
    if not os.access(folder, os.W_OK | os.X_OK) and not (os.path.exists(target) and beside):
        # SQLite creates the store, then its -wal and -shm files, in this folder
        raise InvalidInput(f"the folder {folder} cannot be written by this user (permission "
                           f"denied): the store {target} needs it for itself and its -wal and "
                           "-shm files; make it writable, or point --db or PODIUM_DB at a "
                           "writable place", field="db")  # fmt: skip


def _default_db() -> str:
    from podium.store.db import default_db_path

    return default_db_path()


def log_roots(args: argparse.Namespace) -> list[str] | None:
    """The Claude roots asked for (`--claude-config-dir`, else `CLAUDE_CONFIG_DIR`), checked:
    each must exist (a typo is named, not read as "no usage"); a path that is a `projects/`
    folder itself stands for its parent. None: the default roots (~/.config/claude, ~/.claude),
    which may be missing."""
    given = getattr(args, "claude_config_dirs", None)
    source = "--claude-config-dir"
    if not given:
        env = os.environ.get("CLAUDE_CONFIG_DIR", "").strip()
        given = [p.strip() for p in env.split(",") if p.strip()]
        source = "CLAUDE_CONFIG_DIR"
    if not given:
        return None
    roots = []
    for raw in given:
        path = os.path.normpath(os.path.expanduser(raw))
        if not os.path.exists(path):
            raise InvalidInput(f"log root {path} (from {source}) does not exist; it should be "
                               "the folder holding Claude Code's projects/",
                               field="claude_config_dir")  # fmt: skip
        if not os.path.isdir(path):
            raise InvalidInput(f"log root {path} (from {source}) is a file, not a folder",
                               field="claude_config_dir")  # fmt: skip
        if not os.access(path, os.R_OK | os.X_OK):
            raise InvalidInput(f"log root {path} (from {source}) cannot be read: permission "
                               "denied", field="claude_config_dir")  # fmt: skip
        if os.path.basename(path) == "projects" and not os.path.isdir(os.path.join(path, "projects")):
            path = os.path.dirname(path)
        roots.append(path)
    return roots


def ingest_quietly(store: Store, args: argparse.Namespace) -> IngestResult:
    from podium.usage.ingest import Ingestor

    result = Ingestor(store, claude_config_dirs=log_roots(args)).run()
    for err in result.errors:
        print(f"podium: warning: {err}", file=sys.stderr)
    result.inbox = ingest_inbox(store, getattr(args, "inbox", None))
    return result


def ingest_inbox(store: Store, directory: str | None = None) -> InboxResult:
    """Read the usage inbox (podium.usage.inbox); bad records are named on stderr."""
    from podium.usage.inbox import Inbox

    result = Inbox(store, directory).run()
    for err in result.errors:
        print(f"podium: warning: inbox: {err}", file=sys.stderr)
    return result


def ingest_for_report(store: Store, args: argparse.Namespace) -> IngestResult:
    """Ingest before a report. A first ingest into an empty store shows a spinner on a
    terminal's stderr (it can take seconds on a large history); nothing is shown on a pipe."""
    first = store.conn.execute("SELECT 1 FROM files LIMIT 1").fetchone() is None
    show = first and _stderr_tty()
    if show:
        from podium.cli_ui.progress import first_ingest

        with first_ingest():
            result = ingest_quietly(store, args)
    else:
        result = ingest_quietly(store, args)
    if result.skipped:
        print(f"podium: skipped {result.skipped} unreadable log lines (see `podium doctor`)",
              file=sys.stderr)  # fmt: skip
    if first and not result.files_seen and not getattr(args, "claude_config_dirs", None):
        from podium.usage.adapters.claude import claude_roots

        print("podium: no Claude Code logs found (looked in " + ", ".join(claude_roots()) +
              "); set CLAUDE_CONFIG_DIR or pass --claude-config-dir", file=sys.stderr)  # fmt: skip
    return result


def _stderr_tty() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def usd(value: float) -> str:
    """$1,234.56, as every table shows money."""
    return f"${value:,.2f}"
