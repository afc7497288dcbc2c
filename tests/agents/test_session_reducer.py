"""The reducer on a session's events, without processes: turn outcomes, Claude Code's own cost,
rate limits (and their end), permission requests, and the replay after a restart."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from podium.agents import reducer
from podium.agents.events import (
    ApiRetry,
    EventSource,
    MessageSeen,
    PermissionAnswered,
    PermissionAsked,
    PlanWindow,
    RateLimitInfo,
    SessionInit,
    ToolUse,
    TurnActive,
    TurnResult,
    parse_hook_line,
    parse_stream_line,
)
from podium.agents.models import Agent, AgentStatus
from podium.agents.record import AgentRecord


def record(status: AgentStatus = AgentStatus.STARTING) -> AgentRecord:
    agent = Agent(
        id="ag-1", name="alpha", task="t", status=status, status_since=1.0, status_reason=None,
        started_at=1.0, repo="/r", worktree="/r/.podium/worktrees/alpha", branch="podium/alpha",
        base_ref=None, base_commit="abc", profile="claude", command=["claude"], pid=None,
        claude_session_id=None, source="subscription", model=None, exit_code=None,
        limit_usd=None, state_dir="/nonexistent", permission_mode="default",
    )  # fmt: skip
    return AgentRecord(agent=agent, events=EventSource("/nonexistent"))


def write(path: str, tool_id: str) -> ToolUse:
    return ToolUse("Write", tool_id, path)


@pytest.mark.parametrize(("tools", "result", "outcome"), [
    ([write("/w/a.py", "t1"), write("/w/b.py", "t2"), write("/w/a.py", "t3")], TurnResult(False, ""),
     "wrote 2 files"),
    ([ToolUse("Bash", "t1", None), ToolUse("Bash", "t2", None), ToolUse("Read", "t3", None)],
     TurnResult(False, ""), "ran 2 commands"),
    ([write("/w/a.py", "t1"), write("/w/b.py", "t2")],
     TurnResult(False, "", denied=(("Write", "t2"),)), "wrote 1 file, denied Write"),
    ([ToolUse("Bash", "t1", None)], TurnResult(False, "", denied=(("Bash", "t1"),)), "denied Bash"),
    ([], TurnResult(False, "Here is what I think: ..."), "waiting for you"),  # never its words
    ([], TurnResult(True, "API Error: 500 token sk-ant-api03-" + "x" * 40),
     "error: API Error: 500 token [REDACTED:anthropic-key]"),
])  # fmt: skip
def test_turn_outcomes(tools, result, outcome) -> None:
    assert reducer.turn_outcome(result, tools) == outcome


def test_a_turn_from_stream_lines() -> None:
    r = record()
    lines = [
        {"type": "system", "subtype": "init", "session_id": "s1", "model": "claude-opus-5-5",
         "apiKeySource": "none"},
        {"type": "assistant", "message": {"model": "claude-opus-5-5", "content": [
            {"type": "text", "text": "Writing."},
            {"type": "tool_use", "id": "toolu_1", "name": "Write",
             "input": {"file_path": "/w/x.py", "content": "x"}}]}},
        {"type": "result", "is_error": False, "result": "Done, I wrote x.py", "session_id": "s1",
         "total_cost_usd": 0.05, "model_usage_since_last_result": {
             "claude-opus-5-5": {"costUSD": 0.03}, "claude-haiku-5-5": {"costUSD": 0.02}},
         "modelUsage": {"claude-opus-5-5": {"costUSD": 0.03}}, "permission_denials": []},
    ]  # fmt: skip
    for line in lines:
        reducer.apply(r, parse_stream_line(json.dumps(line).encode()), 10.0)
    assert r.agent.last_turn == "wrote 1 file" and r.agent.status == AgentStatus.WAITING
    assert r.agent.reported_cost_usd == pytest.approx(0.05) and not r.turn_running
    assert "Done, I wrote" not in json.dumps(r.row())  # the agent's text is not kept
    # a second process of the session (resumed after a SIGKILL: its total restarted at 0)
    reducer.apply(r, TurnResult(False, "", turn_cost=0.01, total_cost=0.01), 11.0)
    assert r.agent.reported_cost_usd == pytest.approx(0.06)
    # no per-turn figure (an older CLI, the fake agent): the running total
    other = record()
    reducer.apply(other, TurnResult(False, "", total_cost=0.2), 1.0)
    reducer.apply(other, TurnResult(False, "", total_cost=0.5), 2.0)
    assert other.agent.reported_cost_usd == pytest.approx(0.5)


def test_rate_limits_come_and_go() -> None:
    r = record()
    now = time.time()
    reset = now + 600
    reducer.apply(r, SessionInit("s1", "m", "none"), now)
    reducer.apply(r, RateLimitInfo("allowed", "five_hour", (
        PlanWindow("five_hour", 0.67, reset, "allowed_warning"),
        PlanWindow("seven_day", 0.21, now + 86400, "allowed"))), now)
    assert [u.windows[0].utilization for u in r.plan_updates] == [0.67]
    reducer.apply(r, ApiRetry(429, 1, 10), now)
    clock = time.strftime("%H:%M", time.localtime(reset))
    assert (r.agent.status, r.agent.status_reason) == (AgentStatus.RATE_LIMITED,
                                                       f"rate limited; resets {clock}")  # fmt: skip
    reducer.apply(r, ApiRetry(529, 1, 10), now)  # overloaded: not a rate limit
    assert r.agent.status == AgentStatus.RATE_LIMITED
    reducer.apply(r, MessageSeen("m"), now)  # the retry went through
    assert r.agent.status == AgentStatus.WORKING
    reducer.apply(r, MessageSeen(None, synthetic=True), now)
    reducer.apply(r, TurnResult(True, "You've hit your 5-hour limit",
                                api_error="usage_limit_reached", api_error_status=429), now)
    assert r.agent.status == AgentStatus.RATE_LIMITED
    assert r.agent.status_reason == f"usage limit reached; resets {clock}"
    assert r.agent.last_turn == "error: You've hit your 5-hour limit"
    reducer.apply(r, MessageSeen(None, synthetic=True), now)  # an error stand-in: still limited
    assert r.agent.status == AgentStatus.RATE_LIMITED
    assert not reducer.lift_expired_limit(r, reset - 1)
    assert reducer.lift_expired_limit(r, reset + 1)  # the window reset: it waits for a message
    assert (r.agent.status, r.agent.status_reason) == (AgentStatus.WAITING, None)


def test_requests_hold_the_agent_until_answered() -> None:
    r = record()
    reducer.apply(r, SessionInit("s1", "m", "none"), 1.0)
    for rid, path in (("r1", "a.py"), ("r2", "b.py")):
        reducer.apply(r, PermissionAsked("PermissionRequest", "s1", request_id=rid, tool="Write",
                                         summary=path, at=2.0), 2.0)  # fmt: skip
    assert [p.request_id for p in r.pending.values()] == ["r1", "r2"]
    assert r.agent.status_reason == "asks to Write a.py (+1 more)"
    reducer.apply(r, TurnActive("PreToolUse", "s1"), 3.0)  # tool hooks: still waiting on a person
    reducer.apply(r, MessageSeen("m"), 3.0)
    assert r.agent.status == AgentStatus.WAITING
    reducer.apply(r, PermissionAnswered("PermissionAnswered", "s1", request_id="r1",
                                        decision="allow", by="user"), 4.0)  # fmt: skip
    assert r.agent.status_reason == "asks to Write b.py"
    reducer.apply(r, PermissionAnswered("PermissionAnswered", "s1", request_id="r2",
                                        decision="deny", by="user"), 5.0)  # fmt: skip
    assert (r.agent.status, r.pending) == (AgentStatus.WORKING, {})
    assert r.answered == {"r1": "allow", "r2": "deny"}
    # a request line read again (a replay) after its answer changes nothing
    reducer.apply(r, PermissionAsked("PermissionRequest", "s1", request_id="r1", tool="Write",
                                     summary="a.py", at=2.0), 6.0)  # fmt: skip
    assert r.pending == {}


def test_replay_after_a_fail_closed_deny_shows_waiting(tmp_path: Path) -> None:
    """The server died while a request waited: the hook denied, the turn ended. On re-attach
    stdout is applied before the hook lines, yet the agent waits (not working)."""
    state = tmp_path / "state"
    state.mkdir()
    (state / "stdout.jsonl").write_text("\n".join(json.dumps(x) for x in [
        {"type": "system", "subtype": "init", "session_id": "s1", "model": "m"},
        {"type": "assistant", "message": {"model": "m", "content": [
            {"type": "tool_use", "id": "t1", "name": "Write", "input": {"file_path": "/w/a"}}]}},
        {"type": "result", "is_error": False, "result": "ok", "session_id": "s1",
         "permission_denials": [{"tool_name": "Write", "tool_use_id": "t1"}]},
    ]) + "\n")  # fmt: skip
    (state / "hooks.jsonl").write_text("\n".join(json.dumps(x) for x in [
        {"podium_event": "PreToolUse", "session_id": "s1"},
        {"podium_event": "PermissionRequest", "requestId": "r1", "tool": "Write",
         "summary": "a", "ts": 5.0},
        {"podium_event": "PermissionAnswered", "requestId": "r1", "decision": "deny",
         "by": "fail-closed"},
        {"podium_event": "Stop", "session_id": "s1"},
    ]) + "\n")  # fmt: skip
    r = record(AgentStatus.WAITING)
    r.agent.state_dir = str(state)
    r.events = EventSource(state)
    reducer.replay(r, r.events.read(), stopped=False, now=9.0)
    assert r.agent.status == AgentStatus.WAITING and r.agent.status_reason is None
    assert r.pending == {} and r.agent.last_turn == "denied Write"
    assert r.plan_updates == []


def test_hook_lines_parse() -> None:
    asked = parse_hook_line(json.dumps({"podium_event": "PermissionRequest", "requestId": "r9",
                                        "tool": "Bash", "summary": "ls", "ts": 3.5}).encode())  # fmt: skip
    assert asked == PermissionAsked("PermissionRequest", None, request_id="r9", tool="Bash",
                                    summary="ls", at=3.5)  # fmt: skip
    assert parse_hook_line(b'{"podium_event": "PermissionRequest"}') is None  # no id
    answered = parse_hook_line(b'{"podium_event": "PermissionAnswered", "requestId": "r9", '
                               b'"decision": "yes"}')  # fmt: skip
    assert answered.decision == "deny"  # anything but allow is a deny
