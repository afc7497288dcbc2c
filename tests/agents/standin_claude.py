"""A small stand-in for `claude -p --input-format stream-json --output-format stream-json`,
for the session and permission tests that do not need the real CLI (tests/claude_real has
those). It speaks the surfaces Podium relies on, as docs/claude-code.md describes them:

- reads one user message per stdin line and answers each with a turn: `system/init`, an
  `assistant` message, a `result` (with `model_usage_since_last_result` and `total_cost_usd`);
  stays alive until stdin ends;
- a message `write:<path>` asks for the Write tool: the `PermissionRequest` hooks of
  `--settings` run (blocking) with the CLI's payload and decide; allowed, the file is written;
  denied, the result lists the denial; `bash:<cmd>` the same for Bash (nothing is run);
- `limits:<5h>:<7d>` prints a `rate_limit_event`; `retry429` prints a `system/api_retry` 429,
  then holds the turn until a file `release429` exists in its cwd; `usagelimit` ends the turn
  with the usage-limit result.
Each turn costs $0.01 (Claude Code's own figure). With STANDIN_ENV_OUT set, it writes the
auth variables it got to that file at start (as JSON).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

TURN_COST = 0.01


def out(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main(args: list[str]) -> int:
    def opt(name: str) -> str | None:
        return args[args.index(name) + 1] if name in args else None

    session = opt("--session-id") or opt("--resume")
    settings_file = opt("--settings")
    settings = json.loads(Path(settings_file).read_text()) if settings_file else {}
    mode = opt("--permission-mode") or "default"
    hooks = settings.get("hooks", {}).get("PermissionRequest", [])
    total = 0.0
    tool_ids = 0
    if os.environ.get("STANDIN_ENV_OUT"):
        keys = ("ANTHROPIC_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN", "ANTHROPIC_BASE_URL")
        with open(os.environ["STANDIN_ENV_OUT"], "w") as fh:
            json.dump({k: os.environ[k] for k in keys if k in os.environ}, fh)

    def ask(tool: str, tool_input: dict) -> tuple[str, str | None]:
        payload = {"session_id": session, "transcript_path": "/x.jsonl", "cwd": os.getcwd(),
                   "permission_mode": mode, "hook_event_name": "PermissionRequest",
                   "tool_name": tool, "tool_input": tool_input, "permission_suggestions": []}
        for group in hooks:
            for hook in group["hooks"]:
                done = subprocess.run(hook["command"], shell=True, capture_output=True,
                                      input=json.dumps(payload).encode())
                decision = json.loads(done.stdout)["hookSpecificOutput"]["decision"]
                return decision["behavior"], decision.get("message")
        return ("allow" if mode in ("acceptEdits", "bypassPermissions") else "deny"), None

    for line in sys.stdin:
        if not line.strip():
            continue
        text = json.loads(line)["message"]["content"]
        out({"type": "system", "subtype": "init", "session_id": session, "cwd": os.getcwd(),
             "model": "claude-standin-1", "apiKeySource": "none", "permissionMode": mode})
        denials, blocks, result = [], [], {"is_error": False, "result": "Done."}
        if text.startswith(("write:", "bash:")):
            tool_ids += 1
            kind, _, arg = text.partition(":")
            tool = "Write" if kind == "write" else "Bash"
            tool_id = f"toolu_standin{tool_ids:04d}"
            tool_input = ({"file_path": os.path.abspath(arg), "content": "hello\n"}
                          if tool == "Write" else {"command": arg})
            blocks.append({"type": "tool_use", "id": tool_id, "name": tool, "input": tool_input})
            out({"type": "assistant", "session_id": session,
                 "message": {"model": "claude-standin-1", "content": blocks}})
            behavior, message = ask(tool, tool_input)
            if behavior == "allow":
                if tool == "Write":
                    with open(tool_input["file_path"], "w") as fh:
                        fh.write("hello\n")
            else:
                out({"type": "system", "subtype": "permission_denied", "tool_name": tool,
                     "decision_reason_type": "hook", "decision_reason": message})
                denials.append({"tool_name": tool, "tool_use_id": tool_id,
                                "tool_input": tool_input})
        elif text.startswith("limits:"):
            _, five, seven = text.split(":")
            now = int(time.time())
            out({"type": "rate_limit_event", "session_id": session, "rate_limit_info": {
                "status": "allowed", "rateLimitType": "five_hour", "unifiedWindows": {
                    "five_hour": {"utilization": float(five), "resetsAt": now + 3600,
                                  "status": "allowed_warning"},
                    "seven_day": {"utilization": float(seven), "resetsAt": now + 86400,
                                  "status": "allowed"}}}})
        elif text == "retry429":
            out({"type": "system", "subtype": "api_retry", "attempt": 1, "max_retries": 10,
                 "retry_delay_ms": 500, "error_status": 429, "error": "rate_limit"})
            while not os.path.exists("release429"):  # retried until the test says so
                time.sleep(0.02)
        elif text == "usagelimit":
            result = {"is_error": True, "result": "You've hit your 5-hour limit",
                      "api_error": "usage_limit_reached", "api_error_status": 429}
        out({"type": "assistant", "session_id": session,
             "message": {"model": "claude-standin-1", "content": [{"type": "text", "text": "ok"}]}})
        turn = 0.0 if result["is_error"] else TURN_COST
        total += turn
        usage = {"claude-standin-1": {"costUSD": turn}} if turn else {}
        out({"type": "result", "subtype": "success", "session_id": session,
             "total_cost_usd": total, "model_usage_since_last_result": usage,
             "permission_denials": denials, **result})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
