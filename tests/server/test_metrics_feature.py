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
