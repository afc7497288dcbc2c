"""The agents' status history (`agent_statuses`, podium.store.status_log) written as a real
session goes through its statuses: a permission request, an answer, a finished turn, a pause,
a resume, a follow-up and a stop. The history holds every status the manager persisted, with
the times the agent's snapshots showed, and `podium/usageHistory`'s per-agent row sums it into
time working vs waiting."""

from __future__ import annotations

import itertools
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from agents_helpers import wait_for
from session_helpers import polled, spawn, turns

from podium.agents import Agent, AgentManager, AgentStatus
from podium.store import Store
from podium.store.status_log import WAITING_STATUSES, WORKING_STATUSES, time_in_statuses
from podium.usage.history import usage_history


@pytest.fixture
def manager(store, git_repo: Path, claude_dir: Path):
    m = AgentManager(store, git_repo, claude_config_dir=claude_dir)
    yield m
    m.close()


def history(store: Store, agent_id: str) -> list[tuple[str, float, float | None]]:
    rows = sqlite3.connect(store.path).execute(
        "SELECT status, since, until FROM agent_statuses WHERE agent_id = ? ORDER BY id",
        (agent_id,)).fetchall()  # fmt: skip
    return [(s, since, until) for s, since, until in rows]


def expected(rows: list[tuple[str, float, float | None]], lo: float, hi: float,
             now: float) -> tuple[float, float]:  # fmt: skip
    """Seconds working and waiting in [lo, hi), summed straight from the intervals."""
    working = waiting = 0.0
    for status, since, until in rows:
        spent = max(min(hi, now if until is None else until) - max(lo, since), 0.0)
        if status in WORKING_STATUSES:
            working += spent
        elif status in WAITING_STATUSES:
            waiting += spent
    return working, waiting


def test_a_session_s_statuses_become_time_working_and_waiting(manager: AgentManager) -> None:
    seen: list[Agent] = []

    def note(agent: Agent) -> Agent:
        seen.append(agent)
        return agent

    agent = spawn(manager, "write:a.txt")  # its first turn asks to write a file
    note(manager.get(agent.id))
    asked = note(polled(manager, agent.id, lambda a: a.pending, "a permission request"))
    assert asked.status == AgentStatus.WAITING
    manager.answer_permission(agent.id, asked.pending[0].request_id, "allow")
    note(polled(manager, agent.id, lambda a: len(turns(a)) == 1
                and a.status == AgentStatus.WAITING, "the turn's end"))  # fmt: skip
    paused = note(manager.pause(agent.id, "lunch"))
    # paused for a measurable while (the wait is on the clock, not a fixed sleep)
    wait_for(lambda: time.time() > paused.status_since + 0.3, message="time to pass")
    resumed = note(manager.resume(agent.id))
    assert resumed.status == AgentStatus.WAITING
    manager.send_message(agent.id, "hello")
    note(polled(manager, agent.id, lambda a: len(turns(a)) == 2
                and a.status == AgentStatus.WAITING, "the follow-up's turn"))  # fmt: skip
    stopped = note(manager.stop(agent.id))
    assert stopped.status == AgentStatus.STOPPED

    rows = history(manager.store, agent.id)
    statuses = [s for s, _, _ in rows]
    assert statuses[0] == "starting" and statuses[-1] == "stopped"
    assert {"working", "waiting", "paused"} <= set(statuses)
    # every status a snapshot showed is in the history with the very same time
    for snap in seen:
        assert (snap.status.value, snap.status_since) in [(s, t) for s, t, _ in rows], snap
    # the intervals follow each other: each ends where the next begins, the last is open
    for (_, _, until), (_, since, _) in itertools.pairwise(rows):
        assert until == since
    assert rows[-1][2] is None and rows[0][1] == agent.started_at
    paused_s = resumed.status_since - paused.status_since
    assert paused_s >= 0.3

    now = time.time()  # after the stop: later answers are the same
    work, wait = expected(rows, 0.0, now, now)
    assert work > 0 and wait >= paused_s
    day = datetime.fromtimestamp(agent.started_at, UTC).date().isoformat()
    last = datetime.fromtimestamp(now, UTC).date().isoformat()
    result = usage_history(manager.store, since=day, until=last, tz="UTC", now=now)
    (row,) = [r for r in result["agents"] if r["agentId"] == agent.id]
    assert row["workingSeconds"] == pytest.approx(work, abs=1e-3)
    assert row["waitingSeconds"] == pytest.approx(wait, abs=1e-3)
    assert result["notes"] == []
    # clipped to a range that starts mid-pause and ends mid-way through the last turn
    lo = paused.status_since + paused_s / 2
    hi = (resumed.status_since + stopped.status_since) / 2
    spent = time_in_statuses(manager.store, [(agent.id, agent.started_at, stopped.ended_at)],
                             lo, hi, now)[agent.id]  # fmt: skip
    assert spent is not None
    assert (spent.working, spent.waiting) == pytest.approx(expected(rows, lo, hi, now), abs=1e-6)


def test_an_open_interval_runs_to_now_and_a_live_agent_keeps_counting(
        manager: AgentManager) -> None:  # fmt: skip
    agent = spawn(manager, "hello")
    waiting = polled(manager, agent.id, lambda a: a.last_turn and a.status == AgentStatus.WAITING,
                     "the first turn's end")  # fmt: skip
    rows = history(manager.store, agent.id)
    assert rows[-1][:2] == ("waiting", waiting.status_since) and rows[-1][2] is None
    times = [waiting.status_since + 60, waiting.status_since + 3600]
    got = [time_in_statuses(manager.store, [(agent.id, agent.started_at, None)], 0, now + 1,
                            now)[agent.id] for now in times]  # fmt: skip
    assert got[0] is not None and got[1] is not None
    assert got[1].waiting - got[0].waiting == pytest.approx(3600 - 60)
    assert got[1].working == got[0].working > 0
