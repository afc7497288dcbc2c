"""The interface every log source implements.

Paths are plain strings here (`os.path`, no `pathlib`/`typing` imports): every CLI run
discovers every log file, and these modules are on the start-up path of each command.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from podium.usage.models import UsageEntry

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from pathlib import Path


class LogFile:
    """A log file found under one of an adapter's roots. Keeps the path as a string (`name`):
    discovery lists every file on every run, and most are unchanged, so no `Path` is built
    unless someone asks for `.path`."""

    __slots__ = ("name", "project")

    def __init__(self, path: str | os.PathLike[str], project: str | None) -> None:
        self.name = os.fspath(path)
        #: the source's notion of a project (Claude: the encoded-cwd directory name)
        self.project = project

    @property
    def path(self) -> Path:  # built only when asked for
        from pathlib import Path

        return Path(self.name)

    def __eq__(self, other: object) -> bool:
        return (type(other) is LogFile and self.name == other.name
                and self.project == other.project)  # fmt: skip

    def __hash__(self) -> int:
        return hash((self.name, self.project))

    def __repr__(self) -> str:
        return f"LogFile({self.name!r}, {self.project!r})"


class LineError(ValueError):
    """A line that should carry usage but cannot be understood (counted as malformed)."""


class OutOfRange(LineError):
    """A usage line with a number outside `Bounds` (counted as out of range, not stored)."""


class Bounds:
    """The numbers ingest trusts, decided once for both readers (the Python parsers check
    them; the C scanner gets them through `_scan.set_bounds` and hands any line outside them
    back to Python). A line outside them is skipped and counted, never the file.

    - tokens, per field of one message: 0 ≤ n ≤ 10^9. The largest context window is ~10^6
      tokens; 10^9 leaves room for any real count while a store of 9·10^9 such entries still
      sums without overflowing SQLite's 64-bit integers (2^63 aborted every ingest, negative
      counts lowered totals).
    - timestamps: 1970-01-01 ≤ ts < 2100-01-01 UTC, so every local-time conversion of a report
      (years 1 and 9999 overflow there) stays valid.
    - costUSD as logged: 0 ≤ cost ≤ $10^6 for one message, finite.
    """

    TOKENS_MAX = 1_000_000_000
    TS_MIN_MS = 0
    TS_MAX_MS = 4_102_444_800_000  # 2100-01-01T00:00:00Z
    COST_MAX_USD = 1e6
    #: the C scanner converts a cost itself only below 10^COST_DIGITS (≤ COST_MAX_USD)
    COST_DIGITS = 6


def check_tokens(*counts: int) -> None:
    for n in counts:
        if not 0 <= n <= Bounds.TOKENS_MAX:
            raise OutOfRange(f"token count {n} outside 0..{Bounds.TOKENS_MAX}")


def check_timestamp(ts_ms: int) -> None:
    if not Bounds.TS_MIN_MS <= ts_ms < Bounds.TS_MAX_MS:
        raise OutOfRange(f"timestamp {ts_ms} ms outside 1970..2100")


def check_cost(cost: float) -> None:
    if not 0 <= cost <= Bounds.COST_MAX_USD:  # NaN and ±inf fail too
        raise OutOfRange(f"costUSD {cost} outside 0..{Bounds.COST_MAX_USD:g}")


#: Bytes that start a `\u` escape of a printable ASCII character (`\u0020`–`\u007f`). A JSON
#: key can be spelled with them (`"us\u0061ge"`), and they are the only way to spell an ASCII
#: key without its literal bytes: so a line holds the needle or one of these, or it cannot
#: parse to usage. Both readers parse such lines too (JSON writers never escape printable ASCII).
ESCAPE_PREFIX = b"\\u00"
ESCAPE_ASCII_DIGITS = frozenset(b"234567")


class LogAdapter:
    """A source of usage logs in JSON Lines form (Claude Code's today; Codex or Gemini CLI
    logs would be another subclass)."""

    #: short stable name stored with each entry and file ("claude")
    name: str
    #: bytes every usage-carrying line contains unless it spells them with \\u escapes (see
    #: ESCAPE_PREFIX); other lines are never parsed
    needle: bytes

    def roots(self) -> list[str]:
        """Directories this source's logs live under (existing or not)."""
        raise NotImplementedError

    def discover(self) -> Iterable[LogFile]:
        """All log files under the roots."""
        raise NotImplementedError

    def log_file_for(self, path: str | os.PathLike[str]) -> LogFile | None:
        """The `LogFile` for a path under one of the roots, None when it is not this source's."""
        raise NotImplementedError

    def parse_line(self, line: bytes, log: LogFile, offset: int) -> UsageEntry | None:
        """The usage in one complete line, None when it carries none.

        Raises `LineError` (or ValueError from the JSON decoder) for a malformed line.
        `offset` is the line's byte offset, used to key entries that have no message id.
        """
        raise NotImplementedError
