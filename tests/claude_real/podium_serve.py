"""`podium serve` driving the real Claude Code CLI against the stand-in API: the server's
environment, the spawn params of a `claude` agent, and reads of the agent's own files."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from tests.jsonl import read_jsonl

from podium.server.client import PodiumClient

from .env import offline_env

#: the server's environment variable holding the API key a limited session switches to
KEY_ENV = "PODIUM_TEST_API_KEY"


def server_env(tmp_path: Path, home: Path) -> dict[str, str]:
    """The server reads the CLI's transcripts (CLAUDE_CONFIG_DIR of the agents) and keeps its
    own store in the test's dir; no key or login of the machine reaches it."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ANTHROPIC_", "CLAUDE_", "PODIUM_"))}  # fmt: skip
    config = home / ".claude"
    (config / "projects").mkdir(parents=True, exist_ok=True)
    env.update(CLAUDE_CONFIG_DIR=str(config), PODIUM_DB=str(tmp_path / "podium.db"))
    return env


async def start_podium(git_repo: Path, tmp_path: Path, home: Path,
                       settings: dict[str, Any] | None = None,
                       extra_env: dict[str, str] | None = None) -> PodiumClient:  # fmt: skip
    client = PodiumClient()
    env = {**server_env(tmp_path, home), **(extra_env or {})}
    await client.launch(cwd=git_repo, env=env, stderr_path=tmp_path / "server.log")
    await client.initialize_podium(git_repo, settings or {})
    return client


def spawn_params(claude_bin: Path, standin_url: str, home: Path, task: str, *,
                 auth: Literal["api_key", "oauth"] = "api_key", name: str = "alpha",
                 **extra: Any) -> dict[str, Any]:  # fmt: skip
    """`podium/spawnAgent` params: the real CLI, pointed at the stand-in by its env."""
    env = offline_env(standin_url, home, auth=auth, extra={"CLAUDE_CODE_MAX_RETRIES": "2"})
    return {"task": task, "name": name, "profile": "claude", "command": [str(claude_bin)],
            "env": env, **extra}  # fmt: skip


def worktree(git_repo: Path, name: str = "alpha") -> Path:
    return git_repo / ".podium" / "worktrees" / name


def agent_lines(card: dict[str, Any], file: str) -> list[dict[str, Any]]:
    """The JSON lines of one of the agent's state files (stdout.jsonl, hooks.jsonl)."""
    return read_jsonl(Path(card["worktree"]).parent.parent / "state" / card["agentId"] / file)


def results(card: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in agent_lines(card, "stdout.jsonl") if e.get("type") == "result"]


def card_of(client: PodiumClient, agent_id: str) -> dict[str, Any]:
    return client.latest_cards()[agent_id]


def first_card(client: PodiumClient, agent_id: str, predicate: Any) -> tuple[float, dict]:
    """(arrival time, card) of the first card of `agent_id` that matched `predicate`."""
    for at, card in client.cards:
        if card["agentId"] == agent_id and predicate(card):
            return at, card
    raise AssertionError("no such card")


def first_status(client: PodiumClient, predicate: Any) -> tuple[float, dict]:
    for at, status in client.status_bars:
        if predicate(status):
            return at, status
    raise AssertionError("no such status bar")
