"""Reads every exported figure from the store (and the limits engine) into a `Snapshot`.

`MetricsReader` opens its own connection (a `Store` is one thread's) and serialises callers.
`read()` reads everything now; `snapshot()` reuses a snapshot younger than `MAX_AGE_S` while the
store has not changed (SQLite's `data_version`), so one OTLP collection (a callback per metric)
reads the store once. The /metrics endpoint reads through `exposition.Exposition`, which calls
`read()` once per change in its own thread. Counters come from the store, so they survive
restarts: a new process reports the same totals.

The gauges that count seconds since an instant (a plan figure's age, the ingest lag) keep that
instant in `Snapshot.since`, and the pending permission requests are counted by a callable:
`Snapshot.at(t, pending)` gives a snapshot's figures as they are at `t` without a store read.
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from podium.agents.models import TERMINAL_STATUSES, Agent, AgentStatus
from podium.metrics import catalog as m
from podium.metrics.aggregate import AgentInfo, Attribution, Folded, UsageAggregate, agent_label
from podium.metrics.budgets import budgets
from podium.metrics.config import limits_settings, unattributed_source
from podium.store import Store
from podium.usage.pricing import PriceTable
from podium.usage.queries import default_prices

log = logging.getLogger(__name__)

MAX_AGE_S = 0.5
#: the ingest lag looks at log files written in this window (seconds)
LAG_FILES_S = 7 * 86_400.0
SKIP_REASONS = ("malformed", "invalid_utf8", "oversized")
#: the metrics `Snapshot.at` can change: counted from an instant, or the pending requests
MOVING = frozenset({m.PENDING.name, m.PLAN_AGE.name, m.INGEST_LAG.name})
_AGENT_COLUMNS = ("id, name, repo, worktree, branch, base_ref, base_commit, profile, state_dir, "
                  "claude_session_id, pid, COALESCE(source_override, source), model, status, "
                  "status_since, exit_code, started_at, ended_at, limit_usd, removed")  # fmt: skip


@dataclass
class Snapshot:
    """Every series at one instant: metric name → {label values (catalog order, without
    `machine`) → value}."""

    machine: str
    taken_at: float
    values: dict[str, dict[tuple[str, ...], float]] = field(default_factory=dict)
    version: int = 0  # the store's data_version it was read at
    #: metric name → {labels → the instant (epoch s) the gauge counts seconds from}
    since: dict[str, dict[tuple[str, ...], float]] = field(default_factory=dict)
    settings_gen: int = 0  # the reader's settings generation it was read with

    def at(self, now: float, pending: int | None = None) -> Snapshot:
        """These figures as they are at `now`: the `since` gauges counted up to `now`, the
        pending requests replaced when given. The store's figures are shared, not copied (a
        snapshot is never changed once read)."""
        values = dict(self.values)
        for name, anchors in self.since.items():
            series = dict(values[name])
            for labels, start in anchors.items():
                series[labels] = max(0.0, now - start)
            values[name] = series
        if pending is not None:
            values[m.PENDING.name] = {(): float(pending)}
        return Snapshot(self.machine, self.taken_at, values, self.version, self.since,
                        self.settings_gen)  # fmt: skip

    def series(self, metric: m.MetricDef) -> dict[tuple[str, ...], float]:
        return self.values.get(metric.name, {})

    def total(self, metric: m.MetricDef, **match: str) -> float:
        """Sum of a metric's series whose labels equal `match` (tests, the CLI's summary)."""
        idx = {name: metric.labels.index(name) for name in match}
        return sum(v for labels, v in self.series(metric).items()
                   if all(labels[i] == match[name] for name, i in idx.items()))  # fmt: skip


class MetricsReader:
    """Figures for one store. Thread-safe; `close()` when done."""

    def __init__(self, db_path: str, settings: Any, *, machine: str,
                 pending: Callable[[], int] | None = None, fold_after_s: float = m.FOLD_AFTER_S,
                 prices: PriceTable | None = None) -> None:  # fmt: skip
        from podium.limits.engine import LimitsEngine

        self.machine = machine
        self.pending = pending
        self.fold_after_s = fold_after_s
        self.prices = prices or default_prices()
        self.store = Store(db_path)
        self._lock = threading.Lock()  # the connection and the aggregate: one reader at a time
        self._settings = settings
        self._settings_gen = 0
        #: (generation, settings) asked for by update_settings, applied by the next read
        self._wanted: tuple[int, Any] = (0, settings)
        self._gens = itertools.count(1)
        # plan figures and budgets as the editor sees them; never an OAuth lookup of its own
        # (the server's lookups land in the store, where plan_status finds them)
        self.engine = LimitsEngine(self.store, limits_settings(settings), self.prices)
        self.usage = UsageAggregate(self.prices)
        self._cached: Snapshot | None = None
        self._attribution: Attribution | None = None
        #: path → (stored size, stored mtime, mtime when first seen unread) for unread files
        self._unread: dict[str, tuple[int, int, float]] = {}

    def update_settings(self, settings: Any) -> None:
        """Any thread, never waits: the next read applies them (on the reading thread)."""
        self._wanted = (next(self._gens), settings)

    def _apply_settings(self) -> None:
        gen, settings = self._wanted
        if gen != self._settings_gen:
            self._settings, self._settings_gen = settings, gen
            self.engine.update_settings(limits_settings(settings))

    def data_version(self) -> int:
        """SQLite's data_version on this connection: it changes when another connection (this
        process's or another's) commits to the store."""
        with self._lock:
            version: int = self.store.conn.execute("PRAGMA data_version").fetchone()[0]
            return version

    def close(self) -> None:
        with self._lock:
            self.store.close()

    # -- the snapshot -------------------------------------------------------------------------------
    def snapshot(self, now: float | None = None) -> Snapshot:
        """Every figure at `now` (default: now); the last snapshot again when it is younger than
        MAX_AGE_S and neither the store nor the settings changed since."""
        with self._lock:
            if now is not None:
                return self._read_locked(now)
            now = time.time()
            version = self.store.conn.execute("PRAGMA data_version").fetchone()[0]
            cached = self._cached
            if (cached is not None and cached.version == version
                    and cached.settings_gen == self._wanted[0]
                    and 0 <= now - cached.taken_at < MAX_AGE_S):  # fmt: skip
                return cached.at(now, self.count_pending())
            self._cached = self._read_locked(now)
            return self._cached

    def read(self, now: float | None = None) -> Snapshot:
        """Every figure, read from the store now (no reuse)."""
        with self._lock:
            return self._read_locked(time.time() if now is None else now)

    def _read_locked(self, now: float) -> Snapshot:
        self._apply_settings()
        conn = self.store.conn
        version = conn.execute("PRAGMA data_version").fetchone()[0]
        snap = Snapshot(self.machine, now, {d.name: {} for d in m.CATALOG}, version,
                        settings_gen=self._settings_gen)  # fmt: skip
        conn.execute("BEGIN")  # one consistent view of the store for every figure
        try:
            files = self._read(snap, now)
        finally:
            conn.execute("COMMIT")
        unread_since = self._unread_since(files)
        snap.values[m.INGEST_LAG.name][()] = 0.0
        if unread_since is not None:
            snap.since[m.INGEST_LAG.name] = {(): unread_since}
        snap.values[m.PENDING.name][()] = float(self.count_pending())
        return snap.at(now) if snap.since else snap

    def _read(self, snap: Snapshot, now: float) -> list[tuple]:
        conn = self.store.conn
        rows = conn.execute(f"SELECT {_AGENT_COLUMNS} FROM agents ORDER BY started_at").fetchall()
        infos: list[AgentInfo] = []
        budget_agents: list[Agent] = []
        agents_gauge = snap.values[m.AGENTS.name]
        for status in AgentStatus:
            agents_gauge[(status.value,)] = 0.0
        for row in rows:
            agent = _agent(row)
            removed = bool(row[19])
            ended = agent.status in TERMINAL_STATUSES or removed
            ended_at = (agent.ended_at or agent.status_since) if ended else None
            label = agent_label(agent.name, ended_at, now, self.fold_after_s)
            infos.append(AgentInfo(agent.id, agent.name, label, agent.source,
                                   os.path.basename(agent.repo.rstrip("/")) or m.UNKNOWN,
                                   agent.claude_session_id, agent.worktree))  # fmt: skip
            if not removed:
                agents_gauge[(agent.status.value,)] += 1
                if label != m.AGENT_ENDED:
                    budget_agents.append(agent)
        attribution = Attribution(infos, unattributed_source(self._settings))
        if self._attribution is not None and self._attribution.key == attribution.key:
            attribution = self._attribution  # the same agents: its owner lookups are kept
        self._attribution = attribution
        self.usage.refresh(conn, int(now * 1000))
        folded = self.usage.folded(attribution)
        cost, tokens = snap.values[m.COST.name], snap.values[m.TOKENS.name]
        for labels, (usd, i, o, cc, cr) in folded.by_labels.items():
            cost[labels] = usd
            for kind, value in zip(m.TOKEN_TYPES, (i, o, cc, cr), strict=True):
                tokens[(kind, *labels)] = float(value)
        working = any(a.status is AgentStatus.WORKING for a in budget_agents)
        self._plan(snap, now, working)
        self._budgets(snap, now, budget_agents, folded)
        alerts = snap.values[m.ALERTS.name]
        for level, scope, count in conn.execute(
            "SELECT level, scope, COUNT(*) FROM alerts GROUP BY level, scope"
        ):
            alerts[(level, scope)] = float(count)
        sums = conn.execute("SELECT COALESCE(SUM(malformed), 0), COALESCE(SUM(invalid_utf8), 0), "
                            "COALESCE(SUM(oversized), 0) FROM files").fetchone()  # fmt: skip
        for reason, count in zip(SKIP_REASONS, sums, strict=True):
            snap.values[m.SKIPPED.name][(reason,)] = float(count)
        # files idle for a week are finished sessions: not stat'ed on every scrape
        recent_ns = int((now - LAG_FILES_S) * 1e9)
        return conn.execute("SELECT path, size, mtime_ns FROM files WHERE mtime_ns >= ?",
                            (recent_ns,)).fetchall()  # fmt: skip

    def _plan(self, snap: Snapshot, now: float, working: bool) -> None:
        try:
            status = self.engine.plan_status(now, agents_working=working)
        except Exception:  # a plan figure must never cost the other metrics
            log.exception("metrics: plan status failed")
            return
        for fig in (status.five_hour, status.seven_day):
            if fig is None:
                continue
            key = (fig.window, fig.source)
            snap.values[m.PLAN.name][key] = fig.used_pct / 100.0
            snap.values[m.PLAN_AGE.name][key] = 0.0
            # an estimate is worked out at read time, so its age is always 0
            if fig.source != "estimate":
                snap.since.setdefault(m.PLAN_AGE.name, {})[key] = fig.observed_at

    def _budgets(self, snap: Snapshot, now: float, agents: list[Agent], folded: Folded) -> None:
        try:
            found = budgets(self.store, self.usage, self.engine, self._settings, agents,
                            folded.by_agent, folded.by_session, now)  # fmt: skip
        except Exception:
            log.exception("metrics: budget status failed")
            return
        ratio, limit = snap.values[m.BUDGET.name], snap.values[m.BUDGET_LIMIT.name]
        for b in found:
            key = (b.scope, b.who)
            # two agents of one name (other repos): the one closer to its limit shows
            if b.used / b.limit >= ratio.get(key, -1.0):
                ratio[key] = b.used / b.limit
                limit[key] = b.limit

    def _unread_since(self, files: list[tuple]) -> float | None:
        """When the oldest write to a known log file (written in the last week) that the store
        has not read yet was made (its size or mtime differs from what the last ingest
        recorded); None when every file is read. The ingest lag is the time since. A file
        written again and again keeps the mtime of the first unread write seen, so a stuck
        ingest shows."""
        oldest: float | None = None
        unread: dict[str, tuple[int, int, float]] = {}
        for path, size, mtime_ns in files:
            try:
                st = os.stat(path)
            except OSError:
                continue
            if st.st_size == size and st.st_mtime_ns == mtime_ns:
                continue
            seen = self._unread.get(path)
            since = seen[2] if seen and seen[:2] == (size, mtime_ns) else st.st_mtime_ns / 1e9
            unread[path] = (size, mtime_ns, since)
            oldest = since if oldest is None else min(oldest, since)
        self._unread = unread
        return oldest

    def count_pending(self) -> int:
        """The pending permission requests now (any thread: the callable is thread-safe)."""
        if self.pending is None:
            return 0
        try:
            return max(0, int(self.pending()))
        except Exception:
            log.exception("metrics: counting pending permission requests failed")
            return 0


def _agent(row: tuple) -> Agent:
    """An agent snapshot from its `agents` row (the task text is never read)."""
    (agent_id, name, repo, worktree, branch, base_ref, base_commit, profile, state_dir, session,
     pid, source, model, status, status_since, exit_code, started_at, ended_at, limit_usd,
     _removed) = row  # fmt: skip
    try:
        state = AgentStatus(status)
    except ValueError:
        state = AgentStatus.ERROR
    return Agent(
        id=agent_id, name=name, task="", status=state, status_since=status_since,
        status_reason=None, started_at=started_at, repo=repo, worktree=worktree, branch=branch,
        base_ref=base_ref, base_commit=base_commit or "", profile=profile, command=[], pid=pid,
        claude_session_id=session, source=source, model=model, exit_code=exit_code,
        limit_usd=limit_usd, state_dir=state_dir, ended_at=ended_at,
    )  # fmt: skip

