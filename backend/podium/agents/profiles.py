"""Command lines of the agent profiles: `fake`, `claude`, `shell` and the user's own."""

from __future__ import annotations

import sys
from pathlib import Path

from podium.agents.hooks import SETTINGS_FILE
from podium.errors import InvalidInput

PROFILES: tuple[str, ...] = ("fake", "claude", "shell")
#: profiles whose agent is a long-lived session Podium talks to on its stdin (`session_io`)
SESSION_PROFILES: frozenset[str] = frozenset({"claude"})
PERMISSION_MODES: tuple[str, ...] = ("default", "acceptEdits", "plan", "bypassPermissions")
DEFAULT_PERMISSION_MODE = "default"
DEFAULT_COMMANDS: dict[str, list[str]] = {
    "fake": [sys.executable, "-m", "podium", "fake-agent"],
    "claude": ["claude"],
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
        extra = [str(a) for a in (fake_args or [])]
        return [*base, "--task", task, "--session-id", session_id, *extra], session_id
    if profile == "claude":
        settings = str(state_dir / SETTINGS_FILE)
        argv = [*base, "-p", "--input-format", "stream-json", "--output-format", "stream-json",
                "--verbose", "--resume" if resume else "--session-id", session_id,
                "--settings", settings, "--permission-mode", permission_mode]  # fmt: skip
        return argv, session_id
    if not base:
        raise InvalidInput(f"profile {profile!r} has no command", field="command")
    # a user profile may place the task with a {task} placeholder
    return [a.replace("{task}", task) for a in base], None


def redacted_argv(argv: list[str], task: str) -> list[str]:
    """The stored command line: the task text is free text, so it is replaced by a marker."""
    return ["<task>" if a == task and task else a for a in argv]
