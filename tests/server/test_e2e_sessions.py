"""End to end through `podium serve`, with the stand-in CLI of tests/agents (standin_claude.py)
so it runs without npm: permission requests on cards, in the status bar and as alerts, the
answers and follow-ups with their errors, resuming an ended session, `onRateLimit: pause`.
The same with the real Claude Code CLI: tests/claude_real/test_podium_*.py."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from pygls.exceptions import JsonRpcException
from tests.server.conftest import fake_command

STANDIN = [sys.executable, str(Path(__file__).parents[1] / "agents" / "standin_claude.py")]
ENV = {"ANTHROPIC_API_KEY": "", "ANTHROPIC_BASE_URL": "", "CLAUDE_CODE_OAUTH_TOKEN": ""}


def spawn(task: str, **extra) -> dict:
    return {"task": task, "profile": "claude", "command": STANDIN, "env": ENV, **extra}


async def error_of(client, method: str, params: dict) -> JsonRpcException:
    with pytest.raises(JsonRpcException) as caught:
        await client.request(method, params)
    return caught.value


async def test_permission_requests_answers_and_follow_ups(start_server, git_repo):
    client = await start_server({"authMode": "api"})
    card = await client.request("podium/spawnAgent", spawn("write:a.txt", name="alpha"))
    agent_id = card["agentId"]
    assert card["permissionMode"] == "default" and card["pending"] == []
    asking = await client.wait_for(lambda: (c := client.latest_cards()[agent_id])["pending"]
                                   and c)  # fmt: skip
    [request] = asking["pending"]
    status = await client.wait_for(lambda: (s := client.latest_status())
                                   and "⚠ 1 pending" in s["text"] and s)  # fmt: skip
    assert status["text"] == "1 agent | ⚠ 1 pending | $0.00 today"
    assert status["severity"] == "warning"
    assert status["oldestPending"] == {"agentId": agent_id, "requestId": request["requestId"]}
    [alert] = await client.wait_for(lambda: [a for a in client.alerts
                                             if a["scope"] == "permission"])  # fmt: skip
    assert alert["message"] == "alpha asks to Write a.txt" and alert["level"] == "warning"

    bad = await error_of(client, "podium/answerPermission", {
        "agentId": agent_id, "requestId": request["requestId"], "decision": "maybe"})
    assert bad.code == -32602 and bad.data["field"] == "decision"
    unknown = await error_of(client, "podium/answerPermission", {
        "agentId": "ag-nope", "requestId": request["requestId"], "decision": "allow"})
    assert unknown.code == -31001 and unknown.data["field"] == "agentId"
    # queued behind the held turn; the command form takes the same params
    queued = await client.command("podium.sendMessage", {"agentId": agent_id, "text": "hi"})
    assert queued == {"queued": True}
    answered = await client.command("podium.answerPermission", {
        "agentId": agent_id, "requestId": request["requestId"], "decision": "allow",
        "scope": "agent"})
    assert answered == {"answered": request["requestId"]}
    done = await client.wait_for(lambda: (c := client.latest_cards()[agent_id])["lastTurn"]
                                 == "waiting for you" and c)  # fmt: skip
    assert done["reportedCostUSD"] == pytest.approx(0.02)  # two turns of the stand-in
    assert (git_repo / ".podium" / "worktrees" / "alpha" / "a.txt").exists()
    await client.wait_for(lambda: (s := client.latest_status()) and s["oldestPending"] is None
                          and s["text"] == "1 agent | 1 waiting | $0.00 today")  # fmt: skip

    blank = await error_of(client, "podium/sendMessage", {"agentId": agent_id, "text": " "})
    assert blank.code == -32602 and blank.data["field"] == "text"
    fake = await client.request("podium/spawnAgent", {"task": "t", "profile": "fake",
                                                      "command": fake_command(5)})  # fmt: skip
    refused = await error_of(client, "podium/sendMessage", {"agentId": fake["agentId"],
                                                            "text": "hi"})  # fmt: skip
    assert refused.code == -31003 and "does not take messages" in refused.message

    # an ended session resumes in its worktree, in a new process
    stopped = await client.request("podium/stopAgent", {"agentId": agent_id})
    assert stopped["status"] == "stopped"
    ended = await error_of(client, "podium/sendMessage", {"agentId": agent_id, "text": "hi"})
    assert "resume it first" in ended.message
    resumed = await client.request("podium/resumeAgent", {"agentId": agent_id})
    assert resumed["status"] == "waiting" and resumed["pid"] not in (None, card["pid"])
    await client.request("podium/sendMessage", {"agentId": agent_id, "text": "write:b.txt"})
    # Write is allowed for this agent now: no request, the file appears
    await client.wait_for(lambda: (git_repo / ".podium/worktrees/alpha/b.txt").exists())
    assert len([a for a in client.alerts if a["scope"] == "permission"]) == 1


async def test_on_rate_limit_pause(start_server):
    client = await start_server({"authMode": "subscription", "onRateLimit": "pause"})
    card = await client.request("podium/spawnAgent", spawn("limits:0.67:0.21"))
    agent_id = card["agentId"]
    await client.wait_for(lambda: (s := client.latest_status()) and "Plan: 67%" in s["text"])
    await client.request("podium/sendMessage", {"agentId": agent_id, "text": "usagelimit"})
    paused = await client.wait_for(lambda: (c := client.latest_cards()[agent_id])["status"]
                                   == "paused" and c, timeout=30)  # fmt: skip
    assert paused["statusReason"].startswith("paused: usage limit reached; resets ")
    [alert] = [a for a in client.alerts if a["scope"] == "usage_limit"]
    assert alert["action"] == "pause" and alert["message"].endswith("; paused")
    assert alert["level"] == "critical"
