"""Helpers for the session and permission tests: an AgentManager running the stand-in
`claude` (standin_claude.py) through the real `claude` profile machinery (stdin FIFO,
--settings hooks, the permission hook), and waits that poll it."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agents_helpers import wait_for
from tests.jsonl import read_jsonl

from podium.agents import Agent, AgentManager

STANDIN = Path(__file__).with_name("standin_claude.py")
COMMAND = [sys.executable, str(STANDIN)]
#: no key or login of the machine leaks into a stand-in session
CLEAN_ENV = {"ANTHROPIC_API_KEY": "", "ANTHROPIC_BASE_URL": "", "CLAUDE_CODE_OAUTH_TOKEN": ""}


def spawn(manager: AgentManager, task: str, **kwargs: Any) -> Agent:
    env = {**CLEAN_ENV, **kwargs.pop("env", {})}
    return manager.spawn(task, profile="claude", command=COMMAND, env=env, **kwargs)


def polled(manager: AgentManager, agent_id: str, predicate: Callable[[Agent], Any],
           message: str, timeout: float = 20.0) -> Agent:  # fmt: skip
    """Poll the manager until `predicate(agent)` holds; the agent then."""

    def check() -> Agent | None:
        manager.poll()
        agent = manager.get(agent_id)
        return agent if predicate(agent) else None

    return wait_for(check, timeout=timeout, message=message)


def turns(agent: Agent) -> list[dict[str, Any]]:
    """The `result` events the agent printed so far."""
    lines = read_jsonl(Path(agent.state_dir) / "stdout.jsonl")
    return [x for x in lines if x.get("type") == "result"]


def stdout_events(agent: Agent, kind: str, subtype: str | None = None) -> list[dict[str, Any]]:
    lines = read_jsonl(Path(agent.state_dir) / "stdout.jsonl")
    return [x for x in lines
            if x.get("type") == kind and (subtype is None or x.get("subtype") == subtype)]  # fmt: skip


def hook_lines(agent: Agent) -> list[dict[str, Any]]:
    return read_jsonl(Path(agent.state_dir) / "hooks.jsonl")
