"""Sums the usage history reads instead of every row (schema v12), kept exact by triggers.

- `history_buckets`: 15-minute sums of `entries` per (bucket, session, cwd, project, model,
  long-context level, has a logged cost): what `podium/usageHistory` and the insights group
  by (the owning agent is decided from session and cwd at query time, so a new agent row never
  needs a rebuild). Every UTC offset in use is a multiple of 15 minutes, so local days and hours
  are unions of buckets. NULL text is stored as '' (a key column), which every reader treats
  as none. A bucket whose entries all went (a re-read file, the archive) is deleted.
- `plan_steps`: the official plan figures (`plan_snapshots` from `official` and `oauth`)
  per window and quarter hour, and per window and hour: each step's first instant, its
  highest figure and that figure's source.
"""

from __future__ import annotations

from podium.store.levels import BUCKET_MS, long_level

_KEY = ("bucket", "session_id", "cwd", "project", "model", "long", "has_logged")
_SUMS = ("input", "output", "cache_create", "cache_read", "cache_1h", "cost_logged", "n")


def _key_values(row: str) -> list[str]:
    return [f"{row}.ts / {BUCKET_MS}", f"COALESCE({row}.session_id, '')",
            f"COALESCE({row}.cwd, '')", f"COALESCE({row}.project, '')",
            f"COALESCE({row}.model, '')", long_level(row), f"{row}.cost_logged IS NOT NULL"]  # fmt: skip


def _add(row: str, sign: str) -> str:
    sums = [f"{sign}{row}.input", f"{sign}{row}.output", f"{sign}{row}.cache_create",
            f"{sign}{row}.cache_read", f"{sign}COALESCE({row}.cache_1h, 0)",
            f"{sign}COALESCE({row}.cost_logged, 0)", f"{sign}1"]  # fmt: skip
    return (
        f"INSERT INTO history_buckets({', '.join(_KEY + _SUMS)}) "
        f"VALUES ({', '.join(_key_values(row) + sums)}) "
        f"ON CONFLICT({', '.join(_KEY)}) DO UPDATE SET "
        + ", ".join(f"{c} = {c} + excluded.{c}" for c in _SUMS)
        + ";"
    )


def _drop_empty(row: str) -> str:
    match = " AND ".join(f"{c} = ({v})" for c, v in zip(_KEY, _key_values(row), strict=True))
    return f"DELETE FROM history_buckets WHERE {match} AND n = 0;"


#: keep history_buckets in step with entries (dropped and rebuilt around a bulk load, like
#: the report buckets' triggers)
HISTORY_TRIGGERS = f"""
CREATE TRIGGER entries_history_insert AFTER INSERT ON entries BEGIN
    {_add("NEW", "")}
END;
CREATE TRIGGER entries_history_delete AFTER DELETE ON entries BEGIN
    {_add("OLD", "-")}
    {_drop_empty("OLD")}
END;
CREATE TRIGGER entries_history_update AFTER UPDATE ON entries BEGIN
    {_add("OLD", "-")}
    {_drop_empty("OLD")}
    {_add("NEW", "")}
END;
"""

#: history_buckets' rows, computed from entries (in key order)
HISTORY_FROM_ENTRIES = f"""
SELECT ts / {BUCKET_MS}, COALESCE(session_id, ''), COALESCE(cwd, ''), COALESCE(project, ''),
       COALESCE(model, ''), {long_level()}, cost_logged IS NOT NULL, SUM(input), SUM(output),
       SUM(cache_create), SUM(cache_read), SUM(COALESCE(cache_1h, 0)),
       SUM(COALESCE(cost_logged, 0)), COUNT(*)
FROM entries GROUP BY 1, 2, 3, 4, 5, 6, 7"""
#: recompute history_buckets from entries
REBUILD_HISTORY = f"""
DELETE FROM history_buckets;
INSERT INTO history_buckets({", ".join(_KEY + _SUMS)}) {HISTORY_FROM_ENTRIES};
"""
#: recompute usage_buckets from history_buckets (a finer split of the same sums: one pass over
#: the entries builds both, for a first load)
REBUILD_BUCKETS_FROM_HISTORY = f"""
DELETE FROM usage_buckets;
INSERT INTO usage_buckets(bucket, model, long, has_logged, {", ".join(_SUMS)})
SELECT bucket, model, long, has_logged, {", ".join(f"SUM({c})" for c in _SUMS)}
FROM history_buckets GROUP BY 1, 2, 3, 4;
"""

#: the steps plan figures are kept in (a chart by hour shows quarter hours, one by day hours)
PLAN_STEPS = (900, 3600)
#: the plan figures usageHistory shows (the official ones, not an estimate)
PLAN_SOURCES = "('official', 'oauth')"


def _in_step(window: str, step: str, n: str, ts: str = "ts", source: str = "source") -> str:
    """SQL: the snapshot (`ts`, `source`) is an official figure of `window`'s step `n` (a ts
    range around it first, so the (window, ts) index finds the rows)."""
    return (f"{source} IN {PLAN_SOURCES} AND {ts} >= {n} * {step} - 1 "
            f"AND {ts} < ({n} + 1) * {step} + 1 AND CAST({ts} / {step} AS INTEGER) = {n} "
            f"AND window = {window}")  # fmt: skip


def _step_again(row: str, step: int) -> str:
    """SQL: recompute `row`'s window and step from plan_snapshots."""
    n = f"CAST({row}.ts / {step} AS INTEGER)"
    match = _in_step(f"{row}.window", str(step), n)
    return f"""
    DELETE FROM plan_steps WHERE window = {row}.window AND step = {step} AND n = {n};
    INSERT INTO plan_steps(window, step, n, ts, used_pct, source)
        SELECT window, {step}, {n}, (SELECT MIN(ts) FROM plan_snapshots WHERE {match}),
               used_pct, source
        FROM plan_snapshots WHERE {match} ORDER BY used_pct DESC, ts LIMIT 1;"""


def _step_add(step: int) -> str:
    return f"""
    INSERT INTO plan_steps(window, step, n, ts, used_pct, source)
        VALUES (NEW.window, {step}, CAST(NEW.ts / {step} AS INTEGER), NEW.ts, NEW.used_pct,
                NEW.source)
        ON CONFLICT(window, step, n) DO UPDATE SET
            ts = MIN(ts, excluded.ts),
            source = CASE WHEN excluded.used_pct > used_pct THEN excluded.source ELSE source END,
            used_pct = MAX(used_pct, excluded.used_pct);"""


def _step_build(step: int) -> str:
    return f"""
INSERT INTO plan_steps(window, step, n, ts, used_pct, source)
    SELECT window, {step}, CAST(ts / {step} AS INTEGER), MIN(ts), MAX(used_pct), ''
    FROM plan_snapshots WHERE source IN {PLAN_SOURCES} GROUP BY 1, 2, 3;"""


SCHEMA_V12 = f"""
CREATE TABLE history_buckets (
    bucket       INTEGER NOT NULL,          -- ts / {BUCKET_MS}
    session_id   TEXT NOT NULL,             -- '' when the entry has none (so cwd, project, model)
    cwd          TEXT NOT NULL,
    project      TEXT NOT NULL,
    model        TEXT NOT NULL,
    long         INTEGER NOT NULL,          -- long-context level, as usage_buckets
    has_logged   INTEGER NOT NULL,          -- cost_logged IS NOT NULL
    input        INTEGER NOT NULL,
    output       INTEGER NOT NULL,
    cache_create INTEGER NOT NULL,
    cache_read   INTEGER NOT NULL,
    cache_1h     INTEGER NOT NULL,
    cost_logged  REAL NOT NULL,
    n            INTEGER NOT NULL,
    PRIMARY KEY ({", ".join(_KEY)})
) WITHOUT ROWID;
{HISTORY_TRIGGERS}
{REBUILD_HISTORY}

CREATE TABLE plan_steps (
    window   TEXT NOT NULL,
    step     INTEGER NOT NULL,              -- seconds: {" or ".join(map(str, PLAN_STEPS))}
    n        INTEGER NOT NULL,              -- ts / step
    ts       REAL NOT NULL,                 -- the step's first figure (epoch s)
    used_pct REAL NOT NULL,                 -- its highest
    source   TEXT NOT NULL,                 -- the highest's (the first one on a tie)
    PRIMARY KEY (window, step, n)
) WITHOUT ROWID;
CREATE TRIGGER plan_snapshots_steps_insert AFTER INSERT ON plan_snapshots
WHEN NEW.source IN {PLAN_SOURCES} BEGIN
    {"".join(_step_add(step) for step in PLAN_STEPS)}
END;
CREATE TRIGGER plan_snapshots_steps_delete AFTER DELETE ON plan_snapshots BEGIN
    {"".join(_step_again("OLD", step) for step in PLAN_STEPS)}
END;
CREATE TRIGGER plan_snapshots_steps_update AFTER UPDATE ON plan_snapshots BEGIN
    {"".join(_step_again(row, step) for row in ("OLD", "NEW") for step in PLAN_STEPS)}
END;
{"".join(_step_build(step) for step in PLAN_STEPS)}
UPDATE plan_steps SET source = (
    SELECT s.source FROM plan_snapshots s
    WHERE {_in_step("plan_steps.window", "plan_steps.step", "plan_steps.n", "s.ts", "s.source")}
    ORDER BY s.used_pct DESC, s.ts LIMIT 1);
"""
