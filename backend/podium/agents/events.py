"""The agent's event stream: its stdout (Claude Code stream-json) and the hook-event file,
read incrementally and parsed into small typed events (`reducer.apply` gives them effect).

Adding an event kind: a dataclass here, a branch in `parse_stream_line` or an entry in
`HOOK_EVENT_KINDS`, and a case in `reducer.apply`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from podium.agents.hooks import HOOKS_FILE

STDOUT_FILE = "stdout.jsonl"
STDERR_FILE = "stderr.log"
#: largest chunk read per call; the rest is read on the next calls
_READ_CHUNK = 1 << 20
#: a line longer than this is skipped (stream-json and hook lines are small)
_MAX_LINE = 8 << 20


# -- stdout (stream-json) ------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SessionInit:
    """`system/init`: the session id, model and `apiKeySource` Claude Code runs with."""

    session_id: str | None
    model: str | None
    api_key_source: str | None  # None: absent (a str, even empty, is what the CLI said)


@dataclass(frozen=True, slots=True)
class MessageSeen:
    """An `assistant` or `user` message: the agent is at work."""

    model: str | None  # a real model name (not a `<synthetic>` placeholder) or None


@dataclass(frozen=True, slots=True)
class TurnResult:
    """`result`: the turn ended, successfully or with an error text."""

    is_error: bool
    text: str


# -- hooks ---------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class HookEvent:
    """Any Claude Code hook call; subclasses say what it means for the agent's state."""

    name: str
    session_id: str | None


@dataclass(frozen=True, slots=True)
class TurnActive(HookEvent):
    """UserPromptSubmit / PreToolUse / PostToolUse: a turn is running."""


@dataclass(frozen=True, slots=True)
class TurnStopped(HookEvent):
    """Stop: the turn ended; the agent waits for the user."""


@dataclass(frozen=True, slots=True)
class AttentionNeeded(HookEvent):
    """Notification: the agent asks for the user (its message, when it gave one)."""

    message: str | None = None


StreamEvent = SessionInit | MessageSeen | TurnResult
Event = StreamEvent | HookEvent

#: hook name → its event class (names not listed are plain `HookEvent`s: activity only)
HOOK_EVENT_KINDS: dict[str, type[HookEvent]] = {
    "UserPromptSubmit": TurnActive,
    "PreToolUse": TurnActive,
    "PostToolUse": TurnActive,
    "Stop": TurnStopped,
    "Notification": AttentionNeeded,
}


def _json_object(raw: bytes) -> dict[str, Any] | None:
    try:
        obj = json.loads(raw)
    except ValueError:
        return None  # not JSON (a shell profile's plain output)
    return obj if isinstance(obj, dict) else None


def _text(value: Any) -> str | None:
    """A non-empty string, else None."""
    return value if isinstance(value, str) and value else None


def parse_stream_line(raw: bytes) -> StreamEvent | None:
    """One stdout line → its event; None for lines that change nothing."""
    obj = _json_object(raw)
    if obj is None:
        return None
    kind = obj.get("type")
    if kind == "system" and obj.get("subtype") == "init":
        key_source = obj.get("apiKeySource")
        return SessionInit(
            session_id=_text(obj.get("session_id")),
            model=_text(obj.get("model")),
            api_key_source=key_source if isinstance(key_source, str) else None,
        )
    if kind in ("assistant", "user"):
        message = obj.get("message")
        model = _text(message.get("model")) if isinstance(message, dict) else None
        return MessageSeen(model=None if model is None or model.startswith("<") else model)
    if kind == "result":
        text = obj.get("result")
        return TurnResult(is_error=bool(obj.get("is_error")),
                          text=text if isinstance(text, str) else "")  # fmt: skip
    return None


def parse_hook_line(raw: bytes) -> HookEvent | None:
    """One hooks.jsonl line (written by `hooks.install_hooks`' script) → its event."""
    obj = _json_object(raw)
    if obj is None:
        return None
    name = obj.get("podium_event") or obj.get("hook_event_name")
    name = name if isinstance(name, str) else ""
    session_id = _text(obj.get("session_id"))
    kind = HOOK_EVENT_KINDS.get(name, HookEvent)
    if kind is AttentionNeeded:
        return AttentionNeeded(name, session_id, message=_text(obj.get("message")))
    return kind(name, session_id)


# -- reading -------------------------------------------------------------------------------------
class LineTail:
    """Complete lines appended to one file since the last read (cheap when nothing changed:
    one stat). Not thread-safe: one reader at a time (the agent's operation lock)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.partial = b""

    def rewind(self) -> None:
        """Read the file from its start again (re-attaching replays what the agent said)."""
        self.offset, self.partial = 0, b""

    def read(self) -> list[bytes]:
        try:
            size = os.stat(self.path).st_size
        except OSError:
            return []
        if size < self.offset:  # truncated: start over
            self.rewind()
        if size == self.offset:
            return []
        with open(self.path, "rb") as fh:
            fh.seek(self.offset)
            data = fh.read(min(size - self.offset, _READ_CHUNK))
        self.offset += len(data)
        lines = (self.partial + data).split(b"\n")
        self.partial = lines.pop()
        if len(self.partial) > _MAX_LINE:
            self.partial = b""
        return [line for line in lines if line.strip()]


class EventSource:
    """The two event files of one agent's state dir, read in order: stdout, then hooks."""

    def __init__(self, state_dir: str | Path) -> None:
        self.stdout = LineTail(Path(state_dir) / STDOUT_FILE)
        self.hooks = LineTail(Path(state_dir) / HOOKS_FILE)

    def rewind(self) -> None:
        self.stdout.rewind()
        self.hooks.rewind()

    def read(self) -> list[Event]:
        events: list[Event] = []
        for line in self.stdout.read():
            if (event := parse_stream_line(line)) is not None:
                events.append(event)
        for line in self.hooks.read():
            if (hook := parse_hook_line(line)) is not None:
                events.append(hook)
        return events
