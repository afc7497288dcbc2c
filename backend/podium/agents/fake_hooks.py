"""The fake agent's side of Claude Code's hooks (docs/claude-code.md, "Permissions"): it runs the
command hooks of the `--settings FILE` it is given the way the real CLI does, so a session
Podium spawns with the fake agent goes through the same permission bridge as a real one.

- Each hook gets its payload as JSON on stdin and runs through `/bin/sh -c` in the agent's cwd,
  in the agent's process group (a pause stops it too); it blocks the agent until it exits or its
  `timeout` (seconds, default 60) passes, then it is killed.
- `PreToolUse`: exit code 2 blocks the tool (reason: its stderr); `permissionDecision`
  `allow`/`deny`/`ask` as the CLI reads it (`ask`: nobody can be asked in `-p`, so denied).
- `PermissionRequest` only where a dialog would be shown (a `Write` in `default` mode):
  `{"decision": {"behavior": "allow"|"deny", "message"}}`. No verdict (no hook, a failure, a
  timeout) falls back to the permission mode: `default` denies.
- Matchers: missing, empty or `*` match every tool; otherwise a regex matched against the whole
  tool name (`Write|Edit`).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_TIMEOUT_S = 60.0
#: modes in which a Write runs without asking (None: the fake agent's legacy "just edit")
WRITES_FREELY = frozenset({None, "acceptEdits", "bypassPermissions", "auto"})
#: modes in which a Write is asked for through `PermissionRequest`
ASKS = frozenset({"default", "manual"})


class SettingsError(ValueError):
    """The settings file is missing, not JSON, or its hooks are not shaped as Claude Code's."""


@dataclass(frozen=True, slots=True)
class HookCommand:
    event: str
    matcher: str
    command: str
    timeout: float

    def matches(self, tool: str | None) -> bool:
        if tool is None or self.matcher in ("", "*"):
            return True
        try:
            return re.fullmatch(self.matcher, tool) is not None
        except re.error:
            return self.matcher == tool


@dataclass(frozen=True, slots=True)
class HookRun:
    command: str
    exit_code: int | None  # None: timed out (and killed)
    stdout: str
    stderr: str

    def specific_output(self) -> dict[str, Any]:
        """`hookSpecificOutput` of a successful run's JSON stdout ({} when there is none)."""
        if self.exit_code != 0:
            return {}
        try:
            out = json.loads(self.stdout) if self.stdout.strip() else {}
        except ValueError:
            return {}
        specific = out.get("hookSpecificOutput") if isinstance(out, dict) else None
        return specific if isinstance(specific, dict) else {}


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the hooks and the permission mode say about one tool call."""

    allowed: bool
    message: str | None = None
    #: "hook" when a hook decided (the CLI's `decision_reason_type`), else None
    reason_type: str | None = None


def load_hooks(settings: str | Path) -> list[HookCommand]:
    try:
        data = json.loads(Path(settings).read_text(encoding="utf-8"))
    except OSError as exc:
        raise SettingsError(f"cannot read settings {settings}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise SettingsError(f"settings {settings} is not JSON: {exc}") from None
    hooks = data.get("hooks", {}) if isinstance(data, dict) else None
    if not isinstance(hooks, dict):
        raise SettingsError(f"settings {settings}: `hooks` must be an object")
    out: list[HookCommand] = []
    for event, entries in hooks.items():
        if not isinstance(entries, list):
            raise SettingsError(f"settings {settings}: hooks.{event} must be a list")
        for entry in entries:
            if not isinstance(entry, dict) or not isinstance(entry.get("hooks"), list):
                raise SettingsError(f"settings {settings}: hooks.{event} entries need `hooks`")
            raw_matcher = entry.get("matcher")
            matcher = raw_matcher if isinstance(raw_matcher, str) else ""
            for hook in entry["hooks"]:
                if not isinstance(hook, dict) or hook.get("type") != "command":
                    continue
                command = hook.get("command")
                if not isinstance(command, str) or not command.strip():
                    raise SettingsError(f"settings {settings}: a {event} hook has no command")
                timeout = hook.get("timeout")
                timeout = float(timeout) if isinstance(timeout, int | float) and timeout > 0 \
                    else DEFAULT_TIMEOUT_S
                out.append(HookCommand(event, matcher, command, timeout))
    return out


def _kill_tree(proc: subprocess.Popen) -> None:
    """The hook and whatever it started (`sh -c` may fork its command)."""
    import psutil

    with contextlib.suppress(psutil.Error):
        for child in psutil.Process(proc.pid).children(recursive=True):
            with contextlib.suppress(psutil.Error):
                child.kill()
    with contextlib.suppress(OSError):
        proc.kill()
    with contextlib.suppress(Exception):
        proc.wait(5)


class HookRunner:
    """Runs the hooks of one settings file for one session."""

    def __init__(self, hooks: list[HookCommand], *, session_id: str, transcript_path: str,
                 cwd: str, permission_mode: str | None,
                 blocking: Callable[[], AbstractContextManager[None]]) -> None:  # fmt: skip
        self.hooks = hooks
        self.base = {"session_id": session_id, "transcript_path": transcript_path, "cwd": cwd,
                     "permission_mode": permission_mode or "default"}  # fmt: skip
        self.cwd = cwd
        self.mode = permission_mode
        #: entered around each wait, so a SIGTERM can interrupt a hook that blocks
        self.blocking = blocking

    def run(self, event: str, tool: str | None = None, **fields: Any) -> list[HookRun]:
        runs = []
        payload = json.dumps({**self.base, "hook_event_name": event, **fields}).encode()
        for hook in self.hooks:
            if hook.event == event and hook.matches(tool):
                runs.append(self._run_one(hook, payload))
        return runs

    def _run_one(self, hook: HookCommand, payload: bytes) -> HookRun:
        env = dict(os.environ, CLAUDE_PROJECT_DIR=self.cwd)
        proc = subprocess.Popen(["/bin/sh", "-c", hook.command], cwd=self.cwd, env=env,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)  # fmt: skip
        try:
            with self.blocking():
                out, err = proc.communicate(payload, timeout=hook.timeout)
        except subprocess.TimeoutExpired:
            _kill_tree(proc)
            return HookRun(hook.command, None, "", "")
        except BaseException:
            _kill_tree(proc)  # the agent is going away: so is its hook (as with the CLI)
            raise
        return HookRun(hook.command, proc.returncode, out.decode(errors="replace"),
                       err.decode(errors="replace"))  # fmt: skip

    def check_tool(self, tool: str, tool_input: dict[str, Any], tool_use_id: str) -> Verdict:
        """PreToolUse, then the permission mode (and PermissionRequest where it asks)."""
        pre = self.run("PreToolUse", tool, tool_name=tool, tool_input=tool_input,
                       tool_use_id=tool_use_id)  # fmt: skip
        for run in pre:
            if run.exit_code == 2:
                return Verdict(False, f"PreToolUse:{tool} hook error: [{run.command}]: "
                                      f"{run.stderr.strip()}", "hook")  # fmt: skip
            decision = run.specific_output().get("permissionDecision")
            reason = run.specific_output().get("permissionDecisionReason")
            reason = reason if isinstance(reason, str) else None
            if decision == "deny":
                return Verdict(False, f"PreToolUse:{tool} hook error: {reason or 'denied'}",
                               "hook")  # fmt: skip
            if decision == "ask":
                return Verdict(False, reason or f"{tool} needs approval", "hook")
            if decision == "allow":
                return Verdict(True)
        return self.check_mode(tool, tool_input)

    def check_mode(self, tool: str, tool_input: dict[str, Any]) -> Verdict:
        if self.mode in WRITES_FREELY:
            return Verdict(True)
        if self.mode in ASKS:
            suggestions = [{"type": "setMode", "mode": "acceptEdits", "destination": "session"}]
            for run in self.run("PermissionRequest", tool, tool_name=tool, tool_input=tool_input,
                                permission_suggestions=suggestions):  # fmt: skip
                decision = run.specific_output().get("decision")
                if not isinstance(decision, dict):
                    continue
                if decision.get("behavior") == "allow":
                    return Verdict(True)
                if decision.get("behavior") == "deny":
                    message = decision.get("message")
                    return Verdict(False, message if isinstance(message, str) else "denied",
                                   "hook")  # fmt: skip
        path = tool_input.get("file_path", "the file")
        return Verdict(False, f"Claude requested permissions to write to {path}, but you "
                              "haven't granted it yet.")  # fmt: skip
