"""/metrics serves what the build thread built once per change: a change to the store, to an
agent's status or to a budget is in the next scrape once its build is done, the values are the
ones an uncached read gives, and a scrape never reads the store nor waits for a build."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from tests.metrics.helpers import Feed
from tests.metrics.test_prometheus import scrape, total

from podium.agents import AgentManager
from podium.metrics import catalog as m
from podium.metrics.exposition import Exposition
from podium.metrics.prom import PrometheusEndpoint, TextRenderer
from podium.metrics.reader import MetricsReader
from podium.metrics.service import MetricsService
from podium.settings import Limits, MetricsSettings, Settings
from podium.store import Store
from podium.usage.adapters.claude import encode_cwd

WAIT_S = 30.0  # a deadline for a build, never a pause


def _fresh(service: MetricsService) -> None:
    """Wait for a build that started after this call: it sees every change made before."""
    assert service.exposition is not None
    assert service.exposition.wait_fresh(time.monotonic(), WAIT_S), "no build after the change"


def test_each_change_is_in_the_scrape_after_its_build(store: Store, git_repo: Path,
                                                       claude_dir: Path) -> None:  # fmt: skip
    manager = AgentManager(store, git_repo, claude_config_dir=claude_dir)
    feed = Feed(claude_dir, store)
    serve = MetricsSettings(listen="127.0.0.1:0", machine="m1")
    service = MetricsService(store.path, Settings(limits=Limits(dailyUSD=1.0), metrics=serve))
    try:
        alpha = manager.spawn("t", name="alpha", profile="shell", command=["sleep", "60"])
        service.start()
        assert service.url is not None and service.exposition is not None
        service.exposition.refresh_s = 3600.0  # from now on only a change starts a build
        first = scrape(service.url)
        assert total(first, "podium_cost_usd_total") == 0
        assert total(first, "podium_agents") == 1
        assert total(first, "podium_agents", status="stopped") == 0
        costs = [0.0]

        # the store: new usage of the agent
        feed.spend(0.30, session="s-alpha", cwd=alpha.worktree, ts=time.time() - 60)
        _fresh(service)
        after_spend = scrape(service.url)
        assert math.isclose(total(after_spend, "podium_cost_usd_total", agent="alpha"), 0.30)
        assert math.isclose(total(after_spend, "podium_budget_used_ratio", budget="daily"), 0.30)
        costs.append(total(after_spend, "podium_cost_usd_total"))

        # an agent's status (the manager's own store connection writes the row)
        manager.stop(alpha.id)
        _fresh(service)
        after_stop = scrape(service.url)
        assert total(after_stop, "podium_agents", status="stopped") == 1
        assert total(after_stop, "podium_agents") == 1
        costs.append(total(after_stop, "podium_cost_usd_total"))

        # a budget (settings: nothing in the store changes; the endpoint stays up)
        url = service.url
        tighter = Settings(limits=Limits(dailyUSD=0.25), metrics=serve)
        service.update_settings(tighter)
        _fresh(service)
        assert service.url == url
        after_budget = scrape(url)
        assert math.isclose(total(after_budget, "podium_budget_used_ratio", budget="daily"), 1.2)
        assert total(after_budget, "podium_budget_limit_usd", budget="daily") == 0.25
        costs.append(total(after_budget, "podium_cost_usd_total"))
        assert costs == sorted(costs)  # the counter never went down

        # what is served is what an uncached read of the store gives, byte for byte
        now = time.time()
        uncached = MetricsReader(store.path, tighter, machine="m1")
        try:
            assert service.exposition is not None
            assert service.exposition.body(now) == TextRenderer().render(uncached.snapshot(now))
        finally:
            uncached.close()
    finally:
        service.stop()
        manager.close()


@contextmanager
def _served(exposition: Exposition) -> Iterator[str]:
    endpoint = PrometheusEndpoint(exposition.body, "127.0.0.1", 0)
    exposition.start()
    try:
        yield endpoint.url
    finally:
        endpoint.close()
        exposition.close()


def test_a_scrape_reads_nothing_and_never_waits_for_a_build(feed: Feed) -> None:
    """A build held up inside its store read (holding the reader's lock): scrapes still answer
    at once, from the last build, with the pending count of the moment; the build's result is
    served once it is done."""
    feed.spend(0.10, session="s1", cwd="/repos/shop", ts=time.time() - 60)
    hold, held = threading.Event(), threading.Event()
    hold.set()
    waiting = [2]

    def pending() -> int:
        if threading.current_thread().name == "podium-metrics-build" and not hold.is_set():
            held.set()
            hold.wait(WAIT_S)
        return waiting[0]

    reader = MetricsReader(feed.store.path, Settings(), machine="m1", pending=pending)
    exposition = Exposition(reader, refresh_s=3600.0)  # builds only on a change
    try:
        with _served(exposition) as url:
            assert math.isclose(total(scrape(url), "podium_cost_usd_total"), 0.10)
            builds = exposition.builds
            for count in (0, 5, 1):  # the moving gauge follows every scrape, with no build
                waiting[0] = count
                assert total(scrape(url), "podium_pending_permission_requests") == count
            assert exposition.builds == builds

            hold.clear()
            feed.spend(0.20, session="s1", cwd="/repos/shop", ts=time.time() - 30)
            assert held.wait(WAIT_S), "the store change started no build"
            started = time.monotonic()
            for _ in range(20):
                samples = scrape(url)  # the build is stuck: this is the last build's text
                assert math.isclose(total(samples, "podium_cost_usd_total"), 0.10)
            assert time.monotonic() - started < WAIT_S / 2  # none waited for the build
            assert exposition.builds == builds

            since = time.monotonic()
            hold.set()
            exposition.changed()
            assert exposition.wait_fresh(since, WAIT_S)
            assert math.isclose(total(scrape(url), "podium_cost_usd_total"), 0.30)
    finally:
        reader.close()


def test_ages_count_up_to_the_scrape_without_a_build(feed: Feed) -> None:
    """The ingest lag of a write the store has not read grows with the scrape's clock, from
    one build: exactly what an uncached read at that instant says."""
    feed.spend(0.01, session="s", cwd="/repos/shop", ts=time.time())
    reader = MetricsReader(feed.store.path, Settings(), machine="m1")
    uncached = MetricsReader(feed.store.path, Settings(), machine="m1")
    exposition = Exposition(reader, refresh_s=3600.0)
    try:
        exposition.start()
        path = feed.root / "projects" / encode_cwd("/repos/shop") / "s.jsonl"
        with open(path, "ab") as fh:
            fh.write(b"{}\n")  # written, not ingested: the store does not change
        written = path.stat().st_mtime
        since = time.monotonic()
        exposition.changed()
        assert exposition.wait_fresh(since, WAIT_S)
        builds = exposition.builds
        for later in (7.0, 20.0):
            lag = exposition.snapshot(written + later).series(m.INGEST_LAG)[()]
            assert lag == uncached.snapshot(written + later).series(m.INGEST_LAG)[()]
            assert lag == pytest.approx(later, abs=0.01)
        assert exposition.builds == builds
    finally:
        exposition.close()
        reader.close()
        uncached.close()


def test_the_body_is_what_prometheus_client_writes(feed: Feed) -> None:
    """The built parts and the ones formatted at the scrape (a plan figure's age, the pending
    requests) together: byte for byte generate_latest's text for the same figures."""
    from prometheus_client import CollectorRegistry, generate_latest

    from podium.limits.plans import Figure, record_snapshots
    from podium.metrics.prom import SnapshotCollector

    now = time.time()
    feed.spend(0.25, session="s1", cwd='/repos/we"ird\\name', ts=now - 60)
    record_snapshots(feed.store, "official", [Figure("five_hour", 42.0, now + 3600)], now=now - 5)
    reader = MetricsReader(feed.store.path, Settings(), machine="box1", pending=lambda: 3)
    exposition = Exposition(reader, refresh_s=3600.0)
    try:
        exposition.start()
        at = now + 12.5
        registry = CollectorRegistry(auto_describe=False)
        registry.register(SnapshotCollector(lambda: exposition.snapshot(at)))  # type: ignore[arg-type]
        body = exposition.body(at)
        assert body == generate_latest(registry)
        lines = body.decode().splitlines()
        age = 'podium_plan_figure_age_seconds{machine="box1",source="official",window="five_hour"}'
        assert [float(line.split()[-1]) for line in lines if line.startswith(age)] == [
            pytest.approx(17.5, abs=0.01)]  # fmt: skip
        assert 'podium_pending_permission_requests{machine="box1"} 3.0' in lines
    finally:
        exposition.close()
        reader.close()
