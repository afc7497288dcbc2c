"""A small Podium LSP client (pygls `LanguageClient`) used by the demo, the tests and the bench.

It starts `podium serve` as a subprocess over stdio, records every Podium notification with the
time it arrived, and offers `wait_for(predicate)` for code that must see something happen.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, TypeVar

from lsprotocol import types
from pygls.io_ import run_async
from pygls.lsp.client import LanguageClient
from pygls.uris import from_fs_path

from podium.server import protocol as proto
from podium.server.jsonrpc import plain_converter

T = TypeVar("T")


class PodiumClient(LanguageClient):
    def __init__(self) -> None:
        super().__init__("podium-client", "0.1", converter_factory=plain_converter)
        self.status_bars: list[tuple[float, dict[str, Any]]] = []
        self.cards: list[tuple[float, dict[str, Any]]] = []
        self.removed: list[str] = []
        self.alerts: list[dict[str, Any]] = []
        self.log_messages: list[tuple[int, str]] = []
        self.show_messages: list[tuple[int, str]] = []
        #: $/progress reports (not `progress`: pygls' client has a method of that name)
        self.progress_reports: list[dict[str, Any]] = []
        self.on_notification: Callable[[str, Any], None] | None = None
        self._event = asyncio.Event()
        self._stderr: IO[bytes] | None = None
        self.process: asyncio.subprocess.Process | None = None
        self._register()

    # -- notifications --------------------------------------------------------------------------
    def _pulse(self, method: str, params: Any) -> None:
        self._event.set()
        if self.on_notification is not None:
            self.on_notification(method, params)

    def _register(self) -> None:
        @self.feature(proto.STATUS_BAR)
        def _status(params: Any) -> None:
            self.status_bars.append((time.time(), _plain(params)))
            self._pulse(proto.STATUS_BAR, self.status_bars[-1][1])

        @self.feature(proto.AGENT_CARD)
        def _card(params: Any) -> None:
            card = _plain(params)["card"]
            self.cards.append((time.time(), card))
            self._pulse(proto.AGENT_CARD, card)

        @self.feature(proto.AGENT_REMOVED)
        def _removed(params: Any) -> None:
            self.removed.append(_plain(params)["agentId"])
            self._pulse(proto.AGENT_REMOVED, _plain(params))

        @self.feature(proto.ALERT)
        def _alert(params: Any) -> None:
            self.alerts.append(_plain(params))
            self._pulse(proto.ALERT, self.alerts[-1])

        @self.feature(types.WINDOW_LOG_MESSAGE)
        def _log(params: types.LogMessageParams) -> None:
            self.log_messages.append((int(params.type), params.message))
            self._pulse(types.WINDOW_LOG_MESSAGE, params)

        @self.feature(types.WINDOW_SHOW_MESSAGE)
        def _show(params: types.ShowMessageParams) -> None:
            self.show_messages.append((int(params.type), params.message))
            self._pulse(types.WINDOW_SHOW_MESSAGE, params)

        @self.feature(types.WINDOW_WORK_DONE_PROGRESS_CREATE)
        def _create(_params: Any) -> None:
            return None

        @self.feature(types.PROGRESS)
        def _progress(params: types.ProgressParams) -> None:
            value = params.value
            kind = getattr(value, "kind", None) or (value.get("kind") if isinstance(value, dict) else None)
            self.progress_reports.append({"token": params.token, "kind": kind})
            self._pulse(types.PROGRESS, params)

    # -- process --------------------------------------------------------------------------------
    async def launch(
        self,
        *,
        cwd: str | Path,
        env: dict[str, str] | None = None,
        stderr_path: str | Path | None = None,
        python: str | None = None,
        extra_args: list[str] | None = None,
    ) -> None:
        """Start `python -m podium serve` with stderr to a file (a pipe nobody reads could fill)."""
        self._stderr = open(stderr_path, "ab") if stderr_path else open(os.devnull, "wb")  # noqa: SIM115
        server = await asyncio.create_subprocess_exec(
            python or sys.executable, "-m", "podium", "serve", *(extra_args or []),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=self._stderr,
            cwd=str(cwd), env=env,
        )  # fmt: skip
        assert server.stdin is not None and server.stdout is not None
        self.protocol.set_writer(server.stdin)
        connection = asyncio.create_task(
            run_async(
                stop_event=self._stop_event,
                reader=server.stdout,
                protocol=self.protocol,
                logger=logging.getLogger("podium.client"),
                error_handler=self.report_server_error,
            )
        )
        self._server = server
        self.process = server
        self._async_tasks.extend([connection, asyncio.create_task(self._server_exit())])

    async def initialize_podium(
        self, root: str | Path, options: dict[str, Any] | None = None, *, progress: bool = True
    ) -> types.InitializeResult:
        result = await self.initialize_async(
            types.InitializeParams(
                process_id=os.getpid(),
                root_uri=from_fs_path(str(root)),
                capabilities=types.ClientCapabilities(
                    window=types.WindowClientCapabilities(work_done_progress=progress)
                ),
                initialization_options=options or {},
            )
        )
        self.initialized(types.InitializedParams())
        return result

    async def request(self, method: str, params: Any = None, timeout: float = 60.0) -> Any:
        return await asyncio.wait_for(
            self.protocol.send_request_async(method, params if params is not None else {}),
            timeout,
        )

    async def command(self, command: str, *arguments: Any, timeout: float = 60.0) -> Any:
        return await asyncio.wait_for(
            self.workspace_execute_command_async(
                types.ExecuteCommandParams(command=command, arguments=list(arguments))
            ),
            timeout,
        )

    def change_settings(self, settings: dict[str, Any]) -> None:
        self.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings={"podium": settings})
        )

    async def wait_for(self, predicate: Callable[[], T], timeout: float = 20.0) -> T:
        """Wait until `predicate()` is truthy (re-checked on every notification); return it."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"condition not met within {timeout}s")
            self._event.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._event.wait(), min(remaining, 0.5))

    async def close(self, timeout: float = 30.0) -> int | None:
        """shutdown + exit; kill the server if it does not end in time. Returns its exit code."""
        server = self.process
        try:
            if server is not None and server.returncode is None:
                await asyncio.wait_for(self.shutdown_async(None), timeout)
                self.exit(None)
                await asyncio.wait_for(server.wait(), timeout)
        except (TimeoutError, RuntimeError, ConnectionError):
            if server is not None and server.returncode is None:
                server.kill()
                await server.wait()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.stop(), 10)
        if self._stderr is not None:
            self._stderr.close()
        return server.returncode if server is not None else None

    # -- views ----------------------------------------------------------------------------------
    def latest_cards(self) -> dict[str, dict[str, Any]]:
        """agentId → the newest card received (removed agents dropped)."""
        cards: dict[str, dict[str, Any]] = {}
        for _t, card in self.cards:
            cards[card["agentId"]] = card
        for agent_id in self.removed:
            cards.pop(agent_id, None)
        return cards

    def latest_status(self) -> dict[str, Any] | None:
        return self.status_bars[-1][1] if self.status_bars else None


def _plain(value: Any) -> Any:
    """Params of custom notifications arrive as plain JSON values; normalise attrs objects."""
    if isinstance(value, dict | list | str | int | float | bool) or value is None:
        return value
    if hasattr(value, "__dict__"):
        return {k: _plain(v) for k, v in vars(value).items()}
    return value
