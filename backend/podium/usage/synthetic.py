"""Builders for realistic Claude Code transcript lines (formats.md §1).

Shared by the fake agent, the benchmark corpus generator and the tests, so that everything
Podium is tested on is written the way Claude Code writes it: compact JSON, one object a line,
streamed assistant messages as several lines repeating `message.id` and `requestId`.
"""

from __future__ import annotations

import uuid as uuidlib
from datetime import UTC, datetime
from typing import Any

import orjson

CLAUDE_VERSION = "2.1.14"


def iso(ts_ms: int) -> str:
    """ms since epoch → `2026-10-03T09:14:05.870Z`."""
    dt = datetime.fromtimestamp(ts_ms / 1000, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts_ms % 1000:03d}Z"


def new_id(prefix: str = "") -> str:
    return prefix + uuidlib.uuid4().hex[:24]


def dumps(obj: dict[str, Any]) -> bytes:
    return orjson.dumps(obj) + b"\n"


def _common(session_id: str, cwd: str, ts_ms: int, uuid: str, parent: str | None) -> dict:
    return {
        "parentUuid": parent,
        "isSidechain": False,
        "userType": "external",
        "cwd": cwd,
        "sessionId": session_id,
        "version": CLAUDE_VERSION,
        "gitBranch": "main",
    } | {"uuid": uuid, "timestamp": iso(ts_ms)}


def user_line(
    session_id: str, cwd: str, ts_ms: int, text: str, *, parent: str | None = None,
    uuid: str | None = None, tool_result: str | None = None,
) -> dict:  # fmt: skip
    """A user turn (or a tool result when `tool_result` is given)."""
    content: Any = text
    if tool_result is not None:
        content = [{"tool_use_id": new_id("toolu_"), "type": "tool_result", "content": tool_result}]
    line = _common(session_id, cwd, ts_ms, uuid or str(uuidlib.uuid4()), parent)
    line["type"] = "user"
    line["message"] = {"role": "user", "content": content}
    return line


def usage_dict(
    input_tokens: int, output_tokens: int, cache_create: int = 0, cache_read: int = 0,
    *, cache_1h: int = 0,
) -> dict:  # fmt: skip
    return {
        "input_tokens": input_tokens,
        "cache_creation_input_tokens": cache_create,
        "cache_read_input_tokens": cache_read,
        "cache_creation": {
            "ephemeral_5m_input_tokens": cache_create - cache_1h,
            "ephemeral_1h_input_tokens": cache_1h,
        },
        "output_tokens": output_tokens,
        "service_tier": "standard",
    }


def assistant_lines(
    session_id: str, cwd: str, ts_ms: int, model: str, usage: dict, *,
    blocks: list[dict] | None = None, parent: str | None = None,
    message_id: str | None = None, request_id: str | None = "auto",
    streaming: bool = True,
) -> list[dict]:  # fmt: skip
    """One assistant message as Claude Code writes it: a line per content block, the earlier
    ones carrying partial `output_tokens`, the last the final usage. `request_id=None` omits
    `requestId` (as some older lines do)."""
    message_id = message_id or new_id("msg_01")
    if request_id == "auto":
        request_id = new_id("req_011C")
    blocks = blocks or [{"type": "text", "text": "Done."}]
    if not streaming:
        blocks = [blocks[-1]]
    lines = []
    for i, block in enumerate(blocks):
        last = i == len(blocks) - 1
        part = dict(usage)
        if not last:
            part["output_tokens"] = max(1, usage.get("output_tokens", 0) // (len(blocks) + 1))
        uuid = str(uuidlib.uuid4())
        line = _common(session_id, cwd, ts_ms + i * 350, uuid, parent)
        line["message"] = {
            "id": message_id,
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [block],
            "stop_reason": ("tool_use" if block.get("type") == "tool_use" else "end_turn")
            if last
            else None,
            "stop_sequence": None,
            "usage": part,
        }
        if request_id is not None:
            line["requestId"] = request_id
        line["type"] = "assistant"
        lines.append(line)
        parent = uuid
    return lines


def summary_line(text: str, leaf: str) -> dict:
    return {"type": "summary", "summary": text, "leafUuid": leaf}


def limit_error_line(session_id: str, cwd: str, ts_ms: int, reset_epoch: int) -> dict:
    """The assistant line Claude Code writes when the plan's usage limit is hit."""
    line = _common(session_id, cwd, ts_ms, str(uuidlib.uuid4()), None)
    line["type"] = "assistant"
    line["isApiErrorMessage"] = True
    line["message"] = {
        "id": new_id("msg_01"),
        "type": "message",
        "role": "assistant",
        "model": "<synthetic>",
        "content": [{"type": "text", "text": f"Claude AI usage limit reached|{reset_epoch}"}],
        "stop_reason": "stop_sequence",
        "stop_sequence": "",
        "usage": usage_dict(0, 0),
    }
    return line
