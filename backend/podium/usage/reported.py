"""What an agent CLI says a session cost, kept next to Podium's own figure.

Claude Code computes its own cost: the stream-json `result` event carries `total_cost_usd` (and
`modelUsage[model].costUSD`), and when its process exits the transcript gets a `cost-state` line
with `totalCostUSD` and the same per-model split. Both are cumulative for the session (a resumed
session continues from the stored figure), so the store keeps one row per session: the largest
figure seen. Podium shows it next to its computed cost and uses it for models its price table
does not know (cost mode `auto`), marked as reported.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, TypeVar

from podium.store import Store

if TYPE_CHECKING:
    from podium.usage.pricing import PriceTable

T = TypeVar("T")

SOURCES = ("cost-state", "result")
MAX_USD = 1e6  # a session figure above this is not believable (bad input, not a cost)
_MAX_LINE = 1 << 20  # a cost line is < 1 KB per model; longer "lines" are not read back


class ReportedCost:
    """A CLI's own cost figure for one session. (A plain class: see podium.usage.models.)"""

    __slots__ = ("cost_usd", "models", "session_id", "source", "ts", "unknown_cost")

    # the figures come straight from a CLI's JSON: checked here, so typed as what arrives
    def __init__(self, session_id: object, cost_usd: object, models: Mapping[str, object],
                 source: str, *, unknown_cost: bool = False, ts: int | None = None) -> None:  # fmt: skip
        if source not in SOURCES:
            raise ValueError(f"source must be one of {', '.join(SOURCES)}")
        if not session_id or type(session_id) is not str:
            raise ValueError("a reported cost needs a session id")
        self.session_id = session_id
        self.cost_usd = valid_usd(cost_usd, "cost")
        self.models = {str(m): valid_usd(v, m) for m, v in models.items()}
        self.source = source
        #: the CLI had no price for one of the session's models (its figure is too low)
        self.unknown_cost = bool(unknown_cost)
        self.ts = int(time.time() * 1000) if ts is None else int(ts)

    def as_row(self, file_id: int | None) -> tuple:
        return (self.session_id, self.cost_usd, json.dumps(self.models, sort_keys=True),
                int(self.unknown_cost), self.source, file_id, self.ts)  # fmt: skip

    def as_dict(self) -> dict:
        return {"sessionId": self.session_id, "costUSD": round(self.cost_usd, 6),
                "models": {m: round(v, 6) for m, v in self.models.items()},
                "unknownCost": self.unknown_cost, "source": self.source, "ts": self.ts}  # fmt: skip

    def __repr__(self) -> str:
        return f"ReportedCost({self.as_dict()!r})"


def valid_usd(value: object, what: str) -> float:
    number = value if type(value) is int or type(value) is float else None  # a bool is none
    if number is None or not math.isfinite(number) or not 0 <= number <= MAX_USD:
        raise ValueError(f"{what}: {value!r} is not a cost in USD")
    return float(number)


def from_result_event(event: dict) -> ReportedCost | None:
    """Claude Code's stream-json `result` event → its cost figure (None when it has none)."""
    session = event.get("session_id")
    total = event.get("total_cost_usd")
    if event.get("type") != "result" or type(session) is not str or total is None:
        return None
    usage = event.get("modelUsage")
    models = {m: u["costUSD"] for m, u in usage.items()
              if type(u) is dict and "costUSD" in u} if type(usage) is dict else {}  # fmt: skip
    return ReportedCost(session, total, models, "result")


_UPSERT = (
    "INSERT INTO session_costs(session_id, cost_usd, models_json, unknown_cost, source, "
    "file_id, ts) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(session_id) DO UPDATE SET "
    "cost_usd = excluded.cost_usd, models_json = excluded.models_json, "
    "unknown_cost = excluded.unknown_cost, source = excluded.source, file_id = excluded.file_id, "
    "ts = excluded.ts WHERE excluded.cost_usd >= session_costs.cost_usd"
)  # the figure is cumulative: the largest one is the latest


def upsert(conn: sqlite3.Connection, rows: list[tuple]) -> None:
    """`ReportedCost.as_row` tuples, inside the caller's transaction."""
    conn.executemany(_UPSERT, rows)


def record_reported_cost(store: Store, cost: ReportedCost) -> None:
    """Keep a figure seen outside the transcripts (the agent's stream `result` event)."""
    with store.transaction() as conn:
        upsert(conn, [cost.as_row(None)])


def reported_costs(store: Store, session_ids: list[str] | None = None) -> dict[str, ReportedCost]:
    """Session id → the CLI's own figure, for the given sessions (all when None)."""
    sql = "SELECT session_id, cost_usd, models_json, unknown_cost, source, ts FROM session_costs"
    params: list[str] = []
    if session_ids is not None:
        ids = [s for s in session_ids if s]
        if not ids:
            return {}
        sql += f" WHERE session_id IN ({', '.join('?' * len(ids))})"
        params = ids
    out: dict[str, ReportedCost] = {}
    for session, usd, models, unknown, source, ts in store.conn.execute(sql, params):
        out[session] = ReportedCost(session, usd, json.loads(models), source,
                                    unknown_cost=bool(unknown), ts=ts)  # fmt: skip
    return out


def reported_cost(store: Store, session_id: str) -> ReportedCost | None:
    """Claude Code's own cost for one session (`cost-state` or stream `result`), or None."""
    return reported_costs(store, [session_id]).get(session_id)


#: how far back from the end of new bytes a cost line is looked for: Claude Code writes it as
#: the last line when a session's process exits, and it is < 1 KB (a bounded read per file
#: keeps a first ingest of thousands of files as fast as without it)
TAIL_BYTES = 8 << 10


def last_line_in_tail(path: str, start: int, end: int, needle: bytes,
                      accept: Callable[[bytes], T | None], tail: int = TAIL_BYTES) -> T | None:  # fmt: skip
    """`accept(line)` of the last line holding `needle` that `accept` takes (not None), among
    the file's complete lines [start, end) that reach into its last `tail` bytes."""
    if end <= start:
        return None
    from podium.usage.reading import open_regular  # never blocks on a FIFO swapped in

    fd = open_regular(path)
    try:
        lo = max(start, end - tail)
        buf = os.pread(fd, end - lo, lo)
        at = buf.rfind(needle)
        while at >= 0:
            line_lo, line = _line_at(fd, lo + at, start, end)
            found = accept(line) if line is not None else None
            if found is not None:
                return found
            at = buf.rfind(needle, 0, max(line_lo - lo, 0))  # an earlier hit
        return None
    finally:
        os.close(fd)


def _line_at(fd: int, pos: int, start: int, end: int) -> tuple[int, bytes | None]:
    """(line start, line) of the line holding byte `pos`; line None when too long to read."""
    back = min(pos - start, _MAX_LINE)
    before = os.pread(fd, back, pos - back)
    nl = before.rfind(b"\n")
    if nl < 0 and pos - back > start:
        return pos - back, None
    line_lo = pos - back + nl + 1
    after = os.pread(fd, min(end - pos, _MAX_LINE), pos)
    cut = after.find(b"\n")
    if cut < 0:
        return line_lo, None
    return line_lo, (before[nl + 1 :] + after[:cut]).rstrip(b"\r")


def unpriced_share(store: Store, where: str, params: list, models: list[str]) -> tuple[float, set[str]]:
    """For entries (`where`) of models the price table does not know: the sessions' reported
    cost of those models, in proportion to the tokens selected (all of a session's tokens of
    the model give its whole figure). Returns (USD, models with a session lacking a figure)."""
    from podium.usage.pricing import canonical_model

    marks = ", ".join("?" * len(models))
    scope = f"{where} AND model IN ({marks})" if where else f"WHERE model IN ({marks})"
    tokens = "SUM(input + output + cache_create + cache_read)"
    picked = store.conn.execute(
        f"SELECT session_id, model, {tokens} FROM entries {scope} GROUP BY 1, 2",
        [*params, *models],
    ).fetchall()
    sessions = sorted({s for s, _, _ in picked if s})
    figures = reported_costs(store, sessions)
    whole: dict[tuple[str, str], int] = {}
    if sessions:
        whole = {(s, m): n for s, m, n in store.conn.execute(
            f"SELECT session_id, model, {tokens} FROM entries WHERE session_id IN "
            f"({', '.join('?' * len(sessions))}) AND model IN ({marks}) GROUP BY 1, 2",
            [*sessions, *models])}  # fmt: skip
    usd, missing = 0.0, set()
    for session, model, n in picked:
        figure = figures.get(session)
        by_model = {canonical_model(m): v for m, v in figure.models.items()} if figure else {}
        value = by_model.get(canonical_model(model))
        if value is None and figure is not None and not figure.models:
            value = figure.cost_usd  # a figure without a split covers the session
        if value is None or figure is None or not whole.get((session, model)):
            missing.add(model)
            continue
        usd += value * n / whole[(session, model)]
        if figure.unknown_cost:  # the CLI did not know a price either: its figure is a guess
            missing.add(model)
    return usd, missing


def unpriced_summary(store: Store, prices: PriceTable) -> list[dict]:
    """Models in the store the price table does not know, with how much of their usage
    Claude Code's own figures cover (for `podium doctor`)."""
    from podium.usage.pricing import canonical_model

    out = []
    rows = store.conn.execute(
        "SELECT model, COUNT(*), COUNT(DISTINCT session_id) FROM entries "
        "WHERE model IS NOT NULL AND model != '' GROUP BY model"
    ).fetchall()
    for model, entries, sessions in rows:
        if prices.price_for(model) is not None:
            continue
        ids = [s for (s,) in store.conn.execute(
            "SELECT DISTINCT session_id FROM entries WHERE model = ?", (model,))]  # fmt: skip
        covered, usd = 0, 0.0
        for figure in reported_costs(store, ids).values():
            by_model = {canonical_model(m): v for m, v in figure.models.items()}
            value = by_model.get(canonical_model(model))
            if value is None and not figure.models:
                value = figure.cost_usd
            if value is not None and not figure.unknown_cost:
                covered += 1
                usd += value
        out.append({"model": model, "entries": entries, "sessions": sessions,
                    "sessionsWithReportedCost": covered, "reportedUSD": round(usd, 6)})  # fmt: skip
    return out
