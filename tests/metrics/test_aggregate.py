"""The incremental usage sums equal a sum from scratch through everything ingest does."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.metrics.helpers import NOW, Feed

from podium.metrics.aggregate import HOUR_MS, Attribution, UsageAggregate
from podium.store import Store
from podium.usage import synthetic as syn
from podium.usage.adapters.claude import encode_cwd
from podium.usage.queries import default_prices, totals

SONNET = "claude-sonnet-4-5-20250929"


@pytest.fixture
def reader(feed: Feed) -> Iterator[Store]:
    """A connection of its own, as the metrics reader has (`data_version` only tells about
    other connections' commits)."""
    store = Store(feed.store.path)
    yield store
    store.close()


def _refresh(agg: UsageAggregate, reader: Store, now: float) -> None:
    reader.conn.execute("BEGIN")
    try:
        agg.refresh(reader.conn, int(now * 1000))
    finally:
        reader.conn.execute("COMMIT")


def _check(agg: UsageAggregate, reader: Store, now: float) -> dict:
    """`agg` refreshed equals a new aggregate and the store's own totals; returns its sums."""
    _refresh(agg, reader, now)
    fresh = UsageAggregate(default_prices())
    _refresh(fresh, reader, now)
    nobody = Attribution([], "subscription")
    mine, theirs = agg.folded(nobody).by_labels, fresh.folded(nobody).by_labels
    assert mine.keys() == theirs.keys()
    for key in mine:
        assert mine[key][1:] == theirs[key][1:]  # tokens: exact
        assert math.isclose(mine[key][0], theirs[key][0], rel_tol=1e-12)
    store_totals = totals(reader)
    assert math.isclose(sum(v[0] for v in mine.values()), store_totals.cost_usd, rel_tol=1e-12)
    assert sum(v[1] for v in mine.values()) == store_totals.input
    assert sum(v[2] for v in mine.values()) == store_totals.output
    return mine


def _message(path: Path, session: str, cwd: str, ts: float, output: int, *, message_id: str,
             request_id: str) -> None:  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = syn.assistant_lines(session, cwd, int(ts * 1000), SONNET, syn.usage_dict(100, output),
                                message_id=message_id, request_id=request_id, streaming=False)  # fmt: skip
    with open(path, "ab") as fh:
        for line in lines:
            fh.write(syn.dumps(line))


def test_incremental_sums_follow_appends_rewrites_resets_and_time(feed: Feed,
                                                                 reader: Store) -> None:
    root = feed.root
    agg = UsageAggregate(default_prices())
    old, recent = NOW - 3 * 86400, NOW - 600
    feed.spend(0.05, session="s-old", cwd="/repos/shop", ts=old)
    feed.spend(0.02, session="s-new", cwd="/repos/shop", ts=recent)
    _check(agg, reader, NOW)
    assert agg.rebuilds == 1

    # new lines, recent and old (a log root seen late): added without summing again
    feed.spend(0.03, session="s-new", cwd="/repos/shop", ts=NOW - 60)
    feed.spend(0.04, session="s-late", cwd="/repos/infra", ts=old - 86400)
    _check(agg, reader, NOW)
    assert agg.rebuilds == 1

    # a settled row rewritten in place (a later copy of a message with more output tokens)
    path = root / "projects" / encode_cwd("/repos/web") / "s-web.jsonl"
    _message(path, "s-web", "/repos/web", old, 10, message_id="msg_a", request_id="req_a")
    feed.ingestor.run()
    before = _check(agg, reader, NOW)
    _message(path, "s-web", "/repos/web", old, 5000, message_id="msg_a", request_id="req_a")
    feed.ingestor.run()
    after = _check(agg, reader, NOW)
    assert agg.rebuilds == 2
    key = next(k for k in after if k[3] == "web")
    assert after[key][2] == before[key][2] + 4990

    # a log file truncated and rewritten shorter: its entries are dropped and read again
    with open(path, "wb"):
        pass
    _message(path, "s-web", "/repos/web", old, 7, message_id="msg_b", request_id="req_b")
    feed.ingestor.run()
    after_reset = _check(agg, reader, NOW)
    assert after_reset[key][2] == 7

    # time passes: the settle line moves over the recent rows, nothing is summed twice
    rebuilds = agg.rebuilds
    for hours in (1, 2, 5, 30):
        _check(agg, reader, NOW + hours * 3600)
    assert agg.rebuilds == rebuilds
    assert agg.settled_until is not None
    assert agg.settled_until == (int((NOW + 30 * 3600) * 1000) // HOUR_MS - 1) * HOUR_MS


def test_nothing_changed_means_no_query(feed: Feed, reader: Store) -> None:
    feed.spend(0.05, session="s", cwd="/repos/shop", ts=NOW - 60)
    agg = UsageAggregate(default_prices())
    _refresh(agg, reader, NOW)
    statements: list[str] = []
    reader.conn.set_trace_callback(statements.append)
    try:
        _refresh(agg, reader, NOW + 1)
    finally:
        reader.conn.set_trace_callback(None)
    assert [s for s in statements if "entries" in s] == []


def test_range_cost_keeps_the_settled_part_and_stays_exact(feed: Feed, reader: Store) -> None:
    day = 86_400_000
    start = (int(NOW * 1000) // day - 2) * day  # a range over the settle line, on bucket edges
    end = start + 3 * day
    for hours in (47, 30, 5, 0.2):
        feed.spend(0.01 * hours, session="s", cwd="/repos/shop", ts=NOW - hours * 3600)
    agg = UsageAggregate(default_prices())

    def check(now: float) -> None:
        _refresh(agg, reader, now)
        expected = totals(reader, since_ms=start, until_ms=end).cost_usd
        assert math.isclose(agg.range_cost(reader, start, end), expected, rel_tol=1e-12)

    check(NOW)
    feed.spend(0.5, session="s", cwd="/repos/shop", ts=NOW - 60)  # recent: not kept
    check(NOW)
    feed.spend(0.7, session="s2", cwd="/repos/shop", ts=NOW - 40 * 3600)  # settled, appended
    check(NOW)
    check(NOW + 7200)  # the settle line moved
