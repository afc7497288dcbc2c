"""All or nothing: the steps of a spawn register how to undo themselves; when a later step
fails (a full disk, an exec failure, a store that refuses the row, input validation missed),
the steps already done are undone, last first, and the failure is reported as a user error."""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Callable
from types import TracebackType

from podium.errors import AgentError, PodiumError
from podium.redact import scrub

log = logging.getLogger(__name__)


class Rollback:
    """`with Rollback(what) as undo: undo.push(fn); …` — on an exception every pushed `fn`
    runs (newest first, each on its own: one failing does not stop the others), then the
    exception is raised again, as a PodiumError unless it was one already or a BaseException
    (KeyboardInterrupt…) that is not an Exception."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._steps: list[Callable[[], object]] = []

    def push(self, undo: Callable[[], object]) -> None:
        self._steps.append(undo)

    def __enter__(self) -> Rollback:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:  # fmt: skip
        if exc is None:
            return
        for undo in reversed(self._steps):
            try:
                undo()
            except Exception:  # best effort: the next steps still run
                log.exception("undoing part of %s failed", self.what)
        if isinstance(exc, PodiumError) or not isinstance(exc, Exception):
            return  # raised as it is
        raise as_user_error(exc, self.what) from None


def as_user_error(exc: Exception, what: str) -> PodiumError:
    """What went wrong, said to the user (scrubbed: an OS or SQLite message may quote input)."""
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        return AgentError(scrub(f"cannot {what}: {where}{exc.strerror or exc}"))
    if isinstance(exc, sqlite3.Error):
        return PodiumError(scrub(f"cannot {what}: the store refused it ({exc})"))
    if isinstance(exc, ValueError | UnicodeError):  # input the checks let through
        return AgentError(scrub(f"cannot {what}: {exc}"))
    with contextlib.suppress(Exception):
        log.error("unexpected failure: %s", what, exc_info=exc)
    return PodiumError(scrub(f"cannot {what}: internal error ({type(exc).__name__})"))
