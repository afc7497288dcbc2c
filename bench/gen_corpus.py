"""Generate a realistic Claude Code transcript corpus (formats.md §1) of any size.

    python bench/gen_corpus.py DIR --size-mb 300 [--files 1000] [--seed 7]
                               [--long-context-share 0.0] [--append-fraction F]

Writes `DIR/projects/<encoded-cwd>/<session>.jsonl` and sub-agent files
`DIR/projects/<encoded-cwd>/<session>/subagents/agent-<id>.jsonl`, so that
`CLAUDE_CONFIG_DIR=DIR` points both Podium and ccusage at it. What it contains, like real
sessions: ~60 days of sessions over many projects; user prompts; tool results with big outputs
(tens of KB, sometimes MBs, echoed in `toolUseResult` as Claude Code does); `file-history-snapshot`
lines (some large); summaries; compact boundaries; assistant messages streamed as several lines
sharing `message.id`/`requestId` with partial `output_tokens` in the earlier copies; resumed
sessions (a new file that first copies earlier lines verbatim); occasional missing `requestId`;
`<synthetic>` messages and usage-limit errors; Task results carrying a `usage` object outside
`message`; a realistic model mix; cache reads dominating; the 5 m / 1 h cache-write split.

Every request's total input stays ≤ 200k tokens unless `--long-context-share` asks for some
Sonnet requests above it. Output is a pure function of the arguments (no clock, no uuid4).
A manifest, `DIR/podium-corpus.json` (outside `projects/`, so no reader sees it), remembers each
file's session so `append_corpus` can continue sessions for the incremental benchmark.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
import uuid as uuidlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson

from podium.usage.adapters.claude import encode_cwd
from podium.usage.synthetic import iso, usage_dict

MANIFEST = "podium-corpus.json"
CLAUDE_VERSIONS = ("2.0.14", "2.0.22", "2.0.31", "2.0.42", "2.0.55")
# (model, weight for main sessions). Haiku is mostly used by sub-agents, as in real logs.
MODEL_MIX = (
    ("claude-sonnet-4-5-20250929", 46),
    ("claude-opus-4-5-20251101", 18),
    ("claude-opus-4-1-20250805", 10),
    ("claude-sonnet-4-20250514", 14),
    ("claude-haiku-4-5-20251001", 12),
)
SONNETS = ("claude-sonnet-4-5-20250929", "claude-sonnet-4-20250514")
HAIKU = "claude-haiku-4-5-20251001"
# The window ends at a fixed instant so a seed always gives the same bytes.
WINDOW_END_MS = 1_764_288_000_000  # 2025-11-28T00:00:00Z
WINDOW_DAYS = 60
DAY_MS = 86_400_000
CONTEXT_LIMIT = 200_000
COMPACT_AT = 165_000
PROJECT_NAMES = (
    "shop", "billing-api", "infra", "mobile-app", "data-pipeline", "docs-site", "auth-service",
    "ml-experiments", "cli-tools", "website", "search", "payments", "notifications", "analytics",
    "game-engine", "compiler", "crm", "dotfiles", "scheduler", "ledger", "chat", "media-server",
    "kv-store", "map-tiles",
)  # fmt: skip
WORDS = (
    "def", "return", "import", "class", "self", "const", "let", "function", "async", "await",
    "value", "result", "error", "config", "request", "response", "handler", "user", "order",
    "items", "total", "cart", "price", "test", "assert", "expected", "None", "True", "False",
    "if", "else", "for", "in", "while", "try", "except", "raise", "with", "open", "path", "file",
    "line", "data", "json", "parse", "render", "update", "delete", "create", "index", "src",
    "lib", "module", "export", "from", "type", "string", "number", "list", "dict", "map",
    "0", "1", "42", "200", "404", "=", "==", "+", "(", ")", "{", "}", "[", "]", ":", ",", ".",
    "->", "=>", "//", "#", "\"ok\"", "'id'", "\\n", "\t", "<div>", "</div>", "SELECT", "WHERE",
)  # fmt: skip


@dataclass
class FileState:
    """What `append_corpus` needs to continue a file as the same session would."""

    path: str  # relative to the corpus root
    session_id: str
    cwd: str
    model: str
    last_ts: int
    last_uuid: str | None
    agent_id: str | None = None
    cache_1h: bool = False
    context: int = 20_000


@dataclass
class Manifest:
    seed: int
    size_mb: float
    files: list[FileState] = field(default_factory=list)
    bytes_written: int = 0
    appends: int = 0


class TextPool:
    """A few MB of code-like text; big strings are slices of it (fast, deterministic)."""

    def __init__(self, rng: random.Random, size: int = 1 << 22) -> None:
        words = rng.choices(WORDS, k=size // 4)
        lines, width = [], 0
        for w in words:  # break into lines of ~60–100 chars so it looks like source code
            lines.append(w)
            width += len(w) + 1
            if width > 60 and rng.random() < 0.2:
                lines.append("\n")
                width = 0
        text = " ".join(lines)
        while len(text) < size:
            text += text
        self.text = text[:size]
        self.doubled = self.text + self.text

    def take(self, rng: random.Random, n: int) -> str:
        n = max(1, min(n, len(self.text)))
        start = rng.randrange(len(self.text))
        return self.doubled[start : start + n]


class Writer:
    """Generates lines for sessions with one RNG, writing each file in large chunks."""

    def __init__(
        self, root: Path, seed: int, *, long_context_share: float = 0.0, pool_seed: int | None = None
    ) -> None:  # fmt: skip
        self.root = root
        self.rng = random.Random(seed)
        self.pool = TextPool(random.Random(seed if pool_seed is None else pool_seed))
        self.long_context_share = long_context_share
        self.bytes_written = 0
        self.last_assistant: dict[str, dict] = {}  # session id → its latest assistant line

    # ---------- ids ----------
    def uuid(self) -> str:
        return str(uuidlib.UUID(int=self.rng.getrandbits(128), version=4))

    def hexid(self, prefix: str, n: int = 24) -> str:
        alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz123456789"
        return prefix + "".join(self.rng.choices(alphabet, k=n))

    # ---------- sizes ----------
    def tool_output_size(self, cap: int) -> int:
        r = self.rng.random()
        if r < 0.6:
            n = self.rng.randint(80, 2_000)
        elif r < 0.9:
            n = self.rng.randint(2_000, 20_000)  # tens of KB: test runs, file reads
        elif r < 0.995:
            n = self.rng.randint(20_000, 100_000)
        else:
            n = self.rng.randint(300_000, 2_500_000)  # a huge log or minified bundle
        return max(40, min(n, cap))

    # ---------- line builders ----------
    def common(self, fs: FileState, ts: int, uuid: str, version: str) -> dict[str, Any]:
        line: dict[str, Any] = {
            "parentUuid": fs.last_uuid,
            "isSidechain": fs.agent_id is not None,
            "userType": "external",
            "cwd": fs.cwd,
            "sessionId": fs.session_id,
            "version": version,
            "gitBranch": "main",
        }
        if fs.agent_id is not None:
            line["agentId"] = fs.agent_id
        line["uuid"] = uuid
        line["timestamp"] = iso(ts)
        return line

    def user_prompt(self, fs: FileState, ts: int, version: str) -> dict:
        uuid = self.uuid()
        line = self.common(fs, ts, uuid, version)
        line["type"] = "user"
        text = self.pool.take(self.rng, self.rng.randint(20, 900))
        line["message"] = {"role": "user", "content": text}
        line["thinkingMetadata"] = {"level": "high", "disabled": False, "triggers": []}
        fs.last_uuid = uuid
        return line

    def tool_result(self, fs: FileState, ts: int, version: str, tool_id: str, size: int,
                    task: bool) -> dict:  # fmt: skip
        uuid = self.uuid()
        line = self.common(fs, ts, uuid, version)
        line["type"] = "user"
        out = self.pool.take(self.rng, size)
        line["message"] = {
            "role": "user",
            "content": [{"tool_use_id": tool_id, "type": "tool_result", "content": out}],
        }
        if task:
            # Task results carry the sub-agent's usage *outside* `message`: must not count.
            line["toolUseResult"] = {
                "status": "completed",
                "content": [{"type": "text", "text": out[:2000]}],
                "totalDurationMs": self.rng.randint(5_000, 400_000),
                "totalTokens": self.rng.randint(5_000, 90_000),
                "totalToolUseCount": self.rng.randint(1, 30),
                "usage": usage_dict(self.rng.randint(1, 20), self.rng.randint(50, 3_000),
                                    self.rng.randint(0, 9_000), self.rng.randint(0, 80_000)),
            }  # fmt: skip
        else:
            line["toolUseResult"] = {"stdout": out, "stderr": "", "interrupted": False,
                                     "isImage": False}  # fmt: skip
        fs.last_uuid = uuid
        return line

    def snapshot(self, fs: FileState, ts: int, big: bool) -> dict:
        n = self.rng.randint(200_000, 1_500_000) if big else self.rng.randint(1, 12)
        backups: dict[str, Any] = {}
        for i in range(self.rng.randint(1, 6)):
            backups[f"{fs.cwd}/src/module_{i}.py"] = {
                "backupFileName": self.hexid("", 16) + "@v2",
                "version": self.rng.randint(1, 9),
                "backupTime": iso(ts),
            }
        line = {
            "type": "file-history-snapshot",
            "messageId": self.uuid(),
            "snapshot": {"messageId": self.uuid(), "trackedFileBackups": backups,
                         "timestamp": iso(ts)},
            "isSnapshotUpdate": self.rng.random() < 0.3,
        }  # fmt: skip
        if big:
            # Real large snapshots embed whole file contents; a long string does the same job.
            line["snapshot"]["content"] = self.pool.take(self.rng, n)
        return line

    def usage_for(self, fs: FileState, model: str, new_tokens: int) -> dict:
        rng = self.rng
        cache_read = fs.context
        cache_create = new_tokens
        if rng.random() < 0.04:  # cache miss: everything written again
            cache_create, cache_read = cache_create + cache_read, 0
        input_tokens = rng.randint(1, 12) if rng.random() < 0.9 else rng.randint(13, 3_000)
        total = input_tokens + cache_create + cache_read
        if total > CONTEXT_LIMIT:  # keep every request ≤ 200k by default
            cache_read = max(0, CONTEXT_LIMIT - input_tokens - cache_create - rng.randint(0, 2000))
            total = input_tokens + cache_create + cache_read
            if total > CONTEXT_LIMIT:
                cache_create = CONTEXT_LIMIT - input_tokens - cache_read
        if model in SONNETS and self.long_context_share and rng.random() < self.long_context_share:
            cache_read = rng.randint(CONTEXT_LIMIT + 1_000, 700_000)
        output = int(rng.lognormvariate(5.6, 1.0))
        output = max(1, min(output, 32_000))
        one_hour = cache_create if fs.cache_1h else 0
        if fs.cache_1h and rng.random() < 0.1:
            one_hour = cache_create // 2
        u = usage_dict(input_tokens, output, cache_create, cache_read, cache_1h=one_hour)
        fs.context = min(COMPACT_AT + 20_000, cache_read + cache_create + output)
        return u

    def assistant(self, fs: FileState, ts: int, version: str, model: str, usage: dict,
                  blocks: list[dict], request_id: str | None) -> list[dict]:  # fmt: skip
        """One assistant message written Claude Code's way: a line per content block."""
        message_id = self.hexid("msg_01")
        lines = []
        n = len(blocks)
        for i, block in enumerate(blocks):
            last = i == n - 1
            part = dict(usage)
            if not last:  # earlier streaming copies carry a partial output count
                part["output_tokens"] = max(1, min(usage["output_tokens"], self.rng.randint(1, 12)))
            uuid = self.uuid()
            line = self.common(fs, ts + i * self.rng.randint(200, 3000), uuid, version)
            line["message"] = {
                "id": message_id, "type": "message", "role": "assistant", "model": model,
                "content": [block],
                "stop_reason": (("tool_use" if block["type"] == "tool_use" else "end_turn")
                                if last else None),
                "stop_sequence": None, "usage": part,
            }  # fmt: skip
            if request_id is not None:
                line["requestId"] = request_id
            line["type"] = "assistant"
            lines.append(line)
            fs.last_uuid = uuid
        return lines

    def synthetic(self, fs: FileState, ts: int, version: str, limit: bool) -> dict:
        uuid = self.uuid()
        line = self.common(fs, ts, uuid, version)
        line["type"] = "assistant"
        text = f"Claude AI usage limit reached|{ts // 1000 + 3 * 3600}" if limit else (
            "No response requested.")  # fmt: skip
        if limit:
            line["isApiErrorMessage"] = True
        line["message"] = {
            "id": self.uuid(), "model": "<synthetic>", "role": "assistant",
            "stop_reason": "stop_sequence", "stop_sequence": "", "type": "message",
            "usage": usage_dict(0, 0), "content": [{"type": "text", "text": text}],
        }  # fmt: skip
        fs.last_uuid = uuid
        return line

    def system_compact(self, fs: FileState, ts: int, version: str) -> dict:
        uuid = self.uuid()
        line = self.common(fs, ts, uuid, version)
        line["type"] = "system"
        line["subtype"] = "compact_boundary"
        line["content"] = "Conversation compacted"
        line["level"] = "info"
        line["compactMetadata"] = {"trigger": "auto", "preTokens": fs.context}
        fs.last_uuid = uuid
        return line

    def system_info(self, fs: FileState, ts: int, version: str) -> dict:
        uuid = self.uuid()
        line = self.common(fs, ts, uuid, version)
        line["type"] = "system"
        line["subtype"] = "informational"
        line["content"] = "PostToolUse:Edit hook completed"
        line["level"] = "info"
        fs.last_uuid = uuid
        return line

    def blocks_for(self, fs: FileState, tool: bool, cap: int) -> tuple[list[dict], str | None]:
        rng = self.rng
        cap = max(40, cap // 4)
        blocks: list[dict] = []
        if rng.random() < 0.35:
            blocks.append({"type": "thinking", "thinking": self.pool.take(rng, min(cap, rng.randint(80, 2500))),
                           "signature": self.hexid("Eq", 300)})  # fmt: skip
        if rng.random() < 0.7 or not tool:
            blocks.append({"type": "text", "text": self.pool.take(rng, min(cap, rng.randint(20, 1500)))})
        tool_id = None
        if tool:
            tool_id = self.hexid("toolu_01")
            name = rng.choice(("Read", "Bash", "Edit", "Grep", "Write", "Glob", "Task"))
            if name in ("Edit", "Write"):
                inp: dict[str, Any] = {"file_path": f"{fs.cwd}/src/app.py",
                                       "content": self.pool.take(rng, min(cap, rng.randint(100, 6000)))}
            elif name == "Task":
                inp = {"description": "Explore the codebase", "subagent_type": "Explore",
                       "prompt": self.pool.take(rng, min(cap, rng.randint(100, 800)))}
            else:
                inp = {"command": self.pool.take(rng, rng.randint(10, 200))}  # fmt: skip
            blocks.append({"type": "tool_use", "id": tool_id, "name": name, "input": inp})
        return blocks, tool_id

    # ---------- sessions ----------
    def write_session(self, fs: FileState, start_ts: int, budget: int, *,
                      prefix: list[bytes] | None = None, keep_prefix: int = 0,
                      append: bool = False, force_edges: bool = False,
                      ) -> tuple[int, list[bytes]]:  # fmt: skip
        """Write turns to `fs.path` until `budget` bytes; returns (end ts, first lines kept
        for a later resume, up to `keep_prefix` bytes)."""
        rng = self.rng
        path = self.root / fs.path
        path.parent.mkdir(parents=True, exist_ok=True)
        version = rng.choice(CLAUDE_VERSIONS)
        chunk: list[bytes] = []
        kept: list[bytes] = []
        kept_bytes = 0
        written = 0
        pending = 0

        def emit(obj: dict) -> None:
            nonlocal written, pending, kept_bytes
            data = orjson.dumps(obj) + b"\n"
            chunk.append(data)
            written += len(data)
            pending += len(data)
            if kept_bytes < keep_prefix:
                kept.append(data)
                kept_bytes += len(data)

        with open(path, "ab" if append else "wb") as out:

            def flush() -> None:
                nonlocal pending
                out.write(b"".join(chunk))
                chunk.clear()
                pending = 0

            if prefix:  # a resumed session starts by replaying earlier lines verbatim
                for data in prefix:
                    chunk.append(data)
                    written += len(data)
                if rng.random() < 0.7:
                    emit({"type": "summary", "summary": self.pool.take(rng, 60).strip(),
                          "leafUuid": self.uuid()})  # fmt: skip
            elif not append and rng.random() < 0.15:
                emit({"type": "summary", "summary": self.pool.take(rng, 60).strip(),
                      "leafUuid": self.uuid()})  # fmt: skip
            ts = start_ts
            turn = 0
            cap = max(600, budget // 3)
            while written < budget or (force_edges and turn < 3):
                ts += rng.randint(4_000, 150_000)
                if rng.random() < 0.25 or turn == 0:
                    emit(self.snapshot(fs, ts, big=budget > 4_000_000 and rng.random() < 0.03))
                emit(self.user_prompt(fs, ts, version))
                # one user prompt → a chain of requests, each (but the last) calling a tool
                steps = min(1 + int(rng.expovariate(1 / 4)), 25, 2 + budget // 5_000)
                new_tokens = rng.randint(200, 4_000) + (18_000 if turn == 0 and not append else 0)
                for step in range(steps):
                    model = fs.model
                    if rng.random() < 0.05 and fs.agent_id is None:
                        model = HAIKU  # quick helper calls inside a main session
                    tool = step < steps - 1
                    usage = self.usage_for(fs, model, new_tokens)
                    blocks, tool_id = self.blocks_for(fs, tool, cap)
                    no_request_id = rng.random() < 0.02 or (force_edges and turn < 2 and step == 0)
                    request_id = None if no_request_id else self.hexid("req_011C")
                    ts += rng.randint(1_500, 40_000)
                    for line in self.assistant(fs, ts, version, model, usage, blocks, request_id):
                        emit(line)
                    if fs.agent_id is None:
                        self.last_assistant[fs.session_id] = line
                    ts += len(blocks) * 3_000
                    if tool_id is not None:
                        size = self.tool_output_size(cap)
                        is_task = blocks[-1]["name"] == "Task"
                        emit(self.tool_result(fs, ts, version, tool_id, size, is_task))
                        new_tokens = min(60_000, 30 + size // 4)
                    if pending > 1 << 20:
                        flush()
                    if written >= budget and not force_edges:
                        break
                if rng.random() < 0.012 or (force_edges and turn == 0):
                    emit(self.synthetic(fs, ts + 500, version, limit=False))
                if rng.random() < 0.004 or (force_edges and turn == 1):
                    emit(self.synthetic(fs, ts + 900, version, limit=True))
                if rng.random() < 0.03 or (force_edges and turn == 0):
                    emit(self.system_info(fs, ts + 700, version))
                if fs.context > COMPACT_AT:
                    emit(self.system_compact(fs, ts + 1_000, version))
                    emit({"type": "summary", "summary": self.pool.take(rng, 80).strip(),
                          "leafUuid": fs.last_uuid})  # fmt: skip
                    fs.context = rng.randint(12_000, 30_000)
                turn += 1
            flush()
        fs.last_ts = ts
        self.bytes_written += written
        return ts, kept


def _file_plan(rng: random.Random, n_files: int) -> list[tuple[str, int]]:
    """(kind, parent index) per file: 'main', 'sub' (of the latest main) or 'resume' (of an
    earlier main). Roughly 65% main sessions, 25% sub-agent files, 10% resumes."""
    plan: list[tuple[str, int]] = []
    mains: list[int] = []
    while len(plan) < n_files:
        plan.append(("main", -1))
        mains.append(len(plan) - 1)
        me = len(plan) - 1
        if len(plan) < n_files and (rng.random() < 0.2 or len(mains) == 2):
            for _ in range(rng.randint(1, 3)):
                if len(plan) < n_files:
                    plan.append(("sub", me))
        if len(plan) < n_files and len(mains) > 1 and (rng.random() < 0.12 or len(mains) == 3):
            plan.append(("resume", rng.choice(mains[:-1])))
    return plan


def generate_corpus(
    root: Path, size_mb: float, files: int | None = None, seed: int = 7, *,
    long_context_share: float = 0.0, quiet: bool = True,
) -> Manifest:  # fmt: skip
    """Write a corpus of about `size_mb` MB in `files` files under `root`. Deterministic."""
    root = Path(root)
    total = int(size_mb * 1_000_000)
    n_files = files or max(4, round(size_mb * 10 / 3))
    writer = Writer(root, seed, long_context_share=long_context_share)
    rng = writer.rng
    plan = _file_plan(rng, n_files)
    # lognormal sizes like real sessions: most small, a few huge
    weights = [rng.lognormvariate(0, 1.1) * (0.5 if kind == "sub" else 1.0) for kind, _ in plan]
    scale = total / sum(weights) * 0.9  # files overshoot their budget by the last step
    budgets = [max(1_500, int(w * scale)) for w in weights]
    n_projects = max(2, min(len(PROJECT_NAMES), int(math.sqrt(n_files) * 1.5)))
    users = ("ana", "dev", "sam")
    cwds = [f"/home/{users[i % 3]}/{PROJECT_NAMES[i]}" for i in range(n_projects)]
    cwds += [f"/home/ana/{PROJECT_NAMES[0]}/packages/web", "/home/dev/my.proj_v2"]
    models, model_weights = zip(*MODEL_MIX, strict=True)
    manifest = Manifest(seed=seed, size_mb=size_mb)
    states: list[FileState] = []
    starts: list[int] = []
    ends: list[int] = []
    prefixes: dict[int, list[bytes]] = {}
    # a resume replays up to 60% of its own budget from its parent's first lines
    resumed = {parent: int(budgets[i] * 0.6) for i, (kind, parent) in enumerate(plan)
               if kind == "resume"}  # fmt: skip
    window_start = WINDOW_END_MS - WINDOW_DAYS * DAY_MS
    t0 = time.monotonic()
    n_mains = 0
    for index, (kind, parent) in enumerate(plan):
        force = index < 6  # the first sessions carry every edge case, even in tiny corpora
        if kind == "main":
            cwd = cwds[min(len(cwds) - 1, int(rng.paretovariate(1.2)) - 1)] if rng.random() < 0.5 \
                else rng.choice(cwds)  # fmt: skip
            session_id = writer.uuid()
            fs = FileState(path=f"projects/{encode_cwd(cwd)}/{session_id}.jsonl",
                           session_id=session_id, cwd=cwd,
                           model=rng.choices(models, model_weights)[0], last_ts=0,
                           last_uuid=None, cache_1h=rng.random() < 0.3)  # fmt: skip
            if n_mains < len(models):  # every model appears even in a tiny corpus
                fs.model = models[n_mains]
            n_mains += 1
            day = rng.randrange(WINDOW_DAYS)
            start = window_start + day * DAY_MS + rng.randint(6, 22) * 3_600_000
            start += rng.randrange(3_600_000)
            keep = resumed.get(index, 0)
            end, kept = writer.write_session(fs, start, budgets[index], keep_prefix=keep,
                                             force_edges=force)  # fmt: skip
            if keep:
                prefixes[index] = kept
        elif kind == "sub":
            main = states[parent]
            agent_id = writer.hexid("", 8).lower()
            fs = FileState(path=f"{main.path[:-6]}/subagents/agent-{agent_id}.jsonl",
                           session_id=main.session_id, cwd=main.cwd,
                           model=HAIKU if rng.random() < 0.5 else main.model, last_ts=0,
                           last_uuid=None, agent_id=agent_id)  # fmt: skip
            start = starts[parent] + rng.randrange(max(1, ends[parent] - starts[parent]))
            replay = None
            parent_line = writer.last_assistant.get(main.session_id)
            if parent_line is not None and (rng.random() < 0.15 or force):
                # a side question (/btw) replays the parent's message as a sidechain line
                # with a new requestId and a bigger context: counted once, as the parent's
                copy = dict(parent_line, isSidechain=True, requestId=writer.hexid("req_011C"))
                copy["message"] = dict(parent_line["message"])
                copy["message"]["usage"] = dict(parent_line["message"]["usage"])
                copy["message"]["usage"]["cache_read_input_tokens"] += rng.randint(1_000, 40_000)
                replay = [orjson.dumps(copy) + b"\n"]
            end, _ = writer.write_session(fs, start, budgets[index], prefix=replay,
                                          force_edges=force)  # fmt: skip
        else:
            main = states[parent]
            session_id = writer.uuid()
            fs = FileState(path=f"projects/{encode_cwd(main.cwd)}/{session_id}.jsonl",
                           session_id=session_id, cwd=main.cwd, model=main.model, last_ts=0,
                           last_uuid=None, cache_1h=main.cache_1h)  # fmt: skip
            start = ends[parent] + rng.randint(60_000, 3 * DAY_MS)
            end, _ = writer.write_session(fs, start, budgets[index], prefix=prefixes.get(parent),
                                          force_edges=force)  # fmt: skip
        states.append(fs)
        starts.append(start)
        ends.append(end)
        if not quiet and index % 100 == 99:
            mb = writer.bytes_written / 1e6
            print(f"  {index + 1}/{len(plan)} files, {mb:.0f} MB, {time.monotonic() - t0:.1f}s",
                  file=sys.stderr)  # fmt: skip
    manifest.files = states
    manifest.bytes_written = writer.bytes_written
    write_manifest(root, manifest)
    return manifest


def write_manifest(root: Path, manifest: Manifest) -> None:
    (Path(root) / MANIFEST).write_bytes(orjson.dumps(asdict(manifest)))


def read_manifest(root: Path) -> Manifest | None:
    path = Path(root) / MANIFEST
    if not path.is_file():
        return None
    raw = orjson.loads(path.read_bytes())
    files = [FileState(**f) for f in raw.pop("files")]
    return Manifest(files=files, **raw)


def append_corpus(root: Path, fraction: float = 0.01, *, new_files: int = 3,
                  seed: int | None = None) -> int:  # fmt: skip
    """Grow the corpus by ~`fraction` of its size the way live sessions do: new lines at the
    end of some existing files (continuing their sessions) plus a few new session files.
    Returns the bytes appended. Deterministic for the manifest and seed."""
    root = Path(root)
    manifest = read_manifest(root)
    if manifest is None:
        raise FileNotFoundError(f"{root / MANIFEST} not found: generate the corpus first")
    seed = manifest.seed * 1_000 + manifest.appends + 1 if seed is None else seed
    writer = Writer(root, seed, pool_seed=manifest.seed)
    rng = writer.rng
    target = max(5_000, int(manifest.bytes_written * fraction))
    mains = [f for f in manifest.files if f.agent_id is None]
    chosen = rng.sample(manifest.files, k=min(len(manifest.files), max(3, len(manifest.files) // 20)))
    per_file = target * 2 // 3 // max(1, len(chosen))
    for fs in chosen:
        writer.write_session(fs, fs.last_ts, per_file, append=True)
    models, model_weights = zip(*MODEL_MIX, strict=True)
    for _ in range(new_files):
        base = rng.choice(mains) if mains else None
        cwd = base.cwd if base else "/home/dev/new-project"
        session_id = writer.uuid()
        fs = FileState(path=f"projects/{encode_cwd(cwd)}/{session_id}.jsonl",
                       session_id=session_id, cwd=cwd,
                       model=rng.choices(models, model_weights)[0], last_ts=0, last_uuid=None)
        start = WINDOW_END_MS - rng.randrange(DAY_MS)
        writer.write_session(fs, start, target // 3 // max(1, new_files))
        manifest.files.append(fs)
    manifest.bytes_written += writer.bytes_written
    manifest.appends += 1
    write_manifest(root, manifest)
    return writer.bytes_written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dir", type=Path, help="corpus root (used as CLAUDE_CONFIG_DIR)")
    parser.add_argument("--size-mb", type=float, default=30.0)
    parser.add_argument("--files", type=int, default=None, help="number of .jsonl files")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--long-context-share", type=float, default=0.0,
                        help="share of Sonnet requests whose input exceeds 200k tokens")
    parser.add_argument("--append-fraction", type=float, default=None,
                        help="instead of generating, grow an existing corpus by this fraction")
    args = parser.parse_args(argv)
    t0 = time.monotonic()
    if args.append_fraction is not None:
        n = append_corpus(args.dir, args.append_fraction)
        print(f"appended {n / 1e6:.2f} MB to {args.dir} in {time.monotonic() - t0:.1f}s")
        return 0
    if (args.dir / "projects").exists() and any((args.dir / "projects").iterdir()):
        parser.error(f"{args.dir}/projects is not empty; use a fresh directory")
    m = generate_corpus(args.dir, args.size_mb, args.files, args.seed,
                        long_context_share=args.long_context_share, quiet=False)
    print(f"wrote {len(m.files)} files, {m.bytes_written / 1e6:.1f} MB to {args.dir} "
          f"in {time.monotonic() - t0:.1f}s")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
