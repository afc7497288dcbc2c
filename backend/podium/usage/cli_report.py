"""`podium report daily|weekly|monthly|session|blocks|usage`: tables for people, ccusage JSON
for tools.

JSON is ccusage's (formats.md §8) plus two keys at the end, `schemaVersion` and `timezone`
(`usage` is Podium's own report, podium.usage.usage_report); tables are drawn by
podium.cli_ui.report_tables (rich on a terminal, plain text on a pipe).
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from datetime import date, datetime, timedelta, tzinfo
from types import ModuleType
from typing import TYPE_CHECKING

from podium.errors import InvalidInput
from podium.usage.cli_common import (
    add_output_options,
    add_store_options,
    ingest_for_report,
    open_store,
    release,
)

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from podium.store import Store
    from podium.usage.reports import ReportQuery

KINDS = ("daily", "weekly", "monthly", "session", "blocks", "usage")
#: the version of Podium's additions to ccusage's JSON (`schemaVersion`, `timezone`, …)
SCHEMA_VERSION = 1
WEEKDAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("kind", choices=KINDS, help="which report")
    add_store_options(parser)
    parser.add_argument("-j", "--json", action="store_true", help="ccusage-compatible JSON")
    parser.add_argument("-s", "--since", help="first day, YYYY-MM-DD or YYYYMMDD (inclusive)")
    parser.add_argument("-u", "--until", help="last day, YYYY-MM-DD or YYYYMMDD (inclusive)")
    parser.add_argument("--last", metavar="N",
                        help="only the last N days / weeks / months / sessions / blocks "
                        "(1 = today, this week, this month, the newest); usage: a period, "
                        "7d, 30d, 12h, 2w (default 7d)")  # fmt: skip
    parser.add_argument("-z", "--timezone", help="IANA zone for days (default: local)")
    parser.add_argument("-b", "--breakdown", action="store_true", help="per-model rows")
    parser.add_argument("-p", "--project", help="only this project (encoded dir name or cwd)")
    parser.add_argument("-i", "--instances", action="store_true",
                        help="daily/weekly/monthly: one report per project")  # fmt: skip
    parser.add_argument("-o", "--order", choices=("asc", "desc"), default=None,
                        help="oldest first (asc, the default) or newest first; sessions: by "
                        "last activity (default: newest first)")  # fmt: skip
    parser.add_argument("-m", "--mode", choices=("auto", "calculate", "display"), default="auto",
                        help="cost mode, as ccusage: logged costUSD when present (auto), "
                        "always from tokens (calculate), or logged only (display)")  # fmt: skip
    parser.add_argument("--prices", help="price table override (JSON, same shape as bundled)")
    parser.add_argument("-w", "--start-of-week", choices=WEEKDAYS, default="sunday",
                        help="weekly: the day weeks start on (default sunday, as ccusage)")  # fmt: skip
    parser.add_argument("--group-by", choices=("session", "file"), default="session",
                        help="session: by the sessionId in the log lines (default: a resumed "
                        "session is one row) or by transcript file as ccusage does")  # fmt: skip
    parser.add_argument("-a", "--active", action="store_true", help="blocks: only the active block")
    parser.add_argument("-r", "--recent", action="store_true", help="blocks: last 3 days only")
    parser.add_argument("-t", "--token-limit", metavar="N|max",
                        help="blocks: token limit of a block (a number, or `max`: the largest "
                        "block so far); the active block shows its share and status")  # fmt: skip
    add_output_options(parser)
    parser.add_argument("--no-ingest", action="store_true", help="report the store as it is")
    parser.add_argument("--by", choices=("agent", "provider", "model", "taskType"),
                        default="agent", help="usage: group rows by")  # fmt: skip
    parser.add_argument("--top-models", type=int, nargs="?", const=5, metavar="N",
                        help="usage: also the N most expensive models (default 5)")  # fmt: skip
    parser.add_argument("--include-archive", action="store_true",
                        help="also the usage `podium archive` moved into archive/*.db")  # fmt: skip


def _check_flags(args: argparse.Namespace) -> None:
    kind = args.kind
    if kind == "usage":
        from podium.usage.usage_report import parse_last

        if args.last is not None:
            parse_last(args.last)  # checked before the store is opened
        if args.top_models is not None and args.top_models < 1:
            raise InvalidInput(f"--top-models wants a number ≥ 1 (or nothing: 5), got "
                               f"{args.top_models}", field="top_models")  # fmt: skip
    elif args.last is not None:
        if not args.last.isdigit() or int(args.last) < 1:
            unit = {"daily": "days", "weekly": "weeks", "monthly": "months"}.get(kind, kind)
            raise InvalidInput(f"--last wants a whole number ≥ 1 of {unit}, got "
                               f"{args.last!r}", field="last")  # fmt: skip
        args.last = int(args.last)
    if (args.by != "agent" or args.top_models is not None) and kind != "usage":
        raise InvalidInput("--by and --top-models are for `podium report usage`")
    if args.project and kind == "usage":
        raise InvalidInput("--project is not for `podium report usage`: it groups by agent, "
                           "provider, model or taskType (--by)")  # fmt: skip
    if args.instances and kind not in ("daily", "weekly", "monthly"):
        raise InvalidInput(f"--instances is for daily, weekly and monthly, not {kind}")
    if args.token_limit is not None and kind != "blocks":
        raise InvalidInput("--token-limit is for `podium report blocks`")
    if (args.active or args.recent) and kind != "blocks":
        raise InvalidInput("--active and --recent are for `podium report blocks`")
    if args.group_by != "session" and kind != "session":
        raise InvalidInput("--group-by is for `podium report session`")
    limit = args.token_limit
    if limit is not None and limit != "max" and (not limit.isdigit() or int(limit) < 1):
        raise InvalidInput(f"--token-limit wants a number of tokens or `max`, got {limit!r}",
                           field="token_limit")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from podium.usage import reports
    from podium.usage.pricing import PriceTable

    _check_flags(args)
    config = getattr(args, "config", None)
    if not args.timezone and config is not None:
        args.timezone = config.get("timezone")
    prices = PriceTable.load(args.prices) if args.prices else None
    tz = reports.resolve_tz(args.timezone)
    since = reports.parse_day(args.since, "since")
    until = reports.parse_day(args.until, "until")
    if since and until and since > until:
        raise InvalidInput(f"--since {since} is after --until {until}: nothing can match; "
                           "swap them", field="since")  # fmt: skip
    if args.last and args.kind in ("daily", "weekly", "monthly"):
        first = _first_of_last(args.kind, args.last, datetime.now(tz).date(), args.start_of_week)
        since = max(since, first) if since else first
    store = open_store(args, keep_wal=True, read_only=args.no_ingest)
    try:
        if not args.no_ingest:
            ingest_for_report(store, args)
        with _archives(store, args.include_archive):
            q = reports.ReportQuery(store, since=since.isoformat() if since else None,
                                    until=until.isoformat() if until else None,
                                    timezone=args.timezone,
                                    project=args.project, prices=prices, cost_mode=args.mode)  # fmt: skip
            if args.kind == "usage":
                from podium.usage.usage_report import usage_report_for

                data = usage_report_for(store, args, q.prices)
                if args.order == "asc":  # default: the most expensive first
                    data["rows"].reverse()
            elif args.instances:
                data = _instances(reports, q, args)
            else:
                data = _report(reports, q, args)
            hint = _project_hint(store, args.project) if args.project else None
        unknown = sorted(q.prices.unknown_models)
    finally:
        release(store)
    if hint:
        print(f"podium: {hint}", file=sys.stderr)
    if unknown:
        print("podium: warning: no price for " + ", ".join(unknown) + ": their tokens are "
              "not in these costs (`podium doctor` shows Claude Code's own figure for them; "
              "`podium prices update` refreshes the table)", file=sys.stderr)  # fmt: skip
    data["schemaVersion"] = SCHEMA_VERSION
    data["timezone"] = zone_name(tz, args.timezone)
    if args.json:
        # stdlib json: the output is small, and importing orjson costs ~15 ms of start-up
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        return 0
    from podium.cli_ui import report_tables, term

    report_tables.print_report(args, data, term.detect(color=args.color))
    return 0


def _project_hint(store: Store, project: str) -> str | None:
    """For a `--project` no usage has (at any date): the closest names known, else the most
    recent few, so the user sees what to type. None when the project is known."""
    conn = store.conn
    if conn.execute("SELECT 1 FROM entries WHERE project = ? OR cwd = ? LIMIT 1",
                    (project, project)).fetchone():  # fmt: skip
        return None
    recent = [p for (p,) in conn.execute(
        "SELECT project FROM entries WHERE project IS NOT NULL AND project != '' "
        "GROUP BY project ORDER BY MAX(ts) DESC")]  # fmt: skip
    if not recent:
        return f"no project {project!r}: the store has no usage with a project yet"
    cwds = [c for (c,) in conn.execute("SELECT DISTINCT cwd FROM entries WHERE cwd IS NOT NULL")]
    import difflib

    needle = project.lower().strip("/-")
    close = [n for n in recent + cwds if needle and needle in n.lower()][:3] or \
        difflib.get_close_matches(project, recent + cwds, n=3, cutoff=0.5)  # fmt: skip
    if close:
        return f"no project {project!r}; closest: " + ", ".join(close)
    more = f" (and {len(recent) - 5} more)" if len(recent) > 5 else ""
    return f"no project {project!r}; known projects: " + ", ".join(recent[:5]) + more


def _report(reports: ModuleType, q: ReportQuery, args: argparse.Namespace) -> dict:
    kind, order = args.kind, args.order or "asc"
    if kind == "daily":
        return reports.daily(q, breakdown=args.breakdown, order=order)
    if kind == "weekly":
        return reports.weekly(q, breakdown=args.breakdown, order=order,
                              start_of_week=args.start_of_week)  # fmt: skip
    if kind == "monthly":
        return reports.monthly(q, breakdown=args.breakdown, order=order)
    if kind == "session":
        data = reports.session(q, breakdown=args.breakdown, by_file=args.group_by == "file")
        rows = data["sessions"]  # newest first
        if args.last:
            rows = rows[: args.last]
        if args.order == "asc":
            rows.reverse()
        data["sessions"] = rows
        if args.last:
            data["totals"] = _sum_totals(rows)
        return data
    data = reports.blocks(q, active_only=args.active, recent_days=3 if args.recent else None)
    blocks = data["blocks"]
    if args.token_limit:
        _token_limit(blocks, args.token_limit)
    if args.last:
        real = [i for i, b in enumerate(blocks) if not b["isGap"]]
        if len(real) > args.last:
            blocks = blocks[real[-args.last]:]
    if args.order == "desc":
        blocks.reverse()
    data["blocks"] = blocks
    return data


def _archives(store: Store, include: bool) -> AbstractContextManager[int | None]:
    """The store and its archives read as one (podium.store.archive), or the store alone."""
    if not include:
        import contextlib

        return contextlib.nullcontext()
    from podium.store.archive import include_archives

    return include_archives(store)


def _first_of_last(kind: str, n: int, today: date, start_of_week: str) -> date:
    """The first day of the last `n` periods ending with today's."""
    if kind == "daily":
        return today - timedelta(days=n - 1)
    if kind == "weekly":
        first = (WEEKDAYS.index(start_of_week) - 1) % 7  # as Python's weekday()
        start = today - timedelta(days=(today.weekday() - first) % 7)
        return start - timedelta(weeks=n - 1)
    months = today.year * 12 + today.month - 1 - (n - 1)
    return date(months // 12, months % 12 + 1, 1)


def _instances(reports: ModuleType, q: ReportQuery, args: argparse.Namespace) -> dict:
    """ccusage's `--instances`: {"projects": {project: [rows with "project"]}, "totals"}."""
    projects = [p for (p,) in q.store.conn.execute(
        f"SELECT DISTINCT COALESCE(project, '') FROM entries {q.where} ORDER BY 1", q.params)]  # fmt: skip
    out: dict[str, list] = {}
    rows_all = []
    for project in projects:
        sub = copy.copy(q)  # the same range and prices, one project, from the entries
        sub.buckets = None
        sub.where = q.where + (" AND " if q.where else "WHERE ") + "COALESCE(project, '') = ?"
        sub.params = [*q.params, project]
        data = _report(reports, sub, args)
        key = args.kind
        rows = [r | {"project": project or "unknown"} for r in data[key]]
        out[project or "unknown"] = rows
        rows_all.extend(rows)
    return {"projects": out, "totals": _sum_totals(rows_all)}


def _sum_totals(rows: list[dict]) -> dict:
    keys = ("inputTokens", "outputTokens", "cacheCreationTokens", "cacheReadTokens",
            "totalTokens", "totalCost")  # fmt: skip
    return {k: sum(r[k] for r in rows) for k in keys}


def _token_limit(blocks: list[dict], raw: str) -> None:
    """ccusage's `tokenLimitStatus` on the active block: projected tokens against the limit,
    `warning` past 80 %, `exceeds` past 100 %."""
    real = [b for b in blocks if not b["isGap"]]
    if raw == "max":
        done = [b["totalTokens"] for b in real if not b["isActive"]]
        limit = max(done, default=0)
    else:
        limit = int(raw)
    for b in real:
        if not b["isActive"] or limit <= 0:
            continue
        projected = (b["projection"] or {}).get("totalTokens", b["totalTokens"])
        pct = 100.0 * projected / limit
        status = "exceeds" if pct > 100 else "warning" if pct > 80 else "ok"
        b["tokenLimitStatus"] = {"limit": limit, "projectedUsage": projected,
                                 "percentUsed": round(pct, 2), "status": status}  # fmt: skip


def zone_name(tz: tzinfo, asked: str | None) -> str:
    """The zone's name for JSON and titles (podium.domain.periods.zone_label)."""
    from podium.domain.periods import zone_label

    return zone_label(tz, asked)
