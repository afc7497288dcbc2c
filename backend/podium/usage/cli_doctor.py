"""`podium doctor`: where Podium looks, what it has, and what it had to skip."""

from __future__ import annotations

import argparse
import json
import os

from podium.usage.adapters import LogAdapter, default_adapters
from podium.usage.cli_common import add_store_options, open_store

#: lines skipped in a file, all reasons (see podium.usage.reading.Counters)
_SKIPPED_LINES = "(malformed + invalid_utf8 + out_of_range + oversized)"


def configure(parser: argparse.ArgumentParser) -> None:
    add_store_options(parser)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--no-ingest", action="store_true", help="report the store as it is")
    parser.add_argument("--repair", action="store_true",
                        help="a damaged store is moved aside (<db>.corrupt-<time>) and rebuilt "
                        "from the logs")  # fmt: skip


def _repair(args: argparse.Namespace) -> int:
    from podium.store.db import default_db_path
    from podium.store.repair import repair
    from podium.usage.cli_common import ingest_quietly

    path = args.db or default_db_path()
    result = repair(path, lambda store: ingest_quietly(store, args))
    if result.problem is None:
        print(f"store        {path} is healthy; nothing to repair")
        return 0
    print(f"store        {path} was damaged: {result.problem}")
    for moved in result.moved:
        print(f"moved aside  {moved}")
    kept = ", ".join(f"{n:,} {table}" for table, n in result.salvaged.items()) or "nothing"
    print(f"salvaged     {kept}")
    rebuilt = result.rebuilt
    print(f"rebuilt      {rebuilt.entries_written:,} usage entries from {rebuilt.files_read:,} "
          "log files")  # fmt: skip
    return 0


def run(args: argparse.Namespace) -> int:
    from podium.store.repair import check
    from podium.usage.cli_common import ingest_quietly
    from podium.usage.queries import default_prices

    if args.repair:
        return _repair(args)
    with open_store(args) as store:
        damage = check(store.path)
        if damage:  # reading on would fail half-way: say what is wrong and what to do
            hint = "`podium doctor --repair` moves it aside and rebuilds it from the logs"
            if args.json:
                print(json.dumps({"store": store.path, "integrity": damage, "fix": hint}))
            else:
                print(f"podium: the store {store.path} is damaged ({damage}); {hint}")
            return 1
        if not args.no_ingest:
            ingest_quietly(store, args)
        conn = store.conn
        files, size, malformed, bad_utf8, out_of_range, oversized = conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(offset),0), COALESCE(SUM(malformed),0), "
            "COALESCE(SUM(invalid_utf8),0), COALESCE(SUM(out_of_range),0), "
            "COALESCE(SUM(oversized),0) FROM files"
        ).fetchone()
        entries = conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0]
        worst = conn.execute(
            f"SELECT path, malformed, invalid_utf8, out_of_range, oversized, last_error FROM files "
            f"WHERE {_SKIPPED_LINES} > 0 ORDER BY {_SKIPPED_LINES} DESC LIMIT 10"
        ).fetchall()
        # a half-written last line waits for its newline (size: what the file had when read)
        pending_files, pending_bytes = conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(size - offset), 0) FROM files "
            "WHERE size > offset AND skipped IS NULL"
        ).fetchone()
        not_read = conn.execute(
            "SELECT path, skipped FROM files WHERE skipped IS NOT NULL ORDER BY path"
        ).fetchall()
        prices = default_prices()
        from podium.usage.reported import unpriced_summary

        unpriced = unpriced_summary(store, prices)
        report = {
            "store": str(store.path),
            "schemaVersion": store.schema_version,
            "integrity": "ok",
            "roots": [
                {"adapter": a.name, "path": r, "exists": os.path.isdir(r)}
                for a in default_adapters(args.claude_config_dirs)
                for r in _log_dirs(a)
            ],
            "files": files, "bytesRead": size, "entries": entries,
            "skipped": {"malformed": malformed, "invalidUtf8": bad_utf8,
                        "outOfRange": out_of_range, "oversized": oversized},
            "pending": {"files": pending_files, "bytes": pending_bytes},
            "filesNotRead": [{"path": p, "reason": r} for p, r in not_read],
            "filesWithSkippedLines": [
                {"path": p, "malformed": m, "invalidUtf8": u, "outOfRange": r, "oversized": o,
                 "lastError": e}
                for p, m, u, r, o, e in worst
            ],
            "prices": {"version": prices.version, "origin": prices.origin,
                       "error": prices.load_error},
            "unknownModels": sorted(u["model"] for u in unpriced),
            "unpricedModels": unpriced,
        }  # fmt: skip
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"store        {report['store']} (schema v{report['schemaVersion']})")
    for root in report["roots"]:
        mark = "ok" if root["exists"] else "missing"
        print(f"log root     {root['path']} [{root['adapter']}, {mark}]")
    print(f"files        {files:,} ({size / 1e6:,.1f} MB read)   usage entries {entries:,}")
    print(f"skipped      {malformed:,} malformed, {bad_utf8:,} invalid UTF-8, "
          f"{out_of_range:,} out of range, {oversized:,} oversized lines")  # fmt: skip
    for f in report["filesWithSkippedLines"]:
        print(f"  {f['path']}: {f['malformed']}/{f['invalidUtf8']}/{f['outOfRange']}/"
              f"{f['oversized']}  {f['lastError'] or ''}")  # fmt: skip
    if pending_files:
        print(f"pending      {pending_files:,} file(s) end in a half-written line "
              f"({pending_bytes:,} bytes, read once its newline is written)")  # fmt: skip
    if not_read:
        print(f"not read     {len(not_read):,} file(s)")
        for f in report["filesNotRead"]:
            print(f"  {f['path']}: {f['reason']}")
    print(f"prices       {prices.version} ({prices.origin}; `podium prices` for details)")
    if prices.load_error:
        print(f"warning      {prices.load_error}; the bundled table is used")
    for u in unpriced:
        covered = (f"Claude Code's own figure covers {u['sessionsWithReportedCost']} "
                   f"(${u['reportedUSD']:,.4f})") if u["sessionsWithReportedCost"] else (
                   "no figure from Claude Code either: costs lack it")  # fmt: skip
        print(f"unpriced     {u['model']}: {u['entries']:,} entries in {u['sessions']:,} "
              f"session{'s' if u['sessions'] != 1 else ''}; {covered}")  # fmt: skip
    return 0


def _log_dirs(adapter: LogAdapter) -> list[str]:
    """Where an adapter's logs are (Claude: `projects/` in each root)."""
    own = getattr(adapter, "log_dirs", None)
    return own() if own is not None else [os.path.join(r, "projects") for r in adapter.roots()]
