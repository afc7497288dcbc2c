"""`podium report daily|monthly|session|blocks`: tables for people, ccusage JSON for tools."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from podium.errors import PodiumError
from podium.usage.cli_common import add_store_options, ingest_quietly, n, open_store, table, usd

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from podium.store import Store
    from podium.usage.reports import ReportQuery

KINDS = ("daily", "monthly", "session", "blocks", "usage")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("kind", choices=KINDS)
    add_store_options(parser)
    parser.add_argument("--json", action="store_true", help="ccusage-compatible JSON")
    parser.add_argument("--since", help="first day, YYYY-MM-DD (inclusive)")
    parser.add_argument("--until", help="last day, YYYY-MM-DD (inclusive)")
    parser.add_argument("--timezone", "-z", help="IANA zone for days (default: local)")
    parser.add_argument("--breakdown", "-b", action="store_true", help="per-model rows")
    parser.add_argument("--project", "-p", help="only this project (encoded dir name or cwd)")
    parser.add_argument("--order", choices=("asc", "desc"), default="asc")
    parser.add_argument("--mode", choices=("auto", "calculate", "display"), default="auto",
                        help="cost mode, as ccusage: logged costUSD when present (auto), "
                        "always from tokens (calculate), or logged only (display)")  # fmt: skip
    parser.add_argument("--prices", help="price table override (JSON, same shape as bundled)")
    parser.add_argument("--active", action="store_true", help="blocks: only the active block")
    parser.add_argument("--recent", action="store_true", help="blocks: last 3 days only")
    parser.add_argument("--no-ingest", action="store_true", help="report the store as it is")
    parser.add_argument("--by", choices=("agent", "provider", "model", "taskType"),
                        default="agent", help="usage: group rows by")  # fmt: skip
    parser.add_argument("--last", help="usage: the last 7d, 30d, 12h, … (default 7d)")
    parser.add_argument("--top-models", type=int, nargs="?", const=5, metavar="N",
                        help="usage: also the N most expensive models (default 5)")  # fmt: skip
    parser.add_argument("--include-archive", action="store_true",
                        help="also the usage `podium archive` moved into archive/*.db")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from podium.usage import reports
    from podium.usage.pricing import PriceTable

    try:
        prices = PriceTable.load(args.prices) if args.prices else None
        with open_store(args) as store:
            if not args.no_ingest:
                result = ingest_quietly(store, args)
                if result.skipped:
                    print(f"podium: skipped {result.skipped} unreadable log lines "
                          "(see `podium doctor`)", file=sys.stderr)  # fmt: skip
            with _archives(store, args.include_archive):
                q = reports.ReportQuery(store, since=args.since, until=args.until,
                                        timezone=args.timezone, project=args.project,
                                        prices=prices, cost_mode=args.mode)  # fmt: skip
                data = _report(args, q, store)
            unknown = sorted(q.prices.unknown_models)
    except PodiumError as exc:
        print(f"podium: {exc}", file=sys.stderr)
        return 2
    if unknown:
        print("podium: warning: no price for " + ", ".join(unknown) + ": their tokens are "
              "not in these costs (`podium doctor` shows Claude Code's own figure for them; "
              "`podium prices update` refreshes the table)", file=sys.stderr)  # fmt: skip
    if args.json:
        # stdlib json: the output is small, and importing orjson costs ~15 ms of start-up
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        return 0
    print(_render(args.kind, data, args.breakdown))
    return 0


def _report(args: argparse.Namespace, q: ReportQuery, store: Store) -> dict:
    from podium.usage import reports

    if args.kind == "daily":
        return reports.daily(q, breakdown=args.breakdown, order=args.order)
    if args.kind == "monthly":
        return reports.monthly(q, breakdown=args.breakdown, order=args.order)
    if args.kind == "session":
        return reports.session(q, breakdown=args.breakdown)
    if args.kind == "blocks":
        return reports.blocks(q, active_only=args.active, recent_days=3 if args.recent else None)
    from podium.usage.usage_report import usage_report_for

    return usage_report_for(store, args, q.prices)


def _archives(store: Store, include: bool) -> AbstractContextManager[int | None]:
    """The store and its archives read as one (podium.store.archive), or the store alone."""
    if not include:
        import contextlib

        return contextlib.nullcontext()
    from podium.store.archive import include_archives

    return include_archives(store)


def _render(kind: str, data: dict, breakdown: bool) -> str:
    if kind == "usage":
        from podium.usage.usage_report import render

        return render(data)
    headers = ["Input", "Output", "Cache create", "Cache read", "Total tokens", "Cost (USD)"]
    if kind == "blocks":
        rows = []
        for b in data["blocks"]:
            if b["isGap"]:
                continue
            start = datetime.fromisoformat(b["startTime"].replace("Z", "+00:00"))
            label = start.astimezone().strftime("%Y-%m-%d %H:%M")
            status = "ACTIVE" if b["isActive"] else ""
            burn = b["burnRate"]
            extra = (f"{usd(burn['costPerHour'])}/h → {usd(b['projection']['totalCost'])}"
                     if burn else "")  # fmt: skip
            rows.append([label, status, str(b["entries"]), n(b["totalTokens"]),
                         usd(b["costUSD"]), ", ".join(b["models"]), extra])  # fmt: skip
        if not rows:
            return "No usage found."
        return table(["Block start", "", "Entries", "Tokens", "Cost", "Models", "Burn / projected"],
                     rows, right={2, 3, 4})  # fmt: skip
    key, label = {"daily": ("date", "Date"), "monthly": ("month", "Month"),
                  "session": ("sessionId", "Session")}[kind]  # fmt: skip
    items = data[{"daily": "daily", "monthly": "monthly", "session": "sessions"}[kind]]
    if not items:
        return "No usage found."
    rows = []
    for item in items:
        rows.append([str(item[key])[:36], ", ".join(_short(m) for m in item["modelsUsed"]),
                     n(item["inputTokens"]), n(item["outputTokens"]),
                     n(item["cacheCreationTokens"]), n(item["cacheReadTokens"]),
                     n(item["totalTokens"]), usd(item["totalCost"])])  # fmt: skip
        if breakdown:
            for mb in item["modelBreakdowns"]:
                tot = (mb["inputTokens"] + mb["outputTokens"] + mb["cacheCreationTokens"]
                       + mb["cacheReadTokens"])  # fmt: skip
                rows.append(["  └ " + _short(mb["modelName"]), "", n(mb["inputTokens"]),
                             n(mb["outputTokens"]), n(mb["cacheCreationTokens"]),
                             n(mb["cacheReadTokens"]), n(tot), usd(mb["cost"])])  # fmt: skip
    t = data["totals"]
    rows.append(["Total", "", n(t["inputTokens"]), n(t["outputTokens"]),
                 n(t["cacheCreationTokens"]), n(t["cacheReadTokens"]), n(t["totalTokens"]),
                 usd(t["totalCost"])])  # fmt: skip
    title = f"Claude Code usage, {kind} (generated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC)"
    return title + "\n\n" + table([label, "Models", *headers], rows, right=set(range(2, 8)))


def _short(model: str) -> str:
    return model.removeprefix("claude-")
