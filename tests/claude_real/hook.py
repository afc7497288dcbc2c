"""A scriptable PreToolUse command hook for the real CLI: `python hook.py DIR`.

Appends the JSON it got on stdin to DIR/calls.jsonl, then answers as DIR/plan.json says:
`{"decision": "allow"|"deny"|"ask", "reason": "...", "exit": 0, "stderr": "...",
"block": false}` (PreToolUse), or `{"permission_request": "allow"|"deny", "reason": "..."}`
(PermissionRequest). With `"block": true` it first waits on the FIFO DIR/release (opening it blocks
until the test writes) and takes the plan from what the test wrote there — this is how a hook
holds the CLI while a person decides.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

HOOK_SCRIPT = Path(__file__).resolve()


class ScriptedHook:
    """The test's side of this script: the settings file that installs it for one `event`,
    the plan it follows, the calls it got, and `release()` for a blocking plan."""

    def __init__(self, folder: Path, plan: dict[str, Any], *, event: str = "PreToolUse",
                 timeout: int = 60, matcher: str = "*") -> None:  # fmt: skip
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "plan.json").write_text(json.dumps(plan))
        if plan.get("block"):
            os.mkfifo(folder / "release")
        command = f"{sys.executable} {HOOK_SCRIPT} {folder}"
        entry = {"matcher": matcher, "hooks": [{"type": "command", "command": command,
                                                "timeout": timeout}]}  # fmt: skip
        self.settings = folder / "settings.json"
        self.settings.write_text(json.dumps({"hooks": {event: [entry]}}))

    def calls(self) -> list[dict[str, Any]]:
        from tests.jsonl import read_jsonl  # here: the hook side runs this file as a script

        return read_jsonl(self.folder / "calls.jsonl")

    def release(self, plan: dict[str, Any]) -> None:
        """Answer a blocked hook (blocks until the hook has opened its FIFO)."""
        with open(self.folder / "release", "w") as fifo:
            fifo.write(json.dumps(plan))


def answer(plan: dict[str, Any]) -> int:
    if plan.get("stderr"):
        sys.stderr.write(plan["stderr"])
    if plan.get("permission_request"):  # the PermissionRequest hook's answer shape
        decision = {"behavior": plan["permission_request"]}
        if plan.get("reason"):
            decision["message"] = plan["reason"]
        output = {"hookEventName": "PermissionRequest", "decision": decision}
        sys.stdout.write(json.dumps({"hookSpecificOutput": output}))
    elif plan.get("decision"):
        output = {"hookEventName": "PreToolUse", "permissionDecision": plan["decision"]}
        if plan.get("reason"):
            output["permissionDecisionReason"] = plan["reason"]
        sys.stdout.write(json.dumps({"hookSpecificOutput": output}))
    return int(plan.get("exit", 0))


def main(folder: Path) -> int:
    payload = json.loads(sys.stdin.read())
    with open(folder / "calls.jsonl", "a") as log:
        log.write(json.dumps({"pid": os.getpid(), "input": payload}) + "\n")
    plan = json.loads((folder / "plan.json").read_text())
    if plan.get("block"):
        with open(folder / "release") as fifo:  # blocks until the test opens it to write
            plan = json.loads(fifo.read())
    return answer(plan)


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
