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
from podium.agents.permission_hook import ANSWER_EVENT, REQUEST_EVENT

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
class ToolUse:
    """A tool the model asked to run (`tool_use` block): what a turn did, for its outcome."""

    name: str
    tool_use_id: str
    path: str | None  # the file it writes (Write, Edit, MultiEdit, NotebookEdit)


@dataclass(frozen=True, slots=True)
class MessageSeen:
    """An `assistant` or `user` message: the agent is at work."""

    model: str | None  # a real model name (not a `<synthetic>` placeholder) or None
    tools: tuple[ToolUse, ...] = ()
    #: Claude Code's own stand-in for a failed API call (model `<synthetic>`)
    synthetic: bool = False


@dataclass(frozen=True, slots=True)
class TurnResult:
    """`result`: the turn ended, successfully or with an error text."""

    is_error: bool
    text: str
    #: Claude Code's cost of this turn (sum of `model_usage_since_last_result[].costUSD`)
    turn_cost: float | None = None
    #: the session's running total (`total_cost_usd`)
    total_cost: float | None = None
    api_error: str | None = None  # e.g. "usage_limit_reached"
    api_error_status: int | None = None
    #: tool_use ids the permission rules or hooks denied in this turn, with their tool
    denied: tuple[tuple[str, str], ...] = ()
    session_id: str | None = None
    #: the session's running cost per model (`modelUsage[].costUSD`)
    model_costs: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True, slots=True)
class PlanWindow:
    """One window of a `rate_limit_event` (`unifiedWindows`)."""

    window: str  # five_hour | seven_day
    utilization: float  # 0–1
    resets_at: float | None  # epoch s
    status: str | None  # allowed | allowed_warning | rejected


@dataclass(frozen=True, slots=True)
class RateLimitInfo:
    """`rate_limit_event`: the subscription's plan figures (official), sent when they change."""

    status: str | None
    limit_type: str | None  # the window the status is about (`rateLimitType`)
    windows: tuple[PlanWindow, ...]


@dataclass(frozen=True, slots=True)
class ApiRetry:
    """`system/api_retry`: an API call failed and is retried."""

    error_status: int | None
    attempt: int | None
    max_retries: int | None


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


@dataclass(frozen=True, slots=True)
class PermissionAsked(HookEvent):
    """The permission hook logged a request and waits for an answer."""

    request_id: str = ""
    tool: str = ""
    summary: str = ""
    at: float = 0.0


@dataclass(frozen=True, slots=True)
class PermissionAnswered(HookEvent):
    """The permission hook answered a request (`by`: user, agent-rule, stop, fail-closed)."""

    request_id: str = ""
    decision: str = "deny"
    by: str = ""


StreamEvent = SessionInit | MessageSeen | TurnResult | RateLimitInfo | ApiRetry
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


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    return value if value == value and abs(value) != float("inf") else None


def _int(value: Any) -> int | None:
    number = _number(value)
    return int(number) if number is not None else None


#: tools whose `file_path` (or `notebook_path`) a turn writes
EDIT_TOOLS = frozenset({"Write", "Edit", "MultiEdit", "NotebookEdit"})


def _tool_uses(message: Any) -> tuple[ToolUse, ...]:
    content = message.get("content") if isinstance(message, dict) else None
    if not isinstance(content, list):
        return ()
    tools = []
    for block in content:
        if not isinstance(block, dict) or block.get("type") != "tool_use":
            continue
        name, tool_input = _text(block.get("name")) or "?", block.get("input")
        path = None
        if name in EDIT_TOOLS and isinstance(tool_input, dict):
            path = _text(tool_input.get("file_path")) or _text(tool_input.get("notebook_path"))
        tools.append(ToolUse(name, _text(block.get("id")) or "", path))
    return tuple(tools)


def _model_costs(model_usage: Any) -> dict[str, float] | None:
    """`{model: costUSD}` of a `modelUsage`-shaped object (None when there is none)."""
    if not isinstance(model_usage, dict):
        return None
    costs = {}
    for model, usage in model_usage.items():
        cost = _number(usage.get("costUSD")) if isinstance(usage, dict) else None
        if cost is not None and cost >= 0:
            costs[str(model)] = cost
    return costs


def _result(obj: dict[str, Any]) -> TurnResult:
    text = obj.get("result")
    denied = []
    for denial in obj.get("permission_denials") or []:
        if isinstance(denial, dict):
            denied.append((_text(denial.get("tool_name")) or "?",
                           _text(denial.get("tool_use_id")) or ""))  # fmt: skip
    total = _number(obj.get("total_cost_usd"))
    turn = _model_costs(obj.get("model_usage_since_last_result"))
    return TurnResult(
        is_error=bool(obj.get("is_error")), text=text if isinstance(text, str) else "",
        turn_cost=sum(turn.values()) if turn is not None else None,
        total_cost=total if total is not None and total >= 0 else None,
        api_error=_text(obj.get("api_error")), api_error_status=_int(obj.get("api_error_status")),
        denied=tuple(denied), session_id=_text(obj.get("session_id")),
        model_costs=tuple((_model_costs(obj.get("modelUsage")) or {}).items()),
    )  # fmt: skip


def _rate_limit(obj: dict[str, Any]) -> RateLimitInfo | None:
    info = obj.get("rate_limit_info")
    if not isinstance(info, dict):
        return None
    windows = []
    unified = info.get("unifiedWindows")
    for name, window in (unified.items() if isinstance(unified, dict) else ()):
        utilization = _number(window.get("utilization")) if isinstance(window, dict) else None
        if utilization is None:
            continue
        resets = _number(window.get("resetsAt"))
        windows.append(PlanWindow(str(name), utilization, resets if resets and resets > 0 else None,
                                  _text(window.get("status"))))  # fmt: skip
    return RateLimitInfo(status=_text(info.get("status")), limit_type=_text(info.get("rateLimitType")),
                         windows=tuple(windows))  # fmt: skip


def parse_stream_line(raw: bytes) -> StreamEvent | None:
    """One stdout line → its event; None for lines that change nothing."""
    obj = _json_object(raw)
    if obj is None:
        return None
    kind = obj.get("type")
    if kind == "system":
        subtype = obj.get("subtype")
        if subtype == "init":
            key_source = obj.get("apiKeySource")
            return SessionInit(
                session_id=_text(obj.get("session_id")),
                model=_text(obj.get("model")),
                api_key_source=key_source if isinstance(key_source, str) else None,
            )
        if subtype == "api_retry":
            return ApiRetry(error_status=_int(obj.get("error_status")),
                            attempt=_int(obj.get("attempt")),
                            max_retries=_int(obj.get("max_retries")))  # fmt: skip
        return None
    if kind in ("assistant", "user"):
        message = obj.get("message")
        model = _text(message.get("model")) if isinstance(message, dict) else None
        synthetic = model is not None and model.startswith("<")
        return MessageSeen(model=None if model is None or synthetic else model,
                           tools=_tool_uses(message) if kind == "assistant" else (),
                           synthetic=synthetic)  # fmt: skip
    if kind == "result":
        return _result(obj)
    if kind == "rate_limit_event":
        return _rate_limit(obj)
    return None


def parse_hook_line(raw: bytes) -> HookEvent | None:
    """One hooks.jsonl line (written by `hooks.install_hooks`' script) → its event."""
    obj = _json_object(raw)
    if obj is None:
        return None
    name = obj.get("podium_event") or obj.get("hook_event_name")
    name = name if isinstance(name, str) else ""
    session_id = _text(obj.get("session_id"))
    if name == REQUEST_EVENT:
        request_id = _text(obj.get("requestId"))
        if request_id is None:
            return None
        at = _number(obj.get("ts"))
        return PermissionAsked(name, session_id, request_id=request_id,
                               tool=_text(obj.get("tool")) or "?",
                               summary=obj["summary"] if isinstance(obj.get("summary"), str) else "",
                               at=at if at is not None else 0.0)  # fmt: skip
    if name == ANSWER_EVENT:
        request_id = _text(obj.get("requestId"))
        if request_id is None:
            return None
        return PermissionAnswered(name, session_id, request_id=request_id,
                                  decision="allow" if obj.get("decision") == "allow" else "deny",
                                  by=_text(obj.get("by")) or "")  # fmt: skip
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
