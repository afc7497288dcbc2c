"""Whole process trees owned for real: each agent's keeper is a child subreaper, so a daemon that
double-forked and called `setsid` stays the agent's; it ends with every stop, remove and close,
with a Podium that was SIGKILLed (keepAgentsRunning off), and how a process ended is known even
after a re-attach. Real processes throughout."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest
from agents_helpers import alive, pid_alive, wait_for

from podium.agents import Agent, AgentManager, AgentStatus
from podium.agents.process import PODIUM_GONE_REASON

HERE = Path(__file__).parent
DAEMON_AGENT = str(HERE / "daemon_agent.py")


def daemon_cmd(root: str) -> list[str]:
    return [sys.executable, DAEMON_AGENT, root]


def daemons(agent: Agent) -> list[psutil.Process]:
    """The daemon the agent left (own session, no descendant of the agent's root) and its child."""
    pid_file = Path(agent.worktree) / "daemon.pid"
    wait_for(pid_file.exists, message="the daemon to start")
    procs = [psutil.Process(int(pid)) for pid in pid_file.read_text().split()]
    daemon = procs[0]
    # it escaped into a session (and process group) of its own
    assert os.getsid(daemon.pid) not in (agent.pid, daemon.pid)  # the root leads its own
    with contextlib.suppress(psutil.Error):
        assert daemon not in psutil.Process(agent.pid).children(recursive=True)
    return procs


def keeper_of(agent: Agent) -> psutil.Process:
    return psutil.Process(agent.pid).parent()


def zombie_children() -> list[int]:
    """Zombies this (subreaper) process has not reaped."""
    return [p.pid for p in psutil.Process().children()
            if p.status() == psutil.STATUS_ZOMBIE]  # fmt: skip


@pytest.fixture
def manager(store, git_repo: Path, claude_dir: Path):
    m = AgentManager(store, git_repo, claude_config_dir=claude_dir, stop_grace=1.0)
    yield m
    m.close()


@pytest.mark.parametrize(("root", "how"), [("stay", "stop"), ("exit", "stop"), ("stay", "close"),
                                           ("exit", "close"), ("stay", "remove")])  # fmt: skip
def test_a_setsid_daemon_is_the_agents_and_ends_with_it(
    manager: AgentManager, root: str, how: str
) -> None:
    agent = manager.spawn("serve", profile="shell", command=daemon_cmd(root))
    keeper = keeper_of(agent)
    procs = daemons(agent)
    try:
        # orphaned, it re-parented to the agent's keeper (a subreaper), not to init
        assert procs[0].ppid() == keeper.pid
        if root == "exit":
            wait_for(lambda: manager.poll() or manager.get(agent.id).status == AgentStatus.EXITED,
                     message="the agent's root to exit")  # fmt: skip
            assert all(alive(p) for p in procs)  # the daemon outlives the root until a stop
            assert alive(keeper)  # which keeps it owned
        if how == "stop":
            manager.stop(agent.id)
        elif how == "remove":
            manager.remove(agent.id, force=True)
        else:
            manager.close()
        # ended before the call returned, reaped by the keeper (no zombie left anywhere)
        assert not any(alive(p) for p in procs)
        assert not any(psutil.pid_exists(p.pid) for p in procs)
        wait_for(lambda: not psutil.pid_exists(keeper.pid), message="the keeper to exit")
        if how != "remove":
            expected = AgentStatus.STOPPED if root == "stay" else AgentStatus.EXITED
            assert manager.get(agent.id).status == expected
    finally:
        for proc in procs:
            with contextlib.suppress(psutil.Error):
                proc.kill()


def test_pause_stops_the_daemon_too_and_resume_continues_it(manager: AgentManager) -> None:
    agent = manager.spawn("serve", profile="shell", command=daemon_cmd("stay"))
    procs = daemons(agent)
    manager.pause(agent.id)
    assert all(p.status() == psutil.STATUS_STOPPED for p in [psutil.Process(agent.pid), *procs])
    assert keeper_of(agent).status() != psutil.STATUS_STOPPED  # the keeper keeps watching
    manager.resume(agent.id)
    assert all(p.status() != psutil.STATUS_STOPPED for p in procs)
    manager.stop(agent.id)
    assert not any(alive(p) for p in procs)


def test_a_killed_keeper_takes_the_agent_with_it_and_podium_reaps_the_rest(
    manager: AgentManager,
) -> None:
    agent = manager.spawn("serve", profile="shell", command=daemon_cmd("stay"))
    procs = daemons(agent)
    keeper = keeper_of(agent)
    keeper.kill()
    # the root dies with its keeper (PDEATHSIG); the daemon re-parents to us (a subreaper)
    wait_for(lambda: not pid_alive(agent.pid), message="the root to die with its keeper")
    wait_for(lambda: manager.poll() or manager.get(agent.id).status == AgentStatus.EXITED,
             message="the agent to be seen ended")  # fmt: skip
    assert not any(alive(p) for p in procs)
    got = manager.get(agent.id)
    assert got.exit_code is None and got.status == AgentStatus.EXITED
    wait_for(lambda: not set(zombie_children()) & {p.pid for p in procs},
             message="the daemon's zombie to be reaped")  # fmt: skip


def test_exec_failure_is_a_clear_error(manager: AgentManager, tmp_path: Path) -> None:
    script = tmp_path / "bad-interpreter"
    script.write_text("#!/nonexistent/interpreter\n")
    script.chmod(0o755)
    with pytest.raises(Exception, match=r"cannot start .*bad-interpreter: No such file"):
        manager.spawn("x", profile="shell", command=[str(script)])
    assert manager.list() == []


# -- a supervising process that is SIGKILLed ------------------------------------------------------
def start_supervisor(store, git_repo: Path, keep: bool, switch_to: bool | None = None
                     ) -> tuple[subprocess.Popen, dict]:  # fmt: skip
    args = [sys.executable, str(HERE / "supervisor_proc.py"), store.path, str(git_repo),
            "1" if keep else "0"]  # fmt: skip
    if switch_to is not None:
        args.append("1" if switch_to else "0")
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    assert line, "the supervising process did not start its agent"
    return proc, json.loads(line)


def test_agents_die_with_a_sigkilled_podium_when_not_kept(
    store, git_repo: Path, claude_dir: Path
) -> None:
    supervisor, info = start_supervisor(store, git_repo, keep=False)
    agent_root = psutil.Process(info["pid"])
    procs = [psutil.Process(int(p)) for p in _pids(info)]
    try:
        supervisor.kill()
        supervisor.wait()
        wait_for(lambda: not any(alive(p) for p in [agent_root, *procs]), timeout=15,
                 message="the agent and its daemon to die with their Podium")  # fmt: skip
        # the next Podium knows why it ended
        with AgentManager(store, git_repo, claude_config_dir=claude_dir) as again:
            got = again.get(info["id"])
            assert got.status == AgentStatus.STOPPED
            assert got.status_reason == PODIUM_GONE_REASON
            assert got.exit_code == -signal.SIGTERM
    finally:
        for proc in procs:
            with contextlib.suppress(psutil.Error):
                proc.kill()


def test_kept_agents_survive_a_sigkilled_podium_and_report_their_signal_after_reattach(
    store, git_repo: Path, claude_dir: Path
) -> None:
    # started with keepAgentsRunning off, switched on live: the keeper was told
    supervisor, info = start_supervisor(store, git_repo, keep=False, switch_to=True)
    procs = [psutil.Process(int(p)) for p in _pids(info)]
    try:
        supervisor.kill()
        supervisor.wait()
        with AgentManager(store, git_repo, claude_config_dir=claude_dir, stop_grace=1.0) as m:
            got = m.get(info["id"])
            assert got.status not in (AgentStatus.STOPPED, AgentStatus.EXITED)
            assert got.pid == info["pid"] and pid_alive(info["pid"])
            assert all(alive(p) for p in procs)
            os.kill(info["pid"], signal.SIGKILL)
            wait_for(lambda: m.poll() or m.get(info["id"]).status == AgentStatus.EXITED,
                     message="the killed agent to be seen")  # fmt: skip
            got = m.get(info["id"])
            assert got.exit_code == -9
            assert got.status_reason == "killed by SIGKILL"
            assert all(alive(p) for p in procs)  # its daemon runs on until a stop or close
        # this manager did not keep agents: closing it ended what the agent left
        assert not any(alive(p) for p in procs)
    finally:
        for proc in procs:
            with contextlib.suppress(psutil.Error):
                proc.kill()


def _pids(info: dict) -> list[str]:
    pid_file = Path(info["worktree"]) / "daemon.pid"
    wait_for(pid_file.exists, message="the daemon to start")
    return pid_file.read_text().split()
