"""Usage logged from anywhere: the record shape of seed 003, validated and redacted once for
every way in (`podium/logUsage`, `podium log`, the inbox folder, `podium.track`).

A record is an LLM call (`kind: "llm"`: agent, provider, model, taskType, taskDescription,
tokens, durationMs, sessionKey, status, errorMessage) or an external API call (`kind: "api"`:
agent, service, endpoint, statusCode, durationMs). `prompt` and `response` may be passed and are
dropped unread; free text (descriptions, error messages, endpoints, names) is kept only after
`podium.redact.scrub` (secrets, emails, user names in paths, private IPs, dollar amounts) and cut
short. An LLM call's tokens become an `entries` row with the record's key, so totals, budgets,
reports and exports count it like any CLI's usage; local providers (`lmstudio`, `ollama`, …)
cost $0; a model the price table does not know stays unpriced and is named, never $0.

Plain code, no pydantic: `podium log` and the inbox reader run in short CLI processes.
"""

from __future__ import annotations

import math
import os
import sqlite3
import time
import uuid
from datetime import UTC, datetime

from podium.errors import InvalidInput
from podium.redact import scrub

KINDS = ("llm", "api")
TASK_TYPES = ("build", "review", "chat", "heartbeat", "cron", "synthesis", "gateway")
#: providers that run on the user's machine: their calls cost nothing
LOCAL_PROVIDERS = frozenset({"lmstudio", "ollama", "llamacpp", "llama.cpp", "vllm", "local",
                             "localai", "mlx", "jan", "gpt4all"})  # fmt: skip
VIA = ("request", "cli", "inbox", "python")
ADAPTER = "log"  # entries.adapter of logged LLM calls
KEY_PREFIX = "log:"

MAX_ID = 128
MAX_NAME = 256  # agent, provider, model, taskType, sessionKey, service, status
MAX_TEXT = 200  # taskDescription, errorMessage: a short description is all that is kept
MAX_ENDPOINT = 512
MAX_SCRUB_INPUT = 16 * 1024  # longer text is cut (at a word) before scrubbing
TOKENS_MAX = 1_000_000_000  # per field of one call (as ingest bounds the CLIs' logs)
DURATION_MAX_MS = 7 * 86_400_000
COST_MAX_USD = 1e6
TS_MIN_MS = 0
TS_MAX_MS = 4_102_444_800_000  # 2100-01-01

#: camelCase field → attribute
_TOKEN_FIELDS = {
    "inputTokens": "input", "outputTokens": "output", "cacheReadTokens": "cache_read",
    "cacheWriteTokens": "cache_write", "cacheCreationTokens": "cache_write",
}  # fmt: skip
_NAME_FIELDS = {
    "agent": "agent", "provider": "provider", "model": "model", "taskType": "task_type",
    "sessionKey": "session_key", "status": "status", "service": "service",
}  # fmt: skip
_TEXT_FIELDS = {"taskDescription": "task_description", "errorMessage": "error_message"}
# Any other field (`prompt`, `response`, …) is ignored: never read, never stored.


class RecordError(InvalidInput):
    """A record that cannot be kept; `field` names the offending field."""


class LoggedRecord:
    """One validated, redacted record (attributes in snake_case)."""

    __slots__ = ("agent", "cache_read", "cache_write", "cost_usd", "cwd", "duration_ms",
                 "endpoint", "error_message", "id", "input", "kind", "model", "output",
                 "provider", "service", "session_key", "status", "status_code",
                 "task_description", "task_type", "ts", "via")  # fmt: skip
    # typed fields (annotations only, so __slots__ stays the storage); parse_record sets them
    id: str
    kind: str
    ts: int
    via: str
    agent: str | None
    provider: str | None
    model: str | None
    task_type: str | None
    task_description: str | None
    session_key: str | None
    status: str | None
    error_message: str | None
    service: str | None
    endpoint: str | None
    cwd: str | None
    duration_ms: int | None
    status_code: int | None
    cost_usd: float | None
    input: int
    output: int
    cache_read: int
    cache_write: int

    def __init__(self) -> None:
        for name in self.__slots__:
            setattr(self, name, None)
        self.input = self.output = self.cache_read = self.cache_write = 0

    @property
    def key(self) -> str:
        return KEY_PREFIX + self.id

    @property
    def local(self) -> bool:
        return (self.provider or "").lower() in LOCAL_PROVIDERS

    def entry_row(self, file_id: int) -> tuple:
        """The `entries` row (podium.usage.models.ENTRY_COLUMNS order) of an LLM call."""
        cost = 0.0 if self.local else self.cost_usd
        total = self.input + self.output + self.cache_write + self.cache_read
        return (self.key, file_id, self.ts, self.session_key, self.cwd, self.agent, self.model,
                self.input, self.output, self.cache_write, self.cache_read, None, None, total,
                None, None, cost, None, ADAPTER, 0)  # fmt: skip

    def record_row(self, file_id: int | None) -> tuple:
        return (self.key, self.kind, self.ts, self.via, self.agent, self.provider, self.model,
                self.task_type, self.task_description, self.session_key, self.status,
                self.error_message, self.duration_ms, self.service, self.endpoint,
                self.status_code, file_id)  # fmt: skip

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.__slots__}


RECORD_COLUMNS = (
    "key, kind, ts, via, agent, provider, model, task_type, task_description, session_key, "
    "status, error_message, duration_ms, service, endpoint, status_code, file_id"
)


def short_text(value: str, limit: int = MAX_TEXT) -> str:
    """Free text as kept: scrubbed (seed 003's categories, dollar amounts too), then cut."""
    if len(value) > MAX_SCRUB_INPUT:
        cut = value[:MAX_SCRUB_INPUT]
        space = max(cut.rfind(" "), cut.rfind("\n"))
        value = cut[:space] if space > 0 else ""  # a token cut in half could escape scrub
    text = " ".join(scrub(value, dollar_amounts=True).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_record(raw: object, *, via: str, kind: str | None = None,
                 now_ms: int | None = None) -> LoggedRecord:  # fmt: skip
    """Validate and redact one record; raises RecordError naming the field."""
    if not isinstance(raw, dict):
        raise RecordError("a record must be a JSON object", field="record")
    rec = LoggedRecord()
    rec.via = via if via in VIA else "inbox"
    if via == "inbox" and raw.get("via") == "python":  # written by podium.track
        rec.via = "python"
    rec.id = _id(raw.get("id"))
    rec.kind = kind or _kind(raw)
    rec.ts = _timestamp(raw.get("timestamp", raw.get("ts")), now_ms)
    for field, attr in _NAME_FIELDS.items():
        value = raw.get(field)
        if value is not None:
            setattr(rec, attr, short_text(_string(value, field), MAX_NAME) or None)
    for field, attr in _TEXT_FIELDS.items():
        value = raw.get(field)
        if value is not None:
            setattr(rec, attr, short_text(_string(value, field)) or None)
    endpoint = raw.get("endpoint")
    if endpoint is not None:
        # the query string is where tokens and personal data travel: the path is enough
        path = _string(endpoint, "endpoint").split("?", 1)[0].split("#", 1)[0]
        rec.endpoint = short_text(path, MAX_ENDPOINT) or None
    cwd = raw.get("cwd")
    if cwd is not None:  # kept as is: it attributes the call to an agent's worktree
        rec.cwd = os.path.normpath(_string(cwd, "cwd")) if cwd else None
    rec.duration_ms = _int(raw.get("durationMs"), "durationMs", DURATION_MAX_MS)
    if rec.kind == "llm":
        for field, attr in _TOKEN_FIELDS.items():
            value = _int(raw.get(field), field, TOKENS_MAX)
            if value is not None:
                setattr(rec, attr, value)
        if not rec.model:
            raise RecordError("an LLM record needs a model", field="model")
        cost = raw.get("costUSD")
        if cost is not None:
            if isinstance(cost, bool) or not isinstance(cost, int | float) or not (
                math.isfinite(cost) and 0 <= cost <= COST_MAX_USD
            ):
                raise RecordError(f"costUSD must be a number from 0 to {COST_MAX_USD:g}",
                                  field="costUSD")  # fmt: skip
            rec.cost_usd = float(cost)
    else:
        if not rec.service:
            raise RecordError("an API record needs a service", field="service")
        code = _int(raw.get("statusCode"), "statusCode", 999)
        if code is not None and code < 100:
            raise RecordError("statusCode must be an HTTP status (100–999)", field="statusCode")
        rec.status_code = code
    if rec.status is None:
        failed = rec.error_message or (rec.status_code is not None and rec.status_code >= 400)
        rec.status = "error" if failed else "success"
    return rec


def _kind(raw: dict) -> str:
    kind = raw.get("kind")
    if kind is None:  # seed 003's two calls: logLLM has a model, logAPI a service
        return "api" if raw.get("service") is not None and raw.get("model") is None else "llm"
    if kind not in KINDS:
        raise RecordError(f"kind must be one of {', '.join(KINDS)}", field="kind")
    return kind


def _id(value: object) -> str:
    if value is None:
        return uuid.uuid4().hex
    text = _string(value, "id").strip()
    if not text or len(text.encode("utf-8", "replace")) > MAX_ID:
        raise RecordError(f"id must be 1 to {MAX_ID} bytes", field="id")
    return text


def _string(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise RecordError(f"{field} must be a string", field=field)
    if "\x00" in value:
        raise RecordError(f"{field} must not contain a NUL character", field=field)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise RecordError(f"{field} is not valid UTF-8 (a lone surrogate)", field=field) from None
    return value


def _int(value: object, field: str, maximum: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
        raise RecordError(f"{field} must be a whole number from 0 to {maximum:,}", field=field)
    return value


def _timestamp(value: object, now_ms: int | None) -> int:
    if value is None:
        return now_ms if now_ms is not None else int(time.time() * 1000)
    if isinstance(value, bool):
        raise RecordError("timestamp must be ISO 8601 or ms since the epoch", field="timestamp")
    if isinstance(value, int | float) and math.isfinite(value):
        ms = int(value)
    elif isinstance(value, str):
        try:
            dt = datetime.fromisoformat(value.strip())
        except ValueError:
            raise RecordError(f"timestamp {value[:40]!r} is not ISO 8601",
                              field="timestamp") from None  # fmt: skip
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        ms = round(dt.timestamp() * 1000)
    else:
        raise RecordError("timestamp must be ISO 8601 or ms since the epoch", field="timestamp")
    if not TS_MIN_MS <= ms < TS_MAX_MS:
        raise RecordError("timestamp must fall between 1970 and 2100", field="timestamp")
    return ms


# -- writing ------------------------------------------------------------------------------------
def write_records(conn: sqlite3.Connection, records: list[LoggedRecord],
                  file_id: int | None = None) -> tuple[int, int]:  # fmt: skip
    """Insert inside the caller's transaction; a record id seen before is kept once (the first
    copy). Returns (new records, new usage entries)."""
    from podium.usage.models import ENTRY_COLUMNS

    if not records:
        return 0, 0
    # rowcount (sqlite3_changes) counts the rows a statement inserted itself, not the rows its
    # triggers wrote (the report buckets): ON CONFLICT DO NOTHING rows are not counted
    new = conn.executemany(
        f"INSERT INTO usage_records ({RECORD_COLUMNS}) VALUES ({', '.join('?' * 17)}) "
        "ON CONFLICT(key) DO NOTHING",
        [r.record_row(file_id) for r in records],
    ).rowcount
    llm = [r.entry_row(file_id or 0) for r in records if r.kind == "llm"]
    if not llm:
        return new, 0
    added = conn.executemany(
        f"INSERT INTO entries ({ENTRY_COLUMNS}) VALUES ({', '.join('?' * 20)}) "
        "ON CONFLICT(key) DO NOTHING",
        llm,
    ).rowcount
    return new, added
