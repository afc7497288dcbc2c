"""Two editor windows on one repository and store: two real `podium serve` over stdio. The first
owns the agents; the second shows them read-only (control requests answer NotOwner naming the
owner's pid), its shutdown leaves them alone, and it takes over when the owner exits."""

from __future__ import annotations

import asyncio

import psutil
import pytest
from pygls.exceptions import JsonRpcException
from tests.server.conftest import fake_command

AGENT_ERROR = -31003


def running(pid: int) -> bool:
    try:
        proc = psutil.Process(pid)
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


async def test_second_window_is_read_only_then_takes_over(start_server):
    first = await start_server({"keepAgentsRunning": True})
    card = await first.request("podium/spawnAgent", {"task": "long job", "profile": "fake",
                                                     "command": fake_command()})  # fmt: skip
    agent_id, pid = card["agentId"], card["pid"]
    owner_pid = first.process.pid

    second = await start_server({"keepAgentsRunning": False})
    seen = await second.wait_for(lambda: second.latest_cards().get(agent_id))
    assert seen["pid"] == pid
    listed = await second.request("podium/listAgents", {})
    assert [c["agentId"] for c in listed["agents"]] == [agent_id]
    await second.wait_for(lambda: any("owned by another Podium window" in m
                                      for _t, m in second.log_messages))  # fmt: skip

    for method in ("podium/pauseAgent", "podium/stopAgent", "podium/removeAgent"):
        with pytest.raises(JsonRpcException) as err:
            await second.request(method, {"agentId": agent_id})
        assert err.value.code == AGENT_ERROR
        assert f"owned by another Podium window (pid {owner_pid})" in err.value.message
        assert err.value.data["kind"] == "NotOwner"
    with pytest.raises(JsonRpcException) as err:
        await second.request("podium/spawnAgent", {"task": "mine", "profile": "fake",
                                                   "command": fake_command()})  # fmt: skip
    assert err.value.data["kind"] == "NotOwner"
    assert psutil.Process(pid).status() != psutil.STATUS_STOPPED  # nothing happened

    # the owner's pause shows in the other window
    await first.request("podium/pauseAgent", {"agentId": agent_id})
    await second.wait_for(lambda: second.latest_cards()[agent_id]["status"] == "paused")

    # a read-only window's clean shutdown (keepAgentsRunning off) leaves the agents alone
    assert await second.close() == 0
    assert running(pid) and psutil.Process(pid).status() == psutil.STATUS_STOPPED

    third = await start_server({"keepAgentsRunning": False})
    await third.wait_for(lambda: third.latest_cards().get(agent_id))
    assert await first.close() == 0  # kept running: handed over, not stopped
    assert running(pid)
    await third.wait_for(lambda: any("now supervises" in m for _t, m in third.log_messages))
    resumed = await third.request("podium/resumeAgent", {"agentId": agent_id})
    assert resumed["status"] != "paused"
    assert psutil.Process(pid).status() != psutil.STATUS_STOPPED
    assert await third.close() == 0  # the owner now, not keeping agents: it stops them
    for _ in range(100):
        if not running(pid):
            break
        await asyncio.sleep(0.1)
    assert not running(pid)
