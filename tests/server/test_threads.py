"""Threads (docs/architecture.md §Threads and locks): agent actions run off the core lane, so
reads and ticks go on while an agent is being stopped; the core opens after `initialize` is
answered, and requests that come meanwhile wait for it."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.server.conftest import fake_command
from tests.server.rawlsp import RawLsp

#: the slow agent takes this long to exit after SIGTERM (under the 3 s stop grace)
TERM_DELAY_S = 2.5


async def test_list_agents_and_ticks_go_on_while_a_stop_is_in_progress(start_server):
    client = await start_server({"authMode": "api"})
    slow = await client.request("podium/spawnAgent", {
        "task": "slow to stop", "profile": "fake",
        "command": fake_command(0.2, "--term-delay", str(TERM_DELAY_S))})  # fmt: skip
    busy = await client.request("podium/spawnAgent", {
        "task": "keeps working", "profile": "fake", "command": fake_command(0.1)})  # fmt: skip

    def messages(agent_id: str) -> int:
        return (client.latest_cards().get(agent_id) or {"usage": {"messages": 0}})["usage"]["messages"]

    await client.wait_for(lambda: messages(slow["agentId"]) > 0 and messages(busy["agentId"]) > 0,
                          timeout=30)  # fmt: skip
    stopping = asyncio.create_task(
        client.request("podium/stopAgent", {"agentId": slow["agentId"]}))
    listed = await client.request("podium/listAgents", {})
    assert not stopping.done(), "listAgents waited for the stop"
    assert [c["agentId"] for c in listed["agents"]] == [slow["agentId"], busy["agentId"]]
    # the ticks go on too: the other agent's usage keeps arriving during the stop
    before = messages(busy["agentId"])
    await client.wait_for(lambda: messages(busy["agentId"]) > before or stopping.done(), timeout=30)
    assert not stopping.done(), "no card of the other agent arrived while one was stopping"
    stopped = await stopping
    assert stopped["status"] == "stopped"
    listed = await client.request("podium/listAgents", {})
    assert listed["agents"][0]["status"] == "stopped"


async def test_requests_sent_with_initialize_wait_for_the_core(raw: RawLsp, git_repo: Path):
    raw.send({"jsonrpc": "2.0", "id": 1, "method": "initialize",
              "params": {"processId": None, "rootUri": git_repo.as_uri(), "capabilities": {}}})
    raw.send({"jsonrpc": "2.0", "id": 2, "method": "podium/listAgents", "params": {}})
    raw.send({"jsonrpc": "2.0", "id": 3, "method": "podium/usageSummary", "params": {}})
    answers = {a["id"]: a for a in await raw.wait_answers(3)}
    assert "result" in answers[1], answers[1]
    assert answers[2].get("result") == {"agents": []}, answers[2]
    assert answers[3].get("result", {}).get("mode") == "subscription", answers[3]
    assert raw.answers[0]["id"] == 1  # initialize does not wait for the store and the agents
