"""AgentManager on real temp git repos with real processes."""

from __future__ import annotations

import contextlib
import json
import sys
import time
from pathlib import Path

import psutil
import pytest
from agents_helpers import alive, git, pid_alive, tree, wait_for

from podium.agents import Agent, AgentManager, AgentStatus
from podium.usage.adapters.claude import encode_cwd
from podium.usage.ingest import Ingestor

FAST = ["--interval", "0.1"]
#: a shell-profile agent whose process tree has two children
TREE_CMD = [sys.executable, "-c",
            "import subprocess, sys\n"
            "code = 'import time\\nwhile True: time.sleep(0.05)'\n"
            "ps = [subprocess.Popen([sys.executable, '-c', code]) for _ in range(2)]\n"
            "[p.wait() for p in ps]\n"]  # fmt: skip


@pytest.fixture
def manager(store, git_repo: Path, claude_dir: Path):
    changes: list[Agent] = []
    m = AgentManager(store, git_repo, claude_config_dir=claude_dir, on_change=changes.append)
    m.changes = changes  # type: ignore[attr-defined]
    yield m
    m.close()


def transcript_size(claude_dir: Path, agent: Agent) -> int:
    path = claude_dir / "projects" / encode_cwd(agent.worktree) / f"{agent.claude_session_id}.jsonl"
    return path.stat().st_size if path.exists() else 0


def turn_notes(agent: Agent) -> list[str]:
    notes = Path(agent.worktree) / "FAKE_AGENT_NOTES.md"
    return notes.read_text().splitlines() if notes.exists() else []


def test_two_agents_get_worktrees_branches_and_growing_diff_and_tokens(
    manager: AgentManager, git_repo: Path, claude_dir: Path, store
) -> None:
    a = manager.spawn("add a cart total", fake_args=FAST)
    b = manager.spawn("fix the login", fake_args=FAST)
    assert (a.name, b.name) == ("alpha", "bravo")
    assert a.id != b.id and a.id.startswith("ag-")
    assert a.status == AgentStatus.STARTING and a.pid
    for agent in (a, b):
        assert Path(agent.worktree).is_dir()
        assert agent.worktree == str(git_repo / ".podium" / "worktrees" / agent.name)
        assert agent.branch == f"podium/{agent.name}"
        assert agent.base_commit == git(git_repo, "rev-parse", "HEAD")
    branches = git(git_repo, "branch", "--list", "--format=%(refname:short)", "podium/*")
    assert set(branches.split()) == {"podium/alpha", "podium/bravo"}
    worktrees = git(git_repo, "worktree", "list", "--porcelain")
    assert a.worktree in worktrees and b.worktree in worktrees
    assert git(git_repo, "status", "--porcelain") == ""  # .podium/ is excluded

    ingestor = Ingestor(store, claude_config_dirs=[str(claude_dir)])
    wait_for(lambda: manager.diff(a.id).files >= 2 and manager.diff(b.id).files >= 2,
             message="first diff stats")  # fmt: skip
    ingestor.run()
    first = {x.id: (manager.diff(x.id), manager.usage(x.id)) for x in (a, b)}
    for diff, usage in first.values():
        assert diff.added > 0
        assert usage.messages >= 1 and usage.output > 0

    def grown() -> bool:
        ingestor.run()
        return all(
            manager.diff(x.id).added > first[x.id][0].added
            and manager.usage(x.id).output > first[x.id][1].output
            for x in (a, b)
        )

    wait_for(grown, message="diff stats and tokens to grow")
    # attribution keeps the two apart
    ua, ub = manager.usage(a.id), manager.usage(b.id)
    total = store.conn.execute("SELECT count(*) FROM entries").fetchone()[0]
    assert ua.messages + ub.messages <= total
    assert ua.messages > 0 and ub.messages > 0
    manager.poll()
    assert manager.get(a.id).status == AgentStatus.WORKING
    assert manager.get(a.id).model == "claude-sonnet-4-5-20250929"
    assert manager.get(a.id).source == "subscription"


def test_pause_stops_the_whole_tree_and_nothing_is_written(
    manager: AgentManager, claude_dir: Path
) -> None:
    fake = manager.spawn("work", fake_args=FAST)
    shell = manager.spawn("tree", profile="shell", command=TREE_CMD)
    wait_for(lambda: len(tree(shell.pid)) == 3, message="shell tree to start")
    wait_for(lambda: transcript_size(claude_dir, fake) > 0, message="first transcript lines")

    for agent in (fake, shell):
        paused = manager.pause(agent.id, reason="paused by limit: agent $0.05 reached")
        assert paused.status == AgentStatus.PAUSED
        assert paused.status_reason == "paused by limit: agent $0.05 reached"
    procs = tree(shell.pid) + tree(fake.pid)
    assert len(procs) == 4
    assert all(p.status() == psutil.STATUS_STOPPED for p in procs)
    size = transcript_size(claude_dir, fake)
    notes = Path(fake.worktree) / "FAKE_AGENT_NOTES.md"
    notes_size = notes.stat().st_size
    # "nothing happens for a while": a running twin at the same pace writes several turns
    # meanwhile, where the paused agent would have written too
    twin = manager.spawn("pace", fake_args=FAST)
    wait_for(lambda: len(turn_notes(twin)) >= 5, message="the twin's turns")
    assert transcript_size(claude_dir, fake) == size
    assert notes.stat().st_size == notes_size
    assert manager.poll() == [] or all(
        manager.get(i).status == AgentStatus.PAUSED for i in (fake.id, shell.id))  # fmt: skip

    for agent in (fake, shell):
        assert manager.resume(agent.id).status == AgentStatus.WORKING
    assert all(p.status() != psutil.STATUS_STOPPED for p in tree(shell.pid))
    wait_for(lambda: transcript_size(claude_dir, fake) > size, message="writes after resume")


def test_stop_leaves_no_process(manager: AgentManager) -> None:
    shell = manager.spawn("tree", profile="shell", command=TREE_CMD)
    fake = manager.spawn("work", fake_args=FAST)
    wait_for(lambda: len(tree(shell.pid)) == 3, message="shell tree to start")
    # the fake agent handles SIGTERM once it runs (its first event), not while Python starts
    wait_for(lambda: manager.poll() or manager.get(fake.id).status != AgentStatus.STARTING,
             message="the fake agent to start")  # fmt: skip
    procs = tree(shell.pid) + tree(fake.pid)
    manager.pause(shell.id)  # stopping a paused tree works too
    for agent in (shell, fake):
        stopped = manager.stop(agent.id)
        assert stopped.status == AgentStatus.STOPPED
    assert manager.get(fake.id).exit_code == 0  # the fake agent exits cleanly on SIGTERM
    wait_for(lambda: not any(alive(p) for p in procs), message="every process to end")
    # stopping again is harmless; pausing a stopped agent is a clear error
    assert manager.stop(fake.id).status == AgentStatus.STOPPED
    with pytest.raises(Exception, match="not running"):
        manager.pause(fake.id)


def test_remove_keeps_branch_unless_asked_and_protects_work(
    manager: AgentManager, git_repo: Path
) -> None:
    a = manager.spawn("one", fake_args=[*FAST, "--turns", "1"])
    b = manager.spawn("two", fake_args=[*FAST, "--turns", "1"])
    wait_for(lambda: (Path(a.worktree) / "FAKE_AGENT_NOTES.md").exists(), message="edits")
    with pytest.raises(Exception, match="uncommitted work"):
        manager.remove(a.id)
    assert Path(a.worktree).is_dir()  # refused: nothing lost
    manager.remove(a.id, force=True)
    assert not Path(a.worktree).exists()
    assert "podium/alpha" in git(git_repo, "branch", "--list", "podium/alpha")
    assert a.worktree not in git(git_repo, "worktree", "list")
    with pytest.raises(Exception, match="unknown agent id"):
        manager.get(a.id)
    assert [x.id for x in manager.list()] == [b.id]

    wait_for(lambda: (Path(b.worktree) / "FAKE_AGENT_NOTES.md").exists(), message="edits")
    manager.stop(b.id)
    git(b.worktree, "add", "-A")
    git(b.worktree, "commit", "-q", "-m", "agent work")
    # committed, so the worktree goes without force; its commits are on no other branch, so
    # deleting the branch needs force (`git branch -D` would drop them for good)
    with pytest.raises(Exception, match="1 commit not merged"):
        manager.remove(b.id, delete_branch=True)
    assert Path(b.worktree).is_dir() and "podium/bravo" in git(git_repo, "branch", "--list")
    manager.remove(b.id, delete_branch=True, force=True)
    assert git(git_repo, "branch", "--list", "podium/bravo") == ""
    # the name is free again (the branch is gone), alpha's branch still blocks "alpha"
    c = manager.spawn("three", fake_args=["--turns", "1"])
    assert c.name == "bravo"


def test_delete_branch_without_new_commits_needs_no_force(
    manager: AgentManager, git_repo: Path
) -> None:
    a = manager.spawn("one", fake_args=["--turns", "0"])
    manager.stop(a.id)
    manager.remove(a.id, delete_branch=True)  # nothing of its own on the branch: no force
    assert git(git_repo, "branch", "--list", a.branch) == ""


def test_restart_reattaches_to_running_agent(store, git_repo: Path, claude_dir: Path) -> None:
    first = AgentManager(store, git_repo, claude_config_dir=claude_dir, keep_running=True)
    agent = first.spawn("keep going", fake_args=FAST)
    wait_for(lambda: first.poll() or first.get(agent.id).status == AgentStatus.WORKING,
             message="working")  # fmt: skip
    first.close()  # keep_running: the agent outlives this manager
    assert alive(psutil.Process(agent.pid))

    second = AgentManager(store, git_repo, claude_config_dir=claude_dir)
    try:
        again = second.get(agent.id)
        assert again.pid == agent.pid
        assert again.status == AgentStatus.WORKING
        assert again.claude_session_id == agent.claude_session_id
        assert second.pause(agent.id).status == AgentStatus.PAUSED
        assert psutil.Process(agent.pid).status() == psutil.STATUS_STOPPED
        second.resume(agent.id)
        second.stop(agent.id)
        wait_for(lambda: not pid_alive(agent.pid), message="agent to end")
        assert second.get(agent.id).status == AgentStatus.STOPPED
    finally:
        second.close()

    third = AgentManager(store, git_repo, claude_config_dir=claude_dir)
    assert third.get(agent.id).status == AgentStatus.STOPPED
    third.close()


def test_restart_marks_dead_agents_exited(store, git_repo: Path, claude_dir: Path) -> None:
    first = AgentManager(store, git_repo, claude_config_dir=claude_dir, keep_running=True)
    agent = first.spawn("short", fake_args=FAST)
    first.close()
    psutil.Process(agent.pid).terminate()
    exit_file = Path(agent.state_dir) / "exit.json"
    wait_for(lambda: not pid_alive(agent.pid) and exit_file.exists(), message="agent to die")
    ended_at = json.loads(exit_file.read_text())["at"]
    # Podium comes back later: the agent's last status ends when its keeper saw it end
    wait_for(lambda: time.time() > ended_at + 0.5, message="time to pass")
    second = AgentManager(store, git_repo, claude_config_dir=claude_dir)
    try:
        got = second.get(agent.id)
        assert got.status == AgentStatus.EXITED
        assert "not running" in (got.status_reason or "")
        assert got.status_since == got.ended_at == pytest.approx(ended_at)
        last = store.conn.execute("SELECT status, since FROM agent_statuses WHERE agent_id = ? "
                                  "ORDER BY id DESC LIMIT 1", (agent.id,)).fetchone()  # fmt: skip
        assert last == ("exited", got.status_since)
    finally:
        second.close()


def test_recycled_pid_is_never_signalled(store, git_repo: Path, claude_dir: Path) -> None:
    import subprocess

    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        real_ct = psutil.Process(bystander.pid).create_time()
        now = time.time()
        with store.transaction() as conn:
            conn.execute(
                "INSERT INTO agents(id, name, repo, worktree, branch, base_commit, profile,"
                " state_dir, pid, pid_create_time, status, status_since, started_at)"
                " VALUES ('ag-recycle', 'ghost', ?, ?, 'podium/ghost', 'x', 'fake', ?, ?, ?,"
                " 'working', ?, ?)",
                (str(git_repo), str(git_repo / ".podium/worktrees/ghost"),
                 str(git_repo / ".podium/state/ag-recycle"), bystander.pid, real_ct - 1000,
                 now, now),
            )  # fmt: skip
        m = AgentManager(store, git_repo, claude_config_dir=claude_dir)
        try:
            ghost = m.get("ag-recycle")
            assert ghost.status == AgentStatus.EXITED
            with pytest.raises(Exception, match="not running"):
                m.pause("ag-recycle")
            m.stop("ag-recycle")
            assert psutil.Process(bystander.pid).status() != psutil.STATUS_STOPPED
            assert bystander.poll() is None  # untouched
        finally:
            m.close()
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()


def test_close_stops_agents_unless_keep_running(store, git_repo: Path, claude_dir: Path) -> None:
    m = AgentManager(store, git_repo, claude_config_dir=claude_dir)
    agent = m.spawn("x", fake_args=FAST)
    proc = psutil.Process(agent.pid)
    m.close()
    wait_for(lambda: not alive(proc), message="agent stopped on close")
    with pytest.raises(Exception, match="closed"):
        m.spawn("y")


#: a shell-profile agent that double-forks a daemon (left in the agent's process group, no
#: longer its descendant) which ignores SIGTERM; the daemon writes its pid to daemon.pid
DAEMON_CMD = [sys.executable, "-c",
              "import os, signal, sys, time\n"
              "if os.fork() == 0:\n"
              "    if os.fork() == 0:\n"
              "        signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
              "        with open('daemon.tmp', 'w') as fh: fh.write(str(os.getpid()))\n"
              "        os.rename('daemon.tmp', 'daemon.pid')\n"
              "        while True: time.sleep(0.05)\n"
              "    os._exit(0)\n"
              "os.wait()\n"
              "if sys.argv[1] == 'stay':\n"
              "    while True: time.sleep(0.05)\n"]  # fmt: skip


def _daemon(agent: Agent) -> psutil.Process:
    pid_file = Path(agent.worktree) / "daemon.pid"
    wait_for(pid_file.exists, message="the daemon to start")
    proc = psutil.Process(int(pid_file.read_text()))
    assert proc not in tree(agent.pid)  # reparented: not a descendant of the agent any more
    return proc


@pytest.mark.parametrize(("root", "how"), [("stay", "stop"), ("exit", "stop"), ("exit", "close")])
def test_stop_ends_a_daemonized_grandchild_that_ignores_sigterm(
    store, git_repo: Path, claude_dir: Path, root: str, how: str
) -> None:
    m = AgentManager(store, git_repo, claude_config_dir=claude_dir, stop_grace=1.0)
    try:
        agent = m.spawn("serve", profile="shell", command=[*DAEMON_CMD, root])
        daemon = _daemon(agent)
        try:
            if root == "exit":  # the agent ended on its own, its daemon still runs
                wait_for(lambda: m.poll() or m.get(agent.id).status == AgentStatus.EXITED,
                         message="the agent to exit")  # fmt: skip
            if how == "stop":
                m.stop(agent.id)
            else:  # the server shuts down (agents do not outlive it)
                m.close()
            wait_for(lambda: not alive(daemon), message="the daemon to be killed")
            assert m.get(agent.id).status == (
                AgentStatus.STOPPED if root == "stay" else AgentStatus.EXITED)
        finally:
            with contextlib.suppress(psutil.Error):
                daemon.kill()
    finally:
        m.close()
