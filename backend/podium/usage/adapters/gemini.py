"""Gemini CLI chat logs: `~/.gemini/tmp/<project>/chats/session-<time>-<id8>.jsonl`, and a
sub-agent's `chats/<parent session>/<session>.jsonl` (`$GEMINI_CLI_HOME` replaces `~`).

Checked against files the real Gemini CLI 0.61.0 wrote (tests/fixtures/gemini_real). A file
is JSON lines: a header `{sessionId, projectHash, startTime, lastUpdated, kind}`, then message
records (`{id, timestamp, type, content, …}`), `{"$set": {...}}` metadata updates and
`{"$rewindTo": id}`. A model reply is `type: "gemini"` with `model` and `tokens {input, output,
cached, thoughts, tool, total}` straight from the API's usageMetadata: `input` is the prompt
*including* `cached`, `thoughts` are billed as output, `tool` is the tool-use prompt, billed as
input (`total` = input + output + thoughts + tool). A message is appended again when it
changes (tokens arrive after the text), so entries are keyed by message id and the copy with
the most tokens wins. `$set.messages` re-lists messages already recorded (no new usage), and a
rewound message's call still happened: both are left as they are. The CLI's routing and other
utility calls (a flash-lite model) are not in these files: their tokens are not seen.
`<project>/.project_root` holds the working directory (attributes usage to an agent's worktree).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from podium.usage.adapters.base import LineError, LogAdapter, LogFile
from podium.usage.adapters.stateful import below, count, timestamp_ms, walk_jsonl
from podium.usage.models import UsageEntry

UNKNOWN_MODEL = "gemini-unknown-model"


def gemini_dirs(homes: list[str] | None = None) -> list[str]:
    """The `.gemini/tmp` folders: under each given home, else `$GEMINI_CLI_HOME` or `~`."""
    if not homes:
        homes = [os.environ.get("GEMINI_CLI_HOME", "").strip() or "~"]
    return [os.path.join(os.path.normpath(os.path.expanduser(h)), ".gemini", "tmp")
            for h in homes if h.strip()]  # fmt: skip


class GeminiAdapter(LogAdapter):
    name = "gemini"
    needle = b'"tokens"'

    def __init__(self, homes: list[str] | None = None) -> None:
        self._homes = homes
        self._sessions: dict[str, str] = {}  # file → its header's sessionId
        self._cwds: dict[str, str | None] = {}  # project dir → the cwd in .project_root

    def roots(self) -> list[str]:
        return gemini_dirs(self._homes)

    def log_dirs(self) -> list[str]:
        return self.roots()

    def watch_dirs(self) -> list[str]:
        return [d for d in self.roots() if os.path.isdir(d)]

    def discover(self) -> Iterator[LogFile]:
        for tmp in self.roots():
            try:
                projects = list(os.scandir(tmp))
            except OSError:
                continue
            for project in projects:
                chats = os.path.join(project.path, "chats")
                if project.is_dir(follow_symlinks=False) and os.path.isdir(chats):
                    for path in walk_jsonl(chats):
                        yield LogFile(path, project.name)

    def log_file_for(self, path: str | os.PathLike[str]) -> LogFile | None:
        path = os.path.normpath(os.fspath(path))
        if not path.endswith(".jsonl"):
            return None
        for tmp in self.roots():
            rel = below(path, tmp)
            parts = rel.split(os.sep) if rel else []
            if len(parts) >= 3 and parts[1] == "chats":
                return LogFile(path, parts[0])
        return None

    def parse_line(self, line: bytes, log: LogFile, offset: int) -> UsageEntry | None:
        import orjson

        obj = orjson.loads(line)
        if type(obj) is not dict:
            raise LineError("line is not a JSON object")
        tokens = obj.get("tokens")
        if obj.get("type") != "gemini" or type(tokens) is not dict:
            return None  # a user message, a `$set` update, a reply without tokens yet
        message_id = obj.get("id")
        if type(message_id) is not str or not message_id:
            raise LineError("gemini message without an id")
        ts = timestamp_ms(obj.get("timestamp"))
        prompt = count(tokens.get("input"), "tokens.input")
        cached = min(count(tokens.get("cached"), "tokens.cached"), prompt)
        output = count(tokens.get("output"), "tokens.output")
        thoughts = count(tokens.get("thoughts"), "tokens.thoughts")
        tool = count(tokens.get("tool"), "tokens.tool")
        if not (prompt or output or thoughts or tool):
            return None
        model = obj.get("model")
        cwd = self._cwd(log)
        return UsageEntry(
            f"gemini:{message_id}", ts, self._session(log), cwd, cwd,
            model if type(model) is str and model else UNKNOWN_MODEL,
            prompt - cached + tool, output + thoughts, 0, cached, message_id=message_id,
        )  # fmt: skip

    def _session(self, log: LogFile) -> str:
        """The header's sessionId (read once per file), else the file's name."""
        session = self._sessions.get(log.name)
        if session is None:
            session = _header_session(log.name) or os.path.basename(log.name)[: -len(".jsonl")]
            self._sessions[log.name] = session
        return session

    def _cwd(self, log: LogFile) -> str | None:
        chats = log.name.rfind(f"{os.sep}chats{os.sep}")
        project_dir = log.name[:chats] if chats > 0 else os.path.dirname(log.name)
        if project_dir not in self._cwds:
            try:
                with open(os.path.join(project_dir, ".project_root"), encoding="utf-8") as fh:
                    self._cwds[project_dir] = fh.read(4096).strip() or None
            except (OSError, UnicodeDecodeError):
                self._cwds[project_dir] = None  # older layouts (a hash) do not say
        return self._cwds[project_dir]


def _header_session(path: str) -> str | None:
    import orjson

    try:
        with open(path, "rb") as fh:
            first = fh.readline(1 << 16)
        header = orjson.loads(first)
    except (OSError, ValueError):
        return None
    session = header.get("sessionId") if type(header) is dict else None
    return session if type(session) is str and session else None
