"""What /metrics serves: the text built once per change in a thread of its own, so that a
scrape only joins bytes.

The build thread (`podium-metrics-build`) is the only user of the reader (its store
connection and usage sums). It reads the store again when

- the store changed: SQLite's `data_version` on its connection, checked every `POLL_S`, moves
  on any other connection's commit, this process's or another's (ingest, agent rows, alerts);
- `changed()` was called (new settings: budgets, plan);
- `REFRESH_S` passed: figures that move with time alone (plan windows, the day's budget at
  midnight, agents folding into `_ended`, log writes the store has not read yet);

at most once per `MIN_GAP_S`, so a burst of ingests is one build. A scrape takes the last build
(one reference, no lock, no SQLite) and formats only what moves between builds: the seconds
since an instant (plan figure age, ingest lag, exact at the scrape's time) and the pending
permission requests (the reader's callable). Only the very first scrape of a new endpoint may
wait, for the first build.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from podium.metrics.catalog import CATALOG
from podium.metrics.prom import NotReady, TextRenderer, render_metric
from podium.metrics.reader import MOVING, MetricsReader, Snapshot

log = logging.getLogger(__name__)

POLL_S = 0.2  # how often the store's data_version is looked at
MIN_GAP_S = 1.0  # between two builds' starts
REFRESH_S = 5.0  # a build at least this often, changed or not
FIRST_BUILD_S = 30.0  # how long a scrape waits for the first build before a 503


@dataclass(frozen=True)
class Built:
    """One build: the snapshot and its text per CATALOG metric (None: the read failed)."""

    snapshot: Snapshot | None
    parts: tuple[bytes, ...]
    started: float  # monotonic time the build started (its store read began after)


class Exposition:
    """`body()` for the endpoint, `snapshot()` for the OTLP push; `start()`, `close()`."""

    def __init__(self, reader: MetricsReader, *, poll_s: float = POLL_S,
                 min_gap_s: float = MIN_GAP_S, refresh_s: float = REFRESH_S) -> None:  # fmt: skip
        self.reader = reader
        self.poll_s, self.min_gap_s, self.refresh_s = poll_s, min_gap_s, refresh_s
        self.builds = 0  # how many builds ran (tests, the bench)
        self._renderer = TextRenderer()  # the build thread's
        self._built: Built | None = None  # replaced whole by the build thread
        self._published = threading.Condition()  # only for waiters on a new build
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._dirty = False
        #: when the build thread last saw neither the store nor the settings changed since its
        #: last build (monotonic)
        self._clean_at = float("-inf")
        self._thread = threading.Thread(target=self._run, name="podium-metrics-build",
                                        daemon=True)  # fmt: skip

    def start(self) -> None:
        self._thread.start()

    def changed(self) -> None:
        """Something the store's data_version does not show changed (settings): build again
        (any thread, never waits)."""
        self._dirty = True
        self._wake.set()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)
        with self._published:
            self._published.notify_all()

    # -- the scrape side (any thread) ---------------------------------------------------------
    def body(self, now: float | None = None) -> bytes:
        """The exposition text as of the last build, with the moving figures at `now`."""
        built, snap = self._moved(now)
        return b"".join(render_metric(metric, snap) if metric.name in MOVING else part
                        for metric, part in zip(CATALOG, built.parts, strict=True))  # fmt: skip

    def snapshot(self, now: float | None = None) -> Snapshot:
        """The last build's snapshot with the moving figures at `now` (the OTLP push)."""
        return self._moved(now)[1]

    def wait_fresh(self, since: float, timeout: float) -> bool:
        """Wait until what a scrape gets has every change made before `since` (a
        time.monotonic() taken after the change): a build that started at or after `since` is
        done, or the build thread saw after `since` that nothing changed since its last build.
        False on time-out. Waits for the build the change itself started; starts none."""

        def fresh() -> bool:
            built = self._built
            return (built is not None and built.snapshot is not None
                    and max(built.started, self._clean_at) >= since)  # fmt: skip

        with self._published:
            return self._published.wait_for(fresh, timeout)

    def _moved(self, now: float | None) -> tuple[Built, Snapshot]:
        built = self._built
        if built is None:
            with self._published:
                self._published.wait_for(lambda: self._built is not None or self._stop.is_set(),
                                         FIRST_BUILD_S)  # fmt: skip
            built = self._built
            if built is None:
                raise NotReady("the first read of the store is still running; try again")
        if built.snapshot is None:
            raise RuntimeError("the last read of the store failed (see the log above)")
        now = time.time() if now is None else now
        return built, built.snapshot.at(now, self.reader.count_pending())

    # -- the build thread ---------------------------------------------------------------------
    def _run(self) -> None:
        last: float | None = None  # when the last build started
        version: int | None = None  # the data_version it read
        while not self._stop.is_set():
            now = time.monotonic()
            if last is None:
                due = now
            else:
                due = last + self.refresh_s
                if self._dirty or self._store_changed(version):
                    due = min(due, last + self.min_gap_s)
                elif self._built is not None and self._built.snapshot is not None:
                    with self._published:  # the last build is up to date as of `now`
                        self._clean_at = now
                        self._published.notify_all()
            if now < due:
                self._wake.wait(min(due - now, self.poll_s))
                self._wake.clear()
                continue
            self._dirty = False
            last = now
            version = self._build(now, failing=self._built is not None
                                  and self._built.snapshot is None)  # fmt: skip

    def _store_changed(self, version: int | None) -> bool:
        try:
            return self.reader.data_version() != version
        except Exception:  # the build says what is wrong
            return True

    def _build(self, started: float, failing: bool) -> int | None:
        try:
            snap = self.reader.read()
            built = Built(snap, tuple(self._renderer.parts(snap)), started)
        except Exception:
            # a scrape answers 500 until a read works again; said once, not every retry
            (log.debug if failing else log.exception)("metrics: reading the store failed")
            snap, built = None, Built(None, (), started)
        with self._published:
            self._built = built
            self.builds += 1
            self._published.notify_all()
        return snap.version if snap is not None else None
