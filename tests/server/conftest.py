"""Fixtures for end-to-end tests: a real `podium serve` subprocess over stdio."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from tests.server.rawlsp import RawLsp

from podium.server.client import PodiumClient

FAKE = [sys.executable, "-m", "podium", "fake-agent"]


@pytest.fixture
def server_env(tmp_path: Path) -> dict[str, str]:
    claude = tmp_path / "claude"
    (claude / "projects").mkdir(parents=True)
    env = dict(os.environ)
    env["CLAUDE_CONFIG_DIR"] = str(claude)
    env["PODIUM_DB"] = str(tmp_path / "podium.db")
    env.pop("ANTHROPIC_API_KEY", None)
    env.pop("ANTHROPIC_BASE_URL", None)
    return env


@pytest.fixture
async def start_server(
    git_repo: Path, server_env: dict[str, str], tmp_path: Path
) -> AsyncIterator[Callable[..., Any]]:
    """Factory: start + initialize a server in `git_repo`; every one is shut down afterwards."""
    clients: list[PodiumClient] = []

    async def start(options: dict[str, Any] | None = None, **kwargs: Any) -> PodiumClient:
        client = PodiumClient()
        await client.launch(
            cwd=git_repo, env=server_env, stderr_path=tmp_path / f"server{len(clients)}.log"
        )
        clients.append(client)
        await client.initialize_podium(git_repo, options or {}, **kwargs)
        return client

    yield start
    for client in clients:
        await client.close()


@pytest.fixture
async def raw(git_repo: Path, server_env: dict[str, str], tmp_path: Path) -> AsyncIterator[RawLsp]:
    """A raw JSON-RPC client on a `podium serve` in `git_repo` (not initialized yet)."""
    client = RawLsp()
    await client.launch(git_repo, server_env, tmp_path / "raw-server.log")
    yield client
    await client.close()


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 20.0,
                     every: float = 0.1) -> bool:
    """Poll an async condition (e.g. a request's answer) until it holds or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(every)
    return True


class TickWitness:
    """`await witness.full_tick(client)`: returns once the server has run a full tick (every
    card re-rendered, limits evaluated, the status bar rendered) that began after the call.

    How, without sleeping: a settings change that changes nothing makes the next tick a full
    one (the scheduler resets); a `podium/usageSummary` is answered on the core lane after that
    change was applied. Then a usage line that no view shows (a session of no agent, dated
    40 days ago) is written; `podium/export` counting it proves a tick that began after the
    reset read it, so the full tick ran. Tests of "nothing more is sent" wait for this instead
    of a fixed time."""

    DAYS_BACK = 40

    def __init__(self, claude_dir: Path, out_dir: Path) -> None:
        self.log = claude_dir / "projects" / "-podium-witness" / "witness.jsonl"
        self.out = out_dir / "witness-export.json"
        self.written = 0

    async def full_tick(self, client: PodiumClient, timeout: float = 30.0) -> None:
        from podium.usage import synthetic as syn

        client.change_settings({})
        await client.request("podium/usageSummary", {})
        when = time.time() - self.DAYS_BACK * 86400
        day = time.strftime("%Y-%m-%d", time.localtime(when))
        self.written += 1
        n = self.written
        lines = syn.assistant_lines("podium-witness", "/podium-witness", int(when * 1000) + n,
                                    "claude-sonnet-4-5", syn.usage_dict(1, 1, 0, 0),
                                    message_id=f"msg_w{n}", request_id=f"req_w{n}")  # fmt: skip
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as fh:
            fh.write(b"".join(map(syn.dumps, lines)))
        params = {"format": "json", "groupBy": "entry", "since": day, "until": day,
                  "path": str(self.out), "overwrite": True}  # fmt: skip

        async def read() -> bool:
            return (await client.request("podium/export", params))["rows"] >= n

        assert await eventually(read, timeout, every=0.05), "the witness line was not read"


@pytest.fixture
def witness(server_env: dict[str, str], tmp_path: Path) -> TickWitness:
    return TickWitness(Path(server_env["CLAUDE_CONFIG_DIR"]), tmp_path)


def fake_command(interval: float = 0.3, *extra: str) -> list[str]:
    return [*FAKE, "--interval", str(interval), *extra]
