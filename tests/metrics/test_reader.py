"""What the metrics say about a real store with real agents: labels, attribution, folding of
ended agents, budgets, plan figures, alerts, skipped lines, ingest lag."""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path

import pytest
from tests.metrics.helpers import HAIKU, Feed

from podium.agents import AgentManager
from podium.limits.engine import LimitsEngine
from podium.limits.plans import Figure, record_snapshots
from podium.metrics import catalog as m
from podium.metrics.reader import MetricsReader
from podium.settings import Limits, Settings
from podium.store import Store
from podium.usage.adapters.claude import encode_cwd
from podium.usage.queries import totals

DAY = 86_400.0


def _agents(snap, metric=m.COST) -> set[str]:
    index = metric.labels.index("agent")
    return {labels[index] for labels in snap.series(metric)}


def test_usage_is_labelled_by_agent_source_project_and_model(
    store: Store, git_repo: Path, claude_dir: Path
) -> None:
    manager = AgentManager(store, git_repo, claude_config_dir=claude_dir)
    feed = Feed(claude_dir, store)
    reader = MetricsReader(store.path, Settings(limits=Limits(dailyUSD=1.0)), machine="m1")
    try:
        alpha = manager.spawn("t", name="alpha", profile="shell", command=["sleep", "60"],
                              source="api", limit_usd=2.0)  # fmt: skip
        beta = manager.spawn("t", name="beta", profile="shell", command=["sleep", "60"])
        now = time.time()
        feed.spend(0.30, session="s-alpha", cwd=alpha.worktree, ts=now - 60)
        feed.spend(0.10, session="s-beta", cwd=beta.worktree + "/src", ts=now - 30)
        feed.spend(0.05, session="s-main", cwd=str(git_repo), ts=now - 20)
        snap = reader.snapshot()
        cost = snap.series(m.COST)
        repo = git_repo.name
        assert cost.keys() == {(HAIKU, "api", "alpha", repo), (HAIKU, "subscription", "beta", repo),
                               (HAIKU, "subscription", "_none", repo)}  # fmt: skip
        # the same numbers as the agent cards (AgentManager.usage) and the store's total
        assert math.isclose(cost[(HAIKU, "api", "alpha", repo)], manager.usage(alpha.id).cost_usd)
        assert math.isclose(cost[(HAIKU, "subscription", "beta", repo)],
                            manager.usage(beta.id).cost_usd)  # fmt: skip
        assert math.isclose(snap.total(m.COST), totals(store).cost_usd)
        assert math.isclose(snap.total(m.COST, agent="alpha"), 0.30)
        assert snap.total(m.TOKENS, type="input", agent="alpha") == 300_000
        assert snap.total(m.TOKENS, type="output") == 0
        # agents by status: every status has a series; the two agents are counted once
        statuses = {a.status.value for a in manager.list()}
        assert snap.total(m.AGENTS) == 2
        assert {k[0] for k, v in snap.series(m.AGENTS).items() if v} == statuses
        # budgets: the agent's own limit and the daily one, as ratios
        budgets = snap.series(m.BUDGET)
        assert math.isclose(budgets[("agent", "alpha")], 0.30 / 2.0)
        assert math.isclose(budgets[("daily", "")], 0.45 / 1.0)
        assert snap.series(m.BUDGET_LIMIT)[("agent", "alpha")] == 2.0
        # a second reader (a restarted process) reports the same counters: they come from the store
        again = MetricsReader(store.path, Settings(), machine="m1")
        try:
            assert again.snapshot().series(m.COST) == cost
        finally:
            again.close()
    finally:
        reader.close()
        manager.close()


def test_agents_ended_over_a_day_ago_fold_into_one_label(
    store: Store, git_repo: Path, claude_dir: Path
) -> None:
    """Label cardinality stays bounded however many agents come and go."""
    manager = AgentManager(store, git_repo, claude_config_dir=claude_dir)
    feed = Feed(claude_dir, store)
    reader = MetricsReader(store.path, Settings(), machine="m1")
    try:
        agents = [manager.spawn("t", name=f"a{i}", profile="shell", command=["sleep", "60"])
                  for i in range(8)]  # fmt: skip
        now = time.time()
        for i, agent in enumerate(agents):
            feed.spend(0.01 * (i + 1), session=f"s-{i}", cwd=agent.worktree, ts=now - 100 + i)
        live = reader.snapshot(now)
        assert _agents(live) == {a.name for a in agents}
        for agent in agents[:6]:
            manager.stop(agent.id)
        ended = {a.id: a.ended_at for a in manager.list() if a.ended_at}
        assert len(ended) == 6
        # an hour later the ended agents still have their names...
        assert _agents(reader.snapshot(now + 3600)) == {a.name for a in agents}
        # ...a day after they ended they share one label; the live ones keep theirs
        later = reader.snapshot(max(ended.values()) + DAY + 1)
        assert _agents(later) == {"a6", "a7", m.AGENT_ENDED}
        assert _agents(later, m.TOKENS) == {"a6", "a7", m.AGENT_ENDED}
        assert len(later.series(m.COST)) == 3
        assert math.isclose(later.total(m.COST, agent=m.AGENT_ENDED), sum(0.01 * i for i in range(1, 7)))
        # the sum stays where it was: counters never go down when agents fold
        assert math.isclose(later.total(m.COST), live.total(m.COST))
    finally:
        reader.close()
        manager.close()


def test_plan_alerts_skipped_lines_and_pending(feed: Feed, caplog: pytest.LogCaptureFixture) -> None:
    store = feed.store
    now = time.time()
    settings = Settings(limits=Limits(dailyUSD=1.0))
    engine = LimitsEngine(store, settings)
    for usd in (0.85, 0.12, 0.10):  # 85 % → warning, 97 % → critical, 107 % → exceeded
        feed.spend(usd, session="s", cwd="/repos/shop", ts=now - 10)
        engine.evaluate([], {}, now=now)
    record_snapshots(store, "official", [Figure("five_hour", 42.0, now + 3600)], now=now - 5)
    path = feed.root / "projects" / encode_cwd("/repos/shop") / "s.jsonl"
    with open(path, "ab") as fh:
        fh.write(b'{"type":"assistant","message":{"usage":{"input_tokens": oops}}}\n')
    feed.ingestor.run()
    calls = iter([3, RuntimeError("manager gone")])

    def pending() -> int:
        value = next(calls)
        if isinstance(value, Exception):
            raise value
        return value

    reader = MetricsReader(store.path, settings, machine="m1", pending=pending)
    try:
        snap = reader.snapshot(now)
        # (the plan estimate: a million Haiku tokens is far past max5's 88 k a window)
        assert snap.series(m.ALERTS) == {("warning", "daily"): 1, ("critical", "daily"): 1,
                                         ("exceeded", "daily"): 1, ("exceeded", "plan"): 1}  # fmt: skip
        assert snap.series(m.PLAN)[("five_hour", "official")] == pytest.approx(0.42)
        assert snap.series(m.PLAN_AGE)[("five_hour", "official")] == pytest.approx(5, abs=0.01)
        assert snap.series(m.SKIPPED) == {("malformed",): 1, ("invalid_utf8",): 0,
                                          ("oversized",): 0}  # fmt: skip
        assert snap.series(m.BUDGET)[("daily", "")] == pytest.approx(1.07)
        assert snap.series(m.PENDING) == {(): 3}
        with caplog.at_level(logging.ERROR):
            assert reader.snapshot(now + 1).series(m.PENDING) == {(): 0}
        assert "pending permission requests failed" in caplog.text
    finally:
        reader.close()


def test_ingest_lag_grows_until_the_store_reads_the_write(feed: Feed) -> None:
    now = time.time()
    feed.spend(0.01, session="s", cwd="/repos/shop", ts=now)
    reader = MetricsReader(feed.store.path, Settings(), machine="m1")
    try:
        assert reader.snapshot(now + 5).series(m.INGEST_LAG) == {(): 0.0}
        # written, not ingested: the lag counts from that first unread write...
        path = feed.root / "projects" / encode_cwd("/repos/shop") / "s.jsonl"
        with open(path, "ab") as fh:
            fh.write(b"{}\n")
        written = path.stat().st_mtime
        assert reader.snapshot(written + 7).series(m.INGEST_LAG)[()] == pytest.approx(7, abs=0.01)
        # ...and keeps counting from it while the file is written again and again
        with open(path, "ab") as fh:
            fh.write(b"{}\n")
        assert reader.snapshot(written + 20).series(m.INGEST_LAG)[()] == pytest.approx(20, abs=0.01)
        feed.ingestor.run()
        assert reader.snapshot(written + 21).series(m.INGEST_LAG) == {(): 0.0}
    finally:
        reader.close()
