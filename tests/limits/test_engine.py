"""LimitsEngine on a real store fed by ingested transcripts."""

from __future__ import annotations

import pytest

from podium.agents.models import AgentStatus
from podium.limits import LimitsEngine
from podium.settings import Limits, Settings, parse_settings
from podium.store import Store
from podium.views.alerts import limit_alert

from .helpers import NOW, Feed, insert_agent_row, make_agent

#: plan estimates far away, so that budget tests see only budget events
NO_PLAN_ALERTS = {"max5": {"tokens": 1e12, "costUSD": 1e9, "messages": 1e9}}


def engine_for(store: Store, **settings) -> LimitsEngine:
    settings.setdefault("planLimits", NO_PLAN_ALERTS)
    parsed, warnings = parse_settings(settings)
    assert not warnings
    return LimitsEngine(store, parsed, tz="UTC")


def step(feed: Feed, engine: LimitsEngine, agents, usd: float, ts: float, agent=None):
    agent = agent or agents[0]
    feed.spend(usd, session=agent.claude_session_id, cwd=agent.worktree, ts=ts)
    usage = {a.id: feed.usage_of(a) for a in agents}
    return engine.evaluate(agents, usage, now=ts)


def test_levels_fire_once_each_in_order(feed: Feed) -> None:
    engine = engine_for(feed.store, onLimit="pause")
    agent = make_agent(limit_usd=0.05)
    seen = []
    # $0.01 steps: 80 % after 4, then 95 % (+0.0075), then 100 %+, then more spend
    for i, usd in enumerate([0.01, 0.01, 0.01, 0.01, 0.0075, 0.003, 0.01, 0.01]):
        events = step(feed, engine, [agent], usd, NOW + i * 60)
        seen.append([(e.level, e.action) for e in events])
        # evaluating again with no new usage never repeats anything
        assert engine.evaluate([agent], {agent.id: feed.usage_of(agent)}, now=NOW + i * 60 + 1) == []
    assert seen[:3] == [[], [], []]
    assert seen[3] == [("warning", None)]
    assert seen[4] == [("critical", None)]
    assert seen[5] == [("exceeded", "pause")]
    assert seen[6:] == [[], []]
    rows = feed.store.conn.execute(
        "SELECT level, scope, scope_key, used, limit_value, action FROM alerts ORDER BY id"
    ).fetchall()
    assert [r[0] for r in rows] == ["warning", "critical", "exceeded"]
    assert all(r[1] == "agent" and r[2] == agent.id and r[4] == pytest.approx(0.05) for r in rows)
    assert rows[2][3] == pytest.approx(0.0505) and rows[2][5] == "pause"


def test_pause_when_a_005_budget_is_crossed_and_the_event_says_why(feed: Feed) -> None:
    engine = engine_for(feed.store, onLimit="pause")
    agent = make_agent(limit_usd=0.05, name="alpha")
    events = step(feed, engine, [agent], 0.049, NOW)
    assert [e.level for e in events] == ["critical"]
    events = step(feed, engine, [agent], 0.002, NOW + 5)
    assert len(events) == 1
    event = events[0]
    assert (event.level, event.scope, event.scope_key, event.agent_id, event.action) == (
        "exceeded", "agent", agent.id, agent.id, "pause")
    assert event.alert is True
    assert event.used == pytest.approx(0.051) and event.limit == 0.05
    assert event.pct == pytest.approx(102.0)
    assert "alpha" in event.message and "$0.05" in event.message and "paused" in event.message
    alert = limit_alert(event, "pause")
    assert alert.level == "critical"  # protocol: exceeded is sent as critical
    assert (alert.scope, alert.agent_id, alert.action, alert.pct) == ("agent", agent.id, "pause", 102.0)
    limit = engine.agent_limit(agent, feed.usage_of(agent))
    assert limit is not None and limit.action == "pause" and limit.used_pct == pytest.approx(102.0)


@pytest.mark.parametrize("on_limit", ["stop", "warn"])
def test_stop_and_warn_actions(feed: Feed, on_limit: str) -> None:
    engine = engine_for(feed.store, onLimit=on_limit)
    agent = make_agent(limit_usd=0.05)
    events = step(feed, engine, [agent], 0.06, NOW)
    assert [(e.level, e.action) for e in events] == [("exceeded", on_limit)]
    if on_limit == "warn":
        assert "paused" not in events[0].message and "stopped" not in events[0].message


def test_settings_agent_usd_applies_unless_the_agent_has_its_own_limit(feed: Feed) -> None:
    engine = engine_for(feed.store, limits={"agentUSD": 0.02})
    default = make_agent("ag-1", "alpha")
    own = make_agent("ag-2", "bravo", limit_usd=1.0, worktree="/w/bravo")
    step(feed, engine, [default, own], 0.03, NOW, agent=default)
    events = step(feed, engine, [default, own], 0.03, NOW + 1, agent=own)
    assert events == []  # bravo: $0.03 of its own $1.00
    assert engine.agent_limit(own, feed.usage_of(own)).limit_usd == 1.0
    assert engine.agent_limit(default, feed.usage_of(default)).limit_usd == 0.02
    # 0 is "no budget of its own": the agent gets none, not the default
    assert engine.agent_limit(make_agent(limit_usd=0), feed.usage_of(own)) is None
    fired = feed.store.conn.execute("SELECT scope_key, level FROM alerts").fetchall()
    assert fired == [("ag-1", "exceeded")]


def test_user_resume_is_honoured_until_the_next_window(feed: Feed) -> None:
    engine = engine_for(feed.store, onLimit="pause")
    agent = make_agent(limit_usd=0.05)
    events = step(feed, engine, [agent], 0.06, NOW)
    assert events[0].action == "pause"
    agent.status = AgentStatus.PAUSED
    engine.user_resumed(agent.id)
    agent.status = AgentStatus.WORKING
    for i in range(3):  # keeps spending: not paused again
        assert step(feed, engine, [agent], 0.01, NOW + 10 + i) == []
    # a restart (new engine on the same store) does not undo the resume either
    engine2 = engine_for(feed.store, onLimit="pause")
    assert engine2.evaluate([agent], {agent.id: feed.usage_of(agent)}, now=NOW + 20) == []
    # raising the limit starts a new window: crossing it pauses again
    agent.limit_usd = 0.2
    events = step(feed, engine2, [agent], 0.12, NOW + 30)
    assert [(e.level, e.action) for e in events] == [("exceeded", "pause")]


def test_a_recent_resume_survives_trimming_of_old_action_records(feed: Feed) -> None:
    """The saved action records are bounded; the oldest go, not the ones that sort first (an
    `agent`-scope resume sorts before every `session`/`daily` record)."""
    from podium.limits import engine as engine_module

    engine = engine_for(feed.store, onLimit="pause")
    for i in range(engine_module.ACTED_KEEP):  # older records of other windows
        engine._mark_acted(("session", f"s-{i:04d}", "w", f"ag-old-{i}"))
    agent = make_agent(limit_usd=0.05)
    assert step(feed, engine, [agent], 0.06, NOW)[0].action == "pause"
    engine.user_resumed(agent.id)
    # a restart reads the trimmed records: the resume is among them, the oldest record is not
    engine2 = engine_for(feed.store, onLimit="pause")
    assert len(engine2._acted) == engine_module.ACTED_KEEP
    assert ("session", "s-0000", "w", "ag-old-0") not in engine2._acted
    assert engine2.evaluate([agent], {agent.id: feed.usage_of(agent)}, now=NOW + 20) == []


def test_daily_budget_pauses_every_live_agent_alerts_once_and_rolls_over(feed: Feed) -> None:
    engine = engine_for(feed.store, onLimit="pause", limits={"dailyUSD": 0.1})
    a = make_agent("ag-1", "alpha", worktree="/w/a")
    b = make_agent("ag-2", "bravo", worktree="/w/b")
    c = make_agent("ag-3", "charlie", worktree="/w/c", status="paused")
    d = make_agent("ag-4", "delta", worktree="/w/d", status="exited")
    agents = [a, b, c, d]
    assert step(feed, engine, agents, 0.05, NOW, agent=a) == []
    events = step(feed, engine, agents, 0.06, NOW + 60, agent=b)
    assert {(e.agent_id, e.action) for e in events} == {("ag-1", "pause"), ("ag-2", "pause")}
    assert sum(e.alert for e in events) == 1
    assert all(e.scope == "daily" and e.scope_key == "2026-11-23" for e in events)
    assert feed.store.conn.execute("SELECT COUNT(*) FROM alerts").fetchone()[0] == 1
    # a user resume of alpha is honoured; charlie, resumed by the user too, is not paused either
    a.status = b.status = AgentStatus.PAUSED
    engine.user_resumed("ag-1")
    engine.user_resumed("ag-3")
    a.status = c.status = AgentStatus.WORKING
    assert step(feed, engine, agents, 0.01, NOW + 120, agent=a) == []
    # an agent started later the same day is paused (the budget is spent), without a new alert
    e = make_agent("ag-5", "echo", worktree="/w/e")
    events = engine.evaluate([*agents, e], {x.id: feed.usage_of(x) for x in [*agents, e]},
                             now=NOW + 180)  # fmt: skip
    assert [(ev.agent_id, ev.action, ev.alert) for ev in events] == [("ag-5", "pause", False)]
    # the next local day re-arms the daily budget
    tomorrow = NOW + 86400
    assert step(feed, engine, agents, 0.05, tomorrow, agent=a) == []
    events = step(feed, engine, agents, 0.06, tomorrow + 60, agent=a)
    assert {(ev.agent_id, ev.action) for ev in events} == {("ag-1", "pause"), ("ag-3", "pause")}
    assert {ev.scope_key for ev in events} == {"2026-11-24"}


def test_monthly_and_session_budgets(feed: Feed) -> None:
    engine = engine_for(feed.store, onLimit="warn",
                        limits={"sessionUSD": 0.03, "monthlyUSD": 0.05})  # fmt: skip
    agent = make_agent(session="sess-x")
    events = step(feed, engine, [agent], 0.04, NOW)
    assert {(e.scope, e.scope_key, e.level) for e in events} == {
        ("session", "sess-x", "exceeded"), ("monthly", "2026-11", "warning")}  # fmt: skip
    events = step(feed, engine, [agent], 0.02, NOW + 1)
    assert {(e.scope, e.level, e.action) for e in events} == {("monthly", "exceeded", "warn")}


def test_token_limits_count_input_and_output(feed: Feed) -> None:
    settings = Settings(on_limit="stop", limits=Limits(agent_tokens=20_000))
    engine = LimitsEngine(feed.store, settings, tz="UTC")
    agent = make_agent()
    events = step(feed, engine, [agent], 0.021, NOW)  # 21,000 input tokens
    assert [(e.scope, e.unit, e.level, e.action) for e in events] == [
        ("agent", "tokens", "exceeded", "stop")]  # fmt: skip


def test_token_budgets_are_settings(feed: Feed) -> None:
    """`limits.dailyTokens` etc. come from the user's settings (as the editor sends them)."""
    engine = engine_for(feed.store, onLimit="pause",
                        limits={"agentTokens": 50_000, "dailyTokens": 30_000})  # fmt: skip
    assert engine.settings.limits.daily_tokens == 30_000
    agent = make_agent()
    events = step(feed, engine, [agent], 0.025, NOW)  # 25,000 input tokens: 83 % of daily
    assert [(e.scope, e.unit, e.level) for e in events] == [("daily", "tokens", "warning")]
    events = step(feed, engine, [agent], 0.01, NOW + 1)  # 35,000: over the daily budget
    assert {(e.scope, e.unit, e.level, e.action) for e in events} >= {
        ("daily", "tokens", "exceeded", "pause")}  # fmt: skip
    _, warnings = parse_settings({"limits": {"dailyTokens": -5, "weeklyTokens": 1}})
    assert any("limits.dailyTokens" in w for w in warnings)
    assert any("weeklyTokens" in w for w in warnings)


def test_changed_thresholds_are_used(feed: Feed) -> None:
    engine = engine_for(feed.store, warningAt=0.5, criticalAt=0.6)
    agent = make_agent(limit_usd=0.1)
    assert [e.level for e in step(feed, engine, [agent], 0.055, NOW)] == ["warning"]
    engine.update_settings(engine.settings.model_copy(update={"limits": Limits()}))
    assert [e.level for e in step(feed, engine, [agent], 0.01, NOW + 1)] == ["critical"]


def test_alert_messages_are_scrubbed(feed: Feed) -> None:
    engine = engine_for(feed.store)
    agent = make_agent(name="ghp_1234567890abcdefghijABCDEFGHIJ123456", limit_usd=0.01)
    events = step(feed, engine, [agent], 0.02, NOW)
    assert events and "ghp_1234567890" not in events[0].message
    stored = feed.store.conn.execute("SELECT message FROM alerts").fetchone()[0]
    assert "ghp_1234567890" not in stored


def test_api_spend_counts_api_agents_or_everything_in_api_mode(feed: Feed) -> None:
    api_agent = make_agent("ag-1", "alpha", worktree="/w/a", source="api")
    sub_agent = make_agent("ag-2", "bravo", worktree="/w/b")
    insert_agent_row(feed.store, api_agent)
    insert_agent_row(feed.store, sub_agent)
    feed.spend(0.03, session="other", cwd="/w/a/sub", ts=NOW - 60)  # inside alpha's worktree
    feed.spend(0.02, session=sub_agent.claude_session_id, cwd="/w/b", ts=NOW - 30)
    feed.spend(0.04, session="old", cwd="/w/a", ts=NOW - 40 * 86400)  # last month
    both = engine_for(feed.store, authMode="both")
    today, month = both.api_spend(now=NOW)
    assert today == pytest.approx(0.03) and month == pytest.approx(0.03)
    api = engine_for(feed.store, authMode="api")
    assert api.api_spend(now=NOW) == (pytest.approx(0.05), pytest.approx(0.05))


def test_daily_warn_is_one_alert_and_no_per_agent_events(feed: Feed) -> None:
    engine = engine_for(feed.store, onLimit="warn", limits={"dailyUSD": 0.05})
    agents = [make_agent("ag-1", "alpha", worktree="/w/a"),
              make_agent("ag-2", "bravo", worktree="/w/b")]  # fmt: skip
    events = step(feed, engine, agents, 0.06, NOW)
    assert [(e.scope, e.level, e.agent_id, e.action, e.alert) for e in events] == [
        ("daily", "exceeded", None, "warn", True)]  # fmt: skip
    assert step(feed, engine, agents, 0.01, NOW + 1) == []


def test_estimated_plan_alerts_say_they_are_estimates(feed: Feed) -> None:
    settings, _ = parse_settings({"plan": "custom", "planLimits": {"custom": {
        "tokens": 0, "messages": 0, "costUSD": 0.1}}})  # fmt: skip
    engine = LimitsEngine(feed.store, settings, tz="UTC")
    agent = make_agent()
    events = step(feed, engine, [agent], 0.085, NOW)
    assert [(e.scope, e.level, e.action) for e in events] == [("plan", "warning", None)]
    assert events[0].message == "plan 5-hour window at 85% (estimate)"


def test_a_failing_plan_source_does_not_stop_budget_enforcement(feed: Feed, monkeypatch) -> None:
    engine = engine_for(feed.store, onLimit="pause")

    def broken(*_args, **_kwargs):
        raise RuntimeError("plan source exploded")

    monkeypatch.setattr(engine, "plan_status", broken)  # fault injection
    agent = make_agent(limit_usd=0.05)
    events = step(feed, engine, [agent], 0.06, NOW)
    assert [(e.scope, e.level, e.action) for e in events] == [("agent", "exceeded", "pause")]

