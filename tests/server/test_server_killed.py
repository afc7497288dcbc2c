"""A `podium serve` that is SIGKILLed: its agents (and the setsid daemon one left) die with it
unless keepAgentsRunning; kept ones are re-attached by the next server, which then shows the
signal that killed one."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path

import psutil

DAEMON_AGENT = str(Path(__file__).parents[1] / "agents" / "daemon_agent.py")


def running(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


async def until(predicate, timeout: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def spawn_daemon_agent(client) -> tuple[dict, list[psutil.Process]]:
    card = await client.request("podium/spawnAgent", {
        "task": "serve", "profile": "shell", "command": [sys.executable, DAEMON_AGENT, "stay"]})  # fmt: skip
    pid_file = Path(card["worktree"]) / "daemon.pid"
    await until(pid_file.exists)
    procs = [psutil.Process(card["pid"])]
    procs += [psutil.Process(int(pid)) for pid in pid_file.read_text().split()]
    return card, procs


async def sigkill(client) -> None:
    client.process.kill()
    await client.process.wait()


async def test_sigkilled_server_takes_its_agents_along(start_server):
    client = await start_server({"keepAgentsRunning": False})
    _card, procs = await spawn_daemon_agent(client)
    try:
        await sigkill(client)
        await until(lambda: not any(running(p) for p in procs), timeout=20)
    finally:
        for proc in procs:
            with contextlib.suppress(psutil.Error):
                proc.kill()


async def test_kept_agents_outlive_a_sigkilled_server_and_show_their_signal(start_server):
    first = await start_server({"keepAgentsRunning": True})
    card, procs = await spawn_daemon_agent(first)
    try:
        await sigkill(first)
        assert all(running(p) for p in procs)

        second = await start_server({"keepAgentsRunning": False})
        again = await second.wait_for(lambda: second.latest_cards().get(card["agentId"]))
        assert again["pid"] == card["pid"] and again["status"] not in ("exited", "stopped")
        os.kill(card["pid"], signal.SIGKILL)
        ended = await second.wait_for(
            lambda: (c := second.latest_cards()[card["agentId"]])["status"] == "exited" and c)
        assert ended["exitCode"] == -9
        assert ended["statusReason"] == "killed by SIGKILL"
        assert await second.close() == 0  # not kept: what the agent left ends with the server
        await until(lambda: not any(running(p) for p in procs))
    finally:
        for proc in procs:
            with contextlib.suppress(psutil.Error):
                proc.kill()
