"""podium/export through the server (the export engine is podium.export.export_usage)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pygls.exceptions import JsonRpcException
from tests.server.conftest import fake_command


async def test_export_through_server(start_server, git_repo):
    client = await start_server()
    card = await client.request("podium/spawnAgent", {"task": "t", "profile": "fake",
                                                      "command": fake_command(0.2)})  # fmt: skip
    await client.wait_for(
        lambda: client.latest_cards()[card["agentId"]]["usage"]["messages"] >= 2, timeout=30)
    result = await client.request("podium/export", {"format": "csv", "groupBy": "agent"})
    assert result["format"] == "csv" and result["rows"] >= 1
    path = Path(result["path"])
    assert path.is_file() and str(path).startswith(str(git_repo))
    assert "alpha" in path.read_text()
    as_command = await client.command("podium.export", {"format": "json", "groupBy": "day"})
    assert Path(as_command["path"]).is_file()
    with pytest.raises(JsonRpcException) as err:
        await client.request("podium/export", {"format": "xml"})
    assert err.value.code == -32602 and err.value.data["field"] == "format"
    with pytest.raises(JsonRpcException) as err:
        await client.request("podium/export", {"path": "../../escape.csv"})
    assert err.value.data["field"] == "path"
