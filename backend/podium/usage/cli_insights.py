"""`podium report insights` (also `podium insights`): what could be cheaper or is about to run out
(podium.usage.insights), as a list for people or JSON for tools."""

from __future__ import annotations

import argparse
import json
import sys

from podium.errors import PodiumError
from podium.usage.cli_common import add_store_options, ingest_quietly, open_store, usd


def configure(parser: argparse.ArgumentParser) -> None:
    add_store_options(parser)
    parser.add_argument("--json", action="store_true", help="the insights as a JSON list")
    parser.add_argument("--settings", metavar="FILE",
                        help="settings JSON as the editor's (limits.monthlyUSD is the budget)")
    parser.add_argument("--prices", help="price table override (JSON, same shape as bundled)")
    parser.add_argument("--now", type=float, help=argparse.SUPPRESS)  # epoch s, for tests
    parser.add_argument("--no-ingest", action="store_true", help="use the store as it is")


def run(args: argparse.Namespace) -> int:
    from podium.metrics.cli import _read_settings
    from podium.settings import parse_settings
    from podium.usage.insights import insights, wire
    from podium.usage.pricing import PriceTable

    try:
        prices = PriceTable.load(args.prices) if args.prices else None
        settings, warnings = parse_settings(_read_settings(args.settings))
        for warning in warnings:
            print(f"podium: {warning}", file=sys.stderr)
        with open_store(args, read_only=args.no_ingest) as store:
            if not args.no_ingest:
                ingest_quietly(store, args)
            found = insights(store, now=args.now, settings_like=settings,
                             prices=prices)  # fmt: skip
    except (PodiumError, ValueError, OSError) as exc:
        print(f"podium: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(wire(found), indent=2))
        return 0
    if not found:
        print("No insights: nothing in the store crosses a threshold.")
    for item in found:
        print(f"[{item.severity}] {item.title}  (saves ~{usd(item.monthly_saving_usd)}/month)")
        for key, value in item.evidence.items():
            print(f"    {key}: {value}")
        print(f"    → {item.action}")
    return 0
