"""The server's timers: what runs how often, in one place instead of a timestamp per job.

A `Timer` is due every `every` seconds, or `soon` seconds after something asked for it
(`ask()`: an ingest that wrote, a card that changed), never closer than `min_gap` to its last
run. An `Idle` timer is due once nothing touched it for `delay` seconds (the WAL checkpoint).
The `Scheduler` owns them all and says when the next one is due, so the pump sleeps exactly
until then. Times are `time.monotonic()` seconds; a scheduler is used by one thread.
"""

from __future__ import annotations

import math

NEVER = math.inf

#: the rates of docs/protocol.md §Notifications and docs/architecture.md §Threads and locks
POLL_EVERY_S = 0.2  # reap exits, read stream-json and hook events
FULL_SWEEP_S = 1.0  # re-render every card (a card changed by a missed event still goes out)
USAGE_REFRESH_S = 5.0  # safety net: every agent's usage re-queried even without activity
LIMITS_EVERY_S = 1.0  # budgets evaluated at least this often …
LIMITS_AFTER_INGEST_S = 0.3  # … and this soon after an ingest that wrote entries
STATUS_EVERY_S = 1.0  # status bar re-rendered at least this often (time in state) …
STATUS_MIN_GAP_S = 0.1  # … and at most 10 times a second
FIGURES_EVERY_S = 2.0  # figures that need queries (plan window, API spend) at most this old …
FIGURES_AFTER_INGEST_S = 0.5  # … and refreshed this soon after an ingest
CHECKPOINT_IDLE_S = 1.0  # WAL checkpoint once nothing was ingested for this long


class Timer:
    def __init__(
        self, every: float = NEVER, *, soon: float = NEVER, min_gap: float = 0.0
    ) -> None:
        self.every = every
        self.soon = soon
        self.min_gap = min_gap
        self.last = -NEVER
        self.asked = False
        #: a timer whose job runs inside another's (figures inside the status render): due
        #: only when that one may run too, so it never wakes the pump for nothing
        self.within: Timer | None = None

    def ask(self) -> None:
        """Run `soon` after the last run (at the latest at the next regular time)."""
        self.asked = True

    def reset(self) -> None:
        """Due at once (settings changed: everything is recomputed)."""
        self.last = -NEVER

    def next_at(self) -> float:
        # (-inf + inf is nan: an interval that is NEVER stays NEVER, even before the first run)
        at = self.last + self.every if self.every < NEVER else NEVER
        if self.asked and self.soon < NEVER:
            at = min(at, self.last + self.soon)
        at = max(at, self.last + self.min_gap)
        if self.within is not None:
            at = max(at, self.within.last + self.within.min_gap)
        return at

    def due(self, now: float) -> bool:
        return now >= self.next_at()

    def ran(self, now: float) -> None:
        self.last = now
        self.asked = False

    def take(self, now: float, *, force: bool = False) -> bool:
        """True (and counted as run) when due, or when forced."""
        if force or self.due(now):
            self.ran(now)
            return True
        return False


class Idle:
    """Due `delay` seconds after the last `touch()`, once per touch burst."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.touched = -NEVER
        self.done = -NEVER

    def touch(self, now: float) -> None:
        self.touched = now

    def next_at(self) -> float:
        return self.touched + self.delay if self.touched > self.done else NEVER

    def due(self, now: float) -> bool:
        return now >= self.next_at()

    def ran(self, now: float) -> None:
        self.done = now


class Scheduler:
    """Named timers of every feature; `next_at()` is when the earliest is due."""

    def __init__(self) -> None:
        self.timers: dict[str, Timer | Idle] = {}

    def timer(
        self,
        name: str,
        every: float = NEVER,
        *,
        soon: float = NEVER,
        min_gap: float = 0.0,
    ) -> Timer:
        timer = Timer(every, soon=soon, min_gap=min_gap)
        self._add(name, timer)
        return timer

    def idle(self, name: str, delay: float) -> Idle:
        timer = Idle(delay)
        self._add(name, timer)
        return timer

    def _add(self, name: str, timer: Timer | Idle) -> None:
        if name in self.timers:
            raise ValueError(f"timer {name!r} is registered twice")
        self.timers[name] = timer

    def next_at(self) -> float:
        return min((t.next_at() for t in self.timers.values()), default=NEVER)

    def reset(self) -> None:
        for timer in self.timers.values():
            if isinstance(timer, Timer):
                timer.reset()
