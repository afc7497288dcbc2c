"""Aggregations over the store that every consumer shares (agents, limits, export, reports).

Costs are computed here, at query time, from token sums grouped by model and by which side of
the long-context line each request falls, so a new price table never needs a re-ingest.
"""

from __future__ import annotations

from collections.abc import Iterable

from podium.domain.attribution import owned_sql, owner_keys
from podium.store import Store
from podium.usage.pricing import COST_MODES, PriceTable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from podium.domain.attribution import AgentKeys

_DEFAULT_PRICES: PriceTable | None = None


def default_prices() -> PriceTable:
    """The price table in force (bundled or `$PODIUM_PRICES`), loaded once per process."""
    global _DEFAULT_PRICES
    if _DEFAULT_PRICES is None:
        from podium.errors import InvalidInput

        try:
            _DEFAULT_PRICES = PriceTable.load()
        except InvalidInput as exc:  # a broken user table must not stop the server
            import logging

            logging.getLogger("podium").warning("%s; using the bundled prices", exc)
            _DEFAULT_PRICES = PriceTable.load_bundled()
            _DEFAULT_PRICES.load_error = str(exc)
    return _DEFAULT_PRICES


class UsageTotals:
    """Token, cost and message sums. (A plain class: no `dataclasses` import on CLI start.)"""

    __slots__ = ("cache_create", "cache_read", "cost_usd", "first_ts", "input", "last_ts",
                 "messages", "models", "output", "reported_usd", "unpriced_models")  # fmt: skip

    def __init__(self) -> None:
        self.input = 0
        self.output = 0
        self.cache_create = 0
        self.cache_read = 0
        self.cost_usd = 0.0
        self.messages = 0
        self.models: list[str] = []
        self.first_ts: int | None = None  # ms
        self.last_ts: int | None = None  # ms
        #: the part of cost_usd that is the CLI's own figure (models without a price)
        self.reported_usd = 0.0
        #: models with no price and no reported figure: cost_usd lacks their share
        self.unpriced_models: list[str] = []

    def __eq__(self, other: object) -> bool:
        return type(other) is UsageTotals and all(
            getattr(self, f) == getattr(other, f) for f in self.__slots__
        )

    # mutable; typeshed types object.__hash__ as a method only
    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return "UsageTotals(" + ", ".join(f"{f}={getattr(self, f)!r}" for f in self.__slots__) + ")"

    @property
    def total_tokens(self) -> int:
        return self.input + self.output + self.cache_create + self.cache_read


def long_context_sql(prices: PriceTable) -> str:
    """SQL: the request's long-context level, how many of the table's breakpoints its total
    input exceeds (`PriceTable.is_long` tells whether that is past a model's threshold)."""
    return prices.long_level_sql()


def grouped_cost_sql(prices: PriceTable, group_by: str, where: str) -> str:
    """A SELECT whose rows carry everything needed to price a group exactly:
    (group..., model, long, has_logged, input, output, cache_create, cache_read,
     cache_1h, cost_logged, n, min_ts, max_ts)."""
    gb = f"{group_by}, " if group_by else ""
    return (
        f"SELECT {gb}model, {long_context_sql(prices)} AS long, "
        "cost_logged IS NOT NULL AS has_logged, "
        "SUM(input), SUM(output), SUM(cache_create), SUM(cache_read), "
        "SUM(COALESCE(cache_1h, 0)), SUM(COALESCE(cost_logged, 0)), COUNT(*), MIN(ts), MAX(ts) "
        f"FROM entries {where} GROUP BY {gb}model, long, has_logged"
    )


def price_group(prices: PriceTable, mode: str, model: str | None, long: int, has_logged: int,
                i: int, o: int, cc: int, cr: int, c1h: int | None, logged: float) -> float:  # fmt: skip
    """Cost of one grouped row under a cost mode (ccusage's auto | calculate | display);
    `long` is the rows' long-context level (`long_context_sql`)."""
    if mode not in COST_MODES:
        raise ValueError(f"cost mode must be one of {', '.join(COST_MODES)}")
    if mode == "display":
        return float(logged) if has_logged else 0.0
    if mode == "auto" and has_logged:
        return float(logged)
    return prices.cost_of(model, i, o, cc, cr, None, c1h or None,
                          long_context=prices.is_long(model, long))  # fmt: skip


def entry_filters(since_ms: int | None = None, until_ms: int | None = None,
                  session_ids: list[str] | None = None,
                  cwd_prefixes: list[str] | None = None) -> tuple[list[str], list]:  # fmt: skip
    """WHERE clauses (AND-ed) and parameters selecting entries in [since, until) that belong
    to the given sessions or lie under the given directories (podium.domain.attribution)."""
    clauses: list[str] = []
    params: list = []
    if since_ms is not None:
        clauses.append("ts >= ?")
        params.append(int(since_ms))
    if until_ms is not None:
        clauses.append("ts < ?")
        params.append(int(until_ms))
    if session_ids is not None or cwd_prefixes is not None:
        owned, owned_params = owned_sql(session_ids or [], cwd_prefixes or [])
        clauses.append(owned)
        params.extend(owned_params)
    return clauses, params


def where_sql(clauses: list[str]) -> str:
    return ("WHERE " + " AND ".join(clauses)) if clauses else ""


def totals(
    store: Store,
    *,
    since_ms: int | None = None,
    until_ms: int | None = None,
    session_ids: Iterable[str] | None = None,
    cwd_prefixes: Iterable[str] | None = None,
    agents: Iterable[AgentKeys] | None = None,
    prices: PriceTable | None = None,
    cost_mode: str = "auto",
) -> UsageTotals:
    """Token, cost and message totals of the entries matching every given filter.
    `session_ids` and `cwd_prefixes` are alternatives (an entry matches either); `agents` are
    the entries attributed to these agents (their sessions and worktrees)."""
    prices = prices or default_prices()
    if agents is not None:
        sessions, worktrees = owner_keys(agents)
        session_ids = [*(session_ids or []), *sessions]
        cwd_prefixes = [*(cwd_prefixes or []), *worktrees]
    clauses, params = entry_filters(
        since_ms,
        until_ms,
        list(session_ids) if session_ids is not None else None,
        list(cwd_prefixes) if cwd_prefixes is not None else None,
    )
    where = where_sql(clauses)
    out = UsageTotals()
    models: set[str] = set()
    unpriced: set[str] = set()
    for row in store.conn.execute(grouped_cost_sql(prices, "", where), params):
        model, long, has_logged, i, o, cc, cr, c1h, logged, n, lo, hi = row
        if model and not has_logged and prices.price_for(model) is None and i + o + cc + cr:
            unpriced.add(model)
        out.input += i
        out.output += o
        out.cache_create += cc
        out.cache_read += cr
        out.messages += n
        out.cost_usd += price_group(prices, cost_mode, model, long, has_logged, i, o, cc, cr,
                                    c1h, logged)  # fmt: skip
        if model:
            models.add(model)
        out.first_ts = lo if out.first_ts is None else min(out.first_ts, lo)
        out.last_ts = hi if out.last_ts is None else max(out.last_ts, hi)
    out.models = sorted(models)
    if unpriced and cost_mode == "auto":  # never a silent $0: the CLI's own figure instead
        from podium.usage.reported import unpriced_share

        out.reported_usd, missing = unpriced_share(store, where, params, sorted(unpriced))
        out.cost_usd += out.reported_usd
        out.unpriced_models = sorted(missing)
    else:
        out.unpriced_models = sorted(unpriced)
    return out
