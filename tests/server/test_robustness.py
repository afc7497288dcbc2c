"""Malformed and out-of-order messages from a raw client: every request gets an answer, and the
server keeps serving (docs/protocol.md §Errors: "An error never ends the server")."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pygls.exceptions import JsonRpcException
from tests.server.rawlsp import RawLsp


@pytest.fixture
async def raw(git_repo: Path, server_env: dict[str, str], tmp_path: Path) -> AsyncIterator[RawLsp]:
    client = RawLsp()
    await client.launch(git_repo, server_env, tmp_path / "raw-server.log")
    yield client
    await client.close()


async def test_requests_without_params_are_answered(raw: RawLsp, git_repo: Path) -> None:
    # JSON-RPC lets a request omit `params`; vscode-jsonrpc does so for sendRequest(method)
    await raw.initialize(git_repo)
    listed = await raw.request({"method": "podium/listAgents"})
    assert listed.get("result") == {"agents": []}, listed
    spawn = await raw.request({"method": "podium/spawnAgent"})
    assert spawn["error"]["code"] == -32602 and spawn["error"]["data"]["field"] == "task"
    summary = await raw.request({"method": "podium/usageSummary", "params": None})
    assert summary["result"]["mode"] == "subscription"


async def test_undecodable_standard_request_is_answered(raw: RawLsp, git_repo: Path) -> None:
    await raw.initialize(git_repo)
    for params in ({}, None, {"command": 5}):
        reply = await raw.request({"method": "workspace/executeCommand", "params": params})
        assert reply["error"]["code"] == -32602, reply
        assert "command" in reply["error"]["message"].lower()
    # an extra top-level member does not make a request unanswerable either
    reply = await raw.request({"method": "podium/listAgents", "params": {}, "extra": 1})
    assert reply.get("result") == {"agents": []}, reply
    assert (await raw.request({"method": "podium/listAgents", "params": {}}))["result"] == {
        "agents": []}  # fmt: skip


async def test_requests_after_shutdown_get_invalid_request(raw: RawLsp, git_repo: Path) -> None:
    await raw.initialize(git_repo)
    assert (await raw.request({"method": "shutdown"})).get("result", "missing") is None
    # LSP: "If a server receives requests after a shutdown request those requests should
    # error with InvalidRequest"
    reply = await raw.request({"method": "podium/listAgents", "params": {}})
    assert reply["error"]["code"] == -32600, reply
    reply = await raw.request({"method": "shutdown"})
    assert reply["error"]["code"] == -32600, reply
    assert await raw.close() == 0


@pytest.mark.parametrize(("params", "field"), [
    ({"task": "x", "env": {"A=B": "v"}}, "env"),
    ({"task": "x", "env": {"": "v"}}, "env"),
    ({"task": "x", "env": {"A": "v\x00"}}, "env.A"),
    ({"task": "x\x00y"}, "task"),
    ({"task": "x", "command": ["fake", "a\x00b"]}, "command.1"),
    ({"task": "x", "baseRef": "main\x00"}, "baseRef"),
])  # fmt: skip
async def test_spawn_params_the_os_would_refuse_are_invalid_params(
    start_server, git_repo: Path, params: dict, field: str
) -> None:
    client = await start_server()
    with pytest.raises(JsonRpcException) as err:
        await client.request("podium/spawnAgent", {"profile": "fake", **params})
    assert err.value.code == -32602, err.value  # was -32603 InternalError ("embedded null byte")
    assert err.value.data["field"] == field
    assert not (git_repo / ".podium" / "worktrees").exists() or not any(
        (git_repo / ".podium" / "worktrees").iterdir())  # fmt: skip
    # unknown keys are still ignored, whatever they hold
    assert await client.request("podium/listAgents", {"future\x00": "\x00"}) == {"agents": []}


async def test_export_path_with_nul_is_invalid_params(start_server) -> None:
    client = await start_server()
    with pytest.raises(JsonRpcException) as err:
        await client.request("podium/export", {"path": "usage\x00.csv"})
    assert err.value.code == -32602 and err.value.data["field"] == "path"
