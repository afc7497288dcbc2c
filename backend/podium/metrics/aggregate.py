"""Usage sums by (model, source, agent, project), kept up to date incrementally.

A GROUP BY over every entry costs ~3 µs a row (0.65 s for 200 k entries): too slow for every
scrape. So entries are split at a settle line T, the start of the hour before the last one:

- settled entries (ts < T) are summed once and kept; each refresh adds only the rows appended
  since (rowid above the watermark). Ingest also rewrites rows in place (dedupe upserts) and
  deletes them (a truncated file), which appends do not show: each refresh compares the settled
  sums with `usage_buckets`' (kept exact by triggers) and sums everything again on a mismatch;
- recent entries (ts ≥ T, an index range over the last one to two hours) are summed afresh.

Groups are keyed by what attribution and pricing need (session, cwd, project, model, long
context, logged cost); they fold into label sets at the end, where costs are priced exactly as
`podium report` prices them (`queries.price_group`, cost mode auto).
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass

from podium.domain.attribution import OwnerIndex
from podium.metrics.catalog import AGENT_ENDED, AGENT_NONE, UNKNOWN
from podium.store import Store
from podium.store.migrations import BUCKET_MS, LONG_CONTEXT_LEVELS
from podium.usage.pricing import PriceTable
from podium.usage.queries import UsageTotals, grouped_cost_sql, price_group, totals

HOUR_MS = 3_600_000
# (session_id, cwd, project, model, long, has_logged)
GroupKey = tuple
# [input, output, cache_create, cache_read, cache_1h, cost_logged, n, min_ts, max_ts]
Sums = list
# (model, source, agent, project)
LabelKey = tuple[str, str, str, str]


@dataclass(frozen=True)
class AgentInfo:
    """What attribution and labels need of one agent (a row of the `agents` table)."""

    id: str
    name: str
    label: str  # the name, or "_ended" once folded
    source: str  # effective source: the override, else the detected one
    project: str  # the repo's directory name
    session: str | None
    worktree: str


class Attribution:
    """An entry belongs to the agent with its session id, else to the agent whose worktree holds
    its cwd (AgentManager.usage's rule); `unattributed_source` is the source of the rest."""

    def __init__(self, agents: list[AgentInfo], unattributed_source: str) -> None:
        self.unattributed_source = unattributed_source
        self.owners = OwnerIndex((a, a.session, a.worktree) for a in agents)
        self.key = (unattributed_source, tuple(sorted(
            (a.id, a.label, a.source, a.project, a.session, a.worktree) for a in agents)))  # fmt: skip

    def agent_for(self, session: str | None, cwd: str | None) -> AgentInfo | None:
        found: AgentInfo | None = self.owners.owner(session, cwd)
        return found

    def labels(self, agent: AgentInfo | None, model: str | None, cwd: str | None,
               project: str | None) -> LabelKey:  # fmt: skip
        if agent is not None:
            return (model or UNKNOWN, agent.source, agent.label, agent.project)
        place = os.path.basename(cwd.rstrip("/")) if cwd else (project or "")
        return (model or UNKNOWN, self.unattributed_source, AGENT_NONE, place or UNKNOWN)


class Folded:
    """Groups folded into label sets: [cost, input, output, cache_create, cache_read] per label
    set; usage totals per agent id and cost per session id (for the budgets)."""

    __slots__ = ("by_agent", "by_labels", "by_session")

    def __init__(self) -> None:
        self.by_labels: dict[LabelKey, list[float]] = {}
        self.by_agent: dict[str, UsageTotals] = {}
        self.by_session: dict[str, float] = {}

    def merged(self, other: Folded) -> Folded:
        """Both added up. The result shares this one's unchanged entries (neither is changed
        afterwards), so merging a few recent groups into the settled fold stays cheap."""
        out = Folded()
        out.by_labels = dict(self.by_labels)
        for key, vals in other.by_labels.items():
            base = out.by_labels.get(key)
            out.by_labels[key] = (list(vals) if base is None
                                  else [a + b for a, b in zip(base, vals, strict=True)])  # fmt: skip
        out.by_agent = dict(self.by_agent)
        for agent_id, usage in other.by_agent.items():
            acc = UsageTotals()
            for part in (out.by_agent.get(agent_id), usage):
                if part is not None:
                    _add_totals(acc, part)
            out.by_agent[agent_id] = acc
        out.by_session = dict(self.by_session)
        for session, cost in other.by_session.items():
            out.by_session[session] = out.by_session.get(session, 0.0) + cost
        return out


def _add_totals(acc: UsageTotals, usage: UsageTotals) -> None:
    _add(acc, usage.input, usage.output, usage.cache_create, usage.cache_read, usage.cost_usd,
         usage.messages, usage.models, usage.first_ts, usage.last_ts)  # fmt: skip


def _add(acc: UsageTotals, i: int, o: int, cc: int, cr: int, cost: float, n: int,
         models: list[str], lo: int | None, hi: int | None) -> None:  # fmt: skip
    acc.input += i
    acc.output += o
    acc.cache_create += cc
    acc.cache_read += cr
    acc.cost_usd += cost
    acc.messages += n
    for model in models:
        if model not in acc.models:  # a handful of models: a list beats a set here
            acc.models.append(model)
    if lo is not None:
        acc.first_ts = lo if acc.first_ts is None else min(acc.first_ts, lo)
    if hi is not None:
        acc.last_ts = hi if acc.last_ts is None else max(acc.last_ts, hi)


class UsageAggregate:
    """The store's usage folded by label set; `refresh` brings it up to date cheaply."""

    def __init__(self, prices: PriceTable) -> None:
        self.prices = prices
        self.settled: dict[GroupKey, Sums] = {}
        self.recent: dict[GroupKey, Sums] = {}
        self.settled_until: int | None = None  # T, ms (a multiple of BUCKET_MS)
        self.watermark = 0  # the largest entry rowid summed
        self.data_version: int | None = None
        self._settled_version = 0
        self._folded_settled: tuple[tuple, Folded] | None = None
        #: settled [messages, input, output, cache_create, cache_read], checked against buckets
        self._settled_sums = [0, 0, 0, 0, 0]
        #: (since, settled_until, settled version) → cost of [since, settled_until)
        self._range_costs: dict[tuple[int, int, int], float] = {}
        #: how many times the settled sums were rebuilt from scratch (tests, diagnostics)
        self.rebuilds = 0

    # -- reading ----------------------------------------------------------------------------------
    def refresh(self, conn: sqlite3.Connection, now_ms: int) -> None:
        """Bring the sums up to the store's state. Call inside a read transaction (one
        consistent snapshot); cheap when nothing changed."""
        settle = (now_ms // HOUR_MS - 1) * HOUR_MS
        version = conn.execute("PRAGMA data_version").fetchone()[0]
        if version == self.data_version and settle == self.settled_until:
            return
        top = conn.execute("SELECT COALESCE(MAX(id), 0) FROM entries").fetchone()[0]
        old = self.settled_until
        if old is None or settle < old or top < self.watermark:
            self._rebuild(conn, settle, top)
        else:
            changed = False
            if settle > old:  # the line moved: last refresh's recent rows become settled
                changed |= self._add(conn, "ts >= ? AND ts < ? AND +id <= ?", (old, settle, top))
                # rows appended since that are older than the old line
                changed |= self._add(conn, "ts < ? AND id > ? AND id <= ?", (old, self.watermark, top))
            else:
                changed |= self._add(conn, "ts < ? AND id > ? AND id <= ?", (settle, self.watermark, top))
            self.settled_until, self.watermark = settle, top
            if changed:
                self._settled_version += 1
            if not self._settled_matches(conn):
                self._rebuild(conn, settle, top)
        # `+id`: the ts index, not the rowid range (which would visit every row)
        self.recent = self._groups(conn, "ts >= ? AND +id <= ?", (settle, top))
        self.data_version = version

    def _groups(self, conn: sqlite3.Connection, where: str, params: tuple) -> dict[GroupKey, Sums]:
        sql = grouped_cost_sql(self.prices, "session_id, cwd, project", f"WHERE {where}")
        return {tuple(row[:6]): list(row[6:]) for row in conn.execute(sql, params)}

    def _add(self, conn: sqlite3.Connection, where: str, params: tuple) -> bool:
        added = self._groups(conn, where, params)
        for key, sums in added.items():
            self._count(sums)
            acc = self.settled.get(key)
            if acc is None:
                self.settled[key] = sums
                continue
            for i in range(7):
                acc[i] += sums[i]
            acc[7] = min(acc[7], sums[7])
            acc[8] = max(acc[8], sums[8])
        return bool(added)

    def _rebuild(self, conn: sqlite3.Connection, settle: int, top: int) -> None:
        self.settled = self._groups(conn, "ts < ? AND id <= ?", (settle, top))
        self._settled_sums = [0, 0, 0, 0, 0]
        for sums in self.settled.values():
            self._count(sums)
        self.settled_until, self.watermark = settle, top
        self._settled_version += 1
        self.rebuilds += 1

    def _settled_matches(self, conn: sqlite3.Connection) -> bool:
        """The settled sums equal usage_buckets' over the same time range (message count and
        each token type): no settled row was rewritten or deleted behind the watermark."""
        assert self.settled_until is not None
        row = conn.execute(
            "SELECT COALESCE(SUM(n), 0), COALESCE(SUM(input), 0), COALESCE(SUM(output), 0), "
            "COALESCE(SUM(cache_create), 0), COALESCE(SUM(cache_read), 0) FROM usage_buckets "
            "WHERE bucket < ?",
            (self.settled_until // BUCKET_MS,),
        ).fetchone()
        return list(row) == self._settled_sums

    def _count(self, sums: Sums) -> None:
        totals = self._settled_sums
        totals[0] += sums[6]
        for i in range(4):
            totals[i + 1] += sums[i]

    def range_cost(self, store: Store, since_ms: int, until_ms: int) -> float:
        """Cost of the entries in [since, until), as `podium report` prices it. The part before
        the settle line is kept while the settled sums are unchanged (call after `refresh`)."""
        settle = self.settled_until
        if settle is None or not since_ms < settle < until_ms:
            return _range_cost(store, self.prices, since_ms, until_ms)
        key = (since_ms, settle, self._settled_version)
        early = self._range_costs.get(key)
        if early is None:
            self._range_costs = {key: _range_cost(store, self.prices, since_ms, settle)} | {
                k: v for k, v in self._range_costs.items() if k[1:] == key[1:]}  # fmt: skip
            early = self._range_costs[key]
        return early + _range_cost(store, self.prices, settle, until_ms)

    # -- folding ----------------------------------------------------------------------------------
    def folded(self, attribution: Attribution) -> Folded:
        """Everything folded by label set and by agent. The settled part is folded again only
        when it or the attribution changed."""
        key = (self._settled_version, attribution.key)
        if self._folded_settled is None or self._folded_settled[0] != key:
            self._folded_settled = (key, self._fold(self.settled, attribution))
        return self._folded_settled[1].merged(self._fold(self.recent, attribution))

    def _fold(self, groups: dict[GroupKey, Sums], attribution: Attribution) -> Folded:
        out = Folded()
        prices = self.prices
        for (session, cwd, project, model, long, has_logged), sums in groups.items():
            i, o, cc, cr, c1h, logged, n, lo, hi = sums
            cost = price_group(prices, "auto", model, long, has_logged, i, o, cc, cr, c1h, logged)
            agent = attribution.agent_for(session, cwd)
            acc = out.by_labels.setdefault(attribution.labels(agent, model, cwd, project),
                                           [0.0, 0, 0, 0, 0])  # fmt: skip
            acc[0] += cost
            acc[1] += i
            acc[2] += o
            acc[3] += cc
            acc[4] += cr
            if session:
                out.by_session[session] = out.by_session.get(session, 0.0) + cost
            if agent is None:
                continue
            _add(out.by_agent.setdefault(agent.id, UsageTotals()), i, o, cc, cr, cost, n,
                 [model] if model else [], lo, hi)  # fmt: skip
        return out


def _range_cost(store: Store, prices: PriceTable, since_ms: int, until_ms: int) -> float:
    """From the 15-minute sums when the range falls on their edges and the price table splits
    long context where they do (what reports do), else from the entries."""
    if prices.breakpoints != LONG_CONTEXT_LEVELS or since_ms % BUCKET_MS or until_ms % BUCKET_MS:
        return totals(store, since_ms=since_ms, until_ms=until_ms, prices=prices).cost_usd
    rows = store.conn.execute(
        "SELECT model, long, has_logged, SUM(input), SUM(output), SUM(cache_create), "
        "SUM(cache_read), SUM(cache_1h), SUM(cost_logged) FROM usage_buckets "
        "WHERE bucket >= ? AND bucket < ? AND n > 0 GROUP BY model, long, has_logged",
        (since_ms // BUCKET_MS, until_ms // BUCKET_MS),
    )
    return sum(price_group(prices, "auto", model or None, *rest) for model, *rest in rows)


def agent_label(name: str, ended_at: float | None, now: float, fold_after_s: float) -> str:
    """An agent's `agent` label: its name, or "_ended" once it ended long enough ago."""
    if ended_at is not None and now - ended_at > fold_after_s:
        return AGENT_ENDED
    return name
