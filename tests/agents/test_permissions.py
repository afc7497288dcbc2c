"""The permission bridge: Podium's PermissionRequest hook (a real process, as the CLI runs it)
and the manager's side (pending requests, answers, allow per agent, pause, stop, restart).
The real CLI against the same bridge: tests/claude_real/test_podium_*.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from agents_helpers import pid_alive, tree, wait_for
from session_helpers import hook_lines, polled, spawn, stdout_events

from podium.agents import AgentManager, AgentStatus, permission_hook
from podium.agents.permission_hook import GONE_MESSAGE, OWNER_FILE
from podium.agents.permissions import DENIED_BY_USER, allow_tool, write_answer
from podium.errors import InvalidInput, NotFound

HOOK = [sys.executable, "-I", permission_hook.__file__]
WRITE = {"session_id": "s1", "cwd": "/w", "hook_event_name": "PermissionRequest",
         "tool_name": "Write", "tool_input": {"file_path": "/w/src/x.py", "content": "x"}}  # fmt: skip


@pytest.fixture
def manager(store, git_repo: Path, claude_dir: Path):
    m = AgentManager(store, git_repo, claude_config_dir=claude_dir)
    yield m
    m.close()


# -- the hook process -------------------------------------------------------------------------------
def state_dirs(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "state"
    state = root / "ag-1"
    state.mkdir(parents=True)
    return root, state


def own(root: Path, proc: psutil.Process) -> None:
    (root / OWNER_FILE).write_text(json.dumps({"pid": proc.pid, "createTime": proc.create_time()}))


def run_hook(state: Path, payload: dict) -> subprocess.Popen:
    proc = subprocess.Popen([*HOOK, str(state)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)  # fmt: skip
    assert proc.stdin is not None
    proc.stdin.write(json.dumps(payload))
    proc.stdin.close()
    return proc


def decision(proc: subprocess.Popen, timeout: float = 20.0) -> dict:
    assert proc.wait(timeout) == 0
    assert proc.stdout is not None
    out = proc.stdout.read()
    proc.stdout.close()
    answer = json.loads(out)["hookSpecificOutput"]
    assert answer["hookEventName"] == "PermissionRequest"
    return answer["decision"]


def test_hook_denies_at_once_without_a_live_podium(tmp_path: Path) -> None:
    _root, state = state_dirs(tmp_path)  # no owner.json: nobody would ever answer
    assert decision(run_hook(state, WRITE)) == {"behavior": "deny", "message": GONE_MESSAGE}
    asked, answered = (json.loads(x) for x in (state / "hooks.jsonl").read_text().splitlines())
    assert asked["podium_event"] == "PermissionRequest" and asked["tool"] == "Write"
    assert asked["summary"] == "src/x.py"  # relative to the cwd
    assert answered == {**answered, "podium_event": "PermissionAnswered", "decision": "deny",
                        "by": "fail-closed", "requestId": asked["requestId"]}  # fmt: skip


def test_hook_fails_closed_when_podium_dies_while_it_waits(tmp_path: Path) -> None:
    root, state = state_dirs(tmp_path)
    podium = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        own(root, psutil.Process(podium.pid))
        hook = run_hook(state, WRITE)
        wait_for(lambda: (state / "hooks.jsonl").exists(), message="the request line")
        time.sleep(1.0)  # the property under test: a live owner keeps it waiting
        assert hook.poll() is None
    finally:
        podium.kill()
        podium.wait()
    died = time.monotonic()
    assert decision(hook) == {"behavior": "deny", "message": GONE_MESSAGE}
    assert time.monotonic() - died < 3.0  # checked every 0.5 s
    assert [x["podium_event"] for x in map(json.loads, (state / "hooks.jsonl").read_text()
                                           .splitlines())] == ["PermissionRequest",
                                                               "PermissionAnswered"]  # fmt: skip


def test_hook_takes_podiums_answer_and_the_allow_list(tmp_path: Path) -> None:
    root, state = state_dirs(tmp_path)
    own(root, psutil.Process())  # this test is the live Podium
    hook = run_hook(state, WRITE)
    asked = wait_for(lambda: (state / "hooks.jsonl").exists()
                     and json.loads((state / "hooks.jsonl").read_text()))  # fmt: skip
    write_answer(str(state), asked["requestId"], "deny", DENIED_BY_USER, "user")
    assert decision(hook) == {"behavior": "deny", "message": DENIED_BY_USER}
    assert not list((state / "answers").iterdir())  # the hook took its answer away
    allow_tool(str(state), "Write")
    assert decision(run_hook(state, WRITE)) == {"behavior": "allow"}  # nothing asked
    assert len((state / "hooks.jsonl").read_text().splitlines()) == 2


def test_hook_denies_when_it_cannot_work(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-state-dir"  # it cannot even log the request
    got = decision(run_hook(missing, WRITE))
    assert got["behavior"] == "deny" and "hook failed" in got["message"]


# -- through the manager ------------------------------------------------------------------------------
def test_a_request_waits_for_the_user_then_the_write_happens(manager: AgentManager) -> None:
    agent = spawn(manager, "write:notes.txt")
    asked = polled(manager, agent.id, lambda a: a.pending, "a pending request")
    [request] = asked.pending
    assert (request.tool, request.summary) == ("Write", "notes.txt")
    assert asked.status == AgentStatus.WAITING and asked.status_reason == "asks to Write notes.txt"
    assert abs(request.since - time.time()) < 30
    target = Path(agent.worktree) / "notes.txt"
    assert not target.exists()  # the hook holds the CLI

    assert manager.answer_permission(agent.id, request.request_id, "allow") == request.request_id
    done = polled(manager, agent.id, lambda a: a.last_turn, "the turn to end")
    assert target.read_text() == "hello\n"
    assert (done.status, done.last_turn, done.pending) == (AgentStatus.WAITING, "wrote 1 file", [])
    assert done.reported_cost_usd == pytest.approx(0.01)
    assert manager.diff(agent.id).files == 1
    with pytest.raises(NotFound, match="already answered") as again:
        manager.answer_permission(agent.id, request.request_id, "deny")
    assert again.value.field == "requestId"
    with pytest.raises(NotFound, match="no pending permission request 'nope'"):
        manager.answer_permission(agent.id, "nope", "allow")
    with pytest.raises(InvalidInput, match="decision"):
        manager.answer_permission(agent.id, request.request_id, "maybe")
    answers = [x for x in hook_lines(done) if x["podium_event"] == "PermissionAnswered"]
    assert [(x["decision"], x["by"]) for x in answers] == [("allow", "user")]


def test_deny_reaches_the_agent_with_a_reason(manager: AgentManager) -> None:
    agent = spawn(manager, "write:notes.txt")
    [request] = polled(manager, agent.id, lambda a: a.pending, "a pending request").pending
    manager.answer_permission(agent.id, request.request_id, "deny")
    done = polled(manager, agent.id, lambda a: a.last_turn, "the turn to end")
    assert done.last_turn == "denied Write" and done.status == AgentStatus.WAITING
    assert not (Path(agent.worktree) / "notes.txt").exists()
    [denied] = stdout_events(done, "system", "permission_denied")
    assert denied["decision_reason"] == DENIED_BY_USER


def test_allow_for_the_agent_stops_asking_for_that_tool(manager: AgentManager) -> None:
    agent = spawn(manager, "write:a.txt")
    [request] = polled(manager, agent.id, lambda a: a.pending, "a pending request").pending
    manager.answer_permission(agent.id, request.request_id, "allow", scope="agent")
    polled(manager, agent.id, lambda a: a.last_turn == "wrote 1 file", "the first turn")
    manager.send_message(agent.id, "write:b.txt")
    polled(manager, agent.id, lambda a: (Path(a.worktree) / "b.txt").exists(), "b.txt")
    assert len([x for x in hook_lines(agent) if x["podium_event"] == "PermissionRequest"]) == 1
    manager.send_message(agent.id, "bash:make test")  # another tool still asks
    [bash] = polled(manager, agent.id, lambda a: a.pending, "the Bash request").pending
    assert (bash.tool, bash.summary) == ("Bash", "make test")


def test_a_pause_holds_a_request_and_stop_denies_it(manager: AgentManager) -> None:
    agent = spawn(manager, "write:notes.txt")
    [request] = polled(manager, agent.id, lambda a: a.pending, "a pending request").pending
    paused = manager.pause(agent.id)
    assert paused.status == AgentStatus.PAUSED and [p.request_id for p in paused.pending] == [
        request.request_id]
    manager.answer_permission(agent.id, request.request_id, "allow")  # read after the resume
    time.sleep(0.5)  # the property under test: nothing moves while paused
    assert not (Path(agent.worktree) / "notes.txt").exists()
    manager.resume(agent.id)
    polled(manager, agent.id, lambda a: a.last_turn == "wrote 1 file", "the turn after resume")

    manager.send_message(agent.id, "write:second.txt")
    [second] = polled(manager, agent.id, lambda a: a.pending, "a second request").pending
    procs = tree(agent.pid)
    stopped = manager.stop(agent.id)
    assert stopped.status == AgentStatus.STOPPED and stopped.pending == []
    assert not any(pid_alive(p.pid) for p in procs)  # the hook too
    assert not (Path(agent.worktree) / "second.txt").exists()
    with pytest.raises(NotFound, match="already answered"):
        manager.answer_permission(agent.id, second.request_id, "allow")


def test_a_restarted_podium_replays_the_requests(store, git_repo: Path, claude_dir: Path) -> None:
    first = AgentManager(store, git_repo, claude_config_dir=claude_dir, keep_running=True)
    agent = spawn(first, "write:a.txt")
    polled(first, agent.id, lambda a: a.pending, "a pending request")
    first.close()  # the agent lives on; its hook has nobody to wait for: it denies
    wait_for(lambda: any(x.get("by") == "fail-closed" for x in hook_lines(agent)),
             message="the hook to fail closed")  # fmt: skip
    wait_for(lambda: any(x.get("type") == "result" for x in stdout_events(agent, "result")),
             message="the turn to end")  # fmt: skip
    second = AgentManager(store, git_repo, claude_config_dir=claude_dir)
    try:
        back = second.get(agent.id)
        assert back.pid == agent.pid and back.pending == []
        assert back.status == AgentStatus.WAITING and back.last_turn == "denied Write"
        assert not (Path(agent.worktree) / "a.txt").exists()
        # a request made after the restart is served by the new Podium
        second.send_message(agent.id, "write:b.txt")
        [request] = polled(second, agent.id, lambda a: a.pending, "a new request").pending
        time.sleep(1.0)  # longer than the hook's owner check: it keeps waiting
        assert second.get(agent.id).pending == [request]
        second.answer_permission(agent.id, request.request_id, "allow")
        polled(second, agent.id, lambda a: (Path(a.worktree) / "b.txt").exists(), "b.txt")
    finally:
        second.close()
    assert not pid_alive(agent.pid)
    assert os.path.exists(Path(agent.state_dir) / "stdin.fifo")
