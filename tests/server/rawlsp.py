"""A raw JSON-RPC client for `podium serve`: sends exactly the bytes a test asks for.

`PodiumClient` (pygls) cannot send malformed messages (a request without `params`, params of
the wrong shape for a standard method); editors and other clients can. Replies are matched by
id; server requests (progress create, …) are answered with null; the rest is kept in `notes`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Any

from pygls.uris import from_fs_path


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


class RawLsp:
    def __init__(self) -> None:
        self.process: asyncio.subprocess.Process | None = None
        self.notes: list[dict[str, Any]] = []
        #: every answer, in arrival order (the ones with id null included)
        self.answers: list[dict[str, Any]] = []
        #: frames from the server whose body is not strict JSON (must stay empty)
        self.not_json: list[bytes] = []
        self._replies: dict[Any, dict[str, Any]] = {}
        self._arrived = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None
        self._next_id = 1000

    async def launch(self, cwd: Path, env: dict[str, str], stderr_path: Path) -> None:
        with open(stderr_path, "ab") as stderr:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "podium", "serve", cwd=str(cwd), env=env,
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=stderr,
            )  # fmt: skip
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        stdout = self.process.stdout
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                length = 0
                while (line := await stdout.readline()) not in (b"\r\n", b""):
                    name, _, value = line.decode().partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                if not line:
                    return
                body = await stdout.readexactly(length)
                try:  # strict: NaN / Infinity are not JSON
                    message = json.loads(body, parse_constant=_not_json)
                except ValueError:
                    self.not_json.append(body)
                    continue
                if "method" in message and "id" in message:
                    self.send({"jsonrpc": "2.0", "id": message["id"], "result": None})
                elif "method" in message:
                    self.notes.append(message)
                else:
                    self.answers.append(message)
                    self._replies[message.get("id")] = message
                self._arrived.set()

    def send(self, message: Any) -> None:
        self.send_body(json.dumps(message).encode())

    def send_body(self, body: bytes) -> None:
        """One correctly framed message with any body bytes."""
        self.send_raw(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))

    def send_raw(self, data: bytes) -> None:
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.write(data)

    async def wait_answers(self, count: int, timeout: float = 30.0) -> list[dict[str, Any]]:
        """Wait until at least `count` answers have arrived in all; returns them all."""
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.answers) < count:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise TimeoutError(f"{len(self.answers)} answers, wanted {count}: {self.answers}")
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), min(remaining, 0.5))
        return self.answers

    async def request(self, message: dict[str, Any], timeout: float = 30.0,
                      literal: dict[str, str] | None = None) -> dict[str, Any]:  # fmt: skip
        """Send `message` (jsonrpc and id added) and wait for the reply with that id.
        `literal` maps string values to raw JSON text (e.g. "1e400", which Python cannot dump)."""
        self._next_id += 1
        msg_id = self._next_id
        body = json.dumps({"jsonrpc": "2.0", "id": msg_id, **message})
        for value, text in (literal or {}).items():
            body = body.replace(json.dumps(value), text)
        self.send_body(body.encode())
        deadline = asyncio.get_running_loop().time() + timeout
        while msg_id not in self._replies:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise TimeoutError(f"no reply to {message} within {timeout}s")
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), min(remaining, 0.5))
        return self._replies.pop(msg_id)

    async def initialize(self, root: Path, options: dict[str, Any] | None = None) -> None:
        reply = await self.request({"method": "initialize", "params": {
            "processId": os.getpid(), "rootUri": from_fs_path(str(root)), "capabilities": {},
            "initializationOptions": options or {}}})  # fmt: skip
        assert "result" in reply, reply
        self.send({"jsonrpc": "2.0", "method": "initialized", "params": {}})

    async def close(self) -> int | None:
        """End the server (exit, then EOF); kill it if it lingers. Returns its exit code."""
        process = self.process
        if process is None:
            return None
        if process.returncode is None:
            with contextlib.suppress(Exception):
                self.send({"jsonrpc": "2.0", "method": "exit"})
                assert process.stdin is not None
                process.stdin.close()
            try:
                await asyncio.wait_for(process.wait(), 30)
            except TimeoutError:
                process.kill()
                await process.wait()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        return process.returncode
