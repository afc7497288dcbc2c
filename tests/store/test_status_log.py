"""`agent_statuses` (schema v11, podium.store.status_log) on real store files: written by the
agents table's triggers through AgentsRepo (the one writer), built for an existing store by the
migration, kept by a repair, and summed into seconds working and waiting."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.usage.history_seed import add_agent, ms, set_status

from podium.store import Store
from podium.store.migrations import MIGRATIONS
from podium.store.repair import salvage
from podium.store.status_log import time_in_statuses
from podium.usage.history import NOTE_NO_STATUS_HISTORY, usage_history

T0 = ms("2026-03-10T08:00") / 1000
REPO = "/seed/repo"


def rows(store: Store, agent_id: str) -> list[tuple]:
    return store.conn.execute(
        "SELECT status, since, until, working_before, waiting_before FROM agent_statuses "
        "WHERE agent_id = ? ORDER BY id", (agent_id,)).fetchall()  # fmt: skip


def test_changes_written_through_the_agents_row(tmp_path: Path) -> None:
    store = Store(tmp_path / "podium.db")
    add_agent(store, "ag-a", "a", worktree="/wt/a", session=None, started_at=T0, status="starting")
    set_status(store, "ag-a", "working", T0 + 5)
    set_status(store, "ag-a", "working", T0 + 5, reason="still")  # no status change: no row
    set_status(store, "ag-a", "waiting", T0 + 65, reason="Write a.txt")
    set_status(store, "ag-a", "rateLimited", T0 + 125)
    set_status(store, "ag-a", "working", T0 + 120)  # a clock that stepped back: clamped
    set_status(store, "ag-a", "exited", T0 + 300)
    assert rows(store, "ag-a") == [
        ("starting", T0, T0 + 5, 0, 0), ("working", T0 + 5, T0 + 65, 5, 0),
        ("waiting", T0 + 65, T0 + 125, 65, 0), ("rateLimited", T0 + 125, T0 + 125, 65, 60),
        ("working", T0 + 125, T0 + 300, 65, 60), ("exited", T0 + 300, None, 240, 60)]  # fmt: skip
    whole = time_in_statuses(store, [("ag-a", T0, T0 + 300)], T0 - 100, T0 + 1000, T0 + 5000)
    spent = whole["ag-a"]
    assert spent is not None and (spent.working, spent.waiting) == (240, 60)
    part = time_in_statuses(store, [("ag-a", T0, T0 + 300)], T0 + 35, T0 + 95, T0 + 5000)["ag-a"]
    assert part is not None and (part.working, part.waiting) == (30, 30)
    after = time_in_statuses(store, [("ag-a", T0, T0 + 300)], T0 + 400, T0 + 500, T0 + 5000)
    assert after["ag-a"] is not None and (after["ag-a"].working, after["ag-a"].waiting) == (0, 0)


def _v10_store(path: Path) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    for target, script in MIGRATIONS:
        if target > 10:
            break
        conn.executescript(f"BEGIN;\n{script}\n;PRAGMA user_version = {target};\nCOMMIT;")
    conn.executemany(
        "INSERT INTO agents(id, name, repo, worktree, branch, profile, state_dir, status, "
        "status_since, started_at) VALUES (?, ?, ?, ?, ?, 'claude', '/s', ?, ?, ?)",
        [("ag-old", "old", REPO, "/wt/old", "podium/old", "waiting", T0 + 3600, T0),
         ("ag-done", "done", REPO, "/wt/done", "podium/done", "exited", T0 + 60, T0)])  # fmt: skip
    conn.close()


def test_an_existing_store_starts_each_agent_at_its_current_status(tmp_path: Path) -> None:
    _v10_store(tmp_path / "old.db")
    store = Store(tmp_path / "old.db")
    assert rows(store, "ag-old") == [("waiting", T0 + 3600, None, 0, 0)]
    assert rows(store, "ag-done") == [("exited", T0 + 60, None, 0, 0)]
    now = T0 + 5 * 86400
    # the day of the upgrade's status change: its start is unknown, so no figure and a note
    day = usage_history(store, since="2026-03-10", until="2026-03-10", tz="UTC", now=now)
    by_id = {r["agentId"]: r for r in day["agents"]}
    assert by_id["ag-old"]["workingSeconds"] is None and by_id["ag-old"]["waitingSeconds"] is None
    assert day["notes"] == [NOTE_NO_STATUS_HISTORY]
    # a later day is covered: waiting all day
    later = usage_history(store, since="2026-03-12", until="2026-03-12", tz="UTC", now=now)
    by_id = {r["agentId"]: r for r in later["agents"]}
    assert (by_id["ag-old"]["workingSeconds"], by_id["ag-old"]["waitingSeconds"]) == (0, 86400)
    assert (by_id["ag-done"]["workingSeconds"], by_id["ag-done"]["waitingSeconds"]) == (0, 0)
    assert later["notes"] == []
    # a change after the upgrade continues the history
    set_status(store, "ag-old", "working", T0 + 4 * 86400)
    assert [r[0] for r in rows(store, "ag-old")] == ["waiting", "working"]


def test_a_repair_keeps_the_history_without_doubling_it(tmp_path: Path) -> None:
    old = Store(tmp_path / "damaged.db")
    add_agent(old, "ag-a", "a", worktree="/wt/a", session=None, started_at=T0, status="starting")
    set_status(old, "ag-a", "working", T0 + 5)
    set_status(old, "ag-a", "waiting", T0 + 65)
    before = rows(old, "ag-a")
    old.close()
    fresh = Store(tmp_path / "new.db")
    copied = salvage(str(tmp_path / "damaged.db"), fresh)
    assert copied["agent_statuses"] == 3 and copied["agents"] == 1
    assert rows(fresh, "ag-a") == before
