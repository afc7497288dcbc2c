"""How the real Claude Code CLI (2.1.328) obeys permission hooks in `-p` stream-json mode:
the PreToolUse contract (allow / deny with a reason), a hook that blocks holds the CLI, what a
failing or timed-out hook leads to, and the PermissionRequest hook."""

from __future__ import annotations

import contextlib
import os
import signal
import time

import psutil
import pytest

from .cli import STREAM_ARGS, is_event
from .hook import ScriptedHook

pytestmark = pytest.mark.claude_real  # runs the real CLI (installed on first use)

HELD_FOR = 2.0  # seconds a blocked hook is held; the CLI's own tool turnaround is ~20 ms


def _run_write(start_claude, standin, workdir, hook: ScriptedHook, *args: str):
    target = workdir / "note.txt"
    standin.write(str(target), "hello\n", tool_id="toolu_write0001")
    standin.text("Finished.")
    claude = start_claude(*STREAM_ARGS, "--settings", str(hook.settings), *args, "--", "write")
    return claude, target


def test_pretooluse_allow_makes_the_write_happen(start_claude, standin, workdir, tmp_path):
    hook = ScriptedHook(tmp_path / "hook", {"decision": "allow"})
    claude, target = _run_write(start_claude, standin, workdir, hook)
    result = claude.wait_result()
    assert claude.close() == 0
    assert target.read_text() == "hello\n"
    assert result["permission_denials"] == []
    [call] = hook.calls()
    payload = call["input"]
    assert payload["hook_event_name"] == "PreToolUse"
    assert payload["tool_name"] == "Write"
    assert payload["tool_input"] == {"file_path": str(target), "content": "hello\n"}
    assert payload["tool_use_id"] == "toolu_write0001"
    assert payload["session_id"] == result["session_id"]
    assert payload["cwd"] == str(workdir) and payload["permission_mode"] == "default"
    assert payload["transcript_path"].endswith(f"/{result['session_id']}.jsonl")


@pytest.mark.parametrize(("decision", "told"), [
    ("deny", "PreToolUse:Write hook error: {reason}"),
    ("ask", "{reason}"),  # nobody to ask in -p mode: denied, the reason alone goes back
])  # fmt: skip
def test_pretooluse_deny_blocks_the_write_and_tells_the_model(start_claude, standin, workdir,
                                                              tmp_path, decision, told):  # fmt: skip
    reason = "Denied in Podium: not in this branch"
    hook = ScriptedHook(tmp_path / "hook", {"decision": decision, "reason": reason})
    claude, target = _run_write(start_claude, standin, workdir, hook)
    result = claude.wait_result()
    assert claude.close() == 0
    assert not target.exists()
    [denial] = result["permission_denials"]
    assert denial["tool_name"] == "Write" and denial["tool_use_id"] == "toolu_write0001"
    [tool_result] = standin.messages_requests()[1].tool_results()
    assert tool_result["tool_use_id"] == "toolu_write0001" and tool_result["is_error"] is True
    assert tool_result["content"] == told.format(reason=reason)


def test_a_blocking_hook_holds_the_cli_until_answered(start_claude, standin, workdir, tmp_path):
    hook = ScriptedHook(tmp_path / "hook", {"block": True})
    claude, target = _run_write(start_claude, standin, workdir, hook, "--include-hook-events")
    started = claude.wait_for(is_event("system", "hook_started"), what="the hook to start")
    assert started["hook_event"] == "PreToolUse" and started["hook_name"] == "PreToolUse:Write"
    # While the hook blocks, nothing moves: no next API request, no file, no result.
    with pytest.raises(AssertionError, match="timed out"):
        standin.wait_for(lambda requests: len(requests) >= 2, timeout=HELD_FOR)
    assert not target.exists() and claude.seen(is_event("result")) == []
    assert claude.proc.poll() is None
    released = time.time()
    hook.release({"decision": "allow"})
    result = claude.wait_result()
    assert claude.close() == 0
    assert target.read_text() == "hello\n" and target.stat().st_mtime >= released - 0.01
    assert result["permission_denials"] == []
    [response] = claude.seen(is_event("system", "hook_response"))
    assert response["hook_id"] == started["hook_id"] and response["exit_code"] == 0
    assert len(hook.calls()) == 1


@pytest.mark.parametrize(("plan", "timeout", "mode", "written", "tool_error"), [
    # A crashing hook (non-zero exit other than 2) or one that times out gives no verdict:
    # the CLI falls back to the permission mode, which denies the Write in `default`...
    ({"exit": 1, "stderr": "hook crashed"}, 60, "default", False, "you haven't granted it yet"),
    ({"block": True}, 1, "default", False, "you haven't granted it yet"),
    # ...but allows it in acceptEdits: a hook failure alone does not fail closed.
    ({"exit": 1, "stderr": "hook crashed"}, 60, "acceptEdits", True, None),
    # Exit code 2 blocks, and the hook's stderr reaches the model.
    ({"exit": 2, "stderr": "blocked by exit 2"}, 60, "acceptEdits", False, "blocked by exit 2"),
], ids=["exit1-default", "timeout-default", "exit1-acceptEdits", "exit2-acceptEdits"])  # fmt: skip
def test_hook_failures_fall_back_to_the_permission_mode(start_claude, standin, workdir, tmp_path,
                                                        plan, timeout, mode, written,
                                                        tool_error):  # fmt: skip
    hook = ScriptedHook(tmp_path / "hook", plan, timeout=timeout)
    claude, target = _run_write(start_claude, standin, workdir, hook, "--permission-mode", mode)
    result = claude.wait_result(timeout=30)
    assert claude.close() == 0
    assert target.exists() == written
    [tool_result] = standin.messages_requests()[1].tool_results()
    if tool_error is None:
        assert "is_error" not in tool_result
    else:
        assert tool_result["is_error"] is True and tool_error in tool_result["content"]
        assert [d["tool_name"] for d in result["permission_denials"]] == ["Write"]
    if timeout == 1:
        [notice] = claude.seen(is_event("system", "informational"))
        assert notice["hook_no_verdict"] == {"hook_event": "PreToolUse",
                                             "tool_use_id": "toolu_write0001",
                                             "timed_out": True}  # fmt: skip
        # The CLI killed the timed-out hook: opening its FIFO finds no reader.
        with pytest.raises(OSError):
            os.open(hook.folder / "release", os.O_WRONLY | os.O_NONBLOCK)


@pytest.mark.parametrize("behavior", ["allow", "deny"])
def test_permission_request_hook_decides_what_the_cli_would_ask(start_claude, standin, workdir,
                                                                tmp_path, behavior):  # fmt: skip
    """PermissionRequest fires only where a permission dialog would be shown (here the Write in
    `default` mode) and answers with {"decision": {"behavior", "message"}}."""
    hook = ScriptedHook(tmp_path / "hook", {"permission_request": behavior,
                                            "reason": "Podium says no"},
                        event="PermissionRequest")  # fmt: skip
    target = workdir / "note.txt"
    standin.write(str(target), "hello\n", tool_id="toolu_write0001")
    standin.tool_use("Read", {"file_path": str(workdir / "missing.txt")})  # never asked
    standin.text("Finished.")
    claude = start_claude(*STREAM_ARGS, "--settings", str(hook.settings), "--", "write")
    result = claude.wait_result()
    assert claude.close() == 0
    [call] = hook.calls()
    payload = call["input"]
    assert payload["hook_event_name"] == "PermissionRequest" and payload["tool_name"] == "Write"
    assert payload["tool_input"] == {"file_path": str(target), "content": "hello\n"}
    assert "tool_use_id" not in payload and "permission_suggestions" in payload
    assert target.exists() == (behavior == "allow")
    if behavior == "deny":
        [denied] = claude.seen(is_event("system", "permission_denied"))
        assert denied["decision_reason_type"] == "hook"
        assert denied["decision_reason"] == "Podium says no"
        tool_result = standin.messages_requests()[1].tool_results()[-1]
        assert tool_result["is_error"] is True and tool_result["content"] == "Podium says no"
        assert [d["tool_name"] for d in result["permission_denials"]] == ["Write"]


def test_sigterm_while_a_hook_blocks_ends_the_hook_too(start_claude, standin, workdir, tmp_path):
    hook = ScriptedHook(tmp_path / "hook", {"block": True})
    claude, target = _run_write(start_claude, standin, workdir, hook, "--include-hook-events")
    claude.wait_for(is_event("system", "hook_started"), what="the hook to start")
    deadline = time.monotonic() + 30
    while not hook.calls():  # the hook logs its call just before it blocks
        assert time.monotonic() < deadline, "the hook never logged its call"
        time.sleep(0.02)
    hook_pid = hook.calls()[0]["pid"]
    assert psutil.pid_exists(hook_pid)
    claude.proc.send_signal(signal.SIGTERM)  # the CLI alone, not its process group
    assert claude.proc.wait(30) == 128 + signal.SIGTERM
    with contextlib.suppress(psutil.NoSuchProcess):
        psutil.Process(hook_pid).wait(30)  # the CLI ends its hook; wait() returns once gone
    assert not target.exists()
