"""A spinner on stderr while a long first ingest runs (terminals only; rich is imported here)."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator


@contextlib.contextmanager
def first_ingest() -> Iterator[None]:
    from rich.console import Console

    con = Console(file=sys.stderr, highlight=False)
    started = time.monotonic()
    with con.status("Reading Claude Code logs into Podium's store (first run; later runs "
                    "read only what is new)…", spinner="dots"):  # fmt: skip
        yield
    took = time.monotonic() - started
    if took >= 1.0:
        con.print(f"[dim]read the logs in {took:.1f} s[/dim]")
