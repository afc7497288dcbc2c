"""The agent's event stream without processes: lines → typed events → state changes, and the
record's row in a real store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from podium.agents import reducer
from podium.agents.events import (
    ApiRetry,
    AttentionNeeded,
    EventSource,
    HookEvent,
    LineTail,
    MessageSeen,
    SessionInit,
    TurnActive,
    TurnResult,
    TurnStopped,
    parse_hook_line,
    parse_stream_line,
)
from podium.agents.models import Agent, AgentStatus
from podium.agents.record import AgentRecord
from podium.store import AgentsRepo


def line(obj: object) -> bytes:
    return json.dumps(obj).encode()


@pytest.mark.parametrize(("raw", "event"), [
    (line({"type": "system", "subtype": "init", "session_id": "s1", "model": "m",
           "apiKeySource": "none"}), SessionInit("s1", "m", "none")),
    (line({"type": "system", "subtype": "init", "session_id": "", "model": 5}),
     SessionInit(None, None, None)),
    (line({"type": "assistant", "message": {"model": "claude-x"}}), MessageSeen("claude-x")),
    (line({"type": "assistant", "message": {"model": "<synthetic>"}}),
     MessageSeen(None, synthetic=True)),
    (line({"type": "user", "message": "text"}), MessageSeen(None)),
    (line({"type": "result", "is_error": True, "result": "boom"}), TurnResult(True, "boom")),
    (line({"type": "result", "result": 3}), TurnResult(False, "")),
    (line({"type": "system", "subtype": "api_retry"}), ApiRetry(None, None, None)),
    (line({"type": "system", "subtype": "status"}), None),
    (line(["not", "an", "object"]), None),
    (b"plain output of a shell profile", None),
])  # fmt: skip
def test_stream_lines_become_typed_events(raw: bytes, event: object) -> None:
    assert parse_stream_line(raw) == event


@pytest.mark.parametrize(("obj", "event"), [
    ({"podium_event": "PreToolUse", "session_id": "s"}, TurnActive("PreToolUse", "s")),
    ({"hook_event_name": "Stop"}, TurnStopped("Stop", None)),
    ({"podium_event": "Notification", "message": "approve?"},
     AttentionNeeded("Notification", None, message="approve?")),
    ({"podium_event": "SessionEnd", "session_id": "s"}, HookEvent("SessionEnd", "s")),
])  # fmt: skip
def test_hook_lines_become_typed_events(obj: dict, event: object) -> None:
    assert parse_hook_line(line(obj)) == event
    assert type(parse_hook_line(line(obj))) is type(event)


def test_line_tail_keeps_partial_lines_and_restarts_after_truncation(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    tail = LineTail(path)
    assert tail.read() == []  # no file yet
    path.write_bytes(b'{"a": 1}\n{"b"')
    assert tail.read() == [b'{"a": 1}']
    with open(path, "ab") as fh:
        fh.write(b': 2}\n\n')
    assert tail.read() == [b'{"b": 2}']
    assert tail.read() == []
    path.write_bytes(b"x\n")  # truncated and rewritten
    assert tail.read() == [b"x"]


def record(status: AgentStatus = AgentStatus.STARTING, tmp: Path = Path("/nonexistent")) -> AgentRecord:
    agent = Agent(
        id="ag-1", name="alpha", task="t", status=status, status_since=1.0, status_reason=None,
        started_at=1.0, repo="/r", worktree="/r/.podium/worktrees/alpha", branch="podium/alpha",
        base_ref=None, base_commit="abc", profile="claude", command=["claude"], pid=None,
        claude_session_id=None, source="subscription", model=None, exit_code=None,
        limit_usd=None, state_dir=str(tmp),
    )  # fmt: skip
    return AgentRecord(agent=agent, events=EventSource(tmp))


def test_reducer_follows_a_turn() -> None:
    r = record()
    reducer.apply(r, SessionInit("s1", "claude-opus-4-5", "ANTHROPIC_API_KEY"), 10.0)
    assert (r.agent.status, r.agent.claude_session_id, r.agent.model, r.agent.source) == (
        AgentStatus.WORKING, "s1", "claude-opus-4-5", "api")
    reducer.apply(r, TurnStopped("Stop", "s1"), 11.0)
    assert r.agent.status == AgentStatus.WAITING and r.last_activity == 11.0
    reducer.apply(r, AttentionNeeded("Notification", None, "token sk-ant-api03-" + "x" * 40), 12.0)
    assert r.agent.status == AgentStatus.WAITING
    assert "x" * 40 not in (r.agent.status_reason or "")  # free text is scrubbed
    reducer.apply(r, TurnResult(True, "Claude AI usage limit reached|4102444800"), 13.0)
    assert r.agent.status == AgentStatus.RATE_LIMITED  # alive, held by the plan's limit
    assert (r.agent.status_reason or "").startswith("usage limit reached; resets ")
    reducer.apply(r, TurnActive("PreToolUse", "s1"), 14.0)  # the turn ended: a late hook line
    assert r.agent.status == AgentStatus.RATE_LIMITED
    r.finish()  # the process ended while limited: an error, the limit says why
    assert r.agent.status == AgentStatus.ERROR
    assert (r.agent.status_reason or "").startswith("usage limit reached; resets ")
    reducer.apply(r, TurnActive("PreToolUse", "s1"), 15.0)  # ended: hooks change nothing
    assert r.agent.status == AgentStatus.ERROR and r.last_activity == 14.0


def test_reducer_ignores_what_a_paused_agent_said() -> None:
    r = record(AgentStatus.PAUSED)
    for event in (MessageSeen("m"), TurnResult(False, ""), TurnStopped("Stop", "s9")):
        reducer.apply(r, event, 5.0)
    assert r.agent.status == AgentStatus.PAUSED
    assert r.agent.model == "m"  # facts are kept, the status is not touched
    assert r.agent.claude_session_id is None and r.last_activity == 0.0


def test_replay_keeps_stored_status_times() -> None:
    r = record(AgentStatus.WAITING)
    r.agent.status_since, r.agent.status_reason = 3.0, "needs your attention"
    reducer.replay(r, [SessionInit("s1", "m", None), TurnStopped("Stop", "s1")],
                   stopped=False, now=9.0)  # fmt: skip
    assert (r.agent.status, r.agent.status_since, r.agent.status_reason) == (
        AgentStatus.WAITING, 3.0, "needs your attention")
    reducer.replay(r, [], stopped=True, now=9.5)
    assert (r.agent.status, r.agent.status_since) == (AgentStatus.PAUSED, 9.5)


def test_record_rows_round_trip_through_the_store(store, tmp_path: Path) -> None:
    repo = AgentsRepo(store)
    r = record(tmp=tmp_path)
    r.pid_create_time, r.env_source, r.extra["future"] = 12.5, "proxy", {"kept": True}
    repo.insert(r.row())
    r.agent.status, r.agent.model = AgentStatus.WORKING, "m"
    repo.update(r.id, r.row())
    (row,) = repo.load("/r")
    back = AgentRecord.from_row(row)
    assert back.snapshot() == r.snapshot()
    assert (back.pid_create_time, back.env_source, back.extra["future"]) == (
        12.5, "proxy", {"kept": True})
    assert repo.names_in_use("/r") == {"alpha"} and repo.load("/elsewhere") == []
    repo.mark_removed(r.id, 20.0)
    assert repo.load("/r") == [] and repo.names_in_use("/r") == set()
