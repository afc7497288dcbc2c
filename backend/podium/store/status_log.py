"""Each agent's status over time (`agent_statuses`, schema v11): one row per status change,
written by triggers on the `agents` table, so the one writer of agent state (the owning
manager's `AgentRegistry.persist` → `AgentsRepo`) writes it in the same statement as the row.

A row is the interval [since, until) in one status (`until` NULL: the current one). Each row
also carries how long the agent had been working and waiting before `since`, so the time in
a range is two index lookups per agent however many changes it had (`time_in_statuses`).

What counts (docs/protocol.md, `podium/usageHistory`): *working* is `starting` and
`working`; *waiting* is alive but held, for the user or a limit: `waiting` (a permission
request, or a finished turn awaiting a follow-up), `idle`, `paused` and `rateLimited`. An
agent that ended (`stopped`, `exited`, `error`) is neither.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:  # db imports migrations, which import this module
    from podium.store.db import Store

WORKING_STATUSES = ("starting", "working")
WAITING_STATUSES = ("waiting", "idle", "paused", "rateLimited")
#: a history that starts this close after the agent did covers its life from the start
#: (both are set from one clock reading at spawn; rows written by an older Podium are not)
START_SLACK_S = 1.0


def _in(statuses: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{s}'" for s in statuses) + ")"


def _append(new: str) -> str:
    """SQL: close the agent's current interval at `new`'s since (never before it began) and
    open the next one, carrying the running totals; nothing when neither the status nor its
    since changed. The latest row is found through the (agent_id, since) index: rows never go
    back in time, so the latest since (then id) is the last row written."""
    latest = (f"SELECT * FROM agent_statuses WHERE agent_id = {new}.id "
              "ORDER BY since DESC, id DESC LIMIT 1")  # fmt: skip
    changed = f"(p.status IS NOT {new}.status OR p.since IS NOT {new}.status_since)"
    elapsed = f"MAX({new}.status_since - p.since, 0)"
    return f"""
    UPDATE agent_statuses SET until = MAX({new}.status_since, since)
        WHERE id = (SELECT p.id FROM ({latest}) AS p WHERE {changed});
    INSERT INTO agent_statuses(agent_id, status, since, working_before, waiting_before)
        SELECT {new}.id, {new}.status, MAX({new}.status_since, COALESCE(p.since, {new}.status_since)),
               COALESCE(p.working_before + CASE WHEN p.status IN {_in(WORKING_STATUSES)}
                                           THEN {elapsed} ELSE 0 END, 0),
               COALESCE(p.waiting_before + CASE WHEN p.status IN {_in(WAITING_STATUSES)}
                                           THEN {elapsed} ELSE 0 END, 0)
        FROM (SELECT 1) LEFT JOIN ({latest}) AS p
        WHERE p.id IS NULL OR {changed};
"""


#: the v11 schema: the table, its triggers, and each existing agent's current status (its
#: history before the upgrade is unknown: `time_in_statuses` says None for ranges before it)
SCHEMA_V11 = f"""
CREATE TABLE agent_statuses (
    id             INTEGER PRIMARY KEY,
    agent_id       TEXT NOT NULL,
    status         TEXT NOT NULL,
    since          REAL NOT NULL,   -- epoch s; never before the agent's previous row's
    until          REAL,            -- the next row's since; NULL: the current status
    working_before REAL NOT NULL,   -- seconds working before `since` (see podium.store.status_log)
    waiting_before REAL NOT NULL    -- seconds waiting before `since`
);
CREATE INDEX agent_statuses_agent ON agent_statuses(agent_id, since);
CREATE TRIGGER agents_status_insert AFTER INSERT ON agents BEGIN
    {_append("NEW")}
END;
CREATE TRIGGER agents_status_update AFTER UPDATE OF status, status_since ON agents
WHEN NEW.status IS NOT OLD.status OR NEW.status_since IS NOT OLD.status_since BEGIN
    {_append("NEW")}
END;
INSERT INTO agent_statuses(agent_id, status, since, working_before, waiting_before)
    SELECT id, status, status_since, 0, 0 FROM agents ORDER BY started_at;
"""


class StatusTime(NamedTuple):  # not a dataclass: migrations import this module on every CLI run
    """Seconds an agent spent working and waiting within a range."""

    working: float
    waiting: float


def _cumulative(store: Store, agent_id: str, at: float, end: float) -> tuple[float, float] | None:
    """(working, waiting) seconds before `at` (the current interval runs to `end`); None when
    `at` is before the agent's first row."""
    row = store.conn.execute(
        "SELECT status, since, until, working_before, waiting_before FROM agent_statuses "
        "WHERE agent_id = ? AND since <= ? ORDER BY since DESC, id DESC LIMIT 1",
        (agent_id, at),
    ).fetchone()
    if row is None:
        return None
    status, since, until, working, waiting = row
    stop = min(at, end if until is None else until)
    elapsed = max(stop - since, 0.0)
    if status in WORKING_STATUSES:
        working += elapsed
    elif status in WAITING_STATUSES:
        waiting += elapsed
    return working, waiting


def time_in_statuses(store: Store, agents: list[tuple[str, float, float | None]], lo: float,
                     hi: float, now: float) -> dict[str, StatusTime | None]:  # fmt: skip
    """For each (agent id, started at, ended at): seconds working and waiting within
    [lo, hi) (epoch s), the current status running to `now` (or to the agent's end when that is
    recorded). None when the stored history does not cover the part of the range the agent
    lived in (an agent spawned before Podium kept it, schema v11)."""
    out: dict[str, StatusTime | None] = {}
    with store.lock:
        for agent_id, started, ended in agents:
            end = now if ended is None else min(now, max(ended, started))
            start = max(lo, started)
            stop = min(hi, end)
            first = store.conn.execute(
                "SELECT MIN(since) FROM agent_statuses WHERE agent_id = ?", (agent_id,)
            ).fetchone()[0]
            if first is None or (start < stop and first > start + START_SLACK_S):
                out[agent_id] = None
                continue
            if start >= stop:
                out[agent_id] = StatusTime(0.0, 0.0)
                continue
            before = _cumulative(store, agent_id, start, end) or (0.0, 0.0)
            after = _cumulative(store, agent_id, stop, end) or (0.0, 0.0)
            out[agent_id] = StatusTime(max(after[0] - before[0], 0.0),
                                       max(after[1] - before[1], 0.0))  # fmt: skip
    return out


def waiting_since(store: Store, agent_id: str) -> float | None:
    """When the agent's current run of waiting statuses began (it may have gone from
    `waiting` to `idle` to `paused` meanwhile); None when it is not waiting now or has no
    stored history."""
    with store.lock:
        rows = store.conn.execute(
            "SELECT status, since FROM agent_statuses WHERE agent_id = ? "
            "ORDER BY since DESC, id DESC LIMIT 1", (agent_id,)).fetchall()  # fmt: skip
        if not rows or rows[0][0] not in WAITING_STATUSES:
            return None
        held = store.conn.execute(
            "SELECT until FROM agent_statuses WHERE agent_id = ? AND status NOT IN "
            f"{_in(WAITING_STATUSES)} AND until IS NOT NULL ORDER BY since DESC, id DESC LIMIT 1",
            (agent_id,)).fetchone()  # fmt: skip
        if held is not None:
            return float(held[0])
        first = store.conn.execute("SELECT MIN(since) FROM agent_statuses WHERE agent_id = ?",
                                   (agent_id,)).fetchone()  # fmt: skip
        return float(first[0])


def runs_of(store: Store, status: str, lo: float, hi: float, now: float) -> dict[str, tuple[float, int]]:
    """Per agent: seconds spent in `status` within [lo, hi) (an open interval runs to `now`)
    and how many separate runs of it began or lasted into the range."""
    with store.lock:
        rows = store.conn.execute(
            "SELECT agent_id, SUM(MIN(COALESCE(until, :now), :hi) - MAX(since, :lo)), COUNT(*) "
            "FROM agent_statuses WHERE status = :status AND since < :hi "
            "AND COALESCE(until, :now) > :lo GROUP BY agent_id",
            {"status": status, "lo": lo, "hi": hi, "now": now}).fetchall()  # fmt: skip
    return {agent_id: (max(float(seconds), 0.0), int(n)) for agent_id, seconds, n in rows}
