"""Insights (`podium report insights`, `insights` of `podium/usageHistory`): what the store's
numbers say could be cheaper or is about to run out, each with its evidence and an estimated
monthly saving in USD.

Every figure comes from the store: one pass over the entries of the observed window (the last
WINDOW_DAYS days, or since the first entry when the store is younger) per UTC day, session, cwd,
project, model and long-context level (podium.usage.history_scan.scan); the agents table and their
status history (podium.store.status_log); the plan snapshots. Savings seen in the window are extrapolated to a 30-day month (the evidence names the
window). Budgets use the UTC calendar month.
"""

from __future__ import annotations

import calendar
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from podium.protocol.models import AlertLevel
from podium.store import Store
from podium.store.status_log import WAITING_STATUSES, runs_of, time_in_statuses, waiting_since
from podium.usage.history import DAY_MS, Owners, load_agents
from podium.usage.history_scan import scan
from podium.usage.pricing import PER_MILLION, PriceTable
from podium.usage.queries import default_prices, price_group

WINDOW_DAYS = 30
MONTH_DAYS = 30
CACHE_TARGET = 0.80
#: an Opus → Sonnet switch is suggested only above this monthly difference
MODEL_SWITCH_MIN_USD = 5.0
#: smaller savings are noise
MIN_SAVING_USD = 1.0
#: an agent idle or waiting this long while holding a worktree is waste
IDLE_HOURS = 2.0
#: rate-limited time in the window from which an agent's waits are worth a look
RATE_LIMIT_HOURS = 0.5


@dataclass
class Insight:
    id: str
    severity: AlertLevel
    title: str
    evidence: dict[str, Any]
    monthly_saving_usd: float
    action: str
    subject: str = ""  # the agent id, project or window it is about ('' for everything)

    def wire(self) -> dict[str, Any]:
        d = asdict(self)
        return {"id": d["id"], "severity": d["severity"], "title": d["title"],
                "subject": d["subject"], "evidence": d["evidence"],
                "monthlySavingUSD": round(d["monthly_saving_usd"], 2), "action": d["action"]}  # fmt: skip


class _Row:
    """Summed tokens of one (owner, model, long level, has logged cost)."""

    __slots__ = ("c1h", "cc", "cr", "i", "logged", "n", "o")

    def __init__(self) -> None:
        self.i = self.o = self.cc = self.cr = self.c1h = self.n = 0
        self.logged = 0.0

    def add(self, i: int, o: int, cc: int, cr: int, c1h: int, logged: float, n: int) -> None:
        self.i += i
        self.o += o
        self.cc += cc
        self.cr += cr
        self.c1h += c1h
        self.logged += logged
        self.n += n


def _cost(prices: PriceTable, model: str | None, long_: bool, r: _Row) -> float:
    """Tokens priced from the table (logged costs ignored: this compares what-ifs)."""
    return prices.cost_of(model, r.i, r.o, r.cc, r.cr, None, r.c1h or None, long_context=long_)


def sonnet_of(prices: PriceTable, model: str) -> str | None:
    """The Sonnet of the same generation as an Opus model (`claude-opus-4-5` → `claude-sonnet-4-5`),
    when the table prices one."""
    price = prices.price_for(model)
    if price is None or "opus" not in price.family:
        return None
    twin = price.family.replace("opus", "sonnet")
    found = prices.price_for(twin)
    return twin if found is not None and found.family == twin else None


def _usd(x: float) -> float:
    return round(x, 2)


def _iso(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).strftime("%Y-%m-%dT%H:%MZ")


def insights(store: Store, *, now: float | None = None, settings_like: Any = None,
             prices: PriceTable | None = None) -> list[Insight]:  # fmt: skip
    """Every insight the store supports, most valuable first."""
    now = time.time() if now is None else now
    prices = prices or default_prices()
    now_ms = int(now * 1000)
    month_start = datetime.fromtimestamp(now, UTC).replace(day=1, hour=0, minute=0, second=0,
                                                           microsecond=0)  # fmt: skip
    month_lo = int(month_start.timestamp() * 1000)
    window_lo = now_ms - WINDOW_DAYS * DAY_MS
    rows = scan(store, prices, min(window_lo, month_lo), now_ms + 1,
                lambda ts: f"({ts}) / {DAY_MS}")  # fmt: skip
    with store.lock:
        first = store.conn.execute("SELECT MIN(ts) FROM entries WHERE ts >= ?",
                                   (window_lo,)).fetchone()[0]  # fmt: skip
    observed_ms = max(now_ms - max(first if first is not None else now_ms, window_lo), DAY_MS)
    days = observed_ms / DAY_MS
    scale = MONTH_DAYS / days
    window = {"windowDays": round(days, 2),
              "windowStart": datetime.fromtimestamp(max(first or now_ms, window_lo) / 1000, UTC)
              .strftime("%Y-%m-%dT%H:%MZ")}  # fmt: skip

    agents = load_agents(store)
    owners = Owners(agents)
    names = {a["id"]: a["name"] for a in agents}
    # (kind, owner) -> (model, long level, has_logged) -> _Row, within the window
    groups: dict[tuple[str, str], dict[tuple, _Row]] = {}
    month_cost = 0.0
    recent_cost = 0.0  # the last 7 days: the burn rate
    for day, session, cwd, project, model, long_, has_logged, *values in rows:
        cost = price_group(prices, "auto", model or None, long_, has_logged, *values[:6])
        day_ms = day * DAY_MS
        if day_ms >= month_lo:
            month_cost += cost
        if day_ms + DAY_MS <= window_lo:
            continue
        if day_ms + DAY_MS > now_ms - 7 * DAY_MS:
            recent_cost += cost
        agent = owners.of(session, cwd)
        owner = ("agent", agent["id"]) if agent else ("project", project or cwd or "")
        cell = groups.setdefault(owner, {}).setdefault((model or None, long_, has_logged), _Row())
        cell.add(*values)

    out: list[Insight] = []
    for (kind, key), cells in groups.items():
        label = names.get(key, key) if kind == "agent" else (key or "(no project)")
        out += _cache(prices, kind, key, label, cells, scale, window)
        if kind == "agent":
            out += _model_choice(prices, key, label, cells, scale, window)
    out += _long_context(prices, groups, scale, window)
    out += _idle(store, agents, now, window_lo / 1000)
    out += _rate_limited(store, agents, now, window_lo / 1000, scale)
    out += _budget(settings_like, month_cost, recent_cost, now, month_start, days)
    out += _plans(store, now)
    order = {"critical": 0, "warning": 1, "info": 2}
    out.sort(key=lambda x: (-x.monthly_saving_usd, order[x.severity], x.id, x.subject))
    return out


def _cache(prices: PriceTable, kind: str, key: str, label: str, cells: dict[tuple, _Row],
           scale: float, window: dict) -> list[Insight]:  # fmt: skip
    """Hit rate below CACHE_TARGET: the shortfall to the target, priced at input minus cache read."""
    side = reads = 0
    shortfall_usd = 0.0
    by_model: dict[tuple, list[int]] = {}
    for (model, long_, _logged), r in cells.items():
        m = by_model.setdefault((model, prices.is_long(model, long_)), [0, 0])
        m[0] += r.i + r.cc + r.cr
        m[1] += r.cr
    for (model, long_), (s, cr) in by_model.items():
        side += s
        reads += cr
        rates = prices.rates_for(model, long_)
        if rates is not None:
            missing = max(CACHE_TARGET * s - cr, 0.0)
            shortfall_usd += missing * max(rates.input - rates.cache_read, 0.0) / PER_MILLION
    if not side or reads / side >= CACHE_TARGET:
        return []
    saving = shortfall_usd * scale
    if saving < MIN_SAVING_USD:
        return []
    rate = reads / side
    return [Insight(
        id="cache_hit_rate", severity="warning", subject=key,
        title=f"Cache hit rate {rate:.0%} for {label} (target {CACHE_TARGET:.0%})",
        evidence={**window, kind: label, "cacheHitRate": round(rate, 4), "inputSideTokens": side,
                  "cacheReadTokens": reads, "shortfallUSDInWindow": _usd(shortfall_usd)},
        monthly_saving_usd=saving,
        action="Keep the prompt prefix stable (no changing text at the top of CLAUDE.md or system "
               "prompts), avoid restarting sessions, and resume within the cache lifetime.",
    )]  # fmt: skip


def _model_choice(prices: PriceTable, key: str, label: str, cells: dict[tuple, _Row],
                  scale: float, window: dict) -> list[Insight]:  # fmt: skip
    opus = sonnet = 0.0
    models: set[str] = set()
    for (model, long_, _logged), r in cells.items():
        twin = sonnet_of(prices, model) if model else None
        if twin is None:
            continue
        models.add(model)
        opus += _cost(prices, model, prices.is_long(model, long_), r)
        sonnet += _cost(prices, twin, prices.is_long(model, long_), r)
    saving = (opus - sonnet) * scale
    if saving < MODEL_SWITCH_MIN_USD:
        return []
    twins = sorted({sonnet_of(prices, m) or "" for m in models})
    return [Insight(
        id="model_choice", severity="info", subject=key,
        title=f"{label} spends ${opus * scale:,.2f}/month on Opus",
        evidence={**window, "agent": label, "models": sorted(models), "alternatives": twins,
                  "opusUSDInWindow": _usd(opus), "sameTokensOnSonnetUSDInWindow": _usd(sonnet)},
        monthly_saving_usd=saving,
        action=f"Run this kind of task on {', '.join(twins)} (the same generation's Sonnet); "
               "keep Opus for the hard parts.",
    )]  # fmt: skip


def _long_context(prices: PriceTable, groups: dict[tuple[str, str], dict[tuple, _Row]],
                  scale: float, window: dict) -> list[Insight]:  # fmt: skip
    total = surcharge = 0.0
    long_requests = requests = 0
    for cells in groups.values():
        for (model, long_, _logged), r in cells.items():
            is_long = prices.is_long(model, long_)
            cost = _cost(prices, model, is_long, r)
            total += cost
            requests += r.n
            if is_long:
                long_requests += r.n
                surcharge += cost - _cost(prices, model, False, r)
    saving = surcharge * scale
    if saving < MIN_SAVING_USD:
        return []
    return [Insight(
        id="long_context", severity="warning",
        title=f"Long-context surcharge: {surcharge / total:.0%} of the cost",
        evidence={**window, "longRequests": long_requests, "requests": requests,
                  "surchargeUSDInWindow": _usd(surcharge), "costUSDInWindow": _usd(total),
                  "surchargeShare": round(surcharge / total, 4)},
        monthly_saving_usd=saving,
        action="Keep requests under 200k input tokens: /compact or /clear earlier, split big "
               "tasks, and read files in parts.",
    )]  # fmt: skip


def _idle(store: Store, agents: list[dict[str, Any]], now: float,
          window_lo: float) -> list[Insight]:  # fmt: skip
    """Agents held (waiting, idle, paused, rate-limited) for IDLE_HOURS without working in
    between, from their status history (a run of held statuses counts whole: `waiting` then
    `idle` then `paused` is one wait); their time working and waiting in the window too."""
    held = [a for a in agents if not a["removed"] and a["worktree"] and a["status"] in
            WAITING_STATUSES]  # fmt: skip
    spent = time_in_statuses(store, [(a["id"], a["started_at"], a["ended_at"]) for a in held],
                             window_lo, now, now)  # fmt: skip
    out = []
    for a in held:
        since = waiting_since(store, a["id"])
        if since is None:  # no stored history: the current status alone
            since = a["status_since"] or now
        hours = (now - since) / 3600
        if hours < IDLE_HOURS:
            continue
        evidence = {"agent": a["name"], "status": a["status"], "hours": round(hours, 1),
                    "waitingSince": _iso(since), "worktree": a["worktree"]}
        window_time = spent.get(a["id"])
        if window_time is not None:
            evidence["workingHoursInWindow"] = round(window_time.working / 3600, 2)
            evidence["waitingHoursInWindow"] = round(window_time.waiting / 3600, 2)
        out.append(Insight(
            id="idle_agent", severity="info", subject=a["id"],
            title=f"{a['name']} has been waiting for {hours:.1f} h ({a['status']} now) "
                  "holding a worktree",
            evidence=evidence,
            monthly_saving_usd=0.0,
            action="Answer it, or stop it and remove its worktree; a session resumed after the "
                   "cache lifetime pays to rewrite its cache.",
        ))  # fmt: skip
    return out


def _rate_limited(store: Store, agents: list[dict[str, Any]], now: float, window_lo: float,
                  scale: float) -> list[Insight]:  # fmt: skip
    """Agents that spent RATE_LIMIT_HOURS or more of the window rate-limited (each run is a
    429 retry series or a plan limit the agent hit), from their status history."""
    names = {a["id"]: a["name"] for a in agents}
    out = []
    for agent_id, (seconds, runs) in sorted(runs_of(store, "rateLimited", window_lo, now,
                                                    now).items()):  # fmt: skip
        hours = seconds / 3600
        if hours < RATE_LIMIT_HOURS or agent_id not in names:
            continue
        out.append(Insight(
            id="rate_limit_waits", severity="warning", subject=agent_id,
            title=f"{names[agent_id]} waited {hours:.1f} h rate-limited ({runs} "
                  f"time{'s' if runs != 1 else ''})",
            evidence={"agent": names[agent_id], "rateLimitedHours": round(hours, 2),
                      "waits": runs, "hoursPerMonth": round(hours * scale, 1)},
            monthly_saving_usd=0.0,
            action="Run fewer agents at once on this plan, move this one to an API key "
                   "(Switch to API) when it is limited, or let Podium pause it on the limit.",
        ))  # fmt: skip
    return out


def _budget(settings_like: Any, month_cost: float, recent_cost: float, now: float,
            month_start: datetime, window_days: float) -> list[Insight]:  # fmt: skip
    limits = getattr(settings_like, "limits", None)
    budget = getattr(limits, "monthly_usd", None)
    if not budget:
        return []
    rate = recent_cost / min(7.0, window_days)  # USD per day
    days_in_month = calendar.monthrange(month_start.year, month_start.month)[1]
    end = month_start.timestamp() + days_in_month * 86400
    projected = month_cost + rate * max(end - now, 0) / 86400
    if projected <= budget:
        return []
    # rate is > 0 here unless the month is already over budget
    runs_out = now if month_cost >= budget else now + (budget - month_cost) / rate * 86400
    when = datetime.fromtimestamp(runs_out, UTC).strftime("%Y-%m-%dT%H:%MZ")
    return [Insight(
        id="monthly_budget", severity="critical" if month_cost >= budget else "warning",
        title=f"Month-end projection ${projected:,.2f} over the ${budget:,.2f} budget",
        evidence={"monthToDateUSD": _usd(month_cost), "burnUSDPerDay": _usd(rate),
                  "burnWindowDays": round(min(7.0, window_days), 2),
                  "projectedMonthEndUSD": _usd(projected), "monthlyBudgetUSD": _usd(budget),
                  "runsOutAt": when},
        monthly_saving_usd=projected - budget,
        action=f"Cut about ${(projected - budget) * 86400 / max(end - now, 86400):,.2f}/day, "
               "or raise limits.monthlyUSD.",
    )]  # fmt: skip


def _plans(store: Store, now: float) -> list[Insight]:
    """Plan windows whose use, at the slope of their current window's snapshots, reaches 100%
    before they reset."""
    with store.lock:
        rows = store.conn.execute(
            "SELECT window, ts, used_pct, resets_at FROM plan_snapshots "
            "WHERE source IN ('official', 'oauth') AND resets_at > ? ORDER BY window, ts",
            (now,)).fetchall()  # fmt: skip
    by_window: dict[tuple[str, float], list[tuple[float, float]]] = {}
    for window, ts, pct, resets in rows:
        by_window.setdefault((window, round(resets)), []).append((ts, pct))
    out = []
    for (window, resets), points in sorted(by_window.items()):
        (t0, p0), (t1, p1) = points[0], points[-1]
        if t1 <= t0 or p1 <= p0:
            continue
        slope = (p1 - p0) / (t1 - t0)  # % per second
        full = t1 + (100 - p1) / slope if p1 < 100 else t1
        if full >= resets:
            continue
        out.append(Insight(
            id="plan_window", severity="critical" if p1 >= 100 else "warning", subject=window,
            title=f"{window} plan window projected full at "
                  f"{datetime.fromtimestamp(full, UTC):%H:%M} UTC, before it resets",
            evidence={"window": window, "usedPct": round(p1, 1),
                      "burnPctPerHour": round(slope * 3600, 2),
                      "fullAt": datetime.fromtimestamp(full, UTC).strftime("%Y-%m-%dT%H:%MZ"),
                      "resetsAt": datetime.fromtimestamp(resets, UTC).strftime("%Y-%m-%dT%H:%MZ")},
            monthly_saving_usd=0.0,
            action="Pause the less urgent agents or move some to the API until the window resets.",
        ))  # fmt: skip
    return out


def wire(items: list[Insight]) -> list[dict[str, Any]]:
    return [i.wire() for i in items]
