"""One Podium owns a repository's agents at a time (a row in the store's `owners` table): another
manager on the same repo and store shows them read-only, answers control calls with NotOwner
and takes over once the owner is gone (closed, or its process dead). Real processes, real
SQLite, real git."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import psutil
import pytest
from agents_helpers import alive, pid_alive, wait_for

from podium.agents import AgentManager, AgentStatus
from podium.agents.ownership import OWNER_FILE, Ownership
from podium.agents.process import PODIUM_GONE_REASON
from podium.errors import NotOwner
from podium.store import Store

HERE = Path(__file__).parent
FAST = ["--interval", "0.1"]
RACERS = 6


def owner_file(git_repo: Path) -> Path:
    return git_repo / ".podium" / "state" / OWNER_FILE


def test_a_second_manager_is_read_only_until_the_first_closes(
    store, git_repo: Path, claude_dir: Path, tmp_path: Path
) -> None:
    first = AgentManager(store, git_repo, claude_config_dir=claude_dir, keep_running=True)
    agent = first.spawn("work", fake_args=FAST)
    # its own connection, like a second window's server
    second = AgentManager(Store(store.path), git_repo, claude_config_dir=claude_dir)
    try:
        assert not first.read_only and second.read_only
        assert [a.id for a in second.list()] == [agent.id]  # it sees the card
        for call in (second.pause, second.stop, second.resume):
            with pytest.raises(NotOwner, match=rf"owned by another Podium window \(pid {os.getpid()}\)"):
                call(agent.id)
        with pytest.raises(NotOwner):
            second.spawn("mine")
        with pytest.raises(NotOwner):
            second.remove(agent.id, force=True)
        assert psutil.Process(agent.pid).status() != psutil.STATUS_STOPPED  # nothing was done

        # what the owner does shows in the read-only manager (its rows are re-read)
        first.pause(agent.id)
        wait_for(lambda: second.poll() and second.get(agent.id).status == AgentStatus.PAUSED,
                 message="the read-only manager to see the pause")  # fmt: skip
        # closing a read-only manager leaves the agents alone
        second.close()
        assert pid_alive(agent.pid)

        third = AgentManager(Store(store.path), git_repo, claude_config_dir=claude_dir,
                             stop_grace=1.0)  # fmt: skip
        try:
            assert third.read_only
            first.close()  # keep_running: the agent runs on, owned by nobody
            assert pid_alive(agent.pid)
            # the next poll takes over and re-attaches
            wait_for(lambda: third.poll() is not None and not third.read_only,
                     message="the take-over")  # fmt: skip
            assert third.get(agent.id).pid == agent.pid
            assert third.resume(agent.id).status != AgentStatus.PAUSED
            assert psutil.Process(agent.pid).status() != psutil.STATUS_STOPPED
            third.stop(agent.id)
            assert not pid_alive(agent.pid)
        finally:
            third.close()
    finally:
        second.close()
        first.close()


def test_a_control_call_takes_over_at_once_when_the_owner_is_gone(
    store, git_repo: Path, claude_dir: Path
) -> None:
    first = AgentManager(store, git_repo, claude_config_dir=claude_dir, keep_running=True)
    agent = first.spawn("work", fake_args=FAST)
    second = AgentManager(Store(store.path), git_repo, claude_config_dir=claude_dir)
    try:
        first.close()
        # no poll in between: the request itself claims the agents and re-attaches first
        assert second.pause(agent.id).status == AgentStatus.PAUSED
        assert psutil.Process(agent.pid).status() == psutil.STATUS_STOPPED
    finally:
        second.close()  # not kept: the agent ends with its owner
    assert not pid_alive(agent.pid)


def test_the_owner_process_killed_hands_over_to_the_survivor(
    store, git_repo: Path, claude_dir: Path
) -> None:
    owner = subprocess.Popen([sys.executable, str(HERE / "supervisor_proc.py"), store.path,
                              str(git_repo), "1"], stdout=subprocess.PIPE, text=True)  # fmt: skip
    info = json.loads(owner.stdout.readline())
    m = AgentManager(store, git_repo, claude_config_dir=claude_dir, stop_grace=1.0)
    try:
        assert m.read_only
        with pytest.raises(NotOwner, match=rf"\(pid {owner.pid}\)"):
            m.pause(info["id"])
        data = json.loads(owner_file(git_repo).read_text())
        assert data["pid"] == owner.pid
        assert data["createTime"] == pytest.approx(psutil.Process(owner.pid).create_time())
        owner.kill()
        owner.wait()
        # its pid is dead: stale; the next poll takes over, the kept agent runs on
        wait_for(lambda: m.poll() is not None and not m.read_only, message="the take-over")
        assert m.get(info["id"]).status not in (AgentStatus.STOPPED, AgentStatus.EXITED)
        assert json.loads(owner_file(git_repo).read_text())["pid"] == os.getpid()
        m.stop(info["id"])
        assert not pid_alive(info["pid"])
    finally:
        if owner.poll() is None:
            owner.kill()
        m.close()
    assert not owner_file(git_repo).exists()  # released at close


def test_owner_file_is_private_and_follows_the_owner(
    store, git_repo: Path, claude_dir: Path
) -> None:
    m = AgentManager(store, git_repo, claude_config_dir=claude_dir)
    try:
        assert not owner_file(git_repo).exists()  # no agent yet: no .podium/ in the repo
        m.spawn("x", fake_args=["--turns", "0"])
        path = owner_file(git_repo)
        data = json.loads(path.read_text())
        assert data == {"pid": os.getpid(), "createTime": psutil.Process().create_time()}
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    finally:
        m.close()
    assert not owner_file(git_repo).exists()


def test_concurrent_claims_have_exactly_one_winner(store, git_repo: Path, tmp_path: Path) -> None:
    """RACERS processes claim the same repository at once: one wins, the others see it."""
    go = tmp_path / "go"
    script = (
        "import json, os, sys, time\n"
        "from pathlib import Path\n"
        "from podium.agents.ownership import Ownership\n"
        "from podium.store import Store\n"
        f"own = Ownership(Store({store.path!r}), 'repo-x', Path({str(tmp_path)!r}),"
        " owner_file=False)\n"
        f"while not os.path.exists({str(go)!r}): time.sleep(0.001)\n"
        "won = own.ensure(lambda: None)\n"
        "holder = own.holder.pid if own.holder else None\n"
        "print(json.dumps({'won': won, 'holder': holder}), flush=True)\n"
        "sys.stdin.read()\n"  # stay alive (owning) until the test is done
    )
    racers = [subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True) for _ in range(RACERS)]  # fmt: skip
    try:
        wait_for(lambda: all(_imported(p) for p in racers), message="racers ready")
        go.touch()
        results = [json.loads(p.stdout.readline()) for p in racers]
        winners = [p.pid for p, r in zip(racers, results, strict=True) if r["won"]]
        assert len(winners) == 1
        assert all(r["holder"] == winners[0] for r in results if not r["won"])
        # in this process too: the winner is alive, so nobody else may claim
        mine = Ownership(store, "repo-x", tmp_path, owner_file=False)
        assert not mine.ensure(lambda: None) and mine.holder.pid == winners[0]
    finally:
        for p in racers:
            p.stdin.close()
            p.wait(10)


def _imported(proc: subprocess.Popen) -> bool:
    """The racer reached its wait loop (it has the store open)."""
    try:
        return any(f.path.endswith("podium.db") for f in psutil.Process(proc.pid).open_files())
    except psutil.Error:
        return False


def test_a_killed_owner_with_agents_not_kept_leaves_them_stopped_for_the_next(
    store, git_repo: Path, claude_dir: Path
) -> None:
    owner = subprocess.Popen([sys.executable, str(HERE / "supervisor_proc.py"), store.path,
                              str(git_repo), "0"], stdout=subprocess.PIPE, text=True)  # fmt: skip
    info = json.loads(owner.stdout.readline())
    m = AgentManager(store, git_repo, claude_config_dir=claude_dir)
    try:
        owner.kill()
        owner.wait()
        wait_for(lambda: not pid_alive(info["pid"]), timeout=15, message="the agent to end")
        wait_for(lambda: m.poll() is not None and not m.read_only, message="the take-over")
        got = m.get(info["id"])
        assert got.status == AgentStatus.STOPPED and got.status_reason == PODIUM_GONE_REASON
    finally:
        m.close()


def test_parallel_readers_never_wait_for_a_take_over(store, git_repo: Path, claude_dir: Path):
    """list()/get() of a read-only manager answer while another thread takes over."""
    first = AgentManager(store, git_repo, claude_config_dir=claude_dir, keep_running=True)
    agent = first.spawn("work", fake_args=FAST)
    second = AgentManager(Store(store.path), git_repo, claude_config_dir=claude_dir)
    try:
        first.close()
        done = threading.Event()
        seen: list[int] = []

        def read() -> None:
            while not done.is_set():
                seen.append(len(second.list()))

        reader = threading.Thread(target=read)
        reader.start()
        second.pause(agent.id)  # takes over, then pauses
        done.set()
        reader.join(10)
        assert seen and set(seen) == {1}
        assert alive(psutil.Process(agent.pid))
    finally:
        second.close()
