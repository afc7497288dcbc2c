"""Options and helpers shared by the usage commands."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

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
        help="Claude config root holding projects/ (repeatable; default: $CLAUDE_CONFIG_DIR, "
        "else ~/.config/claude and ~/.claude)",
    )
    parser.add_argument("--inbox", metavar="DIR",
                        help="usage inbox folder of JSONL records (default: $PODIUM_INBOX, "
                        "else inbox/ beside the store)")  # fmt: skip


def open_store(args: argparse.Namespace) -> Store:
    return Store(args.db)


def ingest_quietly(store: Store, args: argparse.Namespace) -> IngestResult:
    from podium.usage.ingest import Ingestor

    result = Ingestor(store, claude_config_dirs=args.claude_config_dirs).run()
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


def table(headers: list[str], rows: list[list[str]], right: set[int] | None = None) -> str:
    """A plain aligned text table (numbers right-aligned)."""
    right = right if right is not None else set(range(1, len(headers)))
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows, strict=False)]

    def fmt(cells: list[str]) -> str:
        return "  ".join(
            str(c).rjust(w) if i in right else str(c).ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=False))
        )

    sep = "  ".join("─" * w for w in widths)
    lines = [fmt(headers), sep, *(fmt(r) for r in rows)]
    return "\n".join(lines)


def n(value: int) -> str:
    return f"{value:,}"


def usd(value: float) -> str:
    return f"${value:,.2f}"
