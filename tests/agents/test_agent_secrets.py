"""Agent-side secrets: the state dir is 0700 and every file Podium keeps in it 0600; a shell
profile's argv is stored scrubbed (an option naming a secret hides its value too); the task
reaches the fake and shell agents as $PODIUM_TASK, never through argv (world-readable in
/proc) unless a profile's `{task}` placeholder asks for it."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
import sys
from pathlib import Path

import psutil
import pytest
from agents_helpers import wait_for

from podium.agents import AgentManager, AgentStatus

SECRETS = {
    "anthropic": "sk-ant-api03-" + "A1b2C3d4" * 5,
    "bare": "hunter2-correct-horse",  # no shape of its own: only its option names it
    "assigned": "zq8R7w6e5t4y3u2i",
}
#: what the agent runs: writes its argv and $PODIUM_TASK, then waits
PRINTER = ("import json, os, sys, time\n"
           "json.dump({'argv': sys.argv, 'task': os.environ.get('PODIUM_TASK')},"
           " open('seen.json', 'w'))\n"
           "time.sleep(60)\n")  # fmt: skip


@pytest.fixture
def usual_umask():
    """The usual umask, 022: files would be 0644 and dirs 0755 without care."""
    old = os.umask(0o022)
    yield
    os.umask(old)


@pytest.fixture
def manager(store, git_repo: Path, claude_dir: Path, usual_umask):
    m = AgentManager(store, git_repo, claude_config_dir=claude_dir, stop_grace=1.0)
    yield m
    m.close()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def cmdlines(agent) -> str:
    """The agent's root and its keeper as any user of the machine sees them."""
    root = psutil.Process(agent.pid)
    return " ".join(" ".join(p.cmdline()) for p in (root, root.parent()))


def test_state_files_are_private(manager: AgentManager, tmp_path: Path) -> None:
    agent = manager.spawn("x", fake_args=["--interval", "0.1"])
    state = Path(agent.state_dir)
    wait_for(lambda: (state / "stdout.jsonl").stat().st_size > 0, message="agent output")
    assert mode(state) == 0o700 and mode(state.parent) == 0o700
    for name in ("stdout.jsonl", "stderr.log", "keeper.sock"):
        assert mode(state / name) == 0o600, name
    manager.stop(agent.id)
    assert mode(state / "exit.json") == 0o600


def test_claude_state_files_are_private(manager: AgentManager, tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    claude = bin_dir / "claude"
    claude.write_text(f"#!{sys.executable}\nimport time\ntime.sleep(60)\n")
    claude.chmod(0o755)
    agent = manager.spawn("x", profile="claude",
                          env={"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"})  # fmt: skip
    state = Path(agent.state_dir)
    assert mode(state) == 0o700
    assert mode(state / "hooks.jsonl") == 0o600
    assert mode(state / "claude-settings.json") == 0o600


def test_shell_argv_is_stored_scrubbed(manager: AgentManager, store) -> None:
    command = [sys.executable, "-c", "import time; time.sleep(60)",
               "--api-key", SECRETS["anthropic"], "--password", SECRETS["bare"],
               f"--auth-token={SECRETS['assigned']}", "--verbose", "plain-value"]  # fmt: skip
    agent = manager.spawn("serve", profile="shell", command=command)
    stored = agent.command
    assert stored[:3] == command[:3] and stored[-2:] == ["--verbose", "plain-value"]
    with contextlib.closing(sqlite3.connect(store.path)) as conn:
        row = conn.execute("SELECT command_json FROM agents").fetchone()[0]
    for text in (" ".join(stored), row):
        for secret in SECRETS.values():
            assert secret not in text
    assert stored[stored.index("--password") + 1] == "[REDACTED]"
    assert "[REDACTED:anthropic-key]" in stored
    # the agent itself got its real argv
    assert SECRETS["bare"] in psutil.Process(agent.pid).cmdline()


@pytest.mark.parametrize("profile", ["fake", "shell"])
def test_the_task_never_reaches_argv(manager: AgentManager, claude_dir: Path, profile: str) -> None:
    task = "rotate the payroll keys before friday"
    kwargs = ({"fake_args": ["--interval", "0.1"]} if profile == "fake"
              else {"profile": "shell", "command": [sys.executable, "-c", PRINTER]})  # fmt: skip
    agent = manager.spawn(task, **kwargs)
    assert task not in cmdlines(agent)
    assert task not in " ".join(agent.command)
    if profile == "shell":
        seen = Path(agent.worktree) / "seen.json"
        wait_for(seen.exists, message="the agent's report")
        assert f'"task": "{task}"' in seen.read_text()
    else:  # the fake agent took it from $PODIUM_TASK: its transcript's prompt is the task
        projects = claude_dir / "projects"
        wait_for(lambda: any(task in p.read_text() for p in projects.rglob("*.jsonl")),
                 message="the task in the fake agent's transcript")  # fmt: skip
    assert manager.get(agent.id).status != AgentStatus.ERROR


def test_a_task_placeholder_is_the_profiles_choice_but_never_stored(
    store, git_repo: Path, claude_dir: Path
) -> None:
    task = "summarise the incident report"
    profile = [sys.executable, "-c", PRINTER, "--prompt={task}"]
    with AgentManager(store, git_repo, claude_config_dir=claude_dir,
                      profiles={"mine": profile}) as m:  # fmt: skip
        agent = m.spawn(task, profile="mine")
        assert f"--prompt={task}" in cmdlines(agent)  # what the profile asked for
        assert agent.command[-1] == "--prompt=<task>"
        m.stop(agent.id)
