"""Podium orchestrating the real Claude Code CLI (2.1.328) through `podium serve` over stdio:
a session that asks for a permission, is approved (or denied), takes a follow-up in the same
process, costs on its card what Claude Code says it cost, and leaves no process when stopped."""

from __future__ import annotations

import psutil
import pytest
from pygls.exceptions import JsonRpcException

from .podium_serve import (
    agent_lines,
    card_of,
    first_card,
    first_status,
    results,
    spawn_params,
    start_podium,
    worktree,
)
from .standin import Usage

pytestmark = pytest.mark.claude_real  # runs the real CLI (installed on first use)

#: realistic turns (cache writes and reads), so the cost comparison is not about rounding
FIRST = Usage(input_tokens=2400, output_tokens=80, cache_read=18000, cache_5m=6000)
SECOND = Usage(input_tokens=900, output_tokens=120, cache_read=24000, cache_5m=1500)
THIRD = Usage(input_tokens=300, output_tokens=40, cache_read=25000, cache_1h=800)


@pytest.fixture
async def podium(git_repo, tmp_path, claude_home):
    client = await start_podium(git_repo, tmp_path, claude_home, {"authMode": "api"})
    yield client
    await client.close()


async def wait_pending(client, agent_id: str) -> dict:
    return await client.wait_for(lambda: (c := client.latest_cards().get(agent_id))
                                 and c["pending"] and c, timeout=60)  # fmt: skip


def hook_called_at(card: dict, request_id: str) -> float:
    [asked] = [x for x in agent_lines(card, "hooks.jsonl")
               if x.get("podium_event") == "PermissionRequest" and x["requestId"] == request_id]
    return asked["ts"]


async def test_approve_follow_up_cost_and_stop(podium, claude_bin, standin, claude_home, git_repo):
    target = worktree(git_repo) / "src" / "note.py"
    standin.write(str(target), "print('hello')\n", usage=FIRST, tool_id="toolu_write0001")
    standin.text("Wrote it.", usage=SECOND)
    spawned = await podium.request("podium/spawnAgent", spawn_params(
        claude_bin, standin.url, claude_home, "write a note", permissionMode="default"))
    agent_id = spawned["agentId"]
    assert spawned["pending"] == [] and spawned["lastTurn"] is None

    # the Write waits for a person: on the card and in the status bar within 1 s of the hook
    asking = await wait_pending(podium, agent_id)
    [request] = asking["pending"]
    assert (request["tool"], request["summary"]) == ("Write", "src/note.py")
    assert asking["status"] == "waiting" and asking["statusReason"] == "asks to Write src/note.py"
    called = hook_called_at(asking, request["requestId"])
    card_at, _ = first_card(podium, agent_id, lambda c: c["pending"])
    assert card_at - called < 1.0
    status = await podium.wait_for(lambda: (s := podium.latest_status())
                                   and "⚠ 1 pending" in s["text"] and s)  # fmt: skip
    assert status["text"].startswith("1 agent | ⚠ 1 pending | ")
    assert status["oldestPending"] == {"agentId": agent_id, "requestId": request["requestId"]}
    status_at, _ = first_status(podium, lambda s: "⚠ 1 pending" in s["text"])
    assert status_at - called < 1.0
    assert abs(request["since"] / 1000 - called) < 0.01
    [alert] = [a for a in podium.alerts if a["scope"] == "permission"]
    assert alert == {**alert, "level": "warning", "agentId": agent_id,
                     "scopeKey": request["requestId"], "message": "alpha asks to Write src/note.py"}
    assert not target.exists() and len(standin.messages_requests()) == 1  # the CLI is held

    answered = await podium.request("podium/answerPermission", {
        "agentId": agent_id, "requestId": request["requestId"], "decision": "allow"})
    assert answered == {"answered": request["requestId"]}
    done = await podium.wait_for(lambda: (c := card_of(podium, agent_id))["lastTurn"]
                                 == "wrote 1 file" and c["diff"]["files"] == 1 and c, timeout=30)  # fmt: skip
    assert target.read_text() == "print('hello')\n"
    assert done["status"] == "waiting" and done["pending"] == []
    assert done["diff"]["added"] == 1
    await podium.wait_for(lambda: (s := podium.latest_status())["oldestPending"] is None
                          and "pending" not in s["text"])  # fmt: skip
    with pytest.raises(JsonRpcException) as twice:
        await podium.request("podium/answerPermission", {
            "agentId": agent_id, "requestId": request["requestId"], "decision": "allow"})
    assert twice.value.code == -31001 and "already answered" in twice.value.message
    assert twice.value.data["field"] == "requestId"

    # a follow-up: a second turn in the same process
    pid = done["pid"]
    standin.text("Anything else?", usage=THIRD)
    assert await podium.request("podium/sendMessage",
                                {"agentId": agent_id, "text": "check it"}) == {"queued": False}
    second = await podium.wait_for(lambda: len(results(done)) == 2 and (
        c := card_of(podium, agent_id))["lastTurn"] == "waiting for you" and c, timeout=30)
    assert second["pid"] == pid and psutil.pid_exists(pid)
    assert len(standin.messages_requests()) == 3
    last = standin.messages_requests()[-1].messages
    assert last[-1]["role"] == "user" and "check it" in str(last[-1]["content"])

    # Podium's cost (from the transcript) and Claude Code's own agree
    total = results(done)[-1]["total_cost_usd"]
    assert total > 0.04
    priced = await podium.wait_for(lambda: (c := card_of(podium, agent_id))["usage"]["costUSD"]
                                   >= total * 0.995 and c, timeout=30)  # fmt: skip
    assert priced["usage"]["costUSD"] == pytest.approx(total, rel=0.005)
    assert priced["reportedCostUSD"] == pytest.approx(total, rel=1e-6)

    procs = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    stopped = await podium.request("podium/stopAgent", {"agentId": agent_id})
    assert stopped["status"] == "stopped" and stopped["pid"] is None
    assert not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in procs)


async def test_deny_tells_the_agent(podium, claude_bin, standin, claude_home, git_repo):
    target = worktree(git_repo) / "secrets.txt"
    standin.write(str(target), "nope\n", tool_id="toolu_write0002")
    standin.text("Understood, not writing it.")
    spawned = await podium.request("podium/spawnAgent", spawn_params(
        claude_bin, standin.url, claude_home, "write secrets"))
    agent_id = spawned["agentId"]
    [request] = (await wait_pending(podium, agent_id))["pending"]
    await podium.request("podium/answerPermission", {
        "agentId": agent_id, "requestId": request["requestId"], "decision": "deny"})
    done = await podium.wait_for(lambda: (c := card_of(podium, agent_id))["lastTurn"]
                                 == "denied Write" and c, timeout=30)  # fmt: skip
    assert done["status"] == "waiting" and done["diff"]["files"] == 0
    assert not target.exists()
    # the model was told, with Podium's reason
    [tool_result] = standin.messages_requests()[1].tool_results()
    assert tool_result["tool_use_id"] == "toolu_write0002" and tool_result["is_error"] is True
    assert tool_result["content"] == "denied by the user in Podium"
    with pytest.raises(JsonRpcException) as unknown:
        await podium.request("podium/answerPermission", {
            "agentId": agent_id, "requestId": "no-such-request", "decision": "allow"})
    assert unknown.value.code == -31001 and unknown.value.data["field"] == "requestId"
    await podium.request("podium/stopAgent", {"agentId": agent_id})
