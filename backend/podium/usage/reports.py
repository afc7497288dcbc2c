"""ccusage-compatible reports: daily, monthly, session, blocks.

JSON field names match ccusage v20 (formats.md §8) so scripts written for ccusage work on
Podium's output. Days and months are local to the requested time zone: rows are grouped in SQL
by 15-minute buckets (every real UTC offset is a multiple of 15 minutes) and bucket → local date
happens in Python with zoneinfo, so DST and half-hour zones come out right.
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime, timedelta, tzinfo

from podium.domain import periods
from podium.domain.periods import concrete_tz, date_range_ms
from podium.errors import InvalidInput
from podium.store import Store
from podium.store.migrations import BUCKET_MS, LONG_CONTEXT_LEVELS
from podium.usage.pricing import PriceTable
from podium.usage.queries import (
    default_prices,
    entry_filters,
    grouped_cost_sql,
    long_context_sql,
    price_group,
    where_sql,
)

DAY_MS = 86_400_000
BLOCK_MS = 5 * 3600 * 1000
UNKNOWN_MODEL = "unknown"


def resolve_tz(name: str | None) -> tzinfo:
    """A report's zone: `name`, else the machine's (podium.domain.periods: DST rules included;
    not today's fixed offset, which dates every entry from the other half of the year an hour
    off)."""
    return concrete_tz(periods.resolve_tz(name, field="timezone"))


def parse_day(value: str | None, field: str) -> date | None:
    """YYYY-MM-DD (or ccusage's YYYYMMDD)."""
    if not value:
        return None
    text = value.strip()
    try:
        if len(text) == 8 and text.isdigit():
            return date(int(text[:4]), int(text[4:6]), int(text[6:]))
        return date.fromisoformat(text)
    except ValueError as exc:
        # `2025-13-01` has the right shape: say what is wrong with it (month must be in 1..12)
        why = f" ({exc})" if "isoformat" not in str(exc) else ""
        raise InvalidInput(f"{field} must be a date, YYYY-MM-DD or YYYYMMDD, got {value!r}{why}",
                           field=field) from exc  # fmt: skip


class _Acc:
    __slots__ = ("cache_create", "cache_read", "cost", "input", "last_ts", "models", "output")

    def __init__(self) -> None:
        self.input = 0
        self.output = 0
        self.cache_create = 0
        self.cache_read = 0
        self.cost = 0.0
        self.last_ts = 0
        self.models: dict[str, _Acc] = {}

    def add(self, i: int, o: int, cc: int, cr: int, cost: float, last_ts: int) -> None:
        self.input += i
        self.output += o
        self.cache_create += cc
        self.cache_read += cr
        self.cost += cost
        self.last_ts = max(self.last_ts, last_ts)

    @property
    def total(self) -> int:
        return self.input + self.output + self.cache_create + self.cache_read

    def tokens(self) -> dict:
        return {
            "inputTokens": self.input,
            "outputTokens": self.output,
            "cacheCreationTokens": self.cache_create,
            "cacheReadTokens": self.cache_read,
        }

    def row(self, breakdown: bool) -> dict:
        row = self.tokens() | {"totalTokens": self.total, "totalCost": self.cost}
        row["modelsUsed"] = sorted(m for m in self.models if m != UNKNOWN_MODEL)
        if breakdown:
            row["modelBreakdowns"] = [
                {"modelName": name} | acc.tokens() | {"cost": acc.cost}
                for name, acc in sorted(self.models.items(), key=lambda kv: -kv[1].cost)
            ]
        else:
            row["modelBreakdowns"] = []
        return row


class ReportQuery:
    """Filters shared by every report."""

    def __init__(self, store: Store, *, since: str | None = None, until: str | None = None,
                 timezone: str | None = None, project: str | None = None,
                 prices: PriceTable | None = None, cost_mode: str = "auto") -> None:  # fmt: skip
        self.store = store
        self.tz = resolve_tz(timezone)
        self.prices = prices or default_prices()
        self.cost_mode = cost_mode
        lo, hi = date_range_ms(parse_day(since, "since"), parse_day(until, "until"), self.tz)
        clauses, params = entry_filters(lo, hi)
        if project:
            clauses.append("(project = ? OR cwd = ?)")
            params.extend([project, project])
        self.where = where_sql(clauses)
        self.params = params
        # the 15-minute sums answer exactly when no entry-level filter applies and the range
        # falls on bucket edges (it does in every zone whose offsets are whole quarter hours)
        self.buckets: tuple[str, list[int]] | None = None  # (WHERE clause, its parameters)
        if not project and self.prices.breakpoints == LONG_CONTEXT_LEVELS and all(
            edge is None or edge % BUCKET_MS == 0 for edge in (lo, hi)
        ):
            bounds = [(f"bucket {op} ?", edge // BUCKET_MS)
                      for op, edge in ((">=", lo), ("<", hi)) if edge is not None]  # fmt: skip
            self.buckets = (
                where_sql(["n > 0", *(c for c, _ in bounds)]),
                [p for _, p in bounds],
            )

    def grouped(self, group_by: str) -> Iterator[tuple]:
        """Rows of (group, model, tokens…, cost) priced under the cost mode."""
        sql = grouped_cost_sql(self.prices, group_by, self.where)
        for row in self.store.conn.execute(sql, self.params):
            group, model, long, has_logged, i, o, cc, cr, c1h, logged, n, _lo, hi = row
            cost = price_group(self.prices, self.cost_mode, model, long, has_logged, i, o, cc,
                               cr, c1h, logged)  # fmt: skip
            yield group, model or UNKNOWN_MODEL, i, o, cc, cr, cost, n, hi

    def grouped_buckets(self, group_by: str) -> Iterator[tuple]:
        """Like `grouped`, from usage_buckets; `group_by` is an expression over `bucket`."""
        assert self.buckets is not None, "only asked when the bucket sums answer"
        where, params = self.buckets
        sql = (
            f"SELECT {group_by}, model, long, has_logged, SUM(input), SUM(output), "
            "SUM(cache_create), SUM(cache_read), SUM(cache_1h), SUM(cost_logged), SUM(n), "
            f"MAX(bucket) * {BUCKET_MS} FROM usage_buckets {where} "
            f"GROUP BY {group_by}, model, long, has_logged"
        )
        for row in self.store.conn.execute(sql, params):
            group, model, long, has_logged, i, o, cc, cr, c1h, logged, n, hi = row
            model = model or None
            cost = price_group(self.prices, self.cost_mode, model, long, has_logged, i, o, cc,
                               cr, c1h, logged)  # fmt: skip
            yield group, model or UNKNOWN_MODEL, i, o, cc, cr, cost, n, hi

    def local_date(self, ms: int) -> date:
        return datetime.fromtimestamp(ms / 1000, tz=self.tz).date()


def _fixed_offset_ms(tz: tzinfo | None) -> int | None:
    """The zone's UTC offset when it never changes (UTC, Etc/GMT±N, fixed offsets), else None;
    such zones are grouped by whole local days in SQL, far fewer groups than 15-min buckets."""
    probes = [datetime(y, m, 1, tzinfo=tz) for y in range(2015, 2036) for m in (1, 7)]
    offsets = {p.utcoffset() for p in probes}
    if len(offsets) != 1:
        return None
    (offset,) = offsets
    return int(offset.total_seconds() * 1000) if offset is not None else None


def _by_local_period(q: ReportQuery, fmt: str | Callable[[date], str]) -> dict[str, _Acc]:
    """Rows summed per local period; `fmt` names the period of a local date (a strftime
    format, or a function for weeks)."""
    name = fmt if callable(fmt) else (lambda d: d.strftime(fmt))
    periods: dict[str, _Acc] = defaultdict(_Acc)
    label_cache: dict[int, str] = {}
    fixed = _fixed_offset_ms(q.tz)
    if fixed is not None:
        size = DAY_MS

        def group(ts: str) -> str:
            return f"({ts} + {fixed}) / {DAY_MS}"

        def label_of(bucket: int) -> str:
            return name(datetime.fromtimestamp(bucket * DAY_MS / 1000, tz=UTC).date())
    else:
        size = BUCKET_MS

        def group(ts: str) -> str:
            return f"{ts} / {BUCKET_MS}"

        def label_of(bucket: int) -> str:
            return name(q.local_date(bucket * size))

    if q.buckets is not None:
        rows = q.grouped_buckets(group(f"bucket * {BUCKET_MS}"))
    else:
        rows = q.grouped(group("ts"))
    for bucket, model, i, o, cc, cr, cost, _n, hi in rows:
        label = label_cache.get(bucket)
        if label is None:
            label = label_cache[bucket] = label_of(bucket)
        acc = periods[label]
        acc.add(i, o, cc, cr, cost, hi)
        acc.models.setdefault(model, _Acc()).add(i, o, cc, cr, cost, hi)
    return periods


def _totals(accs: Iterable[_Acc]) -> dict:
    t = _Acc()
    for a in accs:
        t.add(a.input, a.output, a.cache_create, a.cache_read, a.cost, a.last_ts)
    return t.tokens() | {"totalTokens": t.total, "totalCost": t.cost}


def daily(q: ReportQuery, *, breakdown: bool = False, order: str = "asc") -> dict:
    periods = _by_local_period(q, "%Y-%m-%d")
    keys = sorted(periods, reverse=order == "desc")
    return {
        "daily": [{"date": k} | periods[k].row(breakdown) for k in keys],
        "totals": _totals(periods.values()),
    }


def monthly(q: ReportQuery, *, breakdown: bool = False, order: str = "asc") -> dict:
    periods = _by_local_period(q, "%Y-%m")
    keys = sorted(periods, reverse=order == "desc")
    return {
        "monthly": [{"month": k} | periods[k].row(breakdown) for k in keys],
        "totals": _totals(periods.values()),
    }


#: Python's weekday() of each `--start-of-week` name
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def weekly(q: ReportQuery, *, breakdown: bool = False, order: str = "asc",
           start_of_week: str = "sunday") -> dict:  # fmt: skip
    """ccusage's `weekly`: weeks named by the local date they start on (Sunday by default)."""
    first = WEEKDAYS.index(start_of_week)

    def week_of(d: date) -> str:
        return (d - timedelta(days=(d.weekday() - first) % 7)).isoformat()

    periods = _by_local_period(q, week_of)
    keys = sorted(periods, reverse=order == "desc")
    return {
        "weekly": [{"week": k} | periods[k].row(breakdown) for k in keys],
        "totals": _totals(periods.values()),
    }


def session(q: ReportQuery, *, breakdown: bool = False, by_file: bool = False) -> dict:
    """Sessions by the `sessionId` their lines carry (a resumed session is one row), or with
    `by_file` as ccusage groups them: by the transcript's file name (a sub-agent's file counts
    for the session whose folder holds it) and project folder."""
    sessions: dict[tuple, _Acc] = defaultdict(_Acc)
    if by_file:
        paths = dict(q.store.conn.execute("SELECT id, path FROM files"))
        groups = ((_session_of_path(paths.get(fid, "")), *rest)
                  for fid, *rest in q.grouped("file_id"))  # fmt: skip
    else:
        groups = ((tuple(g.partition("\0")[::2]), *rest) for g, *rest in q.grouped(
            "COALESCE(session_id, '') || char(0) || COALESCE(project, '')"))  # fmt: skip
    for (sid, project), model, i, o, cc, cr, cost, _n, hi in groups:
        acc = sessions[(sid, project)]
        acc.add(i, o, cc, cr, cost, hi)
        acc.models.setdefault(model, _Acc()).add(i, o, cc, cr, cost, hi)
    rows = []
    for (sid, project), acc in sorted(sessions.items(), key=lambda kv: -kv[1].last_ts):
        row = {"sessionId": sid or "unknown"} | acc.row(breakdown)
        row["lastActivity"] = q.local_date(acc.last_ts).isoformat()
        row["projectPath"] = project or "unknown"
        rows.append(row)
    return {"sessions": rows, "totals": _totals(sessions.values())}


def _session_of_path(path: str) -> tuple[str, str]:
    """(session, project folder) of `projects/<project>/<session>.jsonl` or
    `projects/<project>/<session>/subagents/<agent>.jsonl`."""
    parts = path.replace("\\", "/").split("/")
    if "projects" in parts:
        rel = parts[len(parts) - parts[::-1].index("projects"):]
        if len(rel) >= 2:
            return rel[1].removesuffix(".jsonl"), rel[0]
    return os.path.basename(path).removesuffix(".jsonl"), ""


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{ms % 1000:03d}Z"
    )


def blocks(q: ReportQuery, *, now_ms: int | None = None, active_only: bool = False,
           recent_days: int | None = None) -> dict:  # fmt: skip
    """5-hour billing blocks as ccusage builds them (formats.md §7)."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    sql = (
        f"SELECT ts, model, input, output, cache_create, cache_read, cache_1h, cost_logged, "
        f"{long_context_sql(q.prices)} FROM entries {q.where} ORDER BY ts"
    )
    out: list[dict] = []
    cur: dict | None = None
    last_ts = 0

    def close(block: dict) -> None:
        block["isActive"] = now_ms - block["_last"] < BLOCK_MS and now_ms < block["_end"]
        out.append(block)

    for ts, model, i, o, cc, cr, c1h, logged, long in q.store.conn.execute(sql, q.params):
        cost = price_group(q.prices, q.cost_mode, model, long, logged is not None, i, o, cc, cr,
                           c1h or 0, logged or 0.0)  # fmt: skip
        if cur is not None and (ts - cur["_start"] > BLOCK_MS or ts - last_ts > BLOCK_MS):
            close(cur)
            if ts - last_ts > BLOCK_MS:
                out.append(_gap_block(last_ts + BLOCK_MS, ts))
            cur = None
        if cur is None:
            start = ts - ts % 3_600_000
            cur = {"_start": start, "_end": start + BLOCK_MS, "_first": ts, "_last": ts,
                   "entries": 0, "in": 0, "out": 0, "cc": 0, "cr": 0, "cost": 0.0,
                   "models": []}  # fmt: skip
        cur["entries"] += 1
        cur["in"] += i
        cur["out"] += o
        cur["cc"] += cc
        cur["cr"] += cr
        cur["cost"] += cost
        cur["_last"] = ts
        name = model or UNKNOWN_MODEL
        if name not in cur["models"]:
            cur["models"].append(name)
        last_ts = ts
    if cur is not None:
        close(cur)
    result = [b if b.get("isGap") else _render_block(b, now_ms) for b in out]
    if recent_days is not None:
        cutoff = now_ms - recent_days * DAY_MS
        result = [b for b in result if b["isActive"] or _ms(b["startTime"]) >= cutoff]
    if active_only:
        result = [b for b in result if b["isActive"]]
    return {"blocks": result}


def _ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def _gap_block(start: int, end: int) -> dict:
    return {
        "id": f"gap-{_iso(start)}", "startTime": _iso(start), "endTime": _iso(end),
        "actualEndTime": None, "isActive": False, "isGap": True, "entries": 0,
        "tokenCounts": {"inputTokens": 0, "outputTokens": 0, "cacheCreationInputTokens": 0,
                        "cacheReadInputTokens": 0},
        "totalTokens": 0, "costUSD": 0.0, "models": [], "burnRate": None, "projection": None,
    }  # fmt: skip


def _render_block(b: dict, now_ms: int) -> dict:
    total = b["in"] + b["out"] + b["cc"] + b["cr"]
    burn = projection = None
    minutes = (b["_last"] - b["_first"]) / 60000
    if b["isActive"] and minutes > 0:
        burn = {"tokensPerMinute": total / minutes, "costPerHour": b["cost"] / minutes * 60}
        remaining = max(0.0, (b["_end"] - now_ms) / 60000)
        projection = {
            "totalTokens": round(total + burn["tokensPerMinute"] * remaining),
            "totalCost": round(b["cost"] + burn["costPerHour"] / 60 * remaining, 2),
            "remainingMinutes": round(remaining),
        }
    return {
        "id": _iso(b["_start"]), "startTime": _iso(b["_start"]), "endTime": _iso(b["_end"]),
        "actualEndTime": _iso(b["_last"]), "isActive": b["isActive"], "isGap": False,
        "entries": b["entries"],
        "tokenCounts": {"inputTokens": b["in"], "outputTokens": b["out"],
                        "cacheCreationInputTokens": b["cc"], "cacheReadInputTokens": b["cr"]},
        "totalTokens": total, "costUSD": b["cost"], "models": b["models"],
        "burnRate": burn, "projection": projection,
    }  # fmt: skip
