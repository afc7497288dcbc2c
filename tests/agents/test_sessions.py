"""Long-lived sessions through the manager (the stand-in CLI, standin_claude.py): the task as
the first message on the stdin FIFO, follow-ups queued per turn, resuming an ended session,
limits the agent reports, and switching a limited session to an API key."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from agents_helpers import pid_alive, wait_for
from session_helpers import COMMAND, polled, spawn, stdout_events, turns

from podium.agents import AgentManager, AgentStatus
from podium.agents.sessions import CONTINUE_TEXT
from podium.errors import AgentError, InvalidInput
from podium.usage.reported import reported_cost


@pytest.fixture
def manager(store, git_repo: Path, claude_dir: Path):
    m = AgentManager(store, git_repo, claude_config_dir=claude_dir)
    yield m
    m.close()


def test_follow_ups_wait_for_the_running_turn(manager: AgentManager) -> None:
    agent = spawn(manager, "write:a.txt")  # the turn is held by its permission request
    [request] = polled(manager, agent.id, lambda a: a.pending, "a pending request").pending
    assert manager.send_message(agent.id, "second") is True  # queued: a turn runs
    assert manager.send_message(agent.id, "write:c.txt") is True
    assert len(turns(agent)) == 0
    manager.answer_permission(agent.id, request.request_id, "allow")
    # the turn ends, then "second" is sent, then the third message (a new request)
    [third] = polled(manager, agent.id, lambda a: a.pending, "the third turn's request").pending
    done = turns(agent)
    assert len(done) == 2 and done[1]["result"] == "Done."
    assert third.summary == "c.txt"
    assert manager.get(agent.id).pid == agent.pid  # one process, three turns
    manager.answer_permission(agent.id, third.request_id, "deny")
    last = polled(manager, agent.id, lambda a: len(turns(a)) == 3 and a.last_turn, "turn 3")
    assert last.last_turn == "denied Write" and last.status == AgentStatus.WAITING
    assert last.reported_cost_usd == pytest.approx(0.03)
    # the session's own running figure is kept in the store too
    kept = reported_cost(manager.store, agent.claude_session_id)
    assert kept is not None and kept.cost_usd == pytest.approx(0.03) and kept.source == "result"
    assert manager.send_message(agent.id, "now") is False  # no turn runs: sent at once
    polled(manager, agent.id, lambda a: len(turns(a)) == 4, "turn 4")


def test_messages_are_checked(manager: AgentManager) -> None:
    agent = spawn(manager, "hello")
    polled(manager, agent.id, lambda a: a.last_turn, "the first turn")
    manager.send_message(agent.id, "a follow-up nobody stores")
    polled(manager, agent.id, lambda a: len(turns(a)) == 2, "the second turn")
    with pytest.raises(InvalidInput, match="text: must not be empty"):
        manager.send_message(agent.id, "  ")
    with pytest.raises(InvalidInput, match="at most 65,536 bytes"):
        manager.send_message(agent.id, "x" * (64 * 1024 + 1))
    fake = manager.spawn("t", fake_args=["--interval", "5"])
    with pytest.raises(AgentError, match="does not take messages"):
        manager.send_message(fake.id, "hi")
    manager.stop(agent.id)
    with pytest.raises(AgentError, match="resume it first"):
        manager.send_message(agent.id, "hi")
    # a message's text is never stored (the task is: the card shows it)
    rows = sqlite3.connect(manager.store.path).execute("SELECT * FROM agents").fetchall()
    assert "nobody stores" not in json.dumps(rows) and "hello" in json.dumps(rows)


def test_an_ended_session_resumes_in_its_worktree(manager: AgentManager) -> None:
    agent = spawn(manager, "first")
    polled(manager, agent.id, lambda a: a.last_turn, "the first turn")
    stopped = manager.stop(agent.id)
    assert stopped.status == AgentStatus.STOPPED and not pid_alive(agent.pid)
    resumed = manager.resume(agent.id)
    assert resumed.status == AgentStatus.WAITING and resumed.pid != agent.pid
    assert resumed.exit_code is None and resumed.ended_at is None
    argv = resumed.command
    assert argv[:len(COMMAND)] == COMMAND
    assert argv[argv.index("--resume") + 1] == agent.claude_session_id
    assert "--session-id" not in argv
    assert manager.send_message(agent.id, "write:again.txt") is False
    [request] = polled(manager, agent.id, lambda a: a.pending, "a request after resume").pending
    manager.answer_permission(agent.id, request.request_id, "allow")
    done = polled(manager, agent.id, lambda a: a.last_turn == "wrote 1 file", "the new turn")
    assert (Path(agent.worktree) / "again.txt").exists()
    assert done.claude_session_id == agent.claude_session_id
    assert done.reported_cost_usd == pytest.approx(0.02)  # both processes' turns
    assert manager.stop(agent.id).status == AgentStatus.STOPPED
    fake = manager.spawn("t", fake_args=["--turns", "1", "--interval", "0"])
    polled(manager, fake.id, lambda a: a.status == AgentStatus.EXITED, "the fake to exit")
    with pytest.raises(AgentError, match="not running"):
        manager.resume(fake.id)  # no session to resume


def test_limits_the_agent_reports(manager: AgentManager, git_repo: Path) -> None:
    agent = spawn(manager, "limits:0.67:0.21")
    polled(manager, agent.id, lambda a: a.last_turn, "the first turn")
    [(who, update)] = manager.take_plan_updates()
    assert who.id == agent.id
    windows = {w.window: w for w in update.windows}
    assert windows["five_hour"].utilization == 0.67 and windows["seven_day"].utilization == 0.21
    assert manager.take_plan_updates() == []  # handed over once

    manager.send_message(agent.id, "retry429")
    limited = polled(manager, agent.id, lambda a: a.status == AgentStatus.RATE_LIMITED,
                     "rate limited")  # fmt: skip
    assert limited.status_reason.startswith("rate limited; resets ")  # the 5-hour reset
    (Path(agent.worktree) / "release429").write_text("")
    back = polled(manager, agent.id, lambda a: a.status == AgentStatus.WAITING, "recovered")
    assert back.status_reason is None

    manager.send_message(agent.id, "usagelimit")
    limited = polled(manager, agent.id, lambda a: a.status == AgentStatus.RATE_LIMITED,
                     "usage limit")  # fmt: skip
    assert limited.status_reason.startswith("usage limit reached; resets ")
    assert limited.last_turn == "error: You've hit your 5-hour limit"
    assert pid_alive(agent.pid)  # a session stays up: the next message may go through


def test_switching_to_an_api_key_continues_the_session(manager: AgentManager,
                                                       tmp_path: Path) -> None:  # fmt: skip
    env_out = tmp_path / "env.json"
    token, key = "sk-ant-oat01-subscription-login", "sk-ant-api03-switched-key-value"
    agent = spawn(manager, "usagelimit", env={"CLAUDE_CODE_OAUTH_TOKEN": token,
                                              "STANDIN_ENV_OUT": str(env_out)})  # fmt: skip
    assert agent.source == "subscription"
    polled(manager, agent.id, lambda a: a.status == AgentStatus.RATE_LIMITED, "usage limit")
    assert json.loads(env_out.read_text())["CLAUDE_CODE_OAUTH_TOKEN"] == token
    env_out.unlink()
    switched = manager.switch_to_api(agent.id, key)
    assert switched.source == "api" and switched.pid != agent.pid
    assert not pid_alive(agent.pid)
    wait_for(lambda: env_out.exists() and env_out.read_text(), message="the new process")
    auth = json.loads(env_out.read_text())
    assert auth["ANTHROPIC_API_KEY"] == key and "CLAUDE_CODE_OAUTH_TOKEN" not in auth
    # the session goes on: the interrupted turn is continued
    done = polled(manager, agent.id, lambda a: a.status == AgentStatus.WAITING and a.last_turn
                  == "waiting for you", "the continued turn")  # fmt: skip
    assert done.source == "api" and done.claude_session_id == agent.claude_session_id
    assert stdout_events(done, "result")[-1]["is_error"] is False
    assert CONTINUE_TEXT not in Path(manager.store.path).read_bytes().decode("latin-1")
    raw = b"".join(p.read_bytes() for p in Path(manager.store.path).parent.glob("podium.db*"))
    assert key.encode() not in raw and token.encode() not in raw
    # a later restart keeps the key and the source
    manager.stop(agent.id)
    assert manager.resume(agent.id).source == "api"


def test_the_fifo_outlives_podium(store, git_repo: Path, claude_dir: Path) -> None:
    first = AgentManager(store, git_repo, claude_config_dir=claude_dir, keep_running=True)
    agent = spawn(first, "one")
    polled(first, agent.id, lambda a: a.last_turn, "the first turn")
    first.close()
    assert pid_alive(agent.pid)  # no EOF on its stdin: it still waits for messages
    second = AgentManager(store, git_repo, claude_config_dir=claude_dir)
    try:
        assert second.send_message(agent.id, "two") is False
        polled(second, agent.id, lambda a: len(turns(a)) == 2, "the turn sent by the new Podium")
        assert second.get(agent.id).pid == agent.pid
    finally:
        second.close()
    assert not pid_alive(agent.pid)
