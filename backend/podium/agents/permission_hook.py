"""Claude Code's `PermissionRequest` hook for the sessions Podium spawns (docs/claude-code.md).

Run by the CLI, blocking, as `python -I <state dir>/podium_permission.py <state dir>` (a copy of
this file) whenever it would show a permission dialog (the CLI applies the permission mode itself). It answers from
the agent's allow list, else logs a pending request to `hooks.jsonl` and waits for Podium's
answer file. It fails closed: when the Podium server that owns the repository's agents is gone
(`owner.json` names a dead process), or anything goes wrong, it prints a deny itself, because a
failing or timed-out hook would fall back to the permission mode (which may allow the tool).

Files in the state dir (all written by Podium except `hooks.jsonl` lines):
- `allow.json` `{"tools": ["Write", ...]}`: tools allowed for this agent from now on;
- `answers/<requestId>.json` `{"decision": "allow"|"deny", "message": str, "by": str}`, written
  atomically (tmp + rename);
- `../owner.json` `{"pid": int, "createTime": float}`: the serving Podium process.

Standard library only (plus psutil when present) and no Podium imports: it starts in a fresh
interpreter on every request.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
import uuid
from typing import Any

HOOKS_FILE = "hooks.jsonl"
ALLOW_FILE = "allow.json"
ANSWERS_DIR = "answers"
OWNER_FILE = "owner.json"  # in the state root, the parent of every agent's state dir

REQUEST_EVENT = "PermissionRequest"
ANSWER_EVENT = "PermissionAnswered"
#: `by` of an answer: the person, the agent's allow list, a stop, the hook itself
BY_USER, BY_RULE, BY_STOP, BY_FAIL_CLOSED = "user", "agent-rule", "stop", "fail-closed"
GONE_MESSAGE = "Podium is not running; request denied"

POLL_S = 0.05
OWNER_CHECK_S = 0.5
#: create times of one process read twice agree exactly on Linux; allow for float rounding
_CREATE_TIME_TOLERANCE = 0.05
_SUMMARY_CHARS = 160
_SUMMARY_KEYS = ("file_path", "notebook_path", "path", "command", "url", "pattern")


# -- shared with Podium ---------------------------------------------------------------------------
def owner_alive(state_root: str) -> bool:
    """`owner.json` names a running process with that create time (pids recycle)."""
    try:
        with open(os.path.join(state_root, OWNER_FILE), encoding="utf-8") as fh:
            owner = json.load(fh)
        pid, created = int(owner["pid"]), float(owner["createTime"])
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return process_matches(pid, created)


def process_matches(pid: int, created: float) -> bool:
    """Process `pid` runs and was created at `created` (epoch s, as psutil reports it)."""
    if pid <= 0:
        return False
    try:
        import psutil
    except ImportError:  # pragma: no cover - psutil is a Podium dependency
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    try:
        proc = psutil.Process(pid)
        return (abs(proc.create_time() - created) <= _CREATE_TIME_TOLERANCE
                and proc.status() != psutil.STATUS_ZOMBIE)  # fmt: skip
    except psutil.Error:
        return False


def summarize(tool_input: Any, cwd: str | None) -> str:
    """One line naming what the tool touches: a file path (relative to the cwd when inside it)
    or the first line of a command, cut. Podium scrubs it before showing it."""
    if not isinstance(tool_input, dict):
        return ""
    for key in _SUMMARY_KEYS:
        value = tool_input.get(key)
        if not isinstance(value, str) or not value.strip():
            continue
        text = value.strip()
        if key in ("file_path", "notebook_path", "path") and cwd:
            base = cwd.rstrip(os.sep) + os.sep
            if text.startswith(base):
                text = text[len(base):]
        first = text.splitlines()[0] if text.splitlines() else text
        if first != text or len(first) > _SUMMARY_CHARS:
            first = first[:_SUMMARY_CHARS - 1].rstrip() + "…"
        return first
    return ""


def allowed_tools(state_dir: str) -> set[str]:
    try:
        with open(os.path.join(state_dir, ALLOW_FILE), encoding="utf-8") as fh:
            tools = json.load(fh).get("tools", [])
    except (OSError, ValueError, AttributeError):
        return set()
    return {t for t in tools if isinstance(t, str)} if isinstance(tools, list) else set()


def read_answer(path: str) -> dict[str, Any] | None:
    """The answer in `path`, None while there is none (a half-written file never shows: it
    is renamed into place)."""
    try:
        with open(path, encoding="utf-8") as fh:
            answer = json.load(fh)
    except (OSError, ValueError):
        return None
    if not isinstance(answer, dict) or answer.get("decision") not in ("allow", "deny"):
        return None
    return answer


def append_line(state_dir: str, obj: dict[str, Any]) -> None:
    """One line to hooks.jsonl in a single O_APPEND write (concurrent hooks never interleave)."""
    line = (json.dumps(obj, separators=(",", ":")) + "\n").encode()
    fd = os.open(os.path.join(state_dir, HOOKS_FILE), os.O_WRONLY | os.O_APPEND | os.O_CREAT,
                 0o600)  # fmt: skip
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


# -- the hook ---------------------------------------------------------------------------------------
def _print_decision(behavior: str, message: str | None) -> None:
    decision: dict[str, Any] = {"behavior": behavior}
    if behavior == "deny":
        decision["message"] = message or "denied in Podium"
    out = {"hookSpecificOutput": {"hookEventName": "PermissionRequest", "decision": decision}}
    sys.stdout.write(json.dumps(out))
    sys.stdout.flush()


def _answered(state_dir: str, request_id: str, decision: str, by: str) -> None:
    append_line(state_dir, {"podium_event": ANSWER_EVENT, "requestId": request_id,
                            "decision": decision, "by": by, "ts": time.time()})  # fmt: skip


def decide(state_dir: str, payload: dict[str, Any]) -> tuple[str, str | None]:
    """Wait for the decision on one request: (behavior, deny message)."""
    state_root = os.path.dirname(os.path.abspath(state_dir))
    tool = payload.get("tool_name") if isinstance(payload.get("tool_name"), str) else ""
    if tool and tool in allowed_tools(state_dir):
        return "allow", None
    request_id = uuid.uuid4().hex[:12]
    append_line(state_dir, {
        "podium_event": REQUEST_EVENT, "requestId": request_id, "tool": tool or "?",
        "summary": summarize(payload.get("tool_input"), payload.get("cwd")),
        "session_id": payload.get("session_id"), "ts": time.time(),
    })  # fmt: skip
    answer_path = os.path.join(state_dir, ANSWERS_DIR, request_id + ".json")
    next_owner_check = 0.0
    while True:
        answer = read_answer(answer_path)
        if answer is not None:
            with contextlib.suppress(OSError):
                os.unlink(answer_path)
            decision = answer["decision"]
            message = answer.get("message") if isinstance(answer.get("message"), str) else None
            raw_by = answer.get("by")
            by = raw_by if isinstance(raw_by, str) else BY_USER
            _answered(state_dir, request_id, decision, by)
            return decision, message
        now = time.monotonic()
        if now >= next_owner_check:
            if not owner_alive(state_root):
                _answered(state_dir, request_id, "deny", BY_FAIL_CLOSED)
                return "deny", GONE_MESSAGE
            next_owner_check = now + OWNER_CHECK_S
        time.sleep(POLL_S)


def main(argv: list[str]) -> int:
    try:
        state_dir = argv[1]
        payload = json.loads(sys.stdin.buffer.read() or b"{}")
        if not isinstance(payload, dict):
            payload = {}
        behavior, message = decide(state_dir, payload)
    except Exception as exc:  # fail closed, whatever went wrong
        behavior, message = "deny", f"Podium's permission hook failed ({type(exc).__name__})"
    _print_decision(behavior, message)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
