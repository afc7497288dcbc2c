"""`podium report` as tables: the widest variant that fits the terminal, titles and totals on
every report, short model names (podium.cli_ui.table draws them)."""

from __future__ import annotations

import argparse
from datetime import datetime

from podium.cli_ui.table import Column, Table, render, short_model, tokens, usd
from podium.cli_ui.term import Term
from podium.views.format import format_duration

#: the period column of each report: (JSON list, JSON key, header)
PERIODS = {"daily": ("daily", "date", "Date"), "weekly": ("weekly", "week", "Week of"),
           "monthly": ("monthly", "month", "Month")}  # fmt: skip
TOKEN_COLUMNS = [
    Column("input", "Input", right=True),
    Column("output", "Output", right=True),
    Column("cache_create", "Cache\nCreate", right=True),
    Column("cache_read", "Cache\nRead", right=True),
    Column("total", "Total\nTokens", right=True),
    Column("cost", "Cost\n(USD)", right=True, style="green"),
]
FULL = ("input", "output", "cache_create", "cache_read", "total", "cost")
MEDIUM = ("input", "output", "total", "cost")
COMPACT = ("input", "output", "cost")


def print_report(args: argparse.Namespace, data: dict, term: Term) -> None:
    kind = args.kind
    where = _range_text(args)
    title_tz = data.get("timezone", "")
    if "projects" in data:  # --instances: one table per project, then the grand total
        for project, rows in data["projects"].items():
            title = f"Claude Code usage, {kind}, project {project} ({title_tz}){where}"
            _print(_period_variants(kind, rows, None, args.breakdown, title), args, term)
        t = data["totals"]
        print(f"All projects: {tokens(t['totalTokens'])} tokens, {usd(t['totalCost'])}")
        return
    if kind == "usage":
        _print_usage(data, args, term, f"Usage by {data['by']} ({title_tz}){where}")
        return
    title = f"Claude Code usage, {kind} ({title_tz}){where}"
    if kind in PERIODS:
        variants = _period_variants(kind, data[PERIODS[kind][0]], data["totals"],
                                    args.breakdown, title)  # fmt: skip
    elif kind == "session":
        variants = _session_variants(data, args.breakdown, title)
    else:
        variants = _block_variants(data, title)
    _print(variants, args, term)


def _print(variants: list[Table], args: argparse.Namespace, term: Term) -> None:
    if not variants[0].rows:
        print(f"{variants[0].title}\n\nNo usage found.")
        return
    render(variants[-1:] if args.compact else variants, term)


def _range_text(args: argparse.Namespace) -> str:
    parts = []
    if args.since:
        parts.append(f"from {args.since}")
    if args.until:
        parts.append(f"to {args.until}")
    if args.last:
        parts.append(f"last {args.last}")
    if args.project:
        parts.append(f"project {args.project}")
    return (", " + " ".join(parts)) if parts else ""


def _token_cells(row: dict, total: int | None = None) -> list[str]:
    total = row.get("totalTokens", total)
    return [tokens(row["inputTokens"]), tokens(row["outputTokens"]),
            tokens(row["cacheCreationTokens"]), tokens(row["cacheReadTokens"]),
            tokens(total or 0), usd(row.get("totalCost", row.get("cost", 0.0)))]  # fmt: skip


def _models(names: list[str]) -> str:
    return "\n".join(f"- {short_model(m)}" for m in names)


def _breakdown_rows(table: Table, item: dict, lead: int) -> None:
    for mb in item.get("modelBreakdowns", []):
        total = (mb["inputTokens"] + mb["outputTokens"] + mb["cacheCreationTokens"]
                 + mb["cacheReadTokens"])  # fmt: skip
        table.sub_rows.add(len(table.rows))
        table.rows.append([*([""] * (lead - 1)), "└ " + short_model(mb["modelName"]),
                           *_token_cells(mb, total)])  # fmt: skip


def _variants(table: Table, lead_keys: tuple[str, ...]) -> list[Table]:
    return [table.only(lead_keys + cols) for cols in (FULL, MEDIUM, COMPACT)]


def _period_variants(kind: str, items: list[dict], totals: dict | None, breakdown: bool,
                     title: str) -> list[Table]:  # fmt: skip
    _, key, header = PERIODS[kind]
    table = Table(title, [Column("period", header, style="cyan"), Column("models", "Models"),
                          *TOKEN_COLUMNS])  # fmt: skip
    for item in items:
        table.rows.append([str(item[key]), _models(item["modelsUsed"]), *_token_cells(item)])
        if breakdown:
            _breakdown_rows(table, item, 2)
    if totals is None:  # a project of --instances
        totals = {k: sum(i[k] for i in items) for k in ("inputTokens", "outputTokens",
                  "cacheCreationTokens", "cacheReadTokens", "totalTokens", "totalCost")}  # fmt: skip
    table.total = ["Total", "", *_token_cells(totals)]
    return _variants(table, ("period", "models"))


def _session_variants(data: dict, breakdown: bool, title: str) -> list[Table]:
    table = Table(title, [Column("session", "Session", style="cyan"),
                          Column("project", "Project"), Column("last", "Last\nactivity"),
                          Column("models", "Models"), *TOKEN_COLUMNS])  # fmt: skip
    for s in data["sessions"]:
        table.rows.append([s["sessionId"][:8], _project(s.get("projectPath", "")),
                           s.get("lastActivity", ""), _models(s["modelsUsed"]),
                           *_token_cells(s)])  # fmt: skip
        if breakdown:
            _breakdown_rows(table, s, 4)
    table.total = ["Total", "", "", "", *_token_cells(data["totals"])]
    lead = ("session", "project", "last", "models")
    return [*_variants(table, lead), table.only(("session", "last", "models", *COMPACT))]


def _project(encoded: str) -> str:
    """`-home-ana-shop-packages-web` → `…shop-packages-web` (the end says the most)."""
    return encoded if len(encoded) <= 20 else "…" + encoded[-19:]


def _block_variants(data: dict, title: str) -> list[Table]:
    blocks = [b for b in data["blocks"] if not b["isGap"]]
    limited = any("tokenLimitStatus" in b for b in blocks)
    cols = [Column("start", "Block start", style="cyan"), Column("state", "Duration /\nstatus"),
            Column("models", "Models"), Column("entries", "Entries", right=True),
            Column("tokens", "Tokens", right=True),
            *([Column("pct", "% of\nlimit", right=True)] if limited else []),
            Column("cost", "Cost\n(USD)", right=True, style="green")]  # fmt: skip
    table = Table(title, cols)
    total_tokens = total_entries = 0
    total_cost = 0.0
    for b in blocks:
        start = _local(b["startTime"])
        if b["isActive"]:
            left = max(0.0, (_local(b["endTime"]) - datetime.now().astimezone()).total_seconds())
            state = f"ACTIVE\n{format_duration(left)} left"
        else:
            state = format_duration((_local(b["actualEndTime"]) - start).total_seconds())
        status = b.get("tokenLimitStatus")
        pct = [f"{status['percentUsed']:.0f}%" if status else ""] if limited else []
        table.rows.append([start.strftime("%Y-%m-%d %H:%M"), state, _models(b["models"]),
                           tokens(b["entries"]), tokens(b["totalTokens"]), *pct,
                           usd(b["costUSD"])])  # fmt: skip
        total_tokens += b["totalTokens"]
        total_entries += b["entries"]
        total_cost += b["costUSD"]
        if b["isActive"]:
            table.notes.extend(_active_notes(b))
    table.total = ["Total", "", "", tokens(total_entries), tokens(total_tokens),
                   *([""] if limited else []), usd(total_cost)]  # fmt: skip
    narrow = table.only(("start", "state", "tokens", *(["pct"] if limited else []), "cost"))
    return [table, narrow]


def _active_notes(b: dict) -> list[str]:
    notes = []
    burn, proj = b.get("burnRate"), b.get("projection")
    if burn:
        notes.append(f"Active block: burning {usd(burn['costPerHour'])}/h, "
                     f"{burn['tokensPerMinute']:,.0f} tokens/min")  # fmt: skip
    if proj:
        notes.append(f"Projected by the block's end ({proj['remainingMinutes']} min left): "
                     f"{tokens(proj['totalTokens'])} tokens, {usd(proj['totalCost'])}")  # fmt: skip
    status = b.get("tokenLimitStatus")
    if status:
        word = {"ok": "OK", "warning": "WARNING", "exceeds": "EXCEEDED"}[status["status"]]
        notes.append(f"Token limit {tokens(status['limit'])}: projected "
                     f"{status['percentUsed']:.0f}% — {word}")  # fmt: skip
    return notes


def _local(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone()


def _print_usage(data: dict, args: argparse.Namespace, term: Term, title: str) -> None:
    """`podium report usage`: every source by agent/provider/model/taskType, then the top
    models by cost. A `+` after a cost: some of its models have no price."""
    by = data["by"]

    def cost(row: dict) -> str:
        return usd(row["costUSD"]) + ("+" if row["unpricedModels"] else "")

    def cells(label: str, row: dict) -> list[str]:
        return [label, tokens(row["calls"]), tokens(row["apiCalls"]), tokens(row["errors"]),
                tokens(row["inputTokens"]), tokens(row["outputTokens"]),
                tokens(row["cacheReadTokens"]), tokens(row["totalTokens"]), cost(row)]  # fmt: skip

    header = {"agent": "Agent", "provider": "Provider", "model": "Model",
              "taskType": "Task type"}.get(by, by)  # fmt: skip
    table = Table(title, [Column("key", header, style="cyan"),
                          Column("calls", "Calls", right=True),
                          Column("api", "API\ncalls", right=True),
                          Column("errors", "Errors", right=True),
                          Column("input", "Input", right=True),
                          Column("output", "Output", right=True),
                          Column("cache_read", "Cache\nRead", right=True),
                          Column("total", "Total\nTokens", right=True),
                          Column("cost", "Cost\n(USD)", right=True, style="green")])  # fmt: skip
    name = short_model if by == "model" else str
    table.rows = [cells(name(str(r[by])), r) for r in data["rows"]]
    table.total = cells("Total", data["totals"])
    if data["unpricedModels"]:
        table.notes.append("+ no price for " + ", ".join(data["unpricedModels"])
                           + ": their tokens are not in these costs (`podium prices update`)")
    variants = [table, table.only(("key", "calls", "input", "output", "total", "cost")),
                table.only(("key", "calls", "total", "cost"))]
    _print(variants, args, term)
    if data.get("topModels") and table.rows:
        top = Table("Top models by cost", [Column("model", "Model", style="cyan"),
                                           Column("calls", "Calls", right=True),
                                           Column("tokens", "Tokens", right=True),
                                           Column("cost", "Cost\n(USD)", right=True,
                                                  style="green")])  # fmt: skip
        top.rows = [[short_model(m["model"]), tokens(m["calls"]), tokens(m["totalTokens"]),
                     cost(m)] for m in data["topModels"]]  # fmt: skip
        print()
        render([top], term)
