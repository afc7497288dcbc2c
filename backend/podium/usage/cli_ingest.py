"""`podium ingest`: read new log lines into the store."""

from __future__ import annotations

import argparse
import json
import time

from podium.usage.cli_common import add_store_options, ingest_quietly, open_store


def configure(parser: argparse.ArgumentParser) -> None:
    add_store_options(parser)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    with open_store(args) as store:
        r = ingest_quietly(store, args)
    elapsed = time.perf_counter() - started
    summary = {
        "filesSeen": r.files_seen, "filesRead": r.files_read, "filesReset": r.files_reset,
        "bytesRead": r.bytes_read, "entriesParsed": r.entries_parsed,
        "entriesWritten": r.entries_written, "malformed": r.malformed,
        "invalidUtf8": r.invalid_utf8, "outOfRange": r.out_of_range, "oversized": r.oversized,
        "filesSkipped": r.files_skipped, "seconds": round(elapsed, 3),
        "inboxRecords": r.inbox.written, "inboxBadRecords": r.inbox.bad,
    }  # fmt: skip
    if args.json:
        print(json.dumps(summary))
    else:
        print(
            f"ingested {r.bytes_read:,} bytes from {r.files_read} of {r.files_seen} files: "
            f"{r.entries_written:,} entries written, {r.skipped} lines skipped "
            f"({r.malformed} malformed, {r.invalid_utf8} invalid UTF-8, {r.out_of_range} out of "
            f"range, {r.oversized} oversized), {r.files_skipped} files not read"
            f" in {elapsed:.2f}s"
        )
        if r.inbox.records or r.inbox.bad:
            print(f"inbox: {r.inbox.written:,} new records, {r.inbox.bad} bad")
    return 0
