"""The terminal a command writes to: is it one, how wide, may it have colour."""

from __future__ import annotations

import os
import sys
from typing import TextIO


class Term:
    """How to write to `stream`. `width` is None when output goes to a pipe or file and no
    `COLUMNS` asks for a width: the table is then printed at its natural width. (A plain class:
    `dataclasses` imports `inspect`, ~5 ms of start-up.)"""

    __slots__ = ("color", "tty", "width")

    def __init__(self, tty: bool, width: int | None, color: bool) -> None:
        self.tty, self.width, self.color = tty, width, color

    def __repr__(self) -> str:
        return f"Term(tty={self.tty}, width={self.width}, color={self.color})"

    def with_width(self, width: int | None) -> Term:
        return Term(self.tty, width, self.color)

    @property
    def rich(self) -> bool:
        """A table for a person: rich's renderer (coloured or not). Piped output stays plain
        and never imports rich."""
        return self.tty or self.color


def _columns_env() -> int | None:
    raw = os.environ.get("COLUMNS", "").strip()
    if raw.isdigit() and int(raw) > 0:
        return int(raw)
    return None


def detect(stream: TextIO | None = None, color: bool | None = None) -> Term:
    """`color`: True/False from `--color`/`--no-color`, None for auto (NO_COLOR, FORCE_COLOR,
    a TTY)."""
    stream = stream or sys.stdout
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        tty = False
    width = _columns_env()
    if width is None and tty:
        import shutil

        width = shutil.get_terminal_size((80, 24)).columns
    if color is None:
        if os.environ.get("NO_COLOR"):  # https://no-color.org: set and non-empty
            color = False
        elif os.environ.get("FORCE_COLOR"):
            color = True
        else:
            color = tty and os.environ.get("TERM") != "dumb"
    return Term(tty=tty, width=width, color=color)
