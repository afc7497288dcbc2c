"""`PodiumServer`: the pygls language server (docs/protocol.md), wiring the features of
server/features/ to JSON-RPC and running the pump that turns their ticks into notifications.

Threads (docs/architecture.md §Threads and locks): the event loop parses, dispatches and
answers; blocking work runs on a lane (server/lanes.py): the core lane (SQLite, the tick) or
the action lane (git, process signals). `initialize` is answered at once; the core is built on
the lanes meanwhile, and requests that arrive before it is ready wait for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
import threading
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import Any, cast

from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.io_ import StdoutWriter
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from podium import __version__
from podium.errors import PodiumError
from podium.server import features
from podium.server import protocol as proto
from podium.server.jsonrpc import (
    SERVER_NOT_INITIALIZED,
    PodiumProtocol,
    as_command,
    guard,
    plain_converter,
    plain_fn,
)
from podium.server.lanes import Lanes
from podium.server.scheduler import NEVER, Scheduler
from podium.server.state import Core, TickResult, run_tick
from podium.server.store_guard import RETRY_S, StoreGuard
from podium.server.transport import StdinReader, serve_frames, serve_tcp, start_watchdog
from podium.settings import Settings, parse_settings
from podium.store import Store
from podium.store.db import SERVER_AUTOCHECKPOINT

log = logging.getLogger(__name__)

#: the pump sleeps until the next timer is due or an event comes, but never longer than this
MAX_WAIT_S = 1.0
#: at most one tick per this many seconds (events in between are batched)
MIN_TICK_S = 0.02
#: the process ends at most this long after the client went away or asked to exit
EXIT_DEADLINE_S = 45.0
#: an update slower than this is logged (stderr)
SLOW_TICK_S = 0.05


class PodiumServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__(
            "podium", __version__, protocol_cls=PodiumProtocol, converter_factory=plain_converter
        )
        self.settings = Settings()
        self.workspace_root: Path = Path.cwd()
        self.lanes = Lanes()
        self.scheduler = Scheduler()  # used on the core lane only
        self.features = features.setup(self)
        self.core: Core | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._startup: asyncio.Task[Core] | None = None
        self._settings_warnings: list[str] = []
        self._wake: asyncio.Event | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._force_push = False
        self._next_tick_at = -NEVER
        self._last_tick_at = 0.0
        self._closing = False
        self._closed = False
        #: a damaged store or a full disk: one alert, an error status bar, quiet retries
        self.store_guard = StoreGuard()
        self._register()

    # -- what features may use (features.Host) --------------------------------------------------
    async def ready(self) -> Core:
        if self._startup is None:
            raise JsonRpcException(
                "the server is not initialized", code=SERVER_NOT_INITIALIZED,
                data={"kind": "NotInitialized"},
            )
        try:
            return await asyncio.shield(self._startup)
        except (asyncio.CancelledError, JsonRpcException):
            raise
        except Exception as exc:
            if (problem := self.store_guard.problem) is not None:  # up, in an error state
                raise JsonRpcException(problem.message, code=proto.PODIUM_ERROR, data={
                    "kind": "StoreUnavailable", "reason": problem.kind}) from None  # fmt: skip
            raise PodiumError(f"the server could not start: {exc}") from None

    def notify(self, method: str, params: Any) -> None:
        self.protocol.notify(method, params)

    def wake(self) -> None:
        """Wake the pump; safe from any thread."""
        loop, event = self.loop, self._wake
        if loop is None or event is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(event.set)

    def log_message(self, message: str, kind: types.MessageType = types.MessageType.Info) -> None:
        with contextlib.suppress(Exception):
            self.window_log_message(types.LogMessageParams(type=kind, message=message))

    def show_message(self, message: str, kind: types.MessageType) -> None:
        with contextlib.suppress(Exception):
            self.window_show_message(types.ShowMessageParams(type=kind, message=message))

    def spawn_task(self, coro: Awaitable[Any], name: str) -> None:
        task = asyncio.ensure_future(coro)
        task.set_name(name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- registration: every feature's requests, as requests and as commands --------------------
    def _register(self) -> None:
        self.feature(types.INITIALIZE)(plain_fn(self.on_initialize))
        self.feature(types.INITIALIZED)(plain_fn(self.on_initialized))
        self.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)(
            plain_fn(self.on_did_change_configuration)
        )
        self.feature(types.SHUTDOWN)(plain_fn(self.on_shutdown))
        for feature in self.features.all:
            for method, handler in feature.handlers().items():
                guarded = guard(method, handler, self.log_message)
                self.feature(method)(guarded)
                self.command(proto.COMMANDS[method])(as_command(guarded))

    # -- lifecycle ------------------------------------------------------------------------------
    def on_initialize(self, params: types.InitializeParams) -> None:
        """Answered at once: the store, git and the agents are opened on the lanes."""
        self.loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        root = _workspace_root(params)
        if root is not None:
            self.workspace_root = root
        self.settings, self._settings_warnings = parse_settings(params.initialization_options)
        self._startup = asyncio.ensure_future(self._start_core(self.settings))

    async def _start_core(self, settings: Settings) -> Core:
        try:
            core = await self.lanes.core.run(self._open_core, settings)
        except Exception as exc:
            # a damaged store, a full disk: remembered, so that the server stays up in that
            # error state (initialized says it, requests answer StoreUnavailable)
            self.store_guard.opened_failed(exc)
            raise
        await self.lanes.actions.run(core.start_manager)  # git; re-attaches running agents
        await self.lanes.core.run(self.features.agents.seed, core)
        self.core = core
        return core

    def _open_core(self, settings: Settings) -> Core:
        # $PODIUM_DB or the user data dir; the server checkpoints the WAL when idle
        # (Core.checkpoint_if_idle), so commits do not wait for it
        store = Store(autocheckpoint=SERVER_AUTOCHECKPOINT)
        self.store_guard.path = store.path
        core = Core(
            store,
            self.workspace_root,
            settings,
            scheduler=self.scheduler,
            manager_store=Store(store.path, autocheckpoint=SERVER_AUTOCHECKPOINT),
            on_agent_change=lambda _agent: self.wake(),
        )
        core.start_limits()
        return core

    async def on_initialized(self, _params: types.InitializedParams) -> None:
        try:
            core = await self.ready()
        except Exception as exc:
            self.log_message(f"podium: {exc}", types.MessageType.Error)
            self._publish_store(self.store_guard.current_alerts())
            return
        for warning in self._settings_warnings:
            self.log_message(f"settings: {warning}", types.MessageType.Warning)
        if core.limits_error:
            self.log_message(core.limits_error, types.MessageType.Warning)
        if core.manager_error:
            self.log_message(f"agents: {core.manager_error}", types.MessageType.Warning)
        for feature in self.features.all:
            await feature.started(core)
        self._force_push = True
        self.spawn_task(self._pump(), "podium-pump")

    async def on_did_change_configuration(self, params: types.DidChangeConfigurationParams) -> None:
        if self._startup is None:
            return
        settings, warnings = parse_settings(params.settings, base=self.settings)
        for warning in warnings:
            self.log_message(f"settings: {warning}", types.MessageType.Warning)
        self.settings = settings
        try:
            core = await self.ready()
        except Exception:
            return
        try:  # on the core lane, between ticks
            old, notes = await self.lanes.core.run(self._apply_settings, core, settings)
        except Exception as exc:
            self.log_message(f"settings: applying failed: {exc}", types.MessageType.Warning)
            return
        for note in notes:
            self.log_message(note, types.MessageType.Warning)
        if not self._closing:
            self.features.usage.settings_applied(old, settings)
        self.wake()

    def _apply_settings(self, core: Core, settings: Settings) -> tuple[Settings, list[str]]:
        old, core.settings = core.settings, settings
        notes: list[str] = []
        for feature in self.features.all:
            notes += feature.settings_changed(core, old, settings)
        self.scheduler.reset()  # everything recomputed at the next tick; only changes are sent
        return old, notes

    async def on_shutdown(self, _params: Any) -> None:
        await self.close_async()

    async def close_async(self) -> None:
        if self._closing:
            return
        self._closing = True
        self.features.usage.stop()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        core = self.core
        if core is None and self._startup is not None:
            with contextlib.suppress(Exception):
                core = await self._startup
        await self.lanes.actions.run(self.features.metrics.stop)
        if core is not None:
            await self.lanes.actions.run(core.close_manager)
            await self.lanes.core.run(core.close_store)
        self._closed = True

    def start_io(self, stdin: Any = None, stdout: Any = None) -> None:
        """pygls' stdio loop, plus: when the client goes away (EOF) clean up inside the loop,
        and never let a stuck cleanup keep the process alive (watchdog)."""
        stop = self._stop_event = threading.Event()
        reader = StdinReader(stdin or sys.stdin.buffer)
        protocol = cast(PodiumProtocol, self.protocol)
        protocol.set_writer(StdoutWriter(stdout or sys.stdout.buffer))

        async def main() -> None:
            reading = asyncio.ensure_future(serve_frames(reader, protocol, stop))
            # `kill` (SIGTERM) or a closed terminal (SIGHUP) ends us like a client that went
            # away: agents stopped unless keepAgentsRunning (the default action would orphan them)
            for sig in (signal.SIGTERM, signal.SIGHUP):
                with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                    asyncio.get_running_loop().add_signal_handler(sig, reading.cancel)
            try:
                with contextlib.suppress(asyncio.CancelledError):
                    await reading
            finally:
                start_watchdog(EXIT_DEADLINE_S)
                if not self._closing:
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(self.close_async(), EXIT_DEADLINE_S - 5)

        try:
            asyncio.run(main())
        except BrokenPipeError:
            log.error("connection to the client lost; shutting down")
        except (KeyboardInterrupt, SystemExit):
            pass
        finally:
            start_watchdog(EXIT_DEADLINE_S)
            self.shutdown()

    def start_tcp(self, host: str, port: int) -> None:
        """pygls' TCP server with Podium's framing (podium.server.transport)."""
        stop = self._stop_event = threading.Event()
        protocol = cast(PodiumProtocol, self.protocol)

        def connected(writer: asyncio.StreamWriter) -> PodiumProtocol:
            protocol.set_writer(writer)
            return protocol

        try:
            with contextlib.suppress(asyncio.CancelledError, KeyboardInterrupt, SystemExit):
                asyncio.run(serve_tcp(connected, host, port, stop))
        finally:
            start_watchdog(EXIT_DEADLINE_S)
            self.shutdown()

    def shutdown(self) -> None:
        """The transport ended (exit, or the client went away): clean up synchronously."""
        self._closing = True
        self.features.usage.stop()
        core = self.core
        if not self._closed and core is not None:
            self._closed = True
            try:
                self.lanes.actions.submit(self.features.metrics.stop).result(timeout=30)
                self.lanes.actions.submit(core.close_manager).result(timeout=30)
                self.lanes.core.submit(core.close_store).result(timeout=30)
            except Exception:
                log.exception("cleanup failed")
        self.lanes.shutdown()
        super().shutdown()

    # -- the pump -------------------------------------------------------------------------------
    async def _pump(self) -> None:
        assert self._wake is not None
        while not self._closing:
            wake_at = min(self._next_tick_at, self.features.status.next_send_at())
            timeout = min(MAX_WAIT_S, max(0.0, wake_at - time.monotonic()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
            # batch bursts of events: at most one tick per MIN_TICK_S
            rest = self._last_tick_at + MIN_TICK_S - time.monotonic()
            if rest > 0:
                await asyncio.sleep(rest)
            self._last_tick_at = time.monotonic()
            self._wake.clear()
            if self._closing:
                break
            try:
                await self._tick()
            except asyncio.CancelledError:
                raise
            except BrokenPipeError:
                break
            except Exception as exc:
                alerts = self.store_guard.failed(exc)
                if alerts is None:
                    log.exception("tick failed")
                    self.log_message(f"update failed: {exc!r}", types.MessageType.Error)
                    self._next_tick_at = time.monotonic() + MAX_WAIT_S / 4
                else:  # the store: said once, then retried quietly until it works again
                    self._publish_store(alerts)
                    self._next_tick_at = time.monotonic() + RETRY_S
            else:
                if recovered := self.store_guard.succeeded():
                    self._publish_store(recovered)
                    self._force_push = True
                    self._next_tick_at = time.monotonic()

    async def _tick(self) -> None:
        core = self.core
        if core is None:
            return
        paths = self.features.usage.take_paths()
        force, self._force_push = self._force_push, False
        started = time.perf_counter()
        try:
            result: TickResult = await self.lanes.core.run(
                run_tick, core, self.features.all, paths, force=force
            )
        except Exception:
            # read again next time (a full disk: the lines wait in their files, not lost)
            self.features.usage.requeue_paths(paths)
            self._force_push = self._force_push or force
            raise
        self._next_tick_at = result.next_at
        self.publish(result)
        took = time.perf_counter() - started
        if result.checkpoint_due:  # after the notifications left: they never wait for it
            self._next_tick_at = await self.lanes.core.run(self._checkpoint, core)
        if took > SLOW_TICK_S:
            log.warning("slow update: %.0f ms (%d files, %d cards)", took * 1000, len(paths),
                        len(result.cards))  # fmt: skip

    def _checkpoint(self, core: Core) -> float:
        core.checkpoint_if_idle()
        return self.scheduler.next_at()

    def _publish_store(self, alerts: list[proto.Alert]) -> None:
        """Store trouble (server/store_guard.py): its alerts, and the status bar's error state
        while it lasts (the rendered status bar again once it is over)."""
        self.publish(TickResult(alerts=alerts))
        self.features.status.override(self.store_guard.status_bar(self.settings.auth_mode))

    def publish(self, result: TickResult) -> None:
        for message in result.logs:
            self.log_message(message, types.MessageType.Warning)
        for feature in self.features.all:
            feature.publish(result)


def _workspace_root(params: types.InitializeParams) -> Path | None:
    candidates: list[str | None] = []
    if params.workspace_folders:
        candidates.append(params.workspace_folders[0].uri)
    candidates.append(params.root_uri)
    for uri in candidates:
        if uri:
            path = to_fs_path(uri)
            if path:
                return Path(path)
    if params.root_path:
        return Path(params.root_path)
    return None
