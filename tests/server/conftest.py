"""Fixtures for end-to-end tests: a real `podium serve` subprocess over stdio."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

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


def fake_command(interval: float = 0.3, *extra: str) -> list[str]:
    return [*FAKE, "--interval", str(interval), *extra]
