"""The server's side of store trouble (a damaged store, a full disk): one alert when it starts,
an error state on the status bar while it lasts, one note when it is over, and quiet in
between (the pump retries every tick; a full disk once logged 33 "update failed" lines in 8 s).

Hooks (`podium.server.app`): `opened_failed(exc)` when the store cannot be opened at
`initialize`; `failed(exc)` from the pump's error path (returns None when `exc` is not a store
problem, so the caller logs it as before); `succeeded()` after every good tick; `status_bar()`
replaces the status bar while a problem lasts; `request_error(exc)` maps a request's failure.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from podium.server import protocol as proto
from podium.store.health import CORRUPT, FULL, StoreProblem, classify

log = logging.getLogger(__name__)

#: while the store fails, the pump waits this long between tries instead of its usual tick
RETRY_S = 2.0

_TITLES = {CORRUPT: "store damaged", FULL: "disk full"}


class StoreGuard:
    def __init__(self, path: str | None = None) -> None:
        self.path = path
        self.problem: StoreProblem | None = None
        self.since: float | None = None
        self.failures = 0

    def failed(self, exc: BaseException) -> list[proto.Alert] | None:
        """A store operation failed: the alerts to publish ([] while the same problem lasts),
        or None when `exc` is not a store problem."""
        problem = classify(exc, self.path)
        if problem is None:
            return None
        self.failures += 1
        if self.problem is not None and self.problem.kind == problem.kind:
            log.debug("store still failing (%d): %s", self.failures, problem.message)
            return []
        self.problem, self.since = problem, time.time()
        log.error("%s", problem.message)
        return [self._alert("critical", problem.message, problem.kind)]

    def current_alerts(self) -> list[proto.Alert]:
        """The alert for the problem that lasts (e.g. to say it once the client is ready)."""
        if self.problem is None:
            return []
        return [self._alert("critical", self.problem.message, self.problem.kind)]

    def opened_failed(self, exc: BaseException) -> bool:
        """The store could not be opened at start; True when that is a store problem."""
        return self.failed(exc) is not None

    def succeeded(self) -> list[proto.Alert]:
        """A tick went through: a note when a problem just ended, else nothing."""
        if self.problem is None:
            return []
        problem, self.problem, self.failures = self.problem, None, 0
        message = f"the store works again after {_TITLES.get(problem.kind, problem.kind)}"
        log.warning("%s", message)
        return [self._alert("info", message, problem.kind)]

    @property
    def failing(self) -> bool:
        return self.problem is not None

    def status_bar(self, mode: str) -> dict[str, Any] | None:
        """The status bar's error state while a problem lasts (docs/protocol.md §StatusBar)."""
        if self.problem is None:
            return None
        title = _TITLES.get(self.problem.kind, "store unavailable")
        return {"text": f"Podium: {title}", "tooltip": self.problem.message, "severity": "error",
                "mode": mode}  # fmt: skip

    def request_error(self, exc: BaseException) -> StoreProblem | None:
        """The store problem behind a request's failure (answered as PodiumError, not as an
        internal error), or None."""
        return classify(exc, self.path)

    @staticmethod
    def _alert(level: str, message: str, kind: str) -> proto.Alert:
        return proto.Alert(level=level, message=message, scope="store", scope_key=kind)
