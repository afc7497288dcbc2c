"""Codex and Gemini CLI log files for tests, built from the lines the real CLIs wrote
(tests/fixtures/codex_real, gemini_real): the same keys and shapes, other ids and numbers.
`codex_corpus` / `gemini_corpus` generate many sessions with known sums."""

from __future__ import annotations

import copy
import functools
import json
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
CODEX_REAL = FIXTURES / "codex_real"
GEMINI_REAL = FIXTURES / "gemini_real"


def sums(store) -> tuple[int, int, int, int]:
    """(entries, input, cache read, output) in a store."""
    return store.conn.execute(
        "SELECT COUNT(*), COALESCE(SUM(input), 0), COALESCE(SUM(cache_read), 0), "
        "COALESCE(SUM(output), 0) FROM entries").fetchone()


def dumps(obj: dict) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{ms % 1000:03d}Z")


def read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def codex_real_files() -> tuple[Path, Path]:
    """(parent rollout, sub-agent rollout) of the recorded Codex run."""
    files = sorted((CODEX_REAL / "sessions").rglob("rollout-*.jsonl"))
    child = next(f for f in files if '"thread_spawn"' in f.read_text().splitlines()[0])
    (parent,) = [f for f in files if f != child]
    return parent, child


@functools.cache
def _real_parent_lines() -> tuple[dict, ...]:
    parent, _child = codex_real_files()
    return tuple(read(parent))


def _template(kind: str, subtype: str | None = None) -> dict:
    for obj in _real_parent_lines():
        if obj["type"] == kind and (subtype is None or obj["payload"].get("type") == subtype):
            return obj
    raise LookupError(kind)


@dataclass
class Call:
    input: int
    cached: int
    output: int
    reasoning: int = 0

    def vector(self) -> dict:
        return {"input_tokens": self.input, "cached_input_tokens": self.cached,
                "cache_write_input_tokens": 0, "output_tokens": self.output,
                "reasoning_output_tokens": self.reasoning,
                "total_tokens": self.input + self.output}  # fmt: skip


@dataclass
class CodexThread:
    """One rollout: its meta, turn contexts and token_count events, as the CLI writes them."""

    thread: str = field(default_factory=lambda: str(uuid.uuid4()))
    cwd: str = "/work/shop"
    model: str = "gpt-5.1-codex"
    parent: str | None = None  # a spawned thread's parent (and the tree's shared session id)
    lines: list[dict] = field(default_factory=list)
    total: Call = field(default_factory=lambda: Call(0, 0, 0, 0))

    def meta(self, ts_ms: int) -> CodexThread:
        line = copy.deepcopy(_template("session_meta"))
        p = line["payload"]
        p.update(id=self.thread, session_id=self.parent or self.thread, cwd=self.cwd,
                 forked_from_id=self.parent, timestamp=iso(ts_ms))  # fmt: skip
        if self.parent:
            p["source"] = {"subagent": {"thread_spawn": {"parent_thread_id": self.parent,
                                                         "depth": 1}}}  # fmt: skip
        line["timestamp"] = iso(ts_ms)
        self.lines.append(line)
        return self

    def turn(self, ts_ms: int, model: str | None = None) -> CodexThread:
        line = copy.deepcopy(_template("turn_context"))
        line["payload"].update(model=model or self.model, cwd=self.cwd)
        line["timestamp"] = iso(ts_ms)
        self.lines.append(line)
        return self

    def call(self, ts_ms: int, call: Call, rate_limits: dict | None = None) -> CodexThread:
        t = self.total
        self.total = Call(t.input + call.input, t.cached + call.cached, t.output + call.output,
                          t.reasoning + call.reasoning)  # fmt: skip
        line = copy.deepcopy(_template("event_msg", "token_count"))
        line["timestamp"] = iso(ts_ms)
        line["payload"]["info"]["total_token_usage"] = self.total.vector()
        line["payload"]["info"]["last_token_usage"] = call.vector()
        if rate_limits is not None:
            line["payload"]["rate_limits"] = rate_limits
        self.lines.append(line)
        return self

    def text(self) -> str:
        return "".join(dumps(line) + "\n" for line in self.lines)

    def write(self, root: Path, ts_ms: int, sub: str = "sessions") -> Path:
        day = datetime.fromtimestamp(ts_ms / 1000, tz=UTC)
        path = (root / sub / day.strftime("%Y/%m/%d") /
                f"rollout-{day.strftime('%Y-%m-%dT%H-%M-%S')}-{self.thread}.jsonl")  # fmt: skip
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.text())
        return path


def codex_corpus(root: Path, sessions: int, calls: int, seed: int, t0: int) -> tuple[int, int, int]:
    """`sessions` rollouts of up to `calls` calls each, a fifth of them with a spawned
    sub-agent whose file first replays the parent's lines (stamped with its creation time, as
    Codex 0.169.0 does); returns the (input without cached, cached, output) sums a reader must
    find."""
    rng = random.Random(seed)
    fresh = cached = output = 0
    for s in range(sessions):
        ts = t0 + s * 600_000
        thread = CodexThread(cwd=f"/work/p{s % 7}").meta(ts).turn(ts)
        for c in range(rng.randint(1, calls)):
            call = Call(rng.randint(500, 90_000), 0, rng.randint(1, 4000), rng.randint(0, 500))
            call.cached = rng.randint(0, call.input)
            if c % 5 == 4:
                thread.turn(ts + c * 1000, model=rng.choice(["gpt-5.1-codex", "gpt-5.2"]))
            thread.call(ts + c * 1000 + 500, call)
            fresh, cached, output = fresh + call.input - call.cached, cached + call.cached, \
                output + call.output  # fmt: skip
        thread.write(root, ts)
        if s % 5 == 0:  # a sub-agent that first replays the parent's lines, re-stamped
            child = CodexThread(cwd=thread.cwd, parent=thread.thread).meta(ts + 99_000)
            child.lines += [dict(line, timestamp=iso(ts + 99_000)) for line in thread.lines]
            child.turn(ts + 99_500)
            own = Call(rng.randint(100, 5000), 0, rng.randint(1, 300))
            child.total = Call(0, 0, 0)  # a spawned thread's counter starts at zero
            child.call(ts + 100_000, own)
            fresh, output = fresh + own.input, output + own.output
            child.write(root, ts + 99_000)
    return fresh, cached, output


# -- Gemini --------------------------------------------------------------------------------------
def gemini_real_chat() -> Path:
    (chat,) = (GEMINI_REAL / ".gemini" / "tmp").glob("*/chats/*.jsonl")
    return chat


def gemini_session(session: str, ts_ms: int, replies: list[tuple[int, int, int, int, int]],
                   model: str = "gemini-2.5-pro") -> str:  # fmt: skip
    """A chat file: the header, then per reply (input, cached, output, thoughts, tool) a user
    message and the reply appended twice (as the CLI does when tool calls are added)."""
    real = read(gemini_real_chat())
    header = dict(real[0], sessionId=session, startTime=iso(ts_ms), lastUpdated=iso(ts_ms))
    user = next(o for o in real if o.get("type") == "user")
    reply = next(o for o in real if o.get("type") == "gemini")
    lines = [header]
    for n, (i, c, o, th, tool) in enumerate(replies):
        at = ts_ms + n * 2000
        lines.append(dict(user, id=str(uuid.uuid4()), timestamp=iso(at)))
        message = dict(reply, id=str(uuid.uuid4()), timestamp=iso(at + 1000), model=model,
                       tokens={"input": i, "output": o, "cached": c, "thoughts": th,
                               "tool": tool, "total": i + o + th + tool})  # fmt: skip
        lines += [message, {"$set": {"lastUpdated": iso(at + 1000)}}, message]
    return "".join(dumps(line) + "\n" for line in lines)
