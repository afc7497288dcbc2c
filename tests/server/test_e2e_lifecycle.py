"""Lifecycle: disconnect without shutdown, TCP transport, limit actions wired through the server."""

from __future__ import annotations

import asyncio
import signal
import socket
import sys

import psutil
import pytest
from pygls.exceptions import JsonRpcException
from tests.server.conftest import fake_command

from podium.server.client import PodiumClient


async def process_gone(pid: int, timeout: float = 10.0) -> bool:
    """Poll until `pid` has exited (or is a zombie awaiting its parent)."""

    def gone() -> bool:
        return not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE

    for _ in range(int(timeout / 0.1)):
        if gone():
            return True
        await asyncio.sleep(0.1)
    return gone()

async def test_client_disconnect_ends_server_and_stops_agents(start_server):
    client = await start_server()
    card = await client.request("podium/spawnAgent", {"task": "t", "command": fake_command(),
                                                      "profile": "fake"})  # fmt: skip
    pid = card["pid"]
    assert psutil.pid_exists(pid)
    server = client.process
    assert server is not None
    server.stdin.close()  # the editor went away: no shutdown, no exit
    await asyncio.wait_for(server.wait(), 30)

    assert await process_gone(pid)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_tcp_transport(git_repo, server_env, tmp_path):
    port = _free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "podium", "serve", "--tcp", f"127.0.0.1:{port}",
        cwd=git_repo, env=server_env, stderr=open(tmp_path / "tcp.log", "wb"),  # noqa: SIM115
    )  # fmt: skip
    client = PodiumClient()
    try:
        for _ in range(100):
            try:
                await client.start_tcp("127.0.0.1", port)
                break
            except OSError:
                await asyncio.sleep(0.1)
        await client.initialize_podium(git_repo, {"authMode": "api"})
        status = await client.wait_for(client.latest_status)
        assert status["text"].endswith("today")
        assert await client.request("podium/listAgents", {}) == {"agents": []}
        await asyncio.wait_for(client.shutdown_async(None), 30)
        client.exit(None)
    finally:
        if proc.returncode is None:
            proc.terminate()
        await asyncio.wait_for(proc.wait(), 30)


async def test_agent_budget_pauses_with_reason_and_alert(start_server, witness):
    client = await start_server({"authMode": "api", "onLimit": "pause"})
    card = await client.request("podium/spawnAgent", {
        "task": "spend", "profile": "fake", "command": fake_command(0.2), "limitUSD": 0.02,
        "env": {"ANTHROPIC_API_KEY": "fake"}})  # fmt: skip
    agent_id = card["agentId"]
    paused = await client.wait_for(
        lambda: (c := client.latest_cards().get(agent_id)) and c["status"] == "paused" and c,
        timeout=30,
    )
    assert "limit" in (paused["statusReason"] or "")
    assert paused["limit"]["limitUSD"] == 0.02 and paused["limit"]["usedPct"] >= 100
    assert psutil.Process(paused["pid"]).status() == psutil.STATUS_STOPPED
    alert = await client.wait_for(
        lambda: next((a for a in client.alerts if a["action"] == "pause"), None))
    assert alert["agentId"] == agent_id and alert["scope"] == "agent"
    assert alert["level"] == "critical"
    await client.wait_for(lambda: any("Podium:" in m for _t, m in client.show_messages))
    status = await client.wait_for(
        lambda: (s := client.latest_status()) and "1 paused" in s["text"] and s)
    assert status["severity"] in ("warning", "error")
    # a user resume is honoured: not paused again right away, though it keeps spending
    at_resume = client.latest_cards()[agent_id]["usage"]["costUSD"]
    resumed = await client.request("podium/resumeAgent", {"agentId": agent_id})
    assert resumed["status"] != "paused"
    await client.wait_for(
        lambda: client.latest_cards()[agent_id]["usage"]["costUSD"] > at_resume + 0.02, timeout=30)
    await witness.full_tick(client)  # limits evaluated after that spending
    assert client.latest_cards()[agent_id]["status"] != "paused"


async def test_restart_reattaches_agents_kept_running(start_server):
    first = await start_server({"keepAgentsRunning": True})
    card = await first.request("podium/spawnAgent", {"task": "long job", "profile": "fake",
                                                     "command": fake_command()})  # fmt: skip
    assert await first.close() == 0
    proc = psutil.Process(card["pid"])
    assert proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE  # outlived the server

    second = await start_server({"keepAgentsRunning": False})
    again = await second.wait_for(lambda: second.latest_cards().get(card["agentId"]))
    assert again["pid"] == card["pid"]
    assert again["status"] not in ("exited", "stopped", "error")
    before = again["usage"]["messages"]
    await second.wait_for(
        lambda: second.latest_cards()[card["agentId"]]["usage"]["messages"] > before, timeout=30)
    assert await second.close() == 0  # this one does not keep agents: it stops them
    assert await process_gone(proc.pid)


async def test_workspace_that_is_not_a_repo_still_serves_usage(tmp_path, server_env):
    plain = tmp_path / "plain"
    plain.mkdir()
    client = PodiumClient()
    await client.launch(cwd=plain, env=server_env, stderr_path=tmp_path / "plain.log")
    try:
        await client.initialize_podium(plain, {"authMode": "subscription"})
        status = await client.wait_for(client.latest_status)
        assert status["text"].startswith("Plan: ")
        with pytest.raises(JsonRpcException) as err:
            await client.request("podium/spawnAgent", {"task": "x", "command": fake_command(),
                                                       "profile": "fake"})  # fmt: skip
        assert err.value.code == -31002 and "git" in err.value.message.lower()
        assert await client.request("podium/listAgents", {}) == {"agents": []}
    finally:
        assert await client.close() == 0


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGHUP", "SIGINT"])
async def test_signal_ends_server_like_a_disconnect(start_server, tmp_path, sig):
    """`kill <server>` (or a closed terminal, or Ctrl-C) while the client still holds the pipe:
    the agents are stopped as on a disconnect, and the process ends on its own, not by the
    exit watchdog (which fires after EXIT_DEADLINE_S)."""
    client = await start_server()
    card = await client.request("podium/spawnAgent", {"task": "t", "command": fake_command(),
                                                      "profile": "fake"})  # fmt: skip
    pid = card["pid"]
    server = client.process
    assert server is not None
    server.send_signal(getattr(signal, sig))
    code = await asyncio.wait_for(server.wait(), 120)
    assert code == 1  # ended by itself (no shutdown), not killed by the signal (-15, -1)
    assert "cleanup took over" not in (tmp_path / "server0.log").read_text()

    assert await process_gone(pid)
