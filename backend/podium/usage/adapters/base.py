"""The interface every log source implements."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from podium.usage.models import UsageEntry


@dataclass(frozen=True, slots=True)
class LogFile:
    """A log file found under one of an adapter's roots."""

    path: Path
    project: str | None  # the source's notion of a project (Claude: encoded-cwd dir name)


class LineError(ValueError):
    """A line that should carry usage but cannot be understood (counted as malformed)."""


class LogAdapter(Protocol):
    """A source of usage logs in JSON Lines form."""

    #: short stable name stored with each entry and file ("claude")
    name: str
    #: bytes every usage-carrying line contains; lines without it are never parsed
    needle: bytes

    def roots(self) -> list[Path]:
        """Directories this source's logs live under (existing or not)."""
        ...

    def discover(self) -> Iterable[LogFile]:
        """All log files under the roots."""
        ...

    def log_file_for(self, path: Path) -> LogFile | None:
        """The `LogFile` for a path under one of the roots, None when it is not this source's."""
        ...

    def parse_line(self, line: bytes, log: LogFile, offset: int) -> UsageEntry | None:
        """The usage in one complete line, None when it carries none.

        Raises `LineError` (or ValueError from the JSON decoder) for a malformed line.
        `offset` is the line's byte offset, used to key entries that have no message id.
        """
        ...
