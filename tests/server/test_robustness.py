"""Malformed and out-of-order messages from a raw client: every request gets an answer, and the
server keeps serving (docs/protocol.md §Errors: "An error never ends the server")."""

from __future__ import annotations

from pathlib import Path

import pytest
from pygls.exceptions import JsonRpcException
from tests.server.rawlsp import RawLsp


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


# -- transport: framing and envelope (docs/protocol.md §Transport) ----------------------------
async def _alive(raw: RawLsp) -> None:
    """The server still serves: a request after the hostile input is answered."""
    assert (await raw.request({"method": "podium/listAgents", "params": {}}))["result"] == {
        "agents": []}  # fmt: skip
    assert raw.process is not None and raw.process.returncode is None
    assert raw.not_json == []


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def test_huge_content_length_is_refused_without_allocating(raw: RawLsp, git_repo: Path,
                                                                  tmp_path: Path) -> None:  # fmt: skip
    await raw.initialize(git_repo)
    before = len(raw.answers)
    raw.send_raw(b"Content-Length: 1000000000000\r\n\r\n{\"jsonrpc\": \"2.0\"")
    answers = await raw.wait_answers(before + 1)
    error = answers[before]
    assert error["id"] is None and error["error"]["code"] == -32600, error
    assert "limit" in error["error"]["message"]
    assert raw.process is not None and raw.process.returncode is None
    assert _rss_mb(raw.process.pid) < 400  # it was MemoryError (or the OOM killer)
    # the rest of the terabyte never comes: the client goes away, the server ends cleanly
    assert await raw.close() == 1  # no shutdown request: LSP's exit code 1
    assert "MemoryError" not in (tmp_path / "raw-server.log").read_text()


async def test_an_oversized_frame_is_skipped_and_the_next_one_read(raw: RawLsp, git_repo: Path) -> None:
    from podium.server.transport import MAX_FRAME_BYTES

    await raw.initialize(git_repo)
    before = len(raw.answers)
    raw.send_body(b" " * (MAX_FRAME_BYTES + 1))
    await _alive(raw)
    assert [a["error"]["code"] for a in raw.answers[before:] if a["id"] is None] == [-32600]


@pytest.mark.parametrize("body", [
    b'{"jsonrpc": "2.0", "id": 41, "method": "podium/listAgents", "params": {',
    b"\xff\xfe not utf-8",
    b'{"jsonrpc": "2.0", "id": 41, "method": "podium/usageSummary", "params": {"x": NaN}}',
    b"[" * 100_000,
    b"",
], ids=["truncated", "not-utf8", "nan-literal", "deep-nesting", "empty"])  # fmt: skip
async def test_a_body_that_does_not_parse_gets_a_parse_error(raw: RawLsp, git_repo: Path,
                                                             body: bytes) -> None:  # fmt: skip
    await raw.initialize(git_repo)
    before = len(raw.answers)
    raw.send_body(body)
    answers = await raw.wait_answers(before + 1)
    assert answers[before]["id"] is None, answers[before]
    assert answers[before]["error"]["code"] == -32700, answers[before]
    await _alive(raw)


@pytest.mark.parametrize(("message", "answer_id"), [
    ({"jsonrpc": "1.0", "id": 51, "method": "podium/listAgents", "params": {}}, 51),
    ({"id": 52, "method": "podium/listAgents", "params": {}}, 52),
    ({"jsonrpc": "2.0", "id": 53, "method": 123, "params": {}}, 53),
    ({"jsonrpc": "2.0", "id": 54, "method": "", "params": {}}, 54),
    ({"jsonrpc": "2.0", "id": 55, "params": {}}, 55),
    ({"jsonrpc": "2.0", "id": 56, "method": "podium/listAgents", "params": "x"}, 56),
    ({"jsonrpc": "2.0", "id": {"a": 1}, "method": "podium/listAgents"}, None),
    ({"jsonrpc": "2.0", "id": True, "method": "podium/listAgents"}, None),
    ({"jsonrpc": "2.0", "id": 1.5, "method": "podium/listAgents"}, None),
    ({"jsonrpc": "2.0", "id": None, "method": "podium/listAgents"}, None),
    ({"jsonrpc": "2.0", "method": 7}, None),
    (42, None),
    ("a string", None),
    ([], None),
])  # fmt: skip
async def test_a_bad_envelope_gets_invalid_request(raw: RawLsp, git_repo: Path, message: object,
                                                   answer_id: object) -> None:  # fmt: skip
    await raw.initialize(git_repo)
    before = len(raw.answers)
    raw.send(message)
    answers = await raw.wait_answers(before + 1)
    assert answers[before]["id"] == answer_id, answers[before]
    assert answers[before]["error"]["code"] == -32600, answers[before]
    await _alive(raw)
    assert len(raw.answers) == before + 2  # exactly one answer each


async def test_a_batch_is_refused_once_per_request(raw: RawLsp, git_repo: Path) -> None:
    await raw.initialize(git_repo)
    before = len(raw.answers)
    raw.send([{"jsonrpc": "2.0", "id": 61, "method": "podium/listAgents", "params": {}},
              {"jsonrpc": "2.0", "method": "podium/nothing"},
              {"jsonrpc": "2.0", "id": "62", "method": "podium/usageSummary"}])  # fmt: skip
    answers = (await raw.wait_answers(before + 2))[before:]
    assert sorted(str(a["id"]) for a in answers) == ["61", "62"]
    assert {a["error"]["code"] for a in answers} == {-32600}
    await _alive(raw)
    assert len(raw.answers) == before + 3


@pytest.mark.parametrize("garbage", [
    b"Hello world\r\n\r\n",
    b"Content-Length: abc\r\n\r\n",
    b"Content-Length: 2\r\nContent-Length: 3\r\n\r\n",  # which one? no body is read
    b"X" * 100_000 + b"\r\n\r\n",
    b"Content-Type: application/json\r\n\r\n",
    b"{\"jsonrpc\": \"2.0\", \"id\": 71, \"method\": \"podium/listAgents\"}\r\n\r\n",
])  # fmt: skip
async def test_a_garbage_header_is_answered_and_reading_resumes(raw: RawLsp, git_repo: Path,
                                                                garbage: bytes) -> None:  # fmt: skip
    await raw.initialize(git_repo)
    before = len(raw.answers)
    raw.send_raw(garbage)
    answers = await raw.wait_answers(before + 1)
    assert answers[before]["id"] is None and answers[before]["error"]["code"] == -32700
    await _alive(raw)


async def test_stray_blank_lines_between_frames_are_ignored(raw: RawLsp, git_repo: Path) -> None:
    await raw.initialize(git_repo)
    before = len(raw.answers)
    raw.send_raw(b"\r\n\n\r\n")
    await _alive(raw)
    assert len(raw.answers) == before + 1


async def test_lifecycle_is_enforced(raw: RawLsp, git_repo: Path) -> None:
    # LSP: before initialize, requests get ServerNotInitialized and notifications are dropped
    early = await raw.request({"method": "podium/listAgents", "params": {}})
    assert early["error"]["code"] == -32002, early
    raw.send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
    await raw.initialize(git_repo)  # still works: the early `initialized` was dropped
    again = await raw.request({"method": "initialize", "params": {"capabilities": {}}})
    assert again["error"]["code"] == -32600, again  # a second core would orphan agents
    raw.send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
    await _alive(raw)


async def test_responses_from_the_client_are_never_answered(raw: RawLsp, git_repo: Path) -> None:
    await raw.initialize(git_repo)
    before = len(raw.answers)
    for message in ({"jsonrpc": "2.0", "id": 81, "result": None},
                    {"jsonrpc": "2.0", "id": 82, "error": {"code": 1, "message": "x"}},
                    {"jsonrpc": "2.0", "id": [1], "result": 1},
                    {"jsonrpc": "2.0", "id": 83, "result": 1, "error": {}}):  # fmt: skip
        raw.send(message)
    await _alive(raw)
    assert len(raw.answers) == before + 1


def test_outgoing_json_is_strict() -> None:
    """NaN and Infinity are not JSON (the editor's parser rejects the whole message): the
    writer replaces them with null and logs it; what cannot be written at all becomes an
    InternalError answer for that id."""
    import json

    from podium.server.app import PodiumServer

    class Sink:
        def __init__(self) -> None:
            self.frames: list[bytes] = []

        def write(self, data: bytes) -> None:
            self.frames.append(data)

        def close(self) -> None:
            pass

    server = PodiumServer()
    sink = Sink()
    server.protocol.set_writer(sink)
    server.protocol.notify("podium/alert", {"used": float("inf"), "pct": float("nan"), "n": 1})
    server.protocol._send_response(5, result={"x": object()})  # not serialisable

    def body(frame: bytes) -> dict:
        head, _, payload = frame.partition(b"\r\n\r\n")
        assert int(head.split(b"\r\n")[0].split(b":")[1]) == len(payload)
        return json.loads(payload, parse_constant=lambda c: pytest.fail(f"{c} written"))

    assert body(sink.frames[0])["params"] == {"used": None, "pct": None, "n": 1}
    answer = body(sink.frames[1])
    assert answer["id"] == 5 and answer["error"]["code"] == -32603, answer


# -- params: validated against the protocol models before anything happens -------------------
def _nothing_made(git_repo: Path, db: Path) -> None:
    import sqlite3
    import subprocess

    worktrees = git_repo / ".podium" / "worktrees"
    assert not worktrees.exists() or not any(worktrees.iterdir())
    branches = subprocess.run(["git", "branch", "--format=%(refname:short)"], cwd=git_repo,
                              capture_output=True, text=True, check=True).stdout.split()  # fmt: skip
    assert all(not b.startswith("podium/") for b in branches), branches
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM agents").fetchone() == (0,)


_BIG = 64 * 1024 + 1


@pytest.mark.parametrize(("params", "field"), [
    ({"task": "x", "limitUSD": "<1e400>"}, "limitUSD"),  # inf: was stored, sent as Infinity
    ({"task": "x", "limitUSD": 2e9}, "limitUSD"),
    ({"task": "x" * (10 * 1024 * 1024)}, "task"),  # was stored and re-sent in every card
    ({"task": "é" * (_BIG // 2 + 1)}, "task"),  # bytes, not characters
    ({"task": "fix \ud800 this"}, "task"),  # lone surrogate: failed after the worktree existed
    ({"task": "x", "env": {"A": "\udfff"}}, "env.A"),
    ({"task": "x", "env": {"\ud800": "v"}}, "env"),
    ({"task": "x", "env": {f"V{i}": "v" for i in range(257)}}, "env"),
    ({"task": "x", "env": {"A": "v" * (32 * 1024 + 1)}}, "env.A"),
    ({"task": "x", "env": {f"V{i}": "v" * 30_000 for i in range(9)}}, "env"),
    ({"task": "x", "command": ["fake", "\ud83d"]}, "command.1"),
    ({"task": "x", "command": ["a"] * 1025}, "command"),
    ({"task": "x", "command": ["a" * 30_000] * 9}, "command"),
    ({"task": "x", "baseRef": "m" * 257}, "baseRef"),
    ({"task": "x", "profile": "p\ud800"}, "profile"),
    ({"task": "x", "name": "a\x00"}, "name"),
])  # fmt: skip
async def test_spawn_params_over_the_limits_are_refused_before_anything_happens(
    raw: RawLsp, git_repo: Path, server_env: dict[str, str], params: dict, field: str
) -> None:
    await raw.initialize(git_repo)
    reply = await raw.request({"method": "podium/spawnAgent", "params": {"profile": "fake", **params}},
                              literal={"<1e400>": "1e400"})  # fmt: skip
    assert reply["error"]["code"] == -32602, str(reply)[:500]
    assert reply["error"]["data"]["field"] == field, reply["error"]
    await _alive(raw)  # answered once the store is open (it opens after `initialize`)
    _nothing_made(git_repo, Path(server_env["PODIUM_DB"]))


@pytest.mark.parametrize(("method", "params", "field"), [
    ("podium/stopAgent", {"agentId": "a" * 129}, "agentId"),
    ("podium/pauseAgent", {"agentId": "ag-\ud800"}, "agentId"),
    ("podium/removeAgent", {"agentId": ""}, "agentId"),
    ("podium/export", {"path": "x/" * 2049}, "path"),
    ("podium/export", {"path": "usage-\udc80.csv"}, "path"),
    ("podium/export", {"path": ""}, "path"),
    ("podium/export", {"agentIds": ["a"] * 1001}, "agentIds"),
    ("podium/export", {"agentIds": ["ok", "\ud800"]}, "agentIds.1"),
])  # fmt: skip
async def test_other_params_over_the_limits_are_refused(raw: RawLsp, git_repo: Path, method: str,
                                                        params: dict, field: str) -> None:  # fmt: skip
    await raw.initialize(git_repo)
    reply = await raw.request({"method": method, "params": params})
    assert reply["error"]["code"] == -32602, str(reply)[:500]
    assert reply["error"]["data"]["field"] == field, reply["error"]
    assert not (git_repo / ".podium" / "exports").exists()
    await _alive(raw)


async def test_export_never_writes_into_git_or_podium_metadata(start_server, git_repo: Path) -> None:
    # `{"path": ".git/config", "overwrite": true}` replaced the repository's git config
    (git_repo / "link-to-git").symlink_to(git_repo / ".git")
    (git_repo / ".podium" / "worktrees" / "alpha").mkdir(parents=True)
    (git_repo / ".podium" / "worktrees" / "alpha" / ".git").write_text("gitdir: /x\n")
    workspace = git_repo
    config = (workspace / ".git" / "config").read_bytes()
    client = await start_server()
    for path in (".git/config", "link-to-git/config", ".podium/worktrees/alpha/.git"):
        with pytest.raises(JsonRpcException) as err:
            await client.request("podium/export", {"path": path, "overwrite": True})
        assert err.value.code == -32602 and err.value.data["field"] == "path"
    assert (workspace / ".git" / "config").read_bytes() == config
    assert (workspace / ".podium" / "worktrees" / "alpha" / ".git").read_text() == "gitdir: /x\n"


async def test_settings_numbers_and_strings_are_checked_too(raw: RawLsp, git_repo: Path) -> None:
    """initializationOptions are params as well: 1e400 (infinity) and a lone surrogate in a
    path fall back to the default with a `settings:` warning, never reach the wire."""
    reply = await raw.request({"method": "initialize", "params": {
        "processId": None, "rootUri": git_repo.as_uri(), "capabilities": {},
        "initializationOptions": {"limits": {"dailyUSD": "<inf>", "monthlyUSD": 5},
                                  "claudeConfigDirs": ["/tmp/\ud800"],
                                  "profiles": {"mine": ["echo", "a\x00b"]}}}},
        literal={"<inf>": "1e400"})  # fmt: skip
    assert "result" in reply, reply
    raw.send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
    summary = (await raw.request({"method": "podium/usageSummary", "params": {}}))["result"]
    assert summary["limits"]["dailyUSD"] is None and summary["limits"]["monthlyUSD"] == 5
    warnings = [n["params"]["message"] for n in raw.notes if n["method"] == "window/logMessage"
                and n["params"]["message"].startswith("settings:")]  # fmt: skip
    for name in ("dailyUSD", "claudeConfigDirs", "profiles"):
        assert any(name in w for w in warnings), (name, warnings)
    assert raw.not_json == []
