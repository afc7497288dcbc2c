"""Spawn is all or nothing: whichever step fails — an executable that is missing or cannot be
exec'd, an environment the OS refuses, a read-only worktree dir, a full disk under the
repository or under the store, a store that refuses writes — no process, worktree, worktree
metadata, branch, state dir or row is left, and the error is a clear user error. Real
conditions: real mounts (root; else a chmod), real SQLite, real git, real processes."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path

import psutil
import pytest
from agents_helpers import git
from tests.store.fulldisk import fill, small_tmpfs

from podium.agents import AgentManager, AgentStatus
from podium.errors import PodiumError
from podium.store import Store

FAST = ["--interval", "0.1"]


def leftovers(store_path: str, repo: Path, worktree_dir: Path, where: Path) -> dict[str, list]:
    """Everything a spawn could have left behind (all lists empty: nothing)."""
    with contextlib.closing(sqlite3.connect(store_path)) as conn:
        rows = conn.execute("SELECT id FROM agents").fetchall()
    metadata = repo / ".git" / "worktrees"
    state_root = repo / ".podium" / "state"
    # an agent's processes (and its keeper) run in its worktree and carry its PODIUM_AGENT_ID
    # (this process's own helpers, e.g. GitPython's `git cat-file`, run in the repository)
    me = os.getpid()
    procs = []
    for proc in psutil.process_iter():
        with contextlib.suppress(psutil.Error):
            cwd = Path(proc.cwd())
            if proc.pid != me and cwd.is_relative_to(where) and (
                    cwd.is_relative_to(worktree_dir) or "PODIUM_AGENT_ID" in proc.environ()):  # fmt: skip
                procs.append((proc.pid, proc.cmdline()))
    return {
        "rows": rows,
        "branches": git(repo, "branch", "--list", "podium/*").split(),
        "worktrees": [line for line in git(repo, "worktree", "list", "--porcelain").splitlines()
                      if line.startswith("worktree ") and Path(line[9:]) != repo],
        "worktree metadata": sorted(metadata.iterdir()) if metadata.is_dir() else [],
        "worktree dirs": sorted(worktree_dir.iterdir()) if worktree_dir.is_dir() else [],
        "state dirs": sorted(p for p in state_root.glob("ag-*")) if state_root.is_dir() else [],
        "processes": procs,
    }


NOTHING = {"rows": [], "branches": [], "worktrees": [], "worktree metadata": [],
           "worktree dirs": [], "state dirs": [], "processes": []}  # fmt: skip


def spawn_fails(manager: AgentManager, match: str, **kwargs) -> PodiumError:
    with pytest.raises(PodiumError, match=match) as err:
        manager.spawn(kwargs.pop("task", "do it"), **kwargs)
    assert manager.list() == []
    return err.value


@pytest.fixture
def manager(store, git_repo: Path, claude_dir: Path):
    m = AgentManager(store, git_repo, claude_config_dir=claude_dir, stop_grace=1.0)
    yield m
    m.close()


def wt_dir(git_repo: Path) -> Path:
    return git_repo / ".podium" / "worktrees"


def test_missing_executable(manager, store, git_repo: Path, tmp_path: Path) -> None:
    spawn_fails(manager, "not found", profile="shell", command=[str(tmp_path / "nope")])
    assert leftovers(store.path, git_repo, wt_dir(git_repo), tmp_path) == NOTHING


def test_exec_failure_after_the_worktree_was_made(manager, store, git_repo: Path,
                                                  tmp_path: Path) -> None:  # fmt: skip
    script = tmp_path / "bad-interpreter"
    script.write_text("#!/nonexistent/interpreter\n")
    script.chmod(0o755)  # exists and is executable: the exec itself fails, in the keeper
    spawn_fails(manager, "cannot start", profile="shell", command=[str(script)])
    assert leftovers(store.path, git_repo, wt_dir(git_repo), tmp_path) == NOTHING


@pytest.mark.parametrize("env", [{"BAD": "nul\x00byte"}, {"BAD": "lone \udc80 surrogate"}])
def test_an_environment_the_os_refuses(manager, store, git_repo: Path, tmp_path: Path,
                                       env: dict[str, str]) -> None:  # fmt: skip
    spawn_fails(manager, "NUL|surrogate|cannot start|invalid", fake_args=FAST, env=env)
    assert leftovers(store.path, git_repo, wt_dir(git_repo), tmp_path) == NOTHING


def test_a_store_that_refuses_writes_after_the_process_started(
    manager, store, git_repo: Path, tmp_path: Path
) -> None:
    store.conn.execute("PRAGMA query_only = ON")  # SQLite itself refuses every write now
    try:
        err = spawn_fails(manager, "store refused", fake_args=FAST)
        assert "readonly" in str(err)
        assert leftovers(store.path, git_repo, wt_dir(git_repo), tmp_path) == NOTHING
    finally:
        store.conn.execute("PRAGMA query_only = OFF")
    agent = manager.spawn("now it works", fake_args=FAST)  # nothing was left in the way
    assert agent.name == "alpha" and manager.get(agent.id).status != AgentStatus.ERROR


def test_a_read_only_worktree_dir(store, git_repo: Path, claude_dir: Path, tmp_path: Path) -> None:
    worktrees = tmp_path / "ro-worktrees"
    with contextlib.ExitStack() as stack:
        if os.geteuid() == 0:
            stack.enter_context(small_tmpfs(worktrees, "1m", "ro"))
        else:
            worktrees.mkdir()
            worktrees.chmod(0o555)
            stack.callback(worktrees.chmod, 0o755)
        m = AgentManager(store, git_repo, worktree_dir=worktrees, claude_config_dir=claude_dir)
        stack.callback(m.close)
        spawn_fails(m, "worktree|Read-only|Permission", fake_args=FAST)
        assert leftovers(store.path, git_repo, worktrees, tmp_path) == NOTHING


def test_a_full_disk_under_the_repository(store, claude_dir: Path, tmp_path: Path) -> None:
    with small_tmpfs(tmp_path / "disk") as disk:
        repo = disk / "repo"
        repo.mkdir()
        for args in (["init", "-q", "-b", "main"], ["config", "user.email", "t@podium.invalid"],
                     ["config", "user.name", "T"], ["config", "commit.gpgsign", "false"]):  # fmt: skip
            git(repo, *args)
        (repo / "big.txt").write_bytes(os.urandom(300_000).hex().encode())  # 600 kB to check out
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "initial")
        m = AgentManager(store, repo, claude_config_dir=claude_dir)
        try:
            # room for the branch and the worktree's metadata, not for checking out big.txt:
            # git fails half-way, after the branch and .git/worktrees/alpha exist
            fill(disk, leave=200_000)
            spawn_fails(m, "No space left|unable to write", fake_args=FAST)
            assert leftovers(store.path, repo, wt_dir(repo), tmp_path) == NOTHING
            (disk / "filler").unlink()
            agent = m.spawn("room again", fake_args=FAST)
            assert agent.name == "alpha"  # the failed one's name and branch were freed
        finally:
            m.close()


def test_a_full_disk_under_the_store(git_repo: Path, claude_dir: Path, tmp_path: Path) -> None:
    with small_tmpfs(tmp_path / "disk") as disk:
        store = Store(disk / "podium.db")
        m = AgentManager(store, git_repo, claude_config_dir=claude_dir, stop_grace=1.0)
        try:
            store.checkpoint("TRUNCATE")  # the next write needs new room in the WAL
            fill(disk)
            spawn_fails(m, "store refused", fake_args=FAST)
            assert leftovers(store.path, git_repo, wt_dir(git_repo), tmp_path) == NOTHING
        finally:
            (disk / "filler").unlink(missing_ok=True)
            m.close()
            store.close()
