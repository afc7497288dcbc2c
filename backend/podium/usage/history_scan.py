"""The two reads `podium/usageHistory` and the insights are made of: usage summed per (time key,
session, cwd, project, model, long-context level, has logged cost) and the plan figures thinned
per window and step.

Both read the sums the store keeps (podium.store.rollups: `history_buckets`, `plan_steps`)
when they answer exactly, and the rows otherwise: a range edge inside a quarter hour is read
from `entries` (so any [lo, hi) is exact), and the rows alone answer when the time key is not
constant within each quarter hour (a zone whose offset is not a multiple of 15 minutes), when
the price table splits long context elsewhere than the sums do, or when archives are read with
the store (`include_archives` shadows `entries`, not the sums). Same answer either way
(tests/usage/test_history_rollups.py compares them).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from podium.store import Store
from podium.store.levels import BUCKET_MS, LONG_CONTEXT_LEVELS, long_level
from podium.store.rollups import PLAN_SOURCES, PLAN_STEPS
from podium.usage.pricing import PriceTable

#: past this share of the stored time span, reading the whole table beats the ts index (each
#: index hit is a lookup into the table)
FULL_SCAN_SHARE = 0.25
_SUMS_SQL = ("SUM(input), SUM(output), SUM(cache_create), SUM(cache_read), "
             "SUM(COALESCE(cache_1h, 0)), SUM(COALESCE(cost_logged, 0)), COUNT(*)")  # fmt: skip
_TEXT_KEYS = ("COALESCE(session_id, ''), COALESCE(cwd, ''), COALESCE(project, ''), "
              "COALESCE(model, '')")  # fmt: skip
_SUM_COLUMNS = ("input", "output", "cache_create", "cache_read", "cache_1h", "cost_logged", "n")


def _archives_read(store: Store) -> bool:
    """True while `include_archives` shadows `entries` with a temporary view."""
    found = store.conn.execute(
        "SELECT 1 FROM sqlite_temp_master WHERE name = 'entries'").fetchone()  # fmt: skip
    return found is not None


def scan(store: Store, prices: PriceTable, lo: int, hi: int, key_of: Callable[[str], str], *,
         aligned: bool = True, rollups: bool = True) -> list[tuple]:  # fmt: skip
    """Sums of the entries in [lo, hi) ms per (key, session, cwd, project, model, long level,
    has logged cost), one row each, where `key_of(ts)` is the SQL of the time key over an
    epoch-ms expression; `aligned`: that key is the same for every instant of a quarter hour.
    Session, cwd, project and model are '' when absent."""
    with store.lock:
        # two subqueries: SQLite reads one end of the ts index for each (MIN and MAX in one
        # SELECT scan the whole index)
        first, last = store.conn.execute(
            "SELECT (SELECT MIN(ts) FROM entries), (SELECT MAX(ts) FROM entries)").fetchone()
        if first is None:
            return []
        b_lo, b_hi = -(-lo // BUCKET_MS), hi // BUCKET_MS
        if (rollups and aligned and b_lo < b_hi and prices.breakpoints == LONG_CONTEXT_LEVELS
                and not _archives_read(store)):  # fmt: skip
            return _from_rollups(store, lo, hi, b_lo, b_hi, key_of)
        share = (min(hi, last + 1) - max(lo, first)) / max(last + 1 - first, 1)
        hint = "NOT INDEXED" if share > FULL_SCAN_SHARE else ""
        return store.conn.execute(
            f"SELECT {key_of('ts')}, {_TEXT_KEYS}, {prices.long_level_sql()}, "
            f"cost_logged IS NOT NULL, {_SUMS_SQL} FROM entries {hint} "
            "WHERE ts >= ? AND ts < ? GROUP BY 1, 2, 3, 4, 5, 6, 7", (lo, hi)).fetchall()


def _from_rollups(store: Store, lo: int, hi: int, b_lo: int, b_hi: int,
                  key_of: Callable[[str], str]) -> list[tuple]:  # fmt: skip
    """`scan` from history_buckets for the whole quarter hours in [lo, hi), plus the entries
    of the partial ones at either edge (lock held)."""
    sums = ", ".join(f"SUM({c})" for c in _SUM_COLUMNS)
    rows = store.conn.execute(
        f"SELECT {key_of(f'bucket * {BUCKET_MS}')}, session_id, cwd, project, model, long, "
        f"has_logged, {sums} FROM history_buckets WHERE bucket >= ? AND bucket < ? "
        "GROUP BY 1, 2, 3, 4, 5, 6, 7", (b_lo, b_hi)).fetchall()  # fmt: skip
    edges = store.conn.execute(
        f"SELECT {key_of('ts')}, {_TEXT_KEYS}, {long_level()}, cost_logged IS NOT NULL, "
        f"{_SUMS_SQL} FROM entries WHERE (ts >= ? AND ts < ?) OR (ts >= ? AND ts < ?) "
        "GROUP BY 1, 2, 3, 4, 5, 6, 7",
        (lo, b_lo * BUCKET_MS, b_hi * BUCKET_MS, hi)).fetchall()  # fmt: skip
    if not edges:
        return rows
    merged = {row[:7]: list(row[7:]) for row in rows}
    for row in edges:
        found = merged.get(row[:7])
        if found is None:
            merged[row[:7]] = list(row[7:])
        else:
            found[:] = [a + b for a, b in zip(found, row[7:], strict=True)]
    # in key order, as GROUP BY returns them (the sums' order is the full scan's)
    return [(*key, *values) for key, values in sorted(merged.items())]


def plan_series(store: Store, lo: int, hi: int, step_s: int, *,
                rollups: bool = True) -> list[dict[str, Any]]:  # fmt: skip
    """The official plan figures (statusLine, OAuth, agents' rate_limit_event) seen in [lo, hi)
    ms, per window and UTC step of `step_s` (one of PLAN_STEPS): the step's first instant, its
    highest figure and that figure's source (the earliest on a tie); oldest first."""
    quarter = PLAN_STEPS[0]
    with store.lock:
        read = None
        for kept in (step_s, quarter) if rollups else ():
            if lo % (kept * 1000) == 0 and hi % (kept * 1000) == 0:  # whole kept steps
                read = kept
                break
        if read is not None:
            rows = store.conn.execute(
                "SELECT window, n, ts, used_pct, source FROM plan_steps WHERE step = ? "
                "AND n >= ? AND n < ? ORDER BY window, n",
                (read, lo // (read * 1000), hi // (read * 1000))).fetchall()  # fmt: skip
        else:
            read = quarter
            rows = store.conn.execute(
                f"SELECT window, CAST(ts / {quarter} AS INTEGER), ts, used_pct, source "
                f"FROM plan_snapshots WHERE ts >= ? AND ts < ? AND source IN {PLAN_SOURCES} "
                "ORDER BY window, ts, id", (lo / 1000, hi / 1000)).fetchall()  # fmt: skip
    per = max(step_s // read, 1)
    points: list[list[Any]] = []
    last: tuple[str, int] | None = None
    for window, n, ts, pct, source in rows:
        step = (window, n // per)
        if step != last:
            points.append([window, ts, pct, source])
            last = step
        elif pct > points[-1][2]:
            points[-1][2], points[-1][3] = pct, source
    points.sort(key=lambda p: (p[1], p[0]))
    return [{"window": w, "ts": int(ts * 1000), "usedPct": round(pct, 3), "source": src}
            for w, ts, pct, src in points]  # fmt: skip
