"""The usage record every adapter produces."""

from __future__ import annotations

_FIELDS = (
    "key", "ts", "session_id", "cwd", "project", "model", "input", "output", "cache_create",
    "cache_read", "cache_5m", "cache_1h", "message_id", "request_id", "cost_logged", "speed",
    "sidechain",
)  # fmt: skip


class UsageEntry:
    """One model response's token usage, as logged by the agent.

    `key` is the dedupe key: the same response logged twice (streaming copies, resumed
    sessions) has the same key, and the copy with the largest `total` wins. (A plain slotted
    class rather than a dataclass: `dataclasses` costs ~10 ms of import on every CLI start.)
    """

    __slots__ = _FIELDS

    def __init__(
        self, key: str, ts: int, session_id: str | None, cwd: str | None, project: str | None,
        model: str | None, input: int, output: int, cache_create: int, cache_read: int,
        cache_5m: int | None = None, cache_1h: int | None = None, message_id: str | None = None,
        request_id: str | None = None, cost_logged: float | None = None,
        speed: str | None = None, sidechain: bool = False,
    ) -> None:  # fmt: skip
        self.key = key
        self.ts = ts  # ms since epoch, UTC
        self.session_id = session_id
        self.cwd = cwd
        self.project = project
        self.model = model
        self.input = input
        self.output = output
        self.cache_create = cache_create
        self.cache_read = cache_read
        self.cache_5m = cache_5m  # split of cache_create when logged
        self.cache_1h = cache_1h
        self.message_id = message_id
        self.request_id = request_id
        self.cost_logged = cost_logged
        self.speed = speed
        #: a sub-agent's line (`isSidechain`); see the replay rule in podium.usage.dedupe
        self.sidechain = sidechain

    def _values(self) -> tuple:
        return tuple(getattr(self, f) for f in _FIELDS)

    def __eq__(self, other: object) -> bool:
        return type(other) is UsageEntry and self._values() == other._values()

    # mutable, like the dataclass it replaced; typeshed types object.__hash__ as a method only
    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return "UsageEntry(" + ", ".join(f"{f}={getattr(self, f)!r}" for f in _FIELDS) + ")"

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
