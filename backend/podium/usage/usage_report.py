"""`podium report usage`: usage from every source (the CLIs' logs and the logged records) by
agent, provider, model or task type, with the top models by cost (seed 003's report).

Logged records carry their own agent, provider and task type. A CLI's usage (Claude Code,
Codex, Gemini CLI) belongs to the Podium agent whose session or worktree it came from, else to
the CLI itself; its provider follows the model (claude → anthropic, gpt/o-series → openai,
gemini → google). External API calls (no tokens) are counted per row as `apiCalls`.
"""

from __future__ import annotations

import argparse
import re
import time
from collections import defaultdict

from podium.errors import InvalidInput
from podium.store import Store
from podium.usage.pricing import PriceTable
from podium.usage.queries import (
    default_prices,
    entry_filters,
    long_context_sql,
    price_group,
    where_sql,
)

GROUPS = ("agent", "provider", "model", "taskType")
NONE = "(none)"
#: a CLI adapter's name → its provider when the model does not say
ADAPTER_PROVIDER = {"claude": "anthropic", "codex": "openai", "gemini": "google"}
_MODEL_PROVIDER = (
    (re.compile(r"^(?:[a-z]+\.)?(?:anthropic\.)?claude"), "anthropic"),
    (re.compile(r"^(?:gpt-|o\d|codex|chatgpt|text-embedding|davinci)"), "openai"),
    (re.compile(r"^(?:gemini|gemma|palm)"), "google"),
)
_PERIOD = re.compile(r"^\s*(\d+)\s*([dhw]?)\s*$")


def parse_last(text: str, option: str = "--last") -> int:
    """`7d`, `30d`, `12h`, `2w` (or a bare `30`: days, as `--last` of the daily report) →
    milliseconds, at least an hour."""
    m = _PERIOD.match(text or "")
    if not m:
        raise InvalidInput(f"{option} must look like 7d, 30d, 12h or 2w, not {text!r}",
                           field=option.lstrip("-"))  # fmt: skip
    n, unit = int(m.group(1)), m.group(2) or "d"
    if n == 0:
        raise InvalidInput(f"{option} wants a period of at least 1h (7d, 30d, 12h, 2w), got "
                           f"{text!r}", field=option.lstrip("-"))  # fmt: skip
    return n * {"h": 3_600_000, "d": 86_400_000, "w": 7 * 86_400_000}[unit]


def provider_of(model: str | None, adapter: str) -> str:
    name = (model or "").lower().split("/")[-1]
    for pattern, provider in _MODEL_PROVIDER:
        if pattern.match(name):
            return provider
    return ADAPTER_PROVIDER.get(adapter, adapter)


def _agent_names(store: Store) -> list[tuple[str, str, str]]:
    """(name, claude session id, worktree) of every agent Podium spawned."""
    rows = store.conn.execute("SELECT name, COALESCE(claude_session_id, ''), worktree FROM agents")
    return [(n, s, (w or "").rstrip("/")) for n, s, w in rows]


def _cli_agent(agents: list[tuple[str, str, str]], adapter: str, session: str | None, cwd: str | None) -> str:
    for name, agent_session, worktree in agents:
        if session and session == agent_session:
            return name
        if cwd and worktree and (cwd == worktree or cwd.startswith(worktree + "/")):
            return name
    return adapter


class _Row:
    __slots__ = ("api_calls", "cache_create", "cache_read", "calls", "cost", "errors", "input",
                 "models", "output", "unpriced")  # fmt: skip

    def __init__(self) -> None:
        self.calls = self.api_calls = self.errors = 0
        self.input = self.output = self.cache_create = self.cache_read = 0
        self.cost = 0.0
        self.models: set[str] = set()
        self.unpriced: set[str] = set()

    def as_dict(self) -> dict:
        total = self.input + self.output + self.cache_create + self.cache_read
        return {
            "calls": self.calls, "apiCalls": self.api_calls, "errors": self.errors,
            "inputTokens": self.input, "outputTokens": self.output,
            "cacheCreationTokens": self.cache_create, "cacheReadTokens": self.cache_read,
            "totalTokens": total, "costUSD": round(self.cost, 6),
            "models": sorted(self.models), "unpricedModels": sorted(self.unpriced),
        }  # fmt: skip


def usage_report(store: Store, *, by: str = "agent", since_ms: int | None = None,
                 until_ms: int | None = None, top_models: int | None = None,
                 prices: PriceTable | None = None) -> dict:  # fmt: skip
    """Rows of usage grouped `by` one of GROUPS, most expensive first."""
    if by not in GROUPS:
        raise InvalidInput(f"--by must be one of {', '.join(GROUPS)}", field="by")
    prices = prices or default_prices()
    clauses, params = entry_filters(since_ms, until_ms)
    agents = _agent_names(store) if by == "agent" else []
    rows: dict[str, _Row] = defaultdict(_Row)
    by_model: dict[str, _Row] = defaultdict(_Row)
    sql = (
        "SELECT e.adapter, e.session_id, e.cwd, e.model, r.agent, r.provider, r.task_type, "
        f"{long_context_sql(prices)} AS long, e.cost_logged IS NOT NULL, "
        "SUM(e.input), SUM(e.output), SUM(e.cache_create), SUM(e.cache_read), "
        "SUM(COALESCE(e.cache_1h, 0)), SUM(COALESCE(e.cost_logged, 0)), COUNT(*), "
        "SUM(r.status = 'error') "
        f"FROM (SELECT * FROM entries {where_sql(clauses)}) e "
        "LEFT JOIN usage_records r ON r.key = e.key "
        "GROUP BY e.adapter, e.session_id, e.cwd, e.model, r.agent, r.provider, r.task_type, "
        "long, 9"
    )
    for (adapter, session, cwd, model, agent, provider, task_type, long, has_logged, i, o, cc,
         cr, c1h, logged, n, errors) in store.conn.execute(sql, params):  # fmt: skip
        logged_record = agent is not None or provider is not None or task_type is not None
        if by == "agent":
            key = agent or (NONE if logged_record else _cli_agent(agents, adapter, session, cwd))
        elif by == "provider":
            key = provider or provider_of(model, adapter)
        elif by == "model":
            key = model or NONE
        else:
            key = task_type or NONE
        cost = price_group(prices, "auto", model, long, has_logged, i, o, cc, cr, c1h, logged)
        unpriced = bool(model and not has_logged and prices.price_for(model) is None
                        and i + o + cc + cr)  # fmt: skip
        for row in (rows[key], by_model[model or NONE]):
            row.calls += n
            row.errors += errors or 0
            row.input += i
            row.output += o
            row.cache_create += cc
            row.cache_read += cr
            row.cost += cost
            if model:
                row.models.add(model)
            if unpriced:
                row.unpriced.add(model)
    _add_api_calls(store, by, since_ms, until_ms, rows)
    ordered = sorted(rows.items(), key=lambda kv: (-kv[1].cost, -kv[1].calls, kv[0]))
    total = _Row()
    for _key, row in ordered:
        for name in ("calls", "api_calls", "errors", "input", "output", "cache_create",
                     "cache_read", "cost"):  # fmt: skip
            setattr(total, name, getattr(total, name) + getattr(row, name))
        total.models |= row.models
        total.unpriced |= row.unpriced
    out = {
        "by": by, "since": since_ms, "until": until_ms,
        "rows": [{by: key, **row.as_dict()} for key, row in ordered],
        "totals": total.as_dict(),
        "unpricedModels": sorted(total.unpriced),
    }  # fmt: skip
    if top_models:
        top = sorted(by_model.items(), key=lambda kv: (-kv[1].cost, -kv[1].calls, kv[0]))
        out["topModels"] = [{"model": model, **row.as_dict()} for model, row in top[:top_models]]
    return out


def _add_api_calls(store: Store, by: str, since_ms: int | None, until_ms: int | None,
                   rows: dict[str, _Row]) -> None:  # fmt: skip
    """External API calls (no tokens): counted per row (provider: the service)."""
    column = {"agent": "agent", "provider": "service", "model": "NULL",
              "taskType": "task_type"}[by]  # fmt: skip
    clauses, params = entry_filters(since_ms, until_ms)
    clauses.append("kind = 'api'")
    for key, n, errors in store.conn.execute(
        f"SELECT {column}, COUNT(*), SUM(status = 'error') FROM usage_records "
        f"WHERE {' AND '.join(clauses)} GROUP BY 1", params,
    ):  # fmt: skip
        row = rows[key or NONE]
        row.api_calls += n
        row.errors += errors or 0


def usage_report_for(store: Store, args: argparse.Namespace, prices: PriceTable) -> dict:
    """`podium report usage` options → the report (`--since`/`--until` days win over
    `--last`, which defaults to 7d)."""
    from podium.domain.periods import date_range_ms
    from podium.usage.reports import parse_day, resolve_tz

    if args.since or args.until:
        tz = resolve_tz(args.timezone)
        since_ms, until_ms = date_range_ms(parse_day(args.since, "since"),
                                           parse_day(args.until, "until"), tz)  # fmt: skip
    else:
        since_ms, until_ms = int(time.time() * 1000) - parse_last(args.last or "7d"), None
    return usage_report(store, by=args.by, since_ms=since_ms, until_ms=until_ms,
                        top_models=args.top_models, prices=prices)  # fmt: skip

