"""What the Codex and Gemini adapters share: usage lines that need facts from earlier lines of
the same file (the model of a Codex turn, a session's id), and log trees walked for `*.jsonl`.

Ingest hands an adapter a file's candidate lines in order, each with its offset, and reads a
file from where the last run stopped. So the facts are kept per file as lines go by; a process
that starts in the middle of a file (a restart, a CLI run after the server) rebuilds them once
from the file's head (`FileFacts.replay`), and a file read again from 0 starts afresh.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from podium.usage.adapters.base import LineError, LogFile, check_timestamp, check_tokens
from podium.usage.adapters.claude import parse_timestamp_ms

REPLAY_CHUNK = 1 << 20


class FileFacts:
    """Per-file facts of one adapter; subclasses add theirs. `offset` is the last line seen."""

    __slots__ = ("offset",)

    def __init__(self) -> None:
        self.offset = -1


F = TypeVar("F", bound="FileFacts")  # an adapter's own FileFacts subclass


class FactsCache(Generic[F]):
    """path → FileFacts, rebuilt from the head of the file when a run starts mid-file."""

    def __init__(self, new: Callable[[], F],
                 replay: Callable[[F, bytes, LogFile], None],
                 markers: tuple[bytes, ...]) -> None:  # fmt: skip
        self._new = new
        self._replay = replay  # (facts, line, log): learn from one earlier line
        self._markers = markers  # bytes an earlier line must hold to be worth replaying
        self._facts: dict[str, F] = {}

    def get(self, log: LogFile, offset: int) -> F:
        facts = self._facts.get(log.name)
        if facts is None or offset <= facts.offset:  # first sight, or read again from 0
            facts = self._new()
            if offset > 0:
                self._replay_head(facts, log, offset)
            self._facts[log.name] = facts
        facts.offset = offset
        return facts

    def _replay_head(self, facts: F, log: LogFile, offset: int) -> None:
        """Learn from the complete lines before `offset` that hold a marker."""
        try:
            with open(log.name, "rb") as fh:
                rest = b""
                read = 0
                while read < offset:
                    chunk = fh.read(min(REPLAY_CHUNK, offset - read))
                    if not chunk:
                        break
                    read += len(chunk)
                    lines = (rest + chunk).split(b"\n")
                    rest = lines.pop()
                    for line in lines:
                        if any(m in line for m in self._markers):
                            # a bad earlier line was counted when it was read
                            with contextlib.suppress(ValueError, TypeError, KeyError):
                                self._replay(facts, line, log)
        except OSError:
            pass  # the line at `offset` is still parsed; only these facts are missing


def timestamp_ms(value: object) -> int:
    if type(value) is not str:
        raise LineError("usage line without a timestamp")
    try:
        ts = parse_timestamp_ms(value)
    except ValueError as exc:
        raise LineError(f"bad timestamp {value!r}") from exc
    check_timestamp(ts)
    return ts


def count(value: object, field: str) -> int:
    """A token count: absent is 0; anything but a whole number ≥ 0 is an error."""
    if value is None:
        return 0
    if type(value) is float and value.is_integer():
        value = int(value)
    if type(value) is not int:
        raise LineError(f"{field} is not an integer: {value!r}")
    check_tokens(value)
    return value


def walk_jsonl(top: str, accept: Callable[[str], bool] | None = None) -> Iterator[str]:
    """Every `*.jsonl` below `top` (symlinked dirs not followed), in no particular order."""
    stack = [top]
    while stack:
        current = stack.pop()
        try:
            items = list(os.scandir(current))
        except OSError:
            continue
        for item in items:
            if item.is_dir(follow_symlinks=False):
                stack.append(item.path)
            elif item.name.endswith(".jsonl") and (accept is None or accept(item.name)):
                yield item.path


def below(path: str, parent: str) -> str | None:
    """`path` relative to `parent` when it lies below it, else None (both normalised)."""
    prefix = parent.rstrip(os.sep) + os.sep
    return path[len(prefix):] if path.startswith(prefix) else None
