"""The threading rule: the manager's lock guards in-memory state only, so reading agents never
waits behind another agent's slow stop, pause or remove (docs/architecture.md)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from agents_helpers import wait_for

from podium.agents import AgentManager, AgentStatus

#: a fake agent that takes a second to wind down after SIGTERM
SLOW_STOP = ["--interval", "0.2", "--term-delay", "1.0"]
AGENTS = 10
#: list() + get() while the stops run: 99th percentile and slowest (a stop takes 1 s)
READ_P99_S = 0.05
READ_MAX_S = 0.5


@pytest.fixture
def m(store, git_repo: Path, claude_dir: Path) -> Iterator[AgentManager]:
    manager = AgentManager(store, git_repo, claude_config_dir=claude_dir)
    yield manager
    manager.close()


def test_list_never_waits_behind_concurrent_stops(m: AgentManager) -> None:
    agents = [m.spawn(f"job {i}", fake_args=SLOW_STOP) for i in range(AGENTS)]

    def all_started() -> bool:  # the init line: its SIGTERM handler is installed
        m.poll()
        return all(m.get(a.id).model for a in agents)

    wait_for(all_started, message="every agent to start")

    reads: list[float] = []
    stops: dict[str, float] = {}
    errors: list[BaseException] = []
    stopping = threading.Event()

    def reader() -> None:
        while not stopping.is_set():
            started = time.perf_counter()
            listed = m.list()
            m.get(agents[0].id)
            reads.append(time.perf_counter() - started)
            if len(listed) != AGENTS:
                errors.append(AssertionError(f"list() gave {len(listed)} agents"))

    def stopper(agent_id: str) -> None:
        started = time.perf_counter()
        try:
            m.stop(agent_id)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        stops[agent_id] = time.perf_counter() - started

    read_thread = threading.Thread(target=reader)
    read_thread.start()
    threads = [threading.Thread(target=stopper, args=(a.id,)) for a in agents]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    elapsed = time.perf_counter() - started
    stopping.set()
    read_thread.join(timeout=10)

    assert not errors, errors
    assert len(stops) == AGENTS and min(stops.values()) >= 1.0, stops
    assert len(reads) > 20, len(reads)
    # a read that waited for a stop would take a second; scheduling on a busy machine
    # (2 shared CPUs, the GIL) costs at most tens of milliseconds
    reads.sort()
    p99 = reads[int(len(reads) * 0.99)]
    assert p99 < READ_P99_S, f"p99 read {p99 * 1000:.1f} ms"
    assert reads[-1] < READ_MAX_S, f"slowest read {reads[-1] * 1000:.0f} ms"
    # the stops ran side by side, not one after the other
    assert elapsed < AGENTS * 1.0, elapsed
    for agent in m.list():
        assert agent.status == AgentStatus.STOPPED and agent.exit_code == 0


def test_poll_and_other_agents_do_not_wait_behind_a_stop(m: AgentManager) -> None:
    a = m.spawn("a", fake_args=["--interval", "0.2"])
    b = m.spawn("b", fake_args=["--interval", "0.2", "--term-delay", "1.0"])
    wait_for(lambda: m.poll() is not None and all(m.get(x.id).model for x in (a, b)),
             message="both agents to start")  # fmt: skip
    stopper = threading.Thread(target=m.stop, args=(b.id,))
    stopper.start()
    wait_for(lambda: _busy(m, b.id), message="b's stop to begin")
    started = time.perf_counter()
    m.poll()  # a is polled, b (being stopped) is skipped rather than waited for
    m.pause(a.id)
    assert time.perf_counter() - started < 0.9
    assert stopper.is_alive()  # b's stop was still running all along
    stopper.join(timeout=30)
    assert m.get(a.id).status == AgentStatus.PAUSED
    assert m.get(b.id).status == AgentStatus.STOPPED


def _busy(m: AgentManager, agent_id: str) -> bool:
    """An operation holds the agent (its lock is taken)."""
    record = m._registry.get(agent_id)
    return record.op_lock.locked()
