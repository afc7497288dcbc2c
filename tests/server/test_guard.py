"""Handler errors: user errors map to JSON-RPC codes; unexpected ones are logged, never fatal."""

from __future__ import annotations

import json

import pytest
from pygls.exceptions import JsonRpcException, JsonRpcInternalError, JsonRpcInvalidParams

from podium.errors import AgentError, GitError, InvalidInput, NotFound
from podium.server import protocol as proto
from podium.server.app import PodiumServer
from podium.server.jsonrpc import guard, to_jsonrpc_error


class Capture:
    def __init__(self) -> None:
        self.messages: list[dict] = []

    def write(self, data: bytes) -> None:
        body = data.split(b"\r\n\r\n", 1)[1]
        self.messages.append(json.loads(body))

    def close(self) -> None:
        pass


async def test_unexpected_exception_is_logged_and_answered_as_internal_error() -> None:
    server = PodiumServer()
    sink = Capture()
    server.protocol.set_writer(sink)

    async def broken(_params: object) -> None:
        raise RuntimeError("disk on fire")

    guarded = guard("podium/listAgents", broken, server.log_message)
    with pytest.raises(JsonRpcInternalError) as err:
        await guarded({})
    assert "disk on fire" in err.value.message
    logs = [m for m in sink.messages if m.get("method") == "window/logMessage"]
    assert logs and "podium/listAgents failed" in logs[0]["params"]["message"]
    assert logs[0]["params"]["type"] == 1  # Error
    server.lanes.shutdown()


async def test_user_errors_keep_their_field() -> None:
    server = PodiumServer()

    async def not_found(_params: object) -> None:
        raise NotFound("no agent ag-x")

    with pytest.raises(JsonRpcException) as err:
        await guard("podium/pauseAgent", not_found, server.log_message)({})
    assert err.value.code == proto.NOT_FOUND and err.value.data["field"] == "agentId"
    server.lanes.shutdown()


def test_error_mapping() -> None:
    bad = to_jsonrpc_error(InvalidInput("bad", field="task"))
    assert isinstance(bad, JsonRpcInvalidParams) and bad.data["field"] == "task"
    assert to_jsonrpc_error(GitError("not a repo")).code == proto.GIT_ERROR
    assert to_jsonrpc_error(AgentError("no exe", field="command")).data == {
        "kind": "AgentError", "field": "command"}  # fmt: skip


def test_invalid_params_data_reason_is_the_reason_alone() -> None:
    # docs/protocol.md §Errors: message "invalid params: task: field required",
    # data {"field": "task", "reason": "field required"} (it used to repeat the whole message)
    with pytest.raises(InvalidInput) as err:
        proto.parse_params(proto.SpawnAgentParams, {})
    rpc = to_jsonrpc_error(err.value)
    assert isinstance(rpc, JsonRpcInvalidParams)
    assert rpc.message == "invalid params: task: field required"
    assert rpc.data == {"kind": "InvalidInput", "field": "task", "reason": "field required"}
    other = to_jsonrpc_error(InvalidInput("the shell profile needs a command", field="command"))
    assert other.data["reason"] == "the shell profile needs a command"


@pytest.mark.parametrize(("model", "params", "expect"), [
    (proto.UsageHistoryParams, {"groupBy": None, "bucket": None, "tz": None},
     {"group_by": "model", "bucket": "day", "tz": None}),
    (proto.ExportParams, {"format": None, "groupBy": None, "overwrite": None, "path": None},
     {"format": "csv", "group_by": "entry", "overwrite": False, "path": None}),
    (proto.RemoveAgentParams, {"agentId": "ag-1", "deleteBranch": None, "force": None},
     {"delete_branch": False, "force": False}),
    (proto.AnswerPermissionParams, {"agentId": "ag-1", "requestId": "r1", "decision": "deny",
                                    "scope": None}, {"scope": "once"}),
])  # fmt: skip
def test_a_null_optional_param_means_its_default(model, params, expect) -> None:
    # docs/protocol.md, Conventions: "Optional params may be omitted or `null`"
    parsed = proto.parse_params(model, params)
    assert {key: getattr(parsed, key) for key in expect} == expect


def test_a_null_required_param_is_still_refused() -> None:
    with pytest.raises(InvalidInput) as err:
        proto.parse_params(proto.AnswerPermissionParams,
                           {"agentId": "ag-1", "requestId": "r1", "decision": None})  # fmt: skip
    assert err.value.field == "decision"


def test_a_day_that_is_not_yyyy_mm_dd_is_told_so_not_the_regex() -> None:
    from podium.protocol.models import ExportParams, UsageHistoryParams
    from podium.protocol.params import parse_params

    for model in (UsageHistoryParams, ExportParams):
        with pytest.raises(InvalidInput) as err:
            parse_params(model, {"until": "28/11/2026"})
        assert err.value.field == "until"
        assert str(err.value) == "invalid params: until: must be a day written YYYY-MM-DD"
