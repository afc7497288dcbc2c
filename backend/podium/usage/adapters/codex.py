"""Codex CLI session logs: `$CODEX_HOME/sessions/YYYY/MM/DD/rollout-<time>-<thread>.jsonl`
(and `archived_sessions/`), `$CODEX_HOME` defaulting to `~/.codex`.

Lines are `{timestamp, ordinal?, type, payload}`. What counts (checked against files the real
Codex CLI 0.169.0 wrote, tests/fixtures/codex_real):

- `session_meta` (the first line): the thread `id`, `cwd`, and for a spawned or forked thread
  the parent (`forked_from_id`, `source.subagent.thread_spawn.parent_thread_id`) and the tree's
  shared `session_id`;
- `turn_context`: the model (and cwd) of the turns that follow;
- `event_msg` with `payload.type: "token_count"`: `info.last_token_usage` (this model call)
  and `info.total_token_usage` (the thread's running sum) with `input_tokens` (cached ones
  included), `cached_input_tokens`, `cache_write_input_tokens`, `output_tokens` (reasoning
  included) and `reasoning_output_tokens`; and `rate_limits` (the ChatGPT plan's windows:
  `primary`/`secondary` with `used_percent`, `window_minutes`, `resets_at`).

A spawned or forked thread's file starts with a replay of its parent's history (the parent's
`session_meta`, turn contexts, events and, in some versions, its `token_count` lines), all
written when the thread is created: stamped with the thread's own creation time (0.169.0) or
with their original, earlier times. So in a thread that has a parent, a `token_count` stamped
no later than the thread's `session_meta` is the parent's, counted from the parent's file, and
skipped here. Each model call is keyed by its thread and the (running sum, this call) token
vectors: a `token_count` Codex emits twice for one call, and a rollout found again under
`archived_sessions/`, count once. An event without `last_token_usage` counts the growth of
the running sum.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TypeGuard

from podium.usage.adapters.base import LineError, LogAdapter, LogFile
from podium.usage.adapters.stateful import (
    FactsCache,
    FileFacts,
    below,
    count,
    timestamp_ms,
    walk_jsonl,
)
from podium.usage.models import UsageEntry

UNKNOWN_MODEL = "codex-unknown-model"  # no turn_context yet: flagged as unpriced, never $0
_DIRS = ("sessions", "archived_sessions")
_MARKERS = (b'"session_meta"', b'"turn_context"', b'"token_count"')
_VECTOR = ("input_tokens", "cached_input_tokens", "cache_write_input_tokens", "output_tokens",
           "reasoning_output_tokens")  # fmt: skip
#: a window's length in minutes → the plan window it is (as Claude's are named)
WINDOWS = {300: "five_hour", 10080: "seven_day"}


def codex_homes(homes: list[str] | None = None) -> list[str]:
    if homes:
        return [os.path.normpath(os.path.expanduser(h)) for h in homes if h.strip()]
    env = os.environ.get("CODEX_HOME", "").strip()
    return [os.path.normpath(os.path.expanduser(env or "~/.codex"))]


class _Facts(FileFacts):
    __slots__ = ("child", "cwd", "model", "prev_total", "started", "thread")

    def __init__(self) -> None:
        super().__init__()
        self.thread: str | None = None
        self.child = False  # spawned or forked: the head of the file replays the parent's
        self.started = 0  # ms, the thread's own session_meta line
        self.model: str | None = None
        self.cwd: str | None = None
        self.prev_total: tuple[int, ...] | None = None


class PlanFigure:
    """One `rate_limits` window as Codex reported it: used % (0–100), reset (epoch s)."""

    __slots__ = ("observed_at", "resets_at", "session_id", "used_pct", "window")

    def __init__(self, window: str, used_pct: float, resets_at: float | None,
                 observed_at: float, session_id: str | None) -> None:  # fmt: skip
        self.window, self.used_pct, self.resets_at = window, used_pct, resets_at
        self.observed_at, self.session_id = observed_at, session_id


class CodexAdapter(LogAdapter):
    name = "codex"
    needle = b'"type"'  # every line: the facts come from several line types (see _MARKERS)

    def __init__(self, homes: list[str] | None = None) -> None:
        self._homes = homes
        self._facts = FactsCache(_Facts, self._learn, _MARKERS)
        #: plan figures seen since the last `take_plan_figures()`, newest last
        self._plan: list[PlanFigure] = []

    def roots(self) -> list[str]:
        return codex_homes(self._homes)

    def log_dirs(self) -> list[str]:
        return [os.path.join(home, d) for home in self.roots() for d in _DIRS]

    def watch_dirs(self) -> list[str]:
        return [d for d in self.log_dirs() if os.path.isdir(d)]

    def discover(self) -> Iterator[LogFile]:
        seen: set[str] = set()
        for top in self.log_dirs():
            real = os.path.realpath(top)
            if real in seen or not os.path.isdir(top):
                continue
            seen.add(real)
            for path in walk_jsonl(top, lambda name: name.startswith("rollout-")):
                yield LogFile(path, None)

    def log_file_for(self, path: str | os.PathLike[str]) -> LogFile | None:
        path = os.path.normpath(os.fspath(path))
        if not os.path.basename(path).startswith("rollout-") or not path.endswith(".jsonl"):
            return None
        for top in self.log_dirs():
            if below(path, top) is not None:
                return LogFile(path, None)
        return None

    def take_plan_figures(self) -> list[PlanFigure]:
        figures, self._plan = self._plan, []
        return figures

    # -- lines ----------------------------------------------------------------------------------
    def parse_line(self, line: bytes, log: LogFile, offset: int) -> UsageEntry | None:
        if not any(m in line for m in _MARKERS):  # most lines: messages, tool calls, state
            return None
        import orjson

        obj = orjson.loads(line)
        if type(obj) is not dict:
            raise LineError("line is not a JSON object")
        facts = self._facts.get(log, offset)
        kind = obj.get("type")
        payload = obj.get("payload")
        if type(payload) is not dict:
            return None
        if kind in ("session_meta", "turn_context"):
            _learn_from(facts, kind, obj, payload)
            return None
        if kind != "event_msg" or payload.get("type") != "token_count":
            return None
        ts = timestamp_ms(obj.get("timestamp"))
        if facts.child and ts <= facts.started:
            return None  # the parent's event, replayed into this thread when it was created
        self._note_plan(payload.get("rate_limits"), ts, facts.thread)
        info = payload.get("info")
        if type(info) is not dict:
            return None  # a rate-limit update alone
        total = _vector(info.get("total_token_usage"), "total_token_usage")
        last = _vector(info.get("last_token_usage"), "last_token_usage")
        if last is None:
            if total is None:
                return None
            prev = facts.prev_total or (0,) * len(_VECTOR)
            last = tuple(max(t - p, 0) for t, p in zip(total, prev, strict=True))
        if total is not None:
            facts.prev_total = total
        i, cached, written, o, _reasoning = last
        if not (i or cached or written or o):
            return None
        cached = min(cached, i)
        written = min(written, i - cached)
        thread = facts.thread or _thread_of(log.name)
        if total is not None:
            key = f"codex:{thread}:{','.join(map(str, total))}:{','.join(map(str, last))}"
        else:
            key = f"@{log.name}:{offset}"
        return UsageEntry(
            key, ts, thread, facts.cwd, facts.cwd,
            facts.model or UNKNOWN_MODEL,
            i - cached - written, o, written, cached,
        )  # fmt: skip

    def _learn(self, facts: _Facts, line: bytes, log: LogFile) -> None:
        """Replay one earlier line of the file (FactsCache): its facts, and the running sum."""
        import orjson

        obj = orjson.loads(line)
        if type(obj) is not dict or type(obj.get("payload")) is not dict:
            return
        kind, payload = obj.get("type"), obj["payload"]
        if kind in ("session_meta", "turn_context"):
            _learn_from(facts, kind, obj, payload)
        elif kind == "event_msg" and payload.get("type") == "token_count":
            info = payload.get("info")
            if type(info) is dict:
                total = _vector(info.get("total_token_usage"), "total_token_usage")
                if total is not None:
                    facts.prev_total = total

    def _note_plan(self, rate_limits: object, ts_ms: int, session: str | None) -> None:
        if type(rate_limits) is not dict:
            return
        for side in ("primary", "secondary"):
            window = rate_limits.get(side)
            if type(window) is not dict:
                continue
            minutes, pct = window.get("window_minutes"), window.get("used_percent")
            name = WINDOWS.get(minutes) if type(minutes) is int else None
            if name is None or not _number(pct) or not 0 <= pct <= 101:
                continue  # an unknown window or a bogus figure: not a plan figure
            resets = window.get("resets_at")
            resets_at = float(resets) if _number(resets) and resets > 0 else None
            self._plan.append(PlanFigure(name, min(float(pct), 100.0), resets_at,
                                         ts_ms / 1000, session))  # fmt: skip


def _learn_from(facts: _Facts, kind: str, line: dict, payload: dict) -> None:
    cwd = payload.get("cwd")
    if type(cwd) is str and cwd and (kind == "turn_context" or facts.thread is None):
        facts.cwd = cwd
    if kind == "turn_context":
        model = payload.get("model")
        if type(model) is str and model:
            facts.model = model
        return
    # session_meta: the file's own thread comes first; a replayed parent's meta may follow
    thread = payload.get("id")
    if facts.thread is None and type(thread) is str and thread:
        facts.thread = thread
        facts.child = _parent_of(payload) is not None
        try:
            facts.started = timestamp_ms(line.get("timestamp"))
        except LineError:
            facts.started = 0


def _parent_of(payload: dict) -> str | None:
    forked = payload.get("forked_from_id")
    if type(forked) is str and forked:
        return forked
    source = payload.get("source")
    subagent = source.get("subagent") if type(source) is dict else None
    spawn = subagent.get("thread_spawn") if type(subagent) is dict else None
    parent = spawn.get("parent_thread_id") if type(spawn) is dict else None
    return parent if type(parent) is str and parent else None


def _vector(usage: object, field: str) -> tuple[int, ...] | None:
    if type(usage) is not dict:
        return None
    return tuple(count(usage.get(name), f"{field}.{name}") for name in _VECTOR)


def _thread_of(path: str) -> str:
    """`rollout-2026-11-28T05-36-46-<thread id>.jsonl` → the thread id (a UUID)."""
    stem = os.path.basename(path)[: -len(".jsonl")]
    parts = stem.split("-")
    return "-".join(parts[-5:]) if len(parts) >= 6 else stem


def _number(value: object) -> TypeGuard[int | float]:
    """A JSON number: an int or a float, not a bool (as `type(value) in (int, float)`)."""
    return type(value) in (int, float)
