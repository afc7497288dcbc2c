"""`podium log`: log an LLM or API call (or a file of them) into the store.

    podium log llm --agent brunel --provider openai --model gpt-4o --task-type build \\
        --description "Building the dashboard" --input 1200 --output 3400 --duration-ms 8500
    podium log api --agent scout --service serpapi --endpoint /search --status-code 200
    podium log --file calls.jsonl        # JSON lines, or one JSON array; `-` reads stdin

Every record is validated and redacted as the other ways in (podium.usage.records); a bad
record is named with its field and the others are kept (exit status 1 when any was bad).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from podium.usage.cli_common import open_store

if TYPE_CHECKING:  # typing-only: `podium log` is a short CLI process, start-up counts
    from typing import TypedDict

    from podium.usage.records import LoggedRecord

    class _ErrorInfo(TypedDict):
        index: int
        field: str | None
        message: str


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("kind", nargs="?", choices=("llm", "api"),
                        help="one call from the options below (omit with --file)")  # fmt: skip
    parser.add_argument("--file", help="records as JSON lines or a JSON array ('-': stdin)")
    parser.add_argument("--db", help="store path (default: $PODIUM_DB or the user data dir)")
    parser.add_argument("--json", action="store_true", help="print the outcome as JSON")
    common = parser.add_argument_group("both kinds")
    common.add_argument("--agent")
    common.add_argument("--task-type", help="build, review, chat, heartbeat, cron, synthesis, "
                        "gateway or any word")  # fmt: skip
    common.add_argument("--duration-ms", type=int)
    common.add_argument("--session", dest="session_key", help="session key")
    common.add_argument("--status", help="success (default) or error")
    common.add_argument("--error", dest="error_message", help="error message (kept redacted)")
    common.add_argument("--timestamp", help="ISO 8601 (default: now)")
    common.add_argument("--id", help="record id: logging the same id again counts it once")
    llm = parser.add_argument_group("llm")
    llm.add_argument("--provider", help="anthropic, openai, google, lmstudio, ollama, …")
    llm.add_argument("--model")
    llm.add_argument("--description", dest="task_description", help="kept redacted, short")
    llm.add_argument("--input", dest="input_tokens", type=int, default=0)
    llm.add_argument("--output", dest="output_tokens", type=int, default=0)
    llm.add_argument("--cache-read", dest="cache_read_tokens", type=int, default=0)
    llm.add_argument("--cache-write", dest="cache_write_tokens", type=int, default=0)
    llm.add_argument("--cost", dest="cost_usd", type=float, help="the call's own cost in USD")
    llm.add_argument("--cwd", help="working directory (attributes the call to an agent)")
    api = parser.add_argument_group("api")
    api.add_argument("--service")
    api.add_argument("--endpoint")
    api.add_argument("--status-code", type=int)


_FIELDS = {  # option dest → record field
    "agent": "agent", "task_type": "taskType", "duration_ms": "durationMs",
    "session_key": "sessionKey", "status": "status", "error_message": "errorMessage",
    "timestamp": "timestamp", "id": "id", "provider": "provider", "model": "model",
    "task_description": "taskDescription", "input_tokens": "inputTokens",
    "output_tokens": "outputTokens", "cache_read_tokens": "cacheReadTokens",
    "cache_write_tokens": "cacheWriteTokens", "cost_usd": "costUSD", "cwd": "cwd",
    "service": "service", "endpoint": "endpoint", "status_code": "statusCode",
}  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from podium.usage.records import RecordError, parse_record, write_records

    if (args.kind is None) == (args.file is None):
        print("podium log: give a kind (llm or api) or --file", file=sys.stderr)
        return 2
    try:
        raws = _from_file(args.file) if args.file else [_from_options(args)]
    except OSError as exc:  # not "[Errno 2] No such file or directory: 'x'"
        print(f"podium log: cannot read {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except UnicodeDecodeError:
        print(f"podium log: {args.file} is not UTF-8 text (JSON lines or a JSON array)",
              file=sys.stderr)  # fmt: skip
        return 2
    except ValueError as exc:
        print(f"podium log: {args.file or 'the options'}: {exc}", file=sys.stderr)
        return 2
    records: list[LoggedRecord] = []
    errors: list[_ErrorInfo] = []
    for index, raw in enumerate(raws):
        if isinstance(raw, _BadLine):
            errors.append({"index": index, "field": "line", "message": raw.message})
            continue
        try:
            records.append(parse_record(raw, via="cli", kind=args.kind))
        except RecordError as exc:
            errors.append({"index": index, "field": exc.field, "message": str(exc)})
    with open_store(args) as store, store.transaction() as conn:
        new, _ = write_records(conn, records)
    outcome = {"accepted": len(records), "new": new, "duplicates": len(records) - new,
               "errors": errors}  # fmt: skip
    if args.json:
        print(json.dumps(outcome))
    else:
        for err in errors:
            print(f"podium log: record {err['index'] + 1}: {err['field']}: {err['message']}",
                  file=sys.stderr)  # fmt: skip
        dup = f" ({outcome['duplicates']} already logged)" if outcome["duplicates"] else ""
        print(f"logged {new} record{'s' if new != 1 else ''}{dup}"
              + (f", {len(errors)} rejected" if errors else ""))  # fmt: skip
    return 1 if errors else 0


def _from_options(args: argparse.Namespace) -> dict:
    raw = {field: getattr(args, dest) for dest, field in _FIELDS.items()
           if getattr(args, dest) is not None}  # fmt: skip
    if args.kind == "api":
        for field in ("inputTokens", "outputTokens", "cacheReadTokens", "cacheWriteTokens"):
            raw.pop(field, None)
    return raw


class _BadLine:
    def __init__(self, message: str) -> None:
        self.message = message


def _from_file(path: str) -> list:
    """The records of a JSON array, or of JSON lines (a line that is not JSON is a bad
    record, not the end of the batch)."""
    if path == "-":
        text = sys.stdin.read()
    else:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    stripped = text.lstrip()
    if stripped.startswith("["):
        data = json.loads(stripped)
        return list(data)
    out: list = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                out.append(json.loads(line))
            except ValueError as exc:
                out.append(_BadLine(f"line {number} is not JSON: {exc}"))
    return out
