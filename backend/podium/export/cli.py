"""`podium export`: the same options as the `podium/export` request."""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
from pathlib import Path

from podium.errors import PodiumError
from podium.export.core import FORMATS, GROUPINGS


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=FORMATS, default="csv")
    parser.add_argument("--group-by", choices=GROUPINGS, default="entry")
    parser.add_argument("--since", help="first day, YYYY-MM-DD (inclusive, your time zone)")
    parser.add_argument("--until", help="last day, YYYY-MM-DD (inclusive)")
    parser.add_argument("--agent", action="append", dest="agent_ids", metavar="AGENT_ID",
                        help="only these agents (repeatable)")  # fmt: skip
    parser.add_argument("--path", help="output file (default: <workspace>/.podium/exports/…); "
                        "`-` writes to stdout")  # fmt: skip
    parser.add_argument("--overwrite", action="store_true", help="replace an existing file")
    parser.add_argument("--workspace", default=".", help="workspace root (default: cwd)")
    parser.add_argument("--timezone", "-z", help="IANA zone for dates (default: local)")
    parser.add_argument("--db", help="store path (default: $PODIUM_DB or the user data dir)")
    parser.add_argument("--no-ingest", action="store_true", help="export the store as it is")
    parser.add_argument("--include-archive", action="store_true",
                        help="also the usage `podium archive` moved into archive/*.db")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from podium.export.core import export_usage
    from podium.store import Store
    from podium.usage.ingest import Ingestor

    if args.path == "-":
        return _to_stdout(args)
    options = {"format": args.format, "groupBy": args.group_by, "since": args.since,
               "until": args.until, "agentIds": args.agent_ids, "path": args.path,
               "overwrite": args.overwrite, "timezone": args.timezone}  # fmt: skip
    try:
        with Store(args.db) as store:
            if not args.no_ingest:
                from podium.usage.cli_common import ingest_inbox

                Ingestor(store).run()
                ingest_inbox(store)
            if args.include_archive:
                from podium.store.archive import include_archives

                with include_archives(store):
                    result = export_usage(store, options, workspace=Path(args.workspace))
            else:
                result = export_usage(store, options, workspace=Path(args.workspace))
    except PodiumError as exc:
        print(f"podium: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {result['rows']} rows to {result['path']}")
    return 0


def _to_stdout(args: argparse.Namespace) -> int:
    """`--path -`: the same export, written to a private temp file (the export's own checks and
    rendering unchanged) and copied to stdout."""
    import shutil
    import tempfile

    with tempfile.TemporaryDirectory(prefix="podium-export-") as tmp:
        args.path = os.path.join(tmp, f"export.{args.format}")
        args.overwrite = True
        with contextlib.redirect_stdout(io.StringIO()):  # not the "wrote N rows" line
            code = run(args)
        if code == 0:
            with open(args.path, "rb") as fh:
                sys.stdout.flush()
                shutil.copyfileobj(fh, sys.stdout.buffer)
                sys.stdout.buffer.flush()
    return code
