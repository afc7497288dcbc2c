"""Claude Code transcripts: `<root>/projects/<encoded-cwd>/<session>.jsonl` and
`<root>/projects/<encoded-cwd>/<session>/subagents/agent-<id>.jsonl`.

Parsing mirrors ccusage v20 so reports agree with it to the token: any line whose `message`
carries `usage` counts (not only `type: assistant`), `<synthetic>` messages are dropped, and
the dedupe key is `message.id` + `requestId` (details in `parse_line`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

from podium.usage.adapters.base import (
    Bounds,
    LineError,
    LogAdapter,
    LogFile,
    OutOfRange,
    check_cost,
    check_timestamp,
    check_tokens,
)
from podium.usage.models import UsageEntry

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from podium.usage.reported import ReportedCost

try:  # the C scanner (podium/usage/_scan.c); optional, parse_line is the reference
    from podium.usage import _scan

    _scan.set_bounds(Bounds.TOKENS_MAX, Bounds.TS_MIN_MS, Bounds.TS_MAX_MS, Bounds.COST_DIGITS)
except ImportError:  # pragma: no cover - only without a compiler at install time
    # a module or None: no annotation says that, so the checker is told here once
    _scan = None  # type: ignore[assignment]

SYNTHETIC_MODEL = "<synthetic>"


def claude_roots(config_dirs: list[str] | None = None) -> list[str]:
    """Roots holding `projects/`: the explicit list, else `CLAUDE_CONFIG_DIR` (comma-separated),
    else both `$XDG_CONFIG_HOME/claude` and `~/.claude`."""
    if config_dirs:
        return [_norm(p) for p in config_dirs if p.strip()]
    env = os.environ.get("CLAUDE_CONFIG_DIR", "").strip()
    if env:
        return [_norm(p.strip()) for p in env.split(",") if p.strip()]
    home = os.path.expanduser("~")
    xdg = os.environ.get("XDG_CONFIG_HOME", "").strip() or os.path.join(home, ".config")
    return [os.path.join(_norm(xdg), "claude"), os.path.join(home, ".claude")]


def _norm(path: str) -> str:
    return os.path.normpath(os.path.expanduser(path))


def encode_cwd(cwd: str) -> str:
    """Claude Code's project directory name for a working directory (lossy)."""
    return "".join(c if c.isascii() and c.isalnum() else "-" for c in cwd)


def parse_timestamp_ms(value: str) -> int:
    """ISO 8601 (`2026-10-03T09:14:05.870Z`) → ms since epoch."""
    dt = datetime.fromisoformat(value)  # accepts the trailing Z since Python 3.11
    if dt.tzinfo is None:  # Claude Code always writes UTC; be lenient with old files
        dt = dt.replace(tzinfo=UTC)
    return round(dt.timestamp() * 1000)


def _int(value: object, field: str) -> int:
    if value is None:
        return 0
    if isinstance(value, bool):
        raise LineError(f"{field} is not a number")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, float) and value - value != 0:  # ±inf (1e400 parses as inf)
        raise OutOfRange(f"{field} is {value}")
    raise LineError(f"{field} is not an integer: {value!r}")


class ClaudeCodeAdapter(LogAdapter):
    name = "claude"
    needle = b'"usage"'  # the key, whatever spacing follows (see LogAdapter.needle)

    def __init__(self, config_dirs: list[str] | None = None) -> None:
        self._config_dirs = config_dirs

    def roots(self) -> list[str]:
        return claude_roots(self._config_dirs)

    def discover(self) -> Iterator[LogFile]:
        seen: set[str] = set()
        for root in self.roots():
            projects = os.path.join(root, "projects")
            if not os.path.isdir(projects):
                continue
            real = os.path.realpath(projects)
            if real in seen:
                continue
            seen.add(real)
            yield from _walk_jsonl(projects)

    def log_file_for(self, path: str | os.PathLike[str]) -> LogFile | None:
        path = os.path.normpath(os.fspath(path))
        if not path.endswith(".jsonl"):
            return None
        for root in self.roots():
            projects = os.path.join(root, "projects")
            rel = _relative_to(path, projects)
            if rel is None:
                try:
                    rel = _relative_to(os.path.realpath(path), os.path.realpath(projects))
                except OSError:
                    rel = None
            if rel is None:
                continue
            parts = rel.split(os.sep)
            return LogFile(path, parts[0] if len(parts) > 1 else None)
        return None

    @property
    def scan_native(self) -> Callable[..., tuple] | None:
        """`scan(fd, offset, limit, max_line, chunk_size, file_id, log)` reading complete
        lines natively into `UsageEntry.as_row` tuples, or None when the C scanner is not
        built. Lines it cannot decide come back as (offset, bytes) for `parse_line`."""
        if _scan is None:
            return None
        return self._scan_native

    def _scan_native(self, fd: int, offset: int, limit: int, max_line: int, chunk_size: int,
                     file_id: int, log: LogFile, end: int = -1) -> tuple:  # fmt: skip
        return _scan.scan_claude(
            fd, offset, limit, max_line, chunk_size, self.needle, file_id, log.project,
            self.name, _file_session(log.name), log.name, end,
        )  # fmt: skip

    def prefetch_native(self, logs: list[LogFile], offsets: list[int], limit: int,
                        max_line: int, chunk_size: int, max_held: int, threads: int = 1,
                        ends: list[int] | None = None,
                        ) -> Callable[[int, LogFile], tuple] | None:  # fmt: skip
        """Scan these files from these offsets on native threads (no GIL) while the caller
        handles earlier ones. Returns `next_chunk(file_id, log)` giving each file's first
        `_scan_native` result in file order, or None without the C scanner."""
        if _scan is None or not hasattr(_scan, "Prefetcher"):
            return None
        prefetcher = _scan.Prefetcher([log.name for log in logs], offsets, limit, max_line,
                                      chunk_size, self.needle, max_held, threads,
                                      ends)  # fmt: skip
        name = self.name

        def next_chunk(file_id: int, log: LogFile) -> tuple:
            return prefetcher.next(file_id, log.project, name, _file_session(log.name), log.name)

        return next_chunk

    def last_reported_cost(self, log: LogFile, start: int, end: int) -> ReportedCost | None:
        """Claude Code's own figure from the last `cost-state` line in the file's complete
        lines [start, end) (a `ReportedCost`), or None. Claude Code writes it as the last
        line when the session's process exits, so only the end of the new bytes is read."""
        from podium.usage.reported import last_line_in_tail

        return last_line_in_tail(log.name, start, end, b'"cost-state"', parse_cost_state)

    def parse_line(self, line: bytes, log: LogFile, offset: int) -> UsageEntry | None:
        import orjson  # here, not at the top: the native scanner rarely needs it (~15 ms)

        obj = orjson.loads(line)
        if type(obj) is not dict:
            raise LineError("line is not a JSON object")
        message = obj.get("message")
        if type(message) is not dict:
            return None
        usage = message.get("usage")
        if type(usage) is not dict:
            return None
        model = message.get("model")
        if model == SYNTHETIC_MODEL:
            return None
        ts_raw = obj.get("timestamp")
        if type(ts_raw) is not str:
            raise LineError("usage line without a timestamp")
        try:
            ts = parse_timestamp_ms(ts_raw)
        except (ValueError, OverflowError) as exc:
            raise LineError(f"bad timestamp {ts_raw!r}") from exc
        check_timestamp(ts)
        if "input_tokens" not in usage or "output_tokens" not in usage:
            raise LineError("usage without input_tokens/output_tokens")
        i = usage["input_tokens"]
        o = usage["output_tokens"]
        cc = usage.get("cache_creation_input_tokens", 0)
        cr = usage.get("cache_read_input_tokens", 0)
        if not (type(i) is int and type(o) is int and type(cc) is int and type(cr) is int):
            i, o = _int(i, "input_tokens"), _int(o, "output_tokens")
            cc, cr = _int(cc, "cache_creation"), _int(cr, "cache_read")
        message_id = message.get("id")
        request_id = obj.get("requestId")
        session_id = obj.get("sessionId")
        if type(session_id) is not str or not session_id:
            session_id = _file_session(log.name)
        # Dedupe keys as the ccusage 20.0.24 binary computes them (probed line by line, see
        # docs/pricing.md): message id + request id; without a request id, message id +
        # session id + timestamp; without a message id nothing is deduplicated (keyed by
        # position, so re-reading the line never counts it twice).
        if type(message_id) is not str or not message_id:
            message_id = None
            key = f"@{log.name}:{offset}"
        elif type(request_id) is str and request_id:
            key = f"{message_id}:{request_id}"
        else:
            request_id = None
            key = f"{message_id}:~{session_id}:{ts_raw}"
        split = usage.get("cache_creation")
        cache_5m = cache_1h = None
        if type(split) is dict:
            cache_5m = _int(split.get("ephemeral_5m_input_tokens"), "ephemeral_5m_input_tokens")
            cache_1h = _int(split.get("ephemeral_1h_input_tokens"), "ephemeral_1h_input_tokens")
            check_tokens(i, o, cc, cr, cache_5m, cache_1h)
        else:
            check_tokens(i, o, cc, cr)
        cost = obj.get("costUSD")
        cost_usd = float(cost) if type(cost) is int or type(cost) is float else None  # no bool
        if cost_usd is not None:
            check_cost(cost_usd)
        cwd = obj.get("cwd")
        speed = usage.get("speed")
        return UsageEntry(
            key, ts,
            session_id,
            cwd if type(cwd) is str else None,
            log.project,
            model if type(model) is str else None,
            i, o, cc, cr, cache_5m, cache_1h, message_id, request_id,
            cost_usd,
            speed if type(speed) is str else None,
            obj.get("isSidechain") is True,
        )  # fmt: skip


def parse_cost_state(line: bytes) -> ReportedCost | None:
    """Claude Code's own cost line (2.1.3xx), written when a session's process exits:
    `{"type":"cost-state","sessionId","totalCostUSD","modelUsage":{model:{…,"costUSD"}},
    "hasUnknownModelCost"}` → a `ReportedCost`, None when the line is not one (or is bad)."""
    import orjson

    from podium.usage.reported import ReportedCost

    try:
        obj = orjson.loads(line)
        if type(obj) is not dict or obj.get("type") != "cost-state":
            return None
        usage = obj.get("modelUsage")
        models = {m: u["costUSD"] for m, u in usage.items()
                  if type(u) is dict and "costUSD" in u} if type(usage) is dict else {}  # fmt: skip
        return ReportedCost(obj.get("sessionId"), obj.get("totalCostUSD"), models, "cost-state",
                            unknown_cost=obj.get("hasUnknownModelCost") is True)  # fmt: skip
    except ValueError:  # orjson.JSONDecodeError is one; so are bad figures
        return None


def _file_session(path: str) -> str:
    """The session a transcript file belongs to: `<session>.jsonl`, or the `<session>/`
    directory of `<session>/subagents/agent-<id>.jsonl`."""
    parent, name = os.path.split(path)
    if os.path.basename(parent) == "subagents":
        return os.path.basename(os.path.dirname(parent))
    stem, _ = os.path.splitext(name)
    return stem


def _relative_to(path: str, parent: str) -> str | None:
    """`path` relative to `parent` when it lies below it (both normalised), else None."""
    prefix = parent.rstrip(os.sep) + os.sep
    return path[len(prefix):] if path.startswith(prefix) else None


def _walk_jsonl(projects: str) -> Iterator[LogFile]:
    """Every `*.jsonl` below `projects/`, with the project directory name attached."""
    try:
        top = list(os.scandir(projects))
    except OSError:
        return
    for project_dir in top:
        if not project_dir.is_dir(follow_symlinks=False):
            if project_dir.name.endswith(".jsonl"):
                yield LogFile(project_dir.path, None)
            continue
        stack = [project_dir.path]
        while stack:
            current = stack.pop()
            try:
                it = list(os.scandir(current))
            except OSError:
                continue
            for item in it:
                if item.is_dir(follow_symlinks=False):
                    stack.append(item.path)
                elif item.name.endswith(".jsonl"):
                    yield LogFile(item.path, project_dir.name)
