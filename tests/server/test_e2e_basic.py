"""End to end: `podium serve` over stdio with real fake agents in a temp git repo."""

from __future__ import annotations

import psutil
import pytest
from pygls.exceptions import JsonRpcException
from tests.server.conftest import fake_command

from podium.server.protocol import AgentCard, ListAgentsResult, StatusBar, UsageSummary


async def test_spawn_two_agents_cards_grow_and_round_trip(start_server, git_repo):
    client = await start_server({"authMode": "subscription"})
    await client.wait_for(client.latest_status)
    assert client.latest_status()["text"].startswith("Plan: ")

    a = await client.request("podium/spawnAgent", {"task": "Fix auth bypass",
                                                   "profile": "fake", "command": fake_command()})
    b = await client.request("podium/spawnAgent", {"task": "Add caching",
                                                   "profile": "fake", "command": fake_command()})
    assert a["agentId"] != b["agentId"]
    assert {a["name"], b["name"]} == {"alpha", "bravo"}
    assert a["branch"] == "podium/alpha" and a["worktree"].startswith(str(git_repo))

    def grown(agent_id, messages=3):
        card = client.latest_cards().get(agent_id)
        return card if card and card["usage"]["messages"] >= messages and card["diff"]["added"] > 0 else None

    card_a = await client.wait_for(lambda: grown(a["agentId"]), timeout=30)
    card_b = await client.wait_for(lambda: grown(b["agentId"]), timeout=30)
    assert card_a["usage"]["outputTokens"] > 0 and card_a["usage"]["costUSD"] > 0
    later_a = await client.wait_for(
        lambda: grown(a["agentId"], card_a["usage"]["messages"] + 2), timeout=30)
    assert later_a["usage"]["outputTokens"] > card_a["usage"]["outputTokens"]
    assert card_b["model"]

    status = await client.wait_for(
        lambda: (s := client.latest_status()) and s["text"].startswith("2 agents") and s)
    assert "| Plan: " in status["text"]
    assert "| alpha |" in status["tooltip"] and "| bravo |" in status["tooltip"]

    listed = await client.request("podium/listAgents", {})
    assert [c["agentId"] for c in listed["agents"]] == [a["agentId"], b["agentId"]]
    # every payload matches the typed protocol (docs/protocol.md)
    ListAgentsResult.model_validate(listed)
    for _t, card in client.cards:
        assert AgentCard.model_validate(card).wire() == card
    for _t, bar in client.status_bars:
        StatusBar.model_validate(bar)
    UsageSummary.model_validate(await client.request("podium/usageSummary", {}))

    # pause: the whole tree is stopped
    paused = await client.request("podium/pauseAgent", {"agentId": a["agentId"]})
    assert paused["status"] == "paused"
    proc = psutil.Process(paused["pid"])
    assert proc.status() == psutil.STATUS_STOPPED
    await client.wait_for(lambda: "1 paused" in (client.latest_status() or {}).get("text", ""))

    resumed = await client.request("podium/resumeAgent", {"agentId": a["agentId"]})
    assert resumed["status"] != "paused"
    assert proc.status() != psutil.STATUS_STOPPED

    stopped = await client.request("podium/stopAgent", {"agentId": a["agentId"]})
    assert stopped["status"] == "stopped"
    assert not psutil.pid_exists(paused["pid"]) or psutil.Process(paused["pid"]).status() == psutil.STATUS_ZOMBIE

    removed = await client.request("podium/removeAgent", {"agentId": a["agentId"], "force": True})
    assert removed == {"removed": a["agentId"]}
    await client.wait_for(lambda: a["agentId"] in client.removed)
    listed = await client.request("podium/listAgents", {})
    assert [c["agentId"] for c in listed["agents"]] == [b["agentId"]]

    pid_b = client.latest_cards()[b["agentId"]]["pid"]
    code = await client.close()
    assert code == 0
    assert not psutil.pid_exists(pid_b) or psutil.Process(pid_b).status() == psutil.STATUS_ZOMBIE


async def test_bad_params_answered_and_server_keeps_serving(start_server):
    client = await start_server()
    with pytest.raises(JsonRpcException) as err:
        await client.request("podium/spawnAgent", {"profile": "fake"})
    assert err.value.code == -32602 and err.value.data["field"] == "task"
    with pytest.raises(JsonRpcException) as err:
        await client.request("podium/pauseAgent", {"agentId": 42})
    assert err.value.code == -32602 and err.value.data["field"] == "agentId"
    with pytest.raises(JsonRpcException) as err:
        await client.request("podium/pauseAgent", {"agentId": "ag-nope"})
    assert err.value.code == -31001 and err.value.data["field"] == "agentId"
    with pytest.raises(JsonRpcException) as err:
        await client.request("podium/spawnAgent", {"task": "x", "profile": "nope"})
    assert err.value.code == -32602 and err.value.data["field"] == "profile"
    with pytest.raises(JsonRpcException) as err:
        await client.request("podium/spawnAgent", {"task": "x", "limitUSD": -1})
    assert err.value.data["field"] == "limitUSD"
    with pytest.raises(JsonRpcException) as err:
        await client.request("podium/spawnAgent", ["not", "an", "object"])
    assert err.value.code == -32602
    with pytest.raises(JsonRpcException) as err:
        await client.command("podium.pauseAgent", {"agentId": "ag-nope"})
    assert err.value.code == -31001
    # still serving
    assert await client.request("podium/listAgents", {}) == {"agents": []}
    summary = await client.request("podium/usageSummary", {})
    assert summary["mode"] == "subscription"
    assert await client.command("podium.listAgents") == {"agents": []}


async def test_remove_with_uncommitted_work_is_a_git_error_until_forced(start_server, git_repo):
    # the editor offers "Discard Changes and Remove" on GitError (docs/protocol.md §Errors)
    client = await start_server()
    card = await client.request("podium/spawnAgent", {
        "task": "edit", "profile": "fake", "command": fake_command(0.1, "--turns", "1")})
    notes = git_repo / ".podium" / "worktrees" / card["name"] / "FAKE_AGENT_NOTES.md"
    await client.wait_for(notes.exists)
    with pytest.raises(JsonRpcException) as err:
        await client.request("podium/removeAgent", {"agentId": card["agentId"]})
    assert err.value.code == -31002 and err.value.data["field"] == "force"
    assert "uncommitted work" in str(err.value)
    assert notes.exists()  # refused: nothing lost
    listed = await client.request("podium/listAgents", {})
    assert [c["agentId"] for c in listed["agents"]] == [card["agentId"]]
    removed = await client.request("podium/removeAgent", {"agentId": card["agentId"], "force": True})
    assert removed == {"removed": card["agentId"]} and not notes.exists()
