"""`podium serve` with the `metrics` setting serves /metrics from its store (podium.metrics),
and stops serving when the setting is removed."""

from __future__ import annotations

import re
import urllib.error
import urllib.request

from tests.server.conftest import eventually


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.read().decode()


def _served_url(client) -> str | None:
    for _kind, message in client.log_messages:
        found = re.search(r"metrics: serving (\S+)", message)
        if found:
            return found.group(1)
    return None


async def test_metrics_setting_serves_and_stops(start_server):
    client = await start_server({"metrics": {"listen": "127.0.0.1:0", "machine": "ci-box"}})
    url = await client.wait_for(lambda: _served_url(client))
    body = _get(url)
    assert "podium_agents" in body
    assert 'machine="ci-box"' in body

    # removing the setting stops the endpoint (applied off the loop)
    client.change_settings({"metrics": None})

    async def refused() -> bool:
        try:
            _get(url)
        except (urllib.error.URLError, ConnectionError, OSError):
            return True
        return False

    await eventually(refused)


async def test_metrics_off_by_default(start_server):
    client = await start_server({})
    assert (await client.request("podium/listAgents", {}))["agents"] == []
    assert _served_url(client) is None


async def test_pending_permission_requests_gauge(start_server):
    """A pending request of a session agent is counted by /metrics, and answered it is not."""
    from tests.server.test_e2e_sessions import spawn

    client = await start_server({"metrics": {"listen": "127.0.0.1:0"}})
    url = await client.wait_for(lambda: _served_url(client))
    card = await client.request("podium/spawnAgent", spawn("write:a.txt", name="alpha"))
    agent_id = card["agentId"]
    asking = await client.wait_for(lambda: (c := client.latest_cards()[agent_id])["pending"]
                                   and c)  # fmt: skip
    [request] = asking["pending"]

    def gauge() -> float:
        for line in _get(url).splitlines():
            name, _, value = line.rpartition(" ")
            if name.split("{")[0] == "podium_pending_permission_requests":
                return float(value)
        raise AssertionError("no podium_pending_permission_requests sample")

    async def counted(value: float) -> bool:
        return gauge() == value

    await eventually(lambda: counted(1.0))
    await client.request("podium/answerPermission", {
        "agentId": agent_id, "requestId": request["requestId"], "decision": "deny"})
    await eventually(lambda: counted(0.0))
