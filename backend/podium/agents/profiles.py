"""Command lines of the agent profiles: `fake`, `claude`, `codex`, `gemini`, `shell` and the
user's own. Codex and Gemini run headless in the agent's worktree (their usage is attributed
to the agent by that cwd: podium.usage.adapters.codex / gemini)."""

from __future__ import annotations

import sys
from pathlib import Path

from podium.agents.hooks import SETTINGS_FILE
from podium.errors import InvalidInput
from podium.redact import scrub

PROFILES: tuple[str, ...] = ("fake", "claude", "codex", "gemini", "shell")
#: profiles whose agent is a long-lived session Podium talks to on its stdin (`session_io`)
SESSION_PROFILES: frozenset[str] = frozenset({"claude"})
PERMISSION_MODES: tuple[str, ...] = ("default", "acceptEdits", "plan", "bypassPermissions")
DEFAULT_PERMISSION_MODE = "default"
DEFAULT_COMMANDS: dict[str, list[str]] = {
    "fake": [sys.executable, "-m", "podium", "fake-agent"],
    "claude": ["claude"],
    "codex": ["codex"],
    "gemini": ["gemini"],
}


def known_profiles(user_profiles: dict[str, list[str]]) -> list[str]:
    return sorted(set(PROFILES) | set(user_profiles))


def command_for(
    profile: str, command: list[str] | None, task: str, session_id: str, state_dir: Path,
    *, user_profiles: dict[str, list[str]], fake_args: list[str] | None = None,
    permission_mode: str = DEFAULT_PERMISSION_MODE, resume: bool = False,
) -> tuple[list[str], str | None]:  # fmt: skip
    """argv for a profile, and the Claude session id when Podium fixes it. `command`
    replaces the profile's base command; a user profile of the same name replaces the
    built-in one. The `claude` session gets no task in its argv (it is the first message on
    stdin, so it never shows in the process list); `resume` continues session `session_id`."""
    base = command or user_profiles.get(profile) or DEFAULT_COMMANDS.get(profile) or []
    if profile == "fake":
        # the task comes as $PODIUM_TASK (`launch`): argv is world-readable in /proc
        extra = [str(a) for a in (fake_args or [])]
        return [*base, "--session-id", session_id, *extra], session_id
    if profile == "claude":
        settings = str(state_dir / SETTINGS_FILE)
        argv = [*base, "-p", "--input-format", "stream-json", "--output-format", "stream-json",
                "--verbose", "--resume" if resume else "--session-id", session_id,
                "--settings", settings, "--permission-mode", permission_mode]  # fmt: skip
        return argv, session_id
    if profile == "codex":
        # `exec`: headless; JSON events on stdout; may edit its worktree (exec defaults to a
        # read-only sandbox); the task after `--` so one starting with `-` stays the task
        return [*base, "exec", "--json", "--sandbox", "workspace-write", "--", task], None
    if profile == "gemini":
        # headless; `--prompt=` keeps a task starting with `-` from being read as an option
        return [*base, "--output-format", "stream-json", "--approval-mode", "auto_edit",
                f"--prompt={task}"], None  # fmt: skip
    if not base:
        raise InvalidInput(f"profile {profile!r} has no command", field="command")
    # the task reaches every agent as $PODIUM_TASK; a user profile may also place it in argv
    # with a {task} placeholder (its choice: argv is readable by every user in /proc)
    return [a.replace("{task}", task) for a in base], None


#: a task shorter than this is replaced only where it is a whole argument (a short one would
#: also match inside unrelated arguments)
_TASK_IN_ARG_MIN = 8


def redacted_argv(argv: list[str], task: str) -> list[str]:
    """The stored command line: the task (free text) becomes `<task>`, also inside an argument
    (`--prompt={task}`); every argument is scrubbed, and the value after an option that names
    a secret (`--api-key VALUE`, `--password VALUE`) is redacted whatever it looks like."""
    out = []
    for arg in argv:
        if task and arg.endswith(f"={task}"):  # `--prompt={task}` (gemini), however short
            arg = arg[: -len(task)] + "<task>"
        elif task and (arg == task or (len(task) >= _TASK_IN_ARG_MIN and task in arg)):
            arg = arg.replace(task, "<task>")
        out.append(scrub(arg))
    for i in range(len(out) - 1):
        option, value = out[i], out[i + 1]
        if option.startswith("-") and "=" not in option and value != "<task>":
            joined = f"{option}={value}"  # scrub's `name=value` rule decides what names a secret
            if scrub(joined) != joined:
                out[i + 1] = "[REDACTED]"
    return out
