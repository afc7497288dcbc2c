"""Diff stats refreshed by file-system events (watchfiles), never by polling."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from podium.agents import Agent, AgentManager, DiffStats


async def until(predicate, timeout: float = 20.0, message: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {message}")
        await asyncio.sleep(0.05)


async def test_file_change_updates_diff_and_idle_costs_nothing(
    store, git_repo: Path, claude_dir: Path
) -> None:
    changes: list[Agent] = []
    m = AgentManager(store, git_repo, claude_config_dir=claude_dir, on_change=changes.append)
    refreshes: list[str] = []
    original = m._refresh_diff

    def counting(agent_id: str, notify: bool = True):
        refreshes.append(agent_id)
        return original(agent_id, notify)

    m._refresh_diff = counting  # type: ignore[method-assign]
    a = m.spawn("t", profile="shell", command=["sleep", "60"])
    b = m.spawn("t", profile="shell", command=["sleep", "60"])
    watcher = asyncio.create_task(m.run_watchers())
    try:
        # the start refreshes everyone once; then nothing runs until a file changes
        await until(lambda: m._watcher.running and a.id in refreshes and b.id in refreshes
                    and m._watcher.pending == 0, message="watcher start")  # fmt: skip
        (Path(a.worktree) / "new.txt").write_text("one\ntwo\nthree\n")
        await until(lambda: m.diff(a.id) == DiffStats(3, 0, 1), message="diff of a")
        assert any(c.id == a.id and c.diff == DiffStats(3, 0, 1) for c in changes)
        assert m.diff(b.id) == DiffStats(0, 0, 0)
        await until(lambda: m._watcher.pending == 0, message="a's refresh to end")

        # an edit of a tracked file in b (one line replaced, two removed) refreshes b only:
        # a, whose files did not change, is not recomputed meanwhile (no timer)
        before = len(refreshes)
        (Path(b.worktree) / "README.md").write_text("# changed\n")
        await until(lambda: m.diff(b.id) == DiffStats(1, 3, 1), message="diff of b")
        await until(lambda: m._watcher.pending == 0, message="b's refresh to end")
        assert set(refreshes[before:]) == {b.id}

        # an agent spawned while watching is covered too (the restart refreshes everyone)
        before = len(refreshes)
        c = m.spawn("t", profile="shell", command=["sleep", "60"])
        await until(lambda: c.id in refreshes[before:], message="the watcher to restart")
        (Path(c.worktree) / "x.py").write_text("x = 1\n")
        await until(lambda: m.diff(c.id) == DiffStats(1, 0, 1), message="diff of c")
        m.remove(c.id, force=True)
    finally:
        m.close()
        await asyncio.wait_for(watcher, timeout=20)
    assert watcher.done() and watcher.exception() is None
