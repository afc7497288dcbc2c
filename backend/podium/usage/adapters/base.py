"""The interface every log source implements.

Paths are plain strings here (`os.path`, no `pathlib`/`typing` imports): every CLI run
discovers every log file, and these modules are on the start-up path of each command.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from podium.usage.models import UsageEntry


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
    def path(self):  # -> pathlib.Path, built only when asked for
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


class LogAdapter:
    """A source of usage logs in JSON Lines form (Claude Code's today; Codex or Gemini CLI
    logs would be another subclass)."""

    #: short stable name stored with each entry and file ("claude")
    name: str
    #: bytes every usage-carrying line contains; lines without it are never parsed
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
