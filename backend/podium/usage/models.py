"""The usage record every adapter produces."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class UsageEntry:
    """One model response's token usage, as logged by the agent.

    `key` is the dedupe key: the same response logged twice (streaming copies, resumed
    sessions) has the same key, and the copy with the largest `total` wins.
    """

    key: str
    ts: int  # ms since epoch, UTC
    session_id: str | None
    cwd: str | None
    project: str | None
    model: str | None
    input: int
    output: int
    cache_create: int
    cache_read: int
    cache_5m: int | None = None
    cache_1h: int | None = None
    message_id: str | None = None
    request_id: str | None = None
    cost_logged: float | None = None
    speed: str | None = None
    #: a sub-agent's line (`isSidechain`); see the replay rule in podium.usage.ingest
    sidechain: bool = False

    @property
    def total(self) -> int:
        return self.input + self.output + self.cache_create + self.cache_read

    def as_row(self, file_id: int, adapter: str) -> tuple:
        return (
            self.key, file_id, self.ts, self.session_id, self.cwd, self.project, self.model,
            self.input, self.output, self.cache_create, self.cache_read, self.cache_5m,
            self.cache_1h, self.total, self.message_id, self.request_id, self.cost_logged,
            self.speed, adapter, int(self.sidechain),
        )  # fmt: skip


ENTRY_COLUMNS = (
    "key, file_id, ts, session_id, cwd, project, model, input, output, cache_create, "
    "cache_read, cache_5m, cache_1h, total, message_id, request_id, cost_logged, speed, adapter, "
    "sidechain"
)
