"""The export engine (see `podium.export`)."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from podium.domain.attribution import OwnerIndex
from podium.domain.periods import date_range_ms
from podium.errors import InvalidInput, PodiumError
from podium.export.safety import check_target, write_file
from podium.redact import scrub
from podium.store import Store
from podium.usage.pricing import PriceTable
from podium.usage.queries import (
    default_prices,
    entry_filters,
    long_context_sql,
    price_group,
    where_sql,
)
from podium.usage.reports import parse_day, resolve_tz

FORMATS = ("csv", "json")
GROUPINGS = ("entry", "day", "agent", "model")
TOKEN_COLUMNS = ["inputTokens", "outputTokens", "cacheCreationTokens", "cacheReadTokens",
                 "totalTokens", "costUSD", "messages"]  # fmt: skip
COLUMNS: dict[str, list[str]] = {
    "entry": ["timestamp", "date", "agentId", "agentName", "sessionId", "project", "model",
              *TOKEN_COLUMNS],
    "day": ["date", *TOKEN_COLUMNS],
    "agent": ["agentId", "agentName", "task", "source", *TOKEN_COLUMNS],
    "model": ["model", *TOKEN_COLUMNS],
}  # fmt: skip
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: Any) -> Any:
    """A text cell a spreadsheet would run as a formula gets a leading apostrophe."""
    if isinstance(cell, str) and cell.startswith(_FORMULA_START):
        return "'" + cell
    return cell


def resolve_export_path(workspace: str | os.PathLike[str], path: str | None, group_by: str,
                        fmt: str, *, now: datetime | None = None) -> Path:  # fmt: skip
    """Where the export goes. Default and relative paths stay inside the workspace's
    `.podium/exports/`-rooted tree; only an explicit absolute path may point elsewhere."""
    root = Path(workspace).resolve()
    if not path:
        stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
        base = root / ".podium" / "exports" / f"usage-{group_by}-{stamp}"
        candidate, n = Path(f"{base}.{fmt}"), 2
        while candidate.exists():  # two exports in one second: never clash, never overwrite
            candidate, n = Path(f"{base}-{n}.{fmt}"), n + 1
        return candidate
    given = Path(os.path.expanduser(path))
    if given.is_absolute():
        return given
    target = (root / given).resolve()
    if not target.is_relative_to(root):
        raise InvalidInput(
            f"export path {path!r} leaves the workspace; give an absolute path to write "
            "outside it",
            field="path",
        )
    return target


def _agents(store: Store) -> list[tuple[str, str, str, str, str | None, str | None]]:
    rows = store.conn.execute(
        "SELECT id, name, task, source, claude_session_id, worktree FROM agents"
    ).fetchall()
    return [tuple(r) for r in rows]


def export_usage(store: Store, options: dict[str, Any], *, workspace: str | os.PathLike[str],
                 tz: str | None = None, prices: PriceTable | None = None,
                 protected: Iterable[str | os.PathLike[str]] = ()) -> dict[str, Any]:  # fmt: skip
    """Write an export file; returns {path, rows, format}. Never inside `.git`, the store's
    folder, `.podium/` (but `.podium/exports/`) or the `protected` folders (a custom agent
    worktree folder): see `podium.export.safety`."""
    if not isinstance(options, dict):
        raise InvalidInput("export options must be an object", field="options")
    fmt = options.get("format", "csv")
    if fmt not in FORMATS:
        raise InvalidInput(f"format must be one of {', '.join(FORMATS)}", field="format")
    group_by = options.get("groupBy") or "entry"
    if group_by not in GROUPINGS:
        raise InvalidInput(f"groupBy must be one of {', '.join(GROUPINGS)}", field="groupBy")
    agent_ids = options.get("agentIds")
    if agent_ids is not None and (
        not isinstance(agent_ids, list) or not all(isinstance(a, str) for a in agent_ids)
    ):
        raise InvalidInput("agentIds must be a list of agent ids", field="agentIds")
    overwrite = options.get("overwrite", False)
    if not isinstance(overwrite, bool):
        raise InvalidInput("overwrite must be true or false", field="overwrite")
    raw_path = options.get("path")
    if raw_path is not None and not isinstance(raw_path, str):
        raise InvalidInput("path must be a string", field="path")
    zone = resolve_tz(options.get("timezone") or tz)
    since = parse_day(options.get("since"), "since")
    until = parse_day(options.get("until"), "until")
    if since is not None and until is not None and since > until:
        # swapped dates: say so rather than write an empty file and call it a success
        raise InvalidInput(f"since {since} is after until {until}", field="since")
    lo, hi = date_range_ms(since, until, zone)
    prices = prices or default_prices()

    target = check_target(resolve_export_path(workspace, raw_path, group_by, fmt),
                          workspace=Path(workspace), store_path=store.path,
                          protected=protected)  # fmt: skip
    if os.path.exists(target) and not overwrite:  # False for a name the OS refuses: said below
        raise InvalidInput(f"{target} exists; pass overwrite to replace it", field="path")

    agents = _agents(store)
    by_id = {a[0]: a for a in agents}
    case, case_params = OwnerIndex((a[0], a[4], a[5]) for a in agents).case_sql()
    clauses, params = entry_filters(lo, hi)
    where = where_sql(clauses)
    sql = (
        f"SELECT ts, model, input, output, cache_create, cache_read, COALESCE(cache_1h, 0), "
        f"cost_logged, {long_context_sql(prices)}, session_id, project, {case} AS agent "
        f"FROM entries {where} ORDER BY ts"
    )
    wanted = set(agent_ids) if agent_ids is not None else None
    groups: dict[Any, dict[str, Any]] = {}
    entries: list[dict[str, Any]] = []
    for ts, model, i, o, cc, cr, c1h, logged, long, session, project, agent in store.conn.execute(
        sql, [*case_params, *params]
    ):
        if wanted is not None and agent not in wanted:
            continue
        cost = price_group(prices, "auto", model, long, logged is not None, i, o, cc, cr, c1h,
                           logged or 0.0)  # fmt: skip
        local = datetime.fromtimestamp(ts / 1000, tz=zone)
        if group_by == "entry":
            name = by_id[agent][1] if agent in by_id else ""
            entries.append({"timestamp": local.isoformat(timespec="milliseconds"),
                            "date": local.date().isoformat(), "agentId": agent,
                            "agentName": scrub(name), "sessionId": session or "",
                            "project": project or "", "model": model or "unknown",
                            **_tokens(i, o, cc, cr, cost, 1)})  # fmt: skip
            continue
        key = {"day": local.date().isoformat(), "agent": agent,
               "model": model or "unknown"}[group_by]  # fmt: skip
        acc = groups.get(key)
        if acc is None:
            acc = groups[key] = _tokens(0, 0, 0, 0, 0.0, 0)
        acc["inputTokens"] += i
        acc["outputTokens"] += o
        acc["cacheCreationTokens"] += cc
        acc["cacheReadTokens"] += cr
        acc["totalTokens"] += i + o + cc + cr
        acc["costUSD"] += cost
        acc["messages"] += 1
    rows = entries if group_by == "entry" else _grouped_rows(group_by, groups, by_id)
    for row in rows:
        row["costUSD"] = round(row["costUSD"], 6)
    data = _render(fmt, group_by, rows, options, prices)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        write_file(target, data, overwrite=overwrite)
    except OSError as exc:  # a name too long, no permission, a read-only or full disk
        raise PodiumError(f"cannot write the export to {target}: {exc.strerror or exc}; "
                          "choose another path or free the disk", field="path") from None
    return {"path": str(target), "rows": len(rows), "format": fmt}


def _tokens(i: int, o: int, cc: int, cr: int, cost: float, n: int) -> dict[str, Any]:
    return {"inputTokens": i, "outputTokens": o, "cacheCreationTokens": cc,
            "cacheReadTokens": cr, "totalTokens": i + o + cc + cr, "costUSD": cost,
            "messages": n}  # fmt: skip


def _grouped_rows(group_by: str, groups: dict, by_id: dict) -> list[dict[str, Any]]:
    rows = []
    for key in sorted(groups):
        if group_by == "day":
            rows.append({"date": key, **groups[key]})
        elif group_by == "model":
            rows.append({"model": key, **groups[key]})
        else:
            agent = by_id.get(key)
            rows.append({"agentId": key, "agentName": scrub(agent[1]) if agent else "",
                         "task": scrub(agent[2]) if agent else "",
                         "source": agent[3] if agent else "", **groups[key]})  # fmt: skip
    return rows


def _render(fmt: str, group_by: str, rows: list[dict[str, Any]], options: dict,
            prices: PriceTable) -> bytes:  # fmt: skip
    if fmt == "json":
        doc = {"groupBy": group_by, "since": options.get("since"), "until": options.get("until"),
               "prices": prices.fingerprint, "columns": COLUMNS[group_by], "rows": rows}  # fmt: skip
        return orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n"
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(COLUMNS[group_by])
    for row in rows:
        writer.writerow([neutralise(row[c]) for c in COLUMNS[group_by]])
    return buf.getvalue().encode("utf-8")
