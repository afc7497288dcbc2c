"""`podium agents` without an editor: spawn, list, pause, stop, remove through the store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from agents_helpers import pid_alive, wait_for


def podium(*args: str, cwd: Path, db: Path, claude_dir: Path) -> subprocess.CompletedProcess:
    env = os.environ | {"PODIUM_DB": str(db), "CLAUDE_CONFIG_DIR": str(claude_dir)}
    return subprocess.run([sys.executable, "-m", "podium", "agents", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)  # fmt: skip


def test_cli_lifecycle(tmp_path: Path, git_repo: Path, claude_dir: Path) -> None:
    db = tmp_path / "cli.db"

    def run(*args: str) -> subprocess.CompletedProcess:
        return podium(*args, cwd=git_repo, db=db, claude_dir=claude_dir)

    spawned = run("--json", "spawn", "do it", "--name", "zed", "--fake-arg=--interval=0.1")
    assert spawned.returncode == 0, spawned.stderr
    agent = json.loads(spawned.stdout)[0]
    assert agent["name"] == "zed" and agent["status"] == "starting"
    try:
        assert pid_alive(agent["pid"])  # outlives the command
        listed = json.loads(run("--json", "list").stdout)
        assert [a["id"] for a in listed] == [agent["id"]]
        paused = run("--json", "pause", "zed")
        assert json.loads(paused.stdout)[0]["status"] == "paused"
        bad = run("pause", "nobody")
        assert bad.returncode == 1 and "no agent with id or name 'nobody'" in bad.stderr
        refused = run("remove", "zed")
        assert refused.returncode == 1 and "uncommitted work" in refused.stderr
        stopped = run("--json", "stop", agent["id"])
        assert json.loads(stopped.stdout)[0]["status"] == "stopped"
        wait_for(lambda: not pid_alive(agent["pid"]), message="agent to end")
        assert run("remove", "zed", "--force").returncode == 0
        assert not Path(agent["worktree"]).exists()
        assert run("list").stdout.strip() == "no agents"
    finally:
        if pid_alive(agent["pid"]):
            os.kill(agent["pid"], 9)


def test_cli_reports_git_errors(tmp_path: Path, claude_dir: Path) -> None:
    out = podium("spawn", "x", cwd=tmp_path, db=tmp_path / "x.db", claude_dir=claude_dir)
    assert out.returncode == 1
    assert "not a git repository" in out.stderr
