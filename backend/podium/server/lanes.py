"""The server's worker threads ("lanes") and what may run on each (docs/architecture.md
§Threads and locks).

- `core`: ONE thread. It owns the core SQLite connection: ingest, queries, limit evaluation,
  alerts, WAL checkpoints, the tick. It never signals a process and never runs git.
- `actions`: a pool. Agent actions (spawn, pause, resume, stop, remove, start-up re-attach,
  shutdown) run here: they call git and signal processes through `AgentManager`, and may take
  seconds (a stop waits for the process tree to end), so they must not hold up the core lane.

The event loop thread only parses, dispatches and answers; it never blocks on either lane.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

#: agent actions in flight at once (each mostly waits on a process or git)
ACTION_WORKERS = 16


class Lane:
    def __init__(self, name: str, workers: int) -> None:
        self.name = name
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run `fn` on this lane; the awaiting coroutine yields the loop meanwhile."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, functools.partial(fn, *args, **kwargs))

    def submit(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> Future[T]:
        return self.executor.submit(fn, *args, **kwargs)

    def shutdown(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)


class Lanes:
    def __init__(self) -> None:
        self.core = Lane("podium-core", 1)
        self.actions = Lane("podium-action", ACTION_WORKERS)

    def shutdown(self) -> None:
        self.core.shutdown()
        self.actions.shutdown()
