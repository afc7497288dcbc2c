"""What the fake agent says and reads in a session, as Claude Code 2.1.328 shapes it
(docs/claude-code.md; tests/fixtures/claude_real has real recordings): its stdin messages, the
`rate_limit_event` of a subscription, the transcript's `api_error` line of a retried 429, and
the cost a `--resume` carries on. Pure functions; standard library only (the fake starts fast).
"""

from __future__ import annotations

import argparse
import json
import re
import uuid
from pathlib import Path
from typing import Any

#: $/token of the fake's model (Sonnet 4.5): input, output, 5-minute cache write, cache read
PRICES = {"input_tokens": 3e-6, "output_tokens": 15e-6, "cache_creation_input_tokens": 3.75e-6,
          "cache_read_input_tokens": 0.3e-6}  # fmt: skip
RATE_LIMIT_TEXT = "429 Number of requests has exceeded your rate limit."


def cost(usage: dict) -> float:
    return sum(int(usage.get(key, 0)) * price for key, price in PRICES.items())


def fractions(text: str) -> tuple[float, float]:
    """`0.67,0.21` → the 5-hour and 7-day utilisation (0–1); an argparse type."""
    try:
        five, seven = (float(x) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError("expected FIVE_HOUR,SEVEN_DAY, e.g. 0.67,0.21") from None
    if not (0 <= five <= 1 and 0 <= seven <= 1):
        raise argparse.ArgumentTypeError("utilisations are fractions between 0 and 1")
    return five, seven


def last_step(cwd: str, folder: str) -> int:
    """The highest step file number already in `cwd/folder` (a resumed session goes on)."""
    numbers = [int(m.group(1)) for p in (Path(cwd) / folder).glob("step_*.py")
               if (m := re.fullmatch(r"step_(\d+)\.py", p.name))]  # fmt: skip
    return max(numbers, default=0)


def message_text(line: bytes) -> str | None:
    """The text of one `--input-format stream-json` line; None when it is no user message."""
    try:
        obj = json.loads(line)
    except ValueError:
        return None
    message = obj.get("message") if isinstance(obj, dict) and obj.get("type") == "user" else None
    content = message.get("content") if isinstance(message, dict) else None
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(b.get("text", "") for b in content
                         if isinstance(b, dict) and b.get("type") == "text")  # fmt: skip
    return None


def rate_limit_info(five: float, seven: float, now: int) -> dict[str, Any]:
    """`rate_limit_event.rate_limit_info` for these utilisations (resets 2 h 13 min / 3 days
    ahead)."""

    def window(used: float, resets: int) -> dict[str, Any]:
        status = "rejected" if used >= 1 else "allowed_warning" if used >= 0.5 else "allowed"
        return {"utilization": used, "resetsAt": resets, "status": status}

    return {"status": "rejected" if max(five, seven) >= 1 else "allowed",
            "rateLimitType": "five_hour", "isUsingOverage": False,
            "unifiedWindows": {"five_hour": window(five, now + 2 * 3600 + 13 * 60),
                               "seven_day": window(seven, now + 3 * 86400)}}  # fmt: skip


def api_error_line(common: dict[str, Any], request_id: str, attempt: int,
                   delay_ms: int) -> dict[str, Any]:  # fmt: skip
    """The transcript's `system/api_error` line of one retried 429 (`common`: parentUuid,
    timestamp, cwd, sessionId, version)."""
    return common | {
        "type": "system", "subtype": "api_error", "level": "error", "isSidechain": False,
        "error": {"status": 429, "requestId": request_id, "formatted": RATE_LIMIT_TEXT},
        "retryInMs": delay_ms, "retryAttempt": attempt, "maxRetries": 10,
        "uuid": str(uuid.uuid4()),
    }  # fmt: skip


def restore(transcript: Path) -> tuple[float, str | None]:
    """(total cost, last line's uuid) of a session's transcript: `claude --resume` carries the
    last `cost-state` total on and continues from the last line."""
    total, parent = 0.0, None
    try:
        lines = transcript.read_bytes().splitlines()
    except OSError:
        return total, parent
    for raw in lines:
        try:
            line = json.loads(raw)
        except ValueError:
            continue
        if not isinstance(line, dict):
            continue
        if line.get("type") == "cost-state" and isinstance(line.get("totalCostUSD"), int | float):
            total = float(line["totalCostUSD"])
        elif isinstance(line.get("uuid"), str):
            parent = line["uuid"]
    return total, parent
