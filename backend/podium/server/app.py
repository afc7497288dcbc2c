"""`PodiumServer`: the pygls language server (docs/protocol.md).

Thin handlers validate params (server/protocol.py), run the blocking work on the core thread
(server/state.py) and answer. One pump task turns file-system events, agent changes and limit
events into coalesced notifications.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInternalError, JsonRpcInvalidParams
from pygls.io_ import StdoutWriter
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from podium import __version__
from podium.errors import AgentError, GitError, InvalidInput, NotFound, PodiumError
from podium.server import protocol as proto
from podium.server.jsonrpc import PodiumProtocol, plain_converter
from podium.server.state import Core, TickResult
from podium.server.tail import LogTail
from podium.server.transport import StdinReader, serve_frames, serve_tcp
from podium.settings import Settings, parse_settings
from podium.store import Store
from podium.store.db import SERVER_AUTOCHECKPOINT

log = logging.getLogger(__name__)

T = TypeVar("T")

#: the pump wakes at least this often (agent polling, time-based figures)
TICK_S = 0.25
#: at most one tick per this many seconds (events in between are batched)
MIN_TICK_S = 0.02
#: the process ends at most this long after the client went away or asked to exit
EXIT_DEADLINE_S = 45.0
#: an update slower than this is logged (stderr)
SLOW_TICK_S = 0.05
#: at most one status bar per this many seconds
STATUS_MIN_INTERVAL_S = 0.1
PROGRESS_TOKEN = "podium/ingest"

_SHOW_TYPE = {
    "info": types.MessageType.Info,
    "warning": types.MessageType.Warning,
    "critical": types.MessageType.Error,
}


def to_jsonrpc_error(exc: PodiumError, default_field: str | None = None) -> JsonRpcException:
    """A user-facing error → a JSON-RPC error with `data.field` (docs/protocol.md §Errors)."""
    field = exc.field or default_field
    kind = type(exc).__name__
    data: dict[str, Any] = {"kind": kind}
    if field:
        data["field"] = field
    if isinstance(exc, InvalidInput):
        # the reason alone (docs/protocol.md §Errors): the message is "invalid params: F: reason"
        data["reason"] = str(exc).removeprefix(f"invalid params: {field}: ") if field else str(exc)
        return JsonRpcInvalidParams(str(exc), data=data)
    code = proto.PODIUM_ERROR
    if isinstance(exc, NotFound):
        code = proto.NOT_FOUND
    elif isinstance(exc, GitError):
        code = proto.GIT_ERROR
    elif isinstance(exc, AgentError):
        code = proto.AGENT_ERROR
    return JsonRpcException(str(exc), code=code, data=data)


class PodiumServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__(
            "podium", __version__, protocol_cls=PodiumProtocol, converter_factory=plain_converter
        )
        self.settings = Settings()
        self.workspace_root: Path = Path.cwd()
        self.core: Core | None = None
        self.store: Store | None = None
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="podium-core")
        self.loop: asyncio.AbstractEventLoop | None = None
        self.tail: LogTail | None = None
        self._wake: asyncio.Event | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self._pending_paths: set[str] = set()
        self._force_push = False
        self._last_status: dict[str, str] | None = None
        self._last_status_at = 0.0
        self._pending_status: dict[str, str] | None = None
        self._last_tick_at = 0.0
        self._status_deferred = False
        self._closing = False
        self._closed = False
        self._register()

    # -- plumbing -------------------------------------------------------------------------------
    async def run_core(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run blocking work on the single core thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, functools.partial(fn, *args, **kwargs))

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

    def require_core(self) -> Core:
        if self.core is None:
            raise JsonRpcException(
                "the server is not initialized", code=-32002, data={"kind": "NotInitialized"}
            )
        return self.core

    def _register(self) -> None:
        self.feature(types.INITIALIZE)(_plain_fn(self.on_initialize))
        self.feature(types.INITIALIZED)(_plain_fn(self.on_initialized))
        self.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)(
            _plain_fn(self.on_did_change_configuration)
        )
        self.feature(types.SHUTDOWN)(_plain_fn(self.on_shutdown))
        handlers: dict[str, Callable[[Any], Awaitable[Any]]] = {
            proto.SPAWN_AGENT: self.spawn_agent,
            proto.PAUSE_AGENT: self.pause_agent,
            proto.RESUME_AGENT: self.resume_agent,
            proto.STOP_AGENT: self.stop_agent,
            proto.REMOVE_AGENT: self.remove_agent,
            proto.LIST_AGENTS: self.list_agents,
            proto.USAGE_SUMMARY: self.usage_summary,
            proto.EXPORT: self.export,
        }
        for method, handler in handlers.items():
            guarded = self._guard(method, handler)
            self.feature(method)(guarded)
            self.command(proto.COMMANDS[method])(self._as_command(guarded))

    def _guard(
        self, method: str, handler: Callable[[Any], Awaitable[Any]]
    ) -> Callable[[Any], Awaitable[Any]]:
        """Map user errors to JSON-RPC errors; log unexpected ones and answer InternalError."""

        async def guarded(params: Any) -> Any:
            try:
                return await handler(params)
            except PodiumError as exc:
                raise to_jsonrpc_error(exc, "agentId" if isinstance(exc, NotFound) else None) from None
            except JsonRpcException:
                raise
            except Exception as exc:
                tb = traceback.format_exc()
                log.error("%s failed:\n%s", method, tb)
                self.log_message(f"{method} failed: {exc!r}\n{tb}", types.MessageType.Error)
                raise JsonRpcInternalError(
                    f"{method} failed: {exc}", data={"kind": "InternalError"}
                ) from None

        guarded.__name__ = handler.__name__
        return guarded

    @staticmethod
    def _as_command(guarded: Callable[[Any], Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def command(*args: Any) -> Any:
            if len(args) > 1:
                raise JsonRpcInvalidParams(
                    "commands take one argument: the params object",
                    data={"field": "arguments", "kind": "InvalidInput"},
                )
            return await guarded(args[0] if args else {})

        return command

    # -- lifecycle ------------------------------------------------------------------------------
    def on_initialize(self, params: types.InitializeParams) -> None:
        self.loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        root = _workspace_root(params)
        if root is not None:
            self.workspace_root = root
        self.settings, warnings = parse_settings(params.initialization_options)
        self._settings_warnings = warnings
        # $PODIUM_DB or the user data dir; the server checkpoints the WAL when idle
        # (Core.checkpoint_if_idle), so commits do not wait for it
        self.store = Store(autocheckpoint=SERVER_AUTOCHECKPOINT)
        self.core = Core(
            self.store,
            self.workspace_root,
            self.settings,
            manager_store=Store(self.store.path, autocheckpoint=SERVER_AUTOCHECKPOINT),
            on_agent_change=self._on_agent_change,
        )
        self.core.start_limits()
        self.core.start_manager()

    def _on_agent_change(self, _agent: Any) -> None:
        self.wake()

    async def on_initialized(self, _params: types.InitializedParams) -> None:
        core = self.require_core()
        for warning in getattr(self, "_settings_warnings", []):
            self.log_message(f"settings: {warning}", types.MessageType.Warning)
        if core.limits_error:
            self.log_message(core.limits_error, types.MessageType.Warning)
        if core.manager_error:
            self.log_message(f"agents: {core.manager_error}", types.MessageType.Warning)
        await self._ingest_history(core)
        self.tail = LogTail(core.ingestor, self._on_log_paths)
        self._tasks.append(asyncio.create_task(self.tail.run(), name="podium-tail"))
        if core.manager is not None:
            self._tasks.append(
                asyncio.create_task(self._run_manager_watchers(core), name="podium-diff-watch")
            )
        self._force_push = True
        self._tasks.append(asyncio.create_task(self._pump(), name="podium-pump"))

    async def _run_manager_watchers(self, core: Core) -> None:
        try:
            await core.manager.run_watchers()  # type: ignore[union-attr]
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("diff watchers failed")
            self.log_message(f"diff watchers stopped: {exc}", types.MessageType.Error)

    async def _ingest_history(self, core: Core) -> None:
        caps = self.client_capabilities
        progress = bool(caps and caps.window and caps.window.work_done_progress)
        if progress:
            try:
                await asyncio.wait_for(self.work_done_progress.create_async(PROGRESS_TOKEN), 5)
            except Exception:
                progress = False
        if progress:
            self.work_done_progress.begin(
                PROGRESS_TOKEN,
                types.WorkDoneProgressBegin(
                    title="Podium: reading usage history", percentage=0, cancellable=False
                ),
            )
        started = time.perf_counter()
        try:
            result = await self.run_core(core.ingest_history)
            message = (
                f"{result.entries_written:,} entries from {result.files_read:,} files "
                f"in {time.perf_counter() - started:.1f}s"
            )
        except Exception as exc:
            log.exception("history ingest failed")
            message = f"reading usage history failed: {exc}"
            self.log_message(message, types.MessageType.Error)
        if progress:
            self.work_done_progress.end(PROGRESS_TOKEN, types.WorkDoneProgressEnd(message=message))
        self.log_message(f"ingest: {message}")

    def _on_log_paths(self, paths: set[str]) -> None:
        self._pending_paths |= paths
        if self._wake is not None:
            self._wake.set()

    def on_did_change_configuration(self, params: types.DidChangeConfigurationParams) -> None:
        core = self.core
        if core is None:
            return
        settings, warnings = parse_settings(params.settings, base=self.settings)
        for warning in warnings:
            self.log_message(f"settings: {warning}", types.MessageType.Warning)
        roots_changed = settings.claude_config_dirs != self.settings.claude_config_dirs
        self.settings = settings
        # applied on the core thread, between ticks
        future = self.executor.submit(core.update_settings, settings)
        future.add_done_callback(
            functools.partial(self._after_settings, retail=roots_changed and self.tail is not None)
        )

    def _restart_tail(self) -> None:
        """Watch the log roots the ingestor has now (after a claudeConfigDirs change)."""
        core = self.core
        if core is None or self._closing:
            return
        if self.tail is not None:
            self.tail.stop()
        self.tail = LogTail(core.ingestor, self._on_log_paths)
        self._tasks.append(asyncio.create_task(self.tail.run(), name="podium-tail"))

    def _after_settings(self, future: Any, *, retail: bool = False) -> None:
        try:
            notes = future.result()
        except Exception as exc:
            notes = [f"settings: applying failed: {exc}"]
        loop = self.loop
        if loop is None or loop.is_closed():
            return

        def apply() -> None:
            for note in notes:
                self.log_message(note, types.MessageType.Warning)
            if retail:
                self._restart_tail()
            if self._wake is not None:
                self._wake.set()

        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(apply)

    async def on_shutdown(self, _params: Any) -> None:
        await self.close_async()

    async def close_async(self) -> None:
        if self._closing:
            return
        self._closing = True
        if self.tail is not None:
            self.tail.stop()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.core is not None:
            await self.run_core(self.core.close)
        self._closed = True

    def start_io(self, stdin: Any = None, stdout: Any = None) -> None:
        """pygls' stdio loop, plus: when the client goes away (EOF) clean up inside the loop,
        and never let a stuck cleanup keep the process alive (watchdog)."""
        self._stop_event = threading.Event()
        reader = StdinReader(stdin or sys.stdin.buffer)
        self.protocol.set_writer(StdoutWriter(stdout or sys.stdout.buffer))

        async def main() -> None:
            reading = asyncio.ensure_future(serve_frames(reader, self.protocol, self._stop_event))
            # `kill` (SIGTERM) or a closed terminal (SIGHUP) ends us like a client that went
            # away: agents stopped unless keepAgentsRunning (the default action would orphan them)
            for sig in (signal.SIGTERM, signal.SIGHUP):
                with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                    asyncio.get_running_loop().add_signal_handler(sig, reading.cancel)
            try:
                with contextlib.suppress(asyncio.CancelledError):
                    await reading
            finally:
                _start_watchdog(EXIT_DEADLINE_S)
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
            _start_watchdog(EXIT_DEADLINE_S)
            self.shutdown()

    def start_tcp(self, host: str, port: int) -> None:
        """pygls' TCP server with Podium's framing (podium.server.transport)."""
        self._stop_event = threading.Event()

        def connected(writer: asyncio.StreamWriter) -> PodiumProtocol:
            self.protocol.set_writer(writer)  # type: ignore[arg-type]
            return self.protocol

        try:
            with contextlib.suppress(asyncio.CancelledError, KeyboardInterrupt, SystemExit):
                asyncio.run(serve_tcp(connected, host, port, self._stop_event))
        finally:
            _start_watchdog(EXIT_DEADLINE_S)
            self.shutdown()

    def shutdown(self) -> None:
        """The transport ended (exit, or the client went away): clean up synchronously."""
        self._closing = True
        if self.tail is not None:
            self.tail.stop()
        if not self._closed and self.core is not None:
            self._closed = True
            try:
                self.executor.submit(self.core.close).result(timeout=30)
            except Exception:
                log.exception("cleanup failed")
        self.executor.shutdown(wait=False, cancel_futures=True)
        super().shutdown()

    # -- the pump -------------------------------------------------------------------------------
    async def _pump(self) -> None:
        assert self._wake is not None
        while not self._closing:
            timeout = STATUS_MIN_INTERVAL_S if self._status_deferred else TICK_S
            if self._pending_status is not None:
                due = self._last_status_at + STATUS_MIN_INTERVAL_S - time.monotonic()
                timeout = max(0.0, min(timeout, due))
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
                log.exception("tick failed")
                self.log_message(f"update failed: {exc!r}", types.MessageType.Error)
                await asyncio.sleep(TICK_S)

    async def _tick(self) -> None:
        core = self.core
        if core is None:
            return
        paths, self._pending_paths = self._pending_paths, set()
        force, self._force_push = self._force_push, False
        started = time.perf_counter()
        result: TickResult = await self.run_core(core.run_tick, paths, force=force)
        self._status_deferred = result.status_deferred
        self.publish(result, force_status=force)
        took = time.perf_counter() - started
        if core.checkpoint_due(time.monotonic()):
            await self.run_core(core.checkpoint_if_idle)
        if took > SLOW_TICK_S:
            log.warning("slow update: %.0f ms (%d files, %d cards)", took * 1000, len(paths),
                        len(result.cards))  # fmt: skip

    def publish(self, result: TickResult, *, force_status: bool = False) -> None:
        for message in result.logs:
            self.log_message(message, types.MessageType.Warning)
        for card in result.cards:
            self.protocol.notify(proto.AGENT_CARD, {"card": card})
        for agent_id in result.removed:
            self.protocol.notify(proto.AGENT_REMOVED, {"agentId": agent_id})
        for alert in result.alerts:
            self.protocol.notify(proto.ALERT, alert)
            with contextlib.suppress(Exception):
                self.window_show_message(
                    types.ShowMessageParams(
                        type=_SHOW_TYPE.get(alert["level"], types.MessageType.Warning),
                        message=f"Podium: {alert['message']}",
                    )
                )
        if result.status is not None:
            status = result.status.as_dict()
            if force_status or status != self._last_status:
                self._pending_status = status
            else:
                self._pending_status = None
        self._flush_status()

    def _flush_status(self) -> None:
        status = self._pending_status
        if status is None:
            return
        now = time.monotonic()
        if now - self._last_status_at < STATUS_MIN_INTERVAL_S:
            return  # the pump shortens its next wait to the remaining interval
        self.protocol.notify(proto.STATUS_BAR, status)
        self._last_status = status
        self._last_status_at = now
        self._pending_status = None

    def push_card(self, card: dict[str, Any]) -> None:
        self.protocol.notify(proto.AGENT_CARD, {"card": card})
        self.wake()  # counts in the status bar may have changed

    # -- requests -------------------------------------------------------------------------------
    async def spawn_agent(self, params: Any) -> dict[str, Any]:
        p = proto.parse_params(proto.SpawnAgentParams, params)
        core = self.require_core()
        kwargs: dict[str, Any] = {
            "task": p.task,
            "name": p.name,
            "base_ref": p.base_ref,
            "command": p.command,
            "env": p.env,
            "source": p.source,
            "limit_usd": p.limit_usd,
        }
        if p.profile is not None:
            kwargs["profile"] = p.profile
        elif p.command is not None:
            kwargs["profile"] = "shell"
        card = await self.run_core(core.spawn, **kwargs)
        self.push_card(card)
        return card

    async def _control_agent(self, action: str, params: Any) -> dict[str, Any]:
        """pause / resume / stop: the core action on the agent, then its card, pushed."""
        p = proto.parse_params(proto.AgentIdParams, params)
        card = await self.run_core(getattr(self.require_core(), action), p.agent_id)
        self.push_card(card)
        return card

    async def pause_agent(self, params: Any) -> dict[str, Any]:
        return await self._control_agent("pause", params)

    async def resume_agent(self, params: Any) -> dict[str, Any]:
        return await self._control_agent("resume", params)

    async def stop_agent(self, params: Any) -> dict[str, Any]:
        return await self._control_agent("stop", params)

    async def remove_agent(self, params: Any) -> dict[str, Any]:
        p = proto.parse_params(proto.RemoveAgentParams, params)
        removed = await self.run_core(
            self.require_core().remove, p.agent_id, delete_branch=p.delete_branch, force=p.force
        )
        self.protocol.notify(proto.AGENT_REMOVED, {"agentId": removed})
        self.wake()
        return {"removed": removed}

    async def list_agents(self, params: Any) -> dict[str, Any]:
        proto.parse_params(proto.EmptyParams, params)
        core = self.require_core()
        if core.manager is None:
            return {"agents": []}
        cards = await self.run_core(core.all_cards)
        return {"agents": sorted(cards, key=lambda c: c.get("startedAt") or 0)}

    async def usage_summary(self, params: Any) -> dict[str, Any]:
        proto.parse_params(proto.EmptyParams, params)
        return await self.run_core(self.require_core().usage_summary)

    async def export(self, params: Any) -> dict[str, Any]:
        p = proto.parse_params(proto.ExportParams, params)
        return await self.run_core(self.require_core().export, p.options())


_watchdog_started = False


def _start_watchdog(seconds: float) -> None:
    """End the process if cleanup hangs: an editor must never be left with a stuck server."""
    global _watchdog_started
    if _watchdog_started:
        return
    _watchdog_started = True

    def expire() -> None:
        time.sleep(seconds)
        log.error("cleanup took over %.0f s; exiting", seconds)
        os._exit(1)

    threading.Thread(target=expire, name="podium-exit-watchdog", daemon=True).start()


def _plain_fn(method: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """pygls tags handlers with attributes, which bound methods cannot carry: wrap them."""
    if asyncio.iscoroutinefunction(method):

        async def async_handler(params: Any) -> Any:
            return await method(params)

        return async_handler

    def handler(params: Any) -> Any:
        return method(params)

    return handler


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


def env_summary() -> str:
    return f"CLAUDE_CONFIG_DIR={os.environ.get('CLAUDE_CONFIG_DIR', '')!r} PODIUM_DB={os.environ.get('PODIUM_DB', '')!r}"
