"""What a server feature is, and what it may use of the server (`Host`).

A feature is one concern (agents, usage, limits, status, export) with two sides:
- the event loop: `handlers()` answer its requests, `publish()` sends its part of a tick's
  result, `started()` runs once the core is ready and the client said `initialized`. These
  never block: blocking work is awaited on a lane (`host.lanes`).
- the core lane: `tick()` is its part of each tick, `settings_changed()` applies new settings.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from lsprotocol import types

    from podium.server.lanes import Lanes
    from podium.server.scheduler import Scheduler
    from podium.server.state import Core, Tick, TickResult
    from podium.settings import Settings

Handler = Callable[[Any], Awaitable[Any]]


class Host(Protocol):
    """The server as its features see it (PodiumServer implements it)."""

    lanes: Lanes
    scheduler: Scheduler

    @property
    def client_capabilities(self) -> Any: ...

    @property
    def work_done_progress(self) -> Any: ...

    async def ready(self) -> Core:
        """The core once it is built (requests that come earlier wait for it)."""
        ...

    def notify(self, method: str, params: Any) -> None: ...

    def log_message(self, message: str, kind: types.MessageType = ...) -> None: ...

    def show_message(self, message: str, kind: types.MessageType) -> None: ...

    def wake(self) -> None:
        """Tick soon (any thread)."""
        ...

    def spawn_task(self, coro: Awaitable[Any], name: str) -> None:
        """Run `coro` on the loop until it ends or the server closes."""
        ...


class Feature:
    def __init__(self, host: Host) -> None:
        self.host = host

    def handlers(self) -> dict[str, Handler]:
        """Request method → coroutine answering it (loop)."""
        return {}

    async def started(self, core: Core) -> None:
        """Once after `initialized` (loop)."""

    def tick(self, t: Tick) -> None:
        """This feature's part of a tick (core lane)."""

    def publish(self, result: TickResult) -> None:
        """Send this feature's part of a tick's result (loop)."""

    def settings_changed(self, core: Core, old: Settings, new: Settings) -> list[str]:
        """Apply new settings (core lane); returns notes for the user."""
        return []
