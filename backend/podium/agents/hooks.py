"""Claude Code hooks for the sessions Podium spawns (formats.md §4).

`claude --settings FILE` gets hooks that run a tiny script appending each event's JSON payload
(one line, prompt text dropped) to `hooks.jsonl` in the agent's state dir; the manager reads
that file incrementally to know precisely when a turn starts (working) and ends (waiting).
The `PermissionRequest` hook is a copy of `permission_hook`: it blocks until Podium answers.
"""

from __future__ import annotations

import json
import shlex
import shutil
import sys
from pathlib import Path

from podium.agents import permission_hook

HOOK_EVENTS = ("UserPromptSubmit", "PreToolUse", "PostToolUse", "Stop", "Notification",
               "SessionEnd")  # fmt: skip
HOOKS_FILE = "hooks.jsonl"
SETTINGS_FILE = "claude-settings.json"
PERMISSION_SCRIPT = "podium_permission.py"
#: a person may take a day to answer; a timed-out hook would fall back to the permission mode
PERMISSION_HOOK_TIMEOUT_S = 86400

_HOOK_SCRIPT = '''\
# Written by Podium: appends one Claude Code hook payload to hooks.jsonl (one line).
import json, os, sys, time
raw = sys.stdin.buffer.read()
try:
    obj = json.loads(raw)
except ValueError:
    obj = {}
if not isinstance(obj, dict):
    obj = {}
obj.pop("prompt", None)  # never keep prompt text, nor the agent's own words
obj.pop("last_assistant_message", None)
obj["podium_event"] = sys.argv[1] if len(sys.argv) > 1 else obj.get("hook_event_name")
obj["podium_ts"] = time.time()
line = (json.dumps(obj, separators=(",", ":")) + "\\n").encode()
fd = os.open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "hooks.jsonl"),
             os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
try:
    os.write(fd, line)  # one O_APPEND write: concurrent hooks never interleave
finally:
    os.close(fd)
'''


def install_hooks(state_dir: Path) -> Path:
    """Write the hook script and a settings file using it; returns the settings file."""
    script = state_dir / "podium_hook.py"
    script.write_text(_HOOK_SCRIPT, encoding="utf-8")
    hooks: dict[str, list[dict]] = {}
    for event in HOOK_EVENTS:
        command = f"{shlex.quote(sys.executable)} {shlex.quote(str(script))} {event}"
        entry: dict = {"hooks": [{"type": "command", "command": command}]}
        if event in ("PreToolUse", "PostToolUse"):
            entry["matcher"] = "*"
        hooks[event] = [entry]
    # a copy, like the script above: it keeps working for a running agent whatever happens
    # to Podium's install; -I: nothing of the agent's environment (PYTHONPATH) or cwd is
    # imported (the script needs the standard library only)
    asker = state_dir / PERMISSION_SCRIPT
    shutil.copyfile(permission_hook.__file__, asker)
    ask = (f"{shlex.quote(sys.executable)} -I {shlex.quote(str(asker))} "
           f"{shlex.quote(str(state_dir))}")  # fmt: skip
    hooks["PermissionRequest"] = [{"matcher": "*", "hooks": [
        {"type": "command", "command": ask, "timeout": PERMISSION_HOOK_TIMEOUT_S}]}]  # fmt: skip
    settings = state_dir / SETTINGS_FILE
    settings.write_text(json.dumps({"hooks": hooks}, indent=2), encoding="utf-8")
    return settings
