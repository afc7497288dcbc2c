"""Usage over time (`podium/usageHistory`): cost, tokens by type, cache hit rate and savings per
local day or hour and per group (agent, model, source, project); the official plan figures over
time; a per-agent table.

Local buckets are exact in every zone: the range is cut into spans of one UTC offset (a DST
change starts a new span), and within a span a local day or hour is an integer division of
`ts + offset`, done in SQL. One read (podium.usage.history_scan: the store's 15-minute sums
per session, cwd, project and model, `history_buckets`, or the entries where those cannot
answer exactly) sums the range per (local bucket, session, cwd, project, model); every
grouping and the agent table come from it: Python attributes each (session, cwd) to its agent
once and prices each cell once.

Time working vs waiting per agent comes from the agents' status history
(podium.store.status_log), clipped to the range.
"""

from __future__ import annotations

import bisect
import json
from datetime import date, datetime, timedelta, tzinfo
from typing import Any, cast

from podium.domain.attribution import OwnerIndex
from podium.domain.periods import (
    concrete_tz,
    date_range_ms,
    local_date,
    resolve_tz,
    zone_label,
)
from podium.errors import InvalidInput
from podium.redact import scrub
from podium.store import Store
from podium.store.migrations import BUCKET_MS
from podium.store.status_log import time_in_statuses
from podium.usage.history_scan import plan_series, scan
from podium.usage.pricing import PER_MILLION, PriceTable
from podium.usage.queries import default_prices, price_group

GROUP_BYS = ("agent", "model", "source", "project")
BUCKET_KINDS = ("day", "hour")
#: the longest range per bucket kind (keeps an answer to a few thousand points)
MAX_DAYS = {"day": 400, "hour": 31}
DEFAULT_DAYS = 30
HOUR_MS = 3_600_000
DAY_MS = 86_400_000
#: plan figures are thinned to the highest one per window and step: an hour for a chart by
#: day (90 days: ~2,000 points a window), a quarter hour for one by hour
PLAN_STEP_S = {"day": 3600, "hour": 900}
#: the group of usage no Podium agent owns (agent and source groupings)
UNATTRIBUTED = ""
#: said when some agent's time working vs waiting is unknown (null)
NOTE_NO_STATUS_HISTORY = (
    "time working vs waiting is null for agents whose status history does not cover the range: "
    "Podium keeps it since schema v11 (an older agent's starts at its status then)"
)


# -- local time -----------------------------------------------------------------------------------
class LocalClock:
    """The zone's UTC offset over [lo, hi) as spans, and local day/hour keys from epoch ms, the
    same in Python and in SQL."""

    def __init__(self, tz: tzinfo, lo_ms: int, hi_ms: int) -> None:
        self.tz = tz
        self.starts: list[int] = [lo_ms]
        self.offsets: list[int] = [self._offset(lo_ms)]
        day = lo_ms
        while day < hi_ms:
            nxt = min(day + DAY_MS, hi_ms)
            if self._offset(nxt - 1) != self.offsets[-1]:
                self._split(day, nxt - 1)
            day = nxt

    def _offset(self, ms: int) -> int:
        moment = datetime.fromtimestamp(ms / 1000, self.tz)
        # an aware datetime (self.tz is a concrete zone) always has an offset
        return int(cast(timedelta, moment.utcoffset()).total_seconds() * 1000)

    def _split(self, lo: int, hi: int) -> None:
        """Record the offset changes in [lo, hi] (at most a few a day), to the second."""
        while self._offset(hi) != self.offsets[-1]:
            a, b = lo, hi  # offset(a) is the current one, offset(b) differs
            while b - a > 1000:
                mid = (a + b) // 2
                if self._offset(mid) == self.offsets[-1]:
                    a = mid
                else:
                    b = mid
            change = b // 1000 * 1000
            self.starts.append(change)
            self.offsets.append(self._offset(change))
            lo = change

    @property
    def aligned(self) -> bool:
        """Every offset and change falls on a quarter hour: a local day or hour is a union of
        15-minute buckets (true of every zone's rules since the 1970s)."""
        return all(x % BUCKET_MS == 0 for x in (*self.starts[1:], *self.offsets))

    def offset_at(self, ms: int) -> int:
        return self.offsets[max(bisect.bisect_right(self.starts, ms) - 1, 0)]

    def key(self, ms: int, kind: str) -> int:
        """A local day's number (days since 1970-01-01) or a local hour's first instant (ms)."""
        off = self.offset_at(ms)
        if kind == "day":
            return (ms + off) // DAY_MS
        return (ms + off) // HOUR_MS * HOUR_MS - off

    def key_sql(self, ts: str, kind: str) -> str:
        """`key` as SQL over the epoch-ms expression `ts` (offsets are integers: inlined)."""

        def one(off: int) -> str:
            if kind == "day":
                return f"(({ts}) + {off}) / {DAY_MS}"
            return f"(({ts}) + {off}) / {HOUR_MS} * {HOUR_MS} - {off}"

        if len(self.starts) == 1:
            return one(self.offsets[0])
        whens = " ".join(f"WHEN ({ts}) < {start} THEN {one(off)}"
                         for start, off in zip(self.starts[1:], self.offsets, strict=False))  # fmt: skip
        return f"CASE {whens} ELSE {one(self.offsets[-1])} END"

    def label(self, key: int, kind: str) -> str:
        if kind == "day":
            return (date(1970, 1, 1) + timedelta(days=key)).isoformat()
        return datetime.fromtimestamp(key / 1000, self.tz).strftime("%Y-%m-%dT%H:00")


# -- agents ---------------------------------------------------------------------------------------
def load_agents(store: Store) -> list[dict[str, Any]]:
    """Every agent the store knows (removed ones too: their usage stays theirs), oldest first."""
    with store.lock:
        cursor = store.conn.execute(
            "SELECT id, name, task, status, status_since, started_at, ended_at, worktree, "
            "claude_session_id, COALESCE(source_override, source), removed, extra_json "
            "FROM agents ORDER BY started_at"
        )
        rows = cursor.fetchall()
    out = []
    for (aid, name, task, status, since, started, ended, worktree, session, source, removed,
         extra) in rows:  # fmt: skip
        try:
            diff = json.loads(extra or "{}").get("diff") or [0, 0, 0]
            added, deleted = int(diff[0]), int(diff[1])
        except (ValueError, TypeError, IndexError, AttributeError):
            added = deleted = 0
        out.append({"id": aid, "name": name, "task": task, "status": status,
                    "status_since": since, "started_at": started, "ended_at": ended,
                    "worktree": worktree, "session": session, "source": source,
                    "removed": bool(removed), "added": added, "deleted": deleted})  # fmt: skip
    return out


# -- sums -----------------------------------------------------------------------------------------
class Sums:
    """Cost, tokens by type, messages and cache savings of some usage."""

    __slots__ = ("cache_read", "cache_write", "cost", "input", "messages", "output", "savings")

    def __init__(self) -> None:
        self.cost = self.savings = 0.0
        self.input = self.output = self.cache_write = self.cache_read = self.messages = 0

    def add(self, other: Sums) -> None:
        self.cost += other.cost
        self.savings += other.savings
        self.input += other.input
        self.output += other.output
        self.cache_write += other.cache_write
        self.cache_read += other.cache_read
        self.messages += other.messages

    @property
    def tokens(self) -> int:
        return self.input + self.output + self.cache_write + self.cache_read

    @property
    def hit_rate(self) -> float | None:
        """Cache reads over all input-side tokens (None without any)."""
        side = self.input + self.cache_write + self.cache_read
        return self.cache_read / side if side else None

    def wire(self) -> dict[str, Any]:
        return {
            "costUSD": round(self.cost, 6),
            "tokens": {"input": self.input, "output": self.output,
                       "cacheWrite": self.cache_write, "cacheRead": self.cache_read},
            "messages": self.messages,
            "cacheHitRate": None if self.hit_rate is None else round(self.hit_rate, 6),
            "cacheSavingsUSD": round(self.savings, 6),
        }


def priced(prices: PriceTable, model: str | None, long: int, has_logged: int, i: int, o: int,
           cc: int, cr: int, c1h: int, logged: float, n: int,
           saved_per_token: float | None = None) -> Sums:  # fmt: skip
    """One grouped row as Sums: its cost (ccusage's auto mode) and what its cache reads saved
    against paying the input rate for them (`saved_per_token`: that rate difference, when the
    caller knows it)."""
    s = Sums()
    s.cost = price_group(prices, "auto", model, long, has_logged, i, o, cc, cr, c1h, logged)
    if saved_per_token is None:
        saved_per_token = cache_saving_rate(prices, model, long)
    s.savings = cr * saved_per_token / PER_MILLION
    s.input, s.output, s.cache_write, s.cache_read, s.messages = i, o, cc, cr, n
    return s


def cache_saving_rate(prices: PriceTable, model: str | None, long: int) -> float:
    """USD per million cache-read tokens saved against the input rate (0 without a price)."""
    rates = prices.rates_for(model, prices.is_long(model, long))
    return 0.0 if rates is None else max(rates.input - rates.cache_read, 0.0)


class Owners:
    """Which agent owns an entry (podium.domain.attribution.OwnerIndex), per distinct
    (session, cwd): the scan groups by them, so each pair is resolved once."""

    def __init__(self, agents: list[dict[str, Any]]) -> None:
        self.agents = agents
        self.index = OwnerIndex((a, a["session"], a["worktree"]) for a in agents)

    def of(self, session: str | None, cwd: str | None) -> dict[str, Any] | None:
        found: dict[str, Any] | None = self.index.owner(session, cwd)
        return found


def _add(acc: dict[tuple, list], key: tuple, values: list[Any]) -> None:
    """Sum a scan row's 7 sums into `acc[key]`."""
    row = acc.get(key)
    if row is None:
        acc[key] = values.copy()
        return
    row[0] += values[0]
    row[1] += values[1]
    row[2] += values[2]
    row[3] += values[3]
    row[4] += values[4]
    row[5] += values[5]
    row[6] += values[6]


def _priced_sums(prices: PriceTable, acc: dict[tuple, list]) -> dict[Any, Sums]:
    """{key: Sums} from raw sums keyed (key, model, long, has_logged)."""
    out: dict[Any, Sums] = {}
    rates: dict[tuple[str | None, int], float] = {}
    for (key, model, long, has_logged), values in acc.items():
        model = model or None
        saving = rates.get((model, long))
        if saving is None:
            saving = rates[(model, long)] = cache_saving_rate(prices, model, long)
        sums = out.get(key)
        if sums is None:
            sums = out[key] = Sums()
        i, o, cc, cr, c1h, logged, n = values
        sums.add(priced(prices, model, long, has_logged, i, o, cc, cr, c1h, logged, n,
                        saved_per_token=saving))  # fmt: skip
    return out


# -- the answer -----------------------------------------------------------------------------------
def parse_range(since: str | None, until: str | None, bucket: str, tz: tzinfo | None,
                now: float) -> tuple[date, date]:  # fmt: skip
    """Inclusive local dates; `until` defaults to today, `since` to DEFAULT_DAYS before it."""

    def day(value: str | None, field: str) -> date | None:
        if value is None:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise InvalidInput(f"{field} must be a date, YYYY-MM-DD", field=field) from None

    last = day(until, "until") or local_date(now, tz)
    first = day(since, "since") or last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise InvalidInput("since must not be after until", field="since")
    if (last - first).days + 1 > MAX_DAYS[bucket]:
        raise InvalidInput(f"at most {MAX_DAYS[bucket]} days by {bucket}", field="since")
    return first, last


def usage_history(store: Store, *, since: str | None = None, until: str | None = None,
                  group_by: str = "model", bucket: str = "day", tz: str | None = None,
                  prices: PriceTable | None = None, now: float | None = None,
                  rollups: bool = True) -> dict[str, Any]:  # fmt: skip
    """The `podium/usageHistory` result (camelCase keys; docs/protocol.md). `rollups=False`
    reads every row instead of the store's sums (the same answer, slower: for tests)."""
    import time

    if group_by not in GROUP_BYS:
        raise InvalidInput(f"groupBy must be one of {', '.join(GROUP_BYS)}", field="groupBy")
    if bucket not in BUCKET_KINDS:
        raise InvalidInput(f"bucket must be one of {', '.join(BUCKET_KINDS)}", field="bucket")
    now = time.time() if now is None else now
    prices = prices or default_prices()
    zone = resolve_tz(tz)
    first, last = parse_range(since, until, bucket, zone, now)
    lo, hi = date_range_ms(first, last, zone)
    assert lo is not None and hi is not None
    clock = LocalClock(concrete_tz(zone), lo, hi)
    agents = load_agents(store)
    owners = Owners(agents)
    by_cell: dict[tuple, list] = {}
    by_agent: dict[tuple, list] = {}
    seen: dict[tuple, tuple[str | None, str]] = {}  # (session, cwd, project) → owner, group
    for key, session, cwd, project, model, long, has_logged, *values in scan(
            store, prices, lo, hi, lambda ts: clock.key_sql(ts, bucket), aligned=clock.aligned,
            rollups=rollups):  # fmt: skip
        where = (session, cwd, project)
        known = seen.get(where)
        if known is None:
            agent = owners.of(session, cwd)
            known = seen[where] = (None if agent is None else agent["id"],
                                   _group_of(group_by, agent, project, cwd, model))  # fmt: skip
        owner, group = known
        _add(by_cell, ((key, model if group_by == "model" else group), model, long, has_logged),
             values)  # fmt: skip
        if owner is not None:
            _add(by_agent, (owner, model, long, has_logged), values)
    cells = _priced_sums(prices, by_cell)
    groups: dict[str, Sums] = {}
    total = Sums()
    for (_key, group), sums in cells.items():
        groups.setdefault(group, Sums()).add(sums)
        total.add(sums)
    table = agent_table(store, agents, _priced_sums(prices, by_agent), lo, hi, now)
    names = _group_names(group_by, agents)
    keys = _bucket_keys(clock, lo, hi, bucket)
    labels = {k: clock.label(k, bucket) for k in keys}
    return {
        "since": first.isoformat(),
        "until": last.isoformat(),
        "timezone": zone_label(clock.tz, tz),  # the name asked for, as the CLI answers
        "groupBy": group_by,
        "bucket": bucket,
        "buckets": [labels[k] for k in keys],
        "groups": [{"key": g, "label": names.get(g, g) or _unattributed(group_by), **s.wire()}
                   for g, s in sorted(groups.items(), key=lambda kv: (-kv[1].cost, kv[0]))],
        "series": [{"bucket": labels.get(k) or clock.label(k, bucket), "group": g, **s.wire()}
                   for (k, g), s in sorted(cells.items())],
        "totals": total.wire(),
        "plan": plan_series(store, lo, hi, PLAN_STEP_S[bucket], rollups=rollups),
        "agents": table,
        "notes": [NOTE_NO_STATUS_HISTORY] if any(r["workingSeconds"] is None for r in table) else [],
    }


def _unattributed(group_by: str) -> str:
    return {"agent": "(not an agent)", "source": "(not an agent)", "model": "(no model)",
            "project": "(no project)"}[group_by]  # fmt: skip


def _group_of(group_by: str, agent: dict[str, Any] | None, project: str | None,
              cwd: str | None, model: str | None) -> str:  # fmt: skip
    if group_by == "model":
        return model or ""
    if group_by == "project":
        return project or cwd or ""
    if agent is None:
        return UNATTRIBUTED
    return agent["id"] if group_by == "agent" else (agent["source"] or "subscription")


def _group_names(group_by: str, agents: list[dict[str, Any]]) -> dict[str, str]:
    return {a["id"]: a["name"] for a in agents} if group_by == "agent" else {}


def _bucket_keys(clock: LocalClock, lo: int, hi: int, kind: str) -> list[int]:
    """Every local day or hour in [lo, hi), empty ones too (a chart's x axis)."""
    keys: list[int] = []
    step = BUCKET_MS if kind == "hour" else HOUR_MS
    for ms in range(lo, hi, step):
        k = clock.key(ms, kind)
        if not keys or keys[-1] != k:
            keys.append(k)
    return keys


def agent_table(store: Store, agents: list[dict[str, Any]], sums: dict[str, Sums], lo: int,
                hi: int, now: float) -> list[dict[str, Any]]:  # fmt: skip
    """One row per agent with usage in [lo, hi) or alive in it: task, cost, tokens, messages,
    lines changed (its last diff against its base), cost per 100 changed lines and its time
    working and waiting in the range (podium.store.status_log)."""
    shown = []
    for a in agents:
        ended = a["ended_at"]
        alive_in_range = a["started_at"] * 1000 < hi and (ended is None or ended * 1000 >= lo)
        if a["id"] in sums or alive_in_range:
            shown.append(a)
    times = time_in_statuses(store, [(a["id"], a["started_at"], a["ended_at"]) for a in shown],
                             lo / 1000, hi / 1000, now)  # fmt: skip
    rows = []
    for a in shown:
        s = sums.get(a["id"]) or Sums()
        spent = times.get(a["id"])
        changed = a["added"] + a["deleted"]
        rows.append({
            "agentId": a["id"], "name": a["name"], "task": scrub(a["task"] or ""), "status": a["status"],
            "source": a["source"] or "subscription", "removed": a["removed"],
            **s.wire(),
            "linesAdded": a["added"], "linesRemoved": a["deleted"], "linesChanged": changed,
            "costPer100Lines": round(s.cost * 100 / changed, 6) if changed else None,
            "workingSeconds": None if spent is None else round(spent.working, 3),
            "waitingSeconds": None if spent is None else round(spent.waiting, 3),
        })  # fmt: skip
    rows.sort(key=lambda r: (-r["costUSD"], r["name"]))
    return rows
