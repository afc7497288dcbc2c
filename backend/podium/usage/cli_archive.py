"""`podium archive --older-than 90d [--dry-run]`: move old usage into monthly archive databases
(`archive/YYYY-MM.db` beside the store) and shrink the store; reports read them back with
`--include-archive` (podium.store.archive)."""

from __future__ import annotations

import argparse
import json
import sys
import time

from podium.errors import PodiumError
from podium.usage.cli_common import add_store_options, ingest_quietly, open_store


def configure(parser: argparse.ArgumentParser) -> None:
    add_store_options(parser)
    parser.add_argument("--older-than", required=True, metavar="AGE",
                        help="archive usage older than this: 90d, 12w, 48h")  # fmt: skip
    parser.add_argument("--dry-run", action="store_true", help="only say what would move")
    parser.add_argument("--json", action="store_true", help="print the outcome as JSON")
    parser.add_argument("--no-ingest", action="store_true", help="archive the store as it is")


def run(args: argparse.Namespace) -> int:
    from podium.store.archive import archive
    from podium.usage.inbox import default_inbox_dir, prune
    from podium.usage.usage_report import parse_last

    try:
        cutoff = int(time.time() * 1000) - parse_last(args.older_than, "--older-than")
        with open_store(args) as store:
            if not args.no_ingest:
                ingest_quietly(store, args)
            result = archive(store, cutoff, dry_run=args.dry_run)
            result.inbox_pruned = prune(store, args.inbox or default_inbox_dir(store.path),
                                        cutoff, dry_run=args.dry_run)  # fmt: skip
    except PodiumError as exc:
        print(f"podium: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result.as_dict()))
        return 0
    verb = "would move" if args.dry_run else "moved"
    for path in result.inbox_pruned:
        print(f"inbox: {'would delete' if args.dry_run else 'deleted'} {path} (read to its end)")
    if not result.months:
        age = args.older_than.strip()
        print(f"nothing older than {age + ' days' if age.isdigit() else age} to archive")
        return 0
    for month in result.months:
        print(f"{month.month}: {verb} {month.entries:,} entries, {month.records:,} records "
              f"→ {month.path}")  # fmt: skip
    if not args.dry_run:
        print(f"store: {result.bytes_before / 1e6:,.1f} MB → {result.bytes_after / 1e6:,.1f} MB")
    return 0
