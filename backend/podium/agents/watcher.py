"""Diff watching: file-system events in the agents' worktrees (watchfiles, `.git` excluded)
trigger a refresh of those agents' diff stats, debounced, a few at a time, and nothing at all
while no file changes. Runs on an asyncio loop; the refresh itself runs in a worker thread."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # asyncio is imported when watching starts: `podium agents` never needs it
    import asyncio


def inside(path: str, directory: str) -> bool:
    """`path` is `directory` or below it (as text: both are resolved paths)."""
    if not path or not directory:
        return False
    directory = directory.rstrip(os.sep)
    return path == directory or path.startswith(directory + os.sep)


def _worktree_filter(_change: Any, path: str) -> bool:
    return f"{os.sep}.git{os.sep}" not in path and not path.endswith(f"{os.sep}.git")


async def _wait_any(*events: asyncio.Event) -> None:
    import asyncio

    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()


class DiffWatcher:
    """`worktrees()` names each agent's worktree (agent id → path); `refresh(agent_id)` runs
    in a thread. `restart()` and `stop()` may be called from any thread."""

    def __init__(
        self, worktree_dir: Path, worktrees: Callable[[], dict[str, str]],
        refresh: Callable[[str], object], *, concurrency: int = 4, debounce_ms: int = 150,
    ) -> None:  # fmt: skip
        self.worktree_dir = worktree_dir
        self.worktrees = worktrees
        self.refresh = refresh
        self.concurrency = max(1, concurrency)
        self.debounce_ms = debounce_ms
        #: True while `run` watches: cached diff stats are then kept fresh
        self.running = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._restart: asyncio.Event | None = None
        self._stop: asyncio.Event | None = None
        #: refreshes scheduled or running (0: the watcher is idle)
        self.pending = 0

    def roots(self) -> list[str]:
        """The worktree dir (covers every agent spawned into it, even later ones) plus any
        worktree elsewhere (agents spawned with another worktree dir)."""
        roots: set[str] = set()
        if self.worktree_dir.is_dir():
            roots.add(str(self.worktree_dir))
        for worktree in self.worktrees().values():
            if Path(worktree).is_dir() and not inside(worktree, str(self.worktree_dir)):
                roots.add(worktree)
        return sorted(roots)

    def agents_for(self, paths: Iterable[str]) -> set[str]:
        worktrees = self.worktrees()
        hits: set[str] = set()
        for path in paths:
            for agent_id, worktree in worktrees.items():
                if agent_id not in hits and inside(path, worktree):
                    hits.add(agent_id)
        return hits

    def restart(self) -> None:
        """Pick up added or removed worktrees (and refresh everyone once)."""
        self._signal(self._restart)

    def stop(self) -> None:
        self._signal(self._stop)

    def _signal(self, event: asyncio.Event | None) -> None:
        loop = self._loop
        if loop is None or event is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(event.set)

    async def run(self, closed: Callable[[], bool]) -> None:
        """Watch until `stop()` (or until `closed()` says so at a restart)."""
        import asyncio

        import watchfiles

        self._loop = asyncio.get_running_loop()
        self._restart = restart = asyncio.Event()
        self._stop = stop = asyncio.Event()
        semaphore = asyncio.Semaphore(self.concurrency)
        running: dict[str, asyncio.Task] = {}
        again: set[str] = set()

        async def refresh(agent_id: str) -> None:
            try:
                while True:
                    again.discard(agent_id)
                    async with semaphore:
                        await asyncio.to_thread(self.refresh, agent_id)
                    if agent_id not in again:
                        return
            finally:
                running.pop(agent_id, None)
                self.pending = len(running)

        def schedule(agent_ids: set[str]) -> None:
            for agent_id in agent_ids:
                if agent_id in running:
                    again.add(agent_id)  # one more pass once the running one ends
                else:
                    running[agent_id] = asyncio.create_task(refresh(agent_id))
            self.pending = len(running)

        self.running = True
        try:
            while not stop.is_set() and not closed():
                restart.clear()
                roots = self.roots()
                # whatever happened while (re)starting is caught by one refresh of everyone
                schedule(set(self.worktrees()))
                if not roots:
                    await _wait_any(restart, stop)
                    continue
                stop_this = asyncio.Event()

                async def relay(stop_this: asyncio.Event = stop_this) -> None:
                    await _wait_any(restart, stop)
                    stop_this.set()

                relay_task = asyncio.create_task(relay())
                try:
                    async for changes in watchfiles.awatch(
                        *roots, watch_filter=_worktree_filter, debounce=1000,
                        step=self.debounce_ms, stop_event=stop_this,
                        rust_timeout=60_000, ignore_permission_denied=True,
                    ):  # fmt: skip
                        schedule(self.agents_for(p for _c, p in changes))
                finally:
                    relay_task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await relay_task
        finally:
            self.running = False
            for task in list(running.values()):
                task.cancel()
            self._restart = None
