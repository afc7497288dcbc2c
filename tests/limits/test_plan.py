"""Plan windows: official statusLine figures, sanitising, staleness, the store estimate."""

from __future__ import annotations

import math

import pytest

from podium.limits import LimitsEngine, plans
from podium.limits.statusline import build_line
from podium.settings import Settings, parse_settings
from podium.usage.queries import totals
from podium.views.summary import plan_info

from .helpers import NOW, Feed, make_agent


def payload(five=None, seven=None, **extra) -> dict:
    rate_limits = {}
    if five is not None:
        rate_limits["five_hour"] = five
    if seven is not None:
        rate_limits["seven_day"] = seven
    return {"session_id": "sess-1", "model": {"id": "claude-sonnet-4-5", "display_name": "Sonnet 4.5"},
            "cost": {"total_cost_usd": 0.42}, "rate_limits": rate_limits, **extra}  # fmt: skip


def test_statusline_67_is_recorded_and_reported_as_official(feed: Feed) -> None:
    db = str(feed.store.path)
    line = build_line(payload({"used_percentage": 67, "resets_at": NOW + 3600},
                              {"used_percentage": 12.5, "resets_at": NOW + 5 * 86400}), db=db,
                      now=NOW)  # fmt: skip
    assert line.startswith("Sonnet 4.5 | session $0.42 | today $0.00")
    assert line.endswith("Plan: 67%")
    status = LimitsEngine(feed.store, Settings()).plan_status(now=NOW + 30)
    assert status.five_hour is not None
    assert (status.five_hour.used_pct, status.five_hour.source) == (67.0, "official")
    assert status.five_hour.resets_at == NOW + 3600
    assert status.five_hour.stale is False and status.five_hour.stale_reason is None
    assert status.seven_day is not None and status.seven_day.used_pct == 12.5
    wire = plan_info(status).wire()  # podium/usageSummary's `plan`: times in epoch ms
    assert wire["fiveHour"]["usedPct"] == 67.0 and wire["fiveHour"]["resetsAt"] == (NOW + 3600) * 1000


@pytest.mark.parametrize(
    "bogus",
    [
        {"used_percentage": 1_795_400_000, "resets_at": NOW + 3600},  # the epoch bug
        {"used_percentage": 101.5, "resets_at": NOW + 3600},
        {"used_percentage": -3, "resets_at": NOW + 3600},
        {"used_percentage": math.nan, "resets_at": NOW + 3600},
        {"used_percentage": "NaN", "resets_at": NOW + 3600},
        {"used_percentage": 40, "resets_at": NOW - 1},  # reset already past
        {"used_percentage": True, "resets_at": NOW + 3600},
        {"used_percentage": None},
        "67",
    ],
)
def test_bogus_values_are_ignored(feed: Feed, bogus) -> None:
    assert plans.sanitize_rate_limits({"five_hour": bogus}, NOW) == []
    build_line(payload(bogus), db=str(feed.store.path), now=NOW)
    assert feed.store.conn.execute("SELECT COUNT(*) FROM plan_snapshots").fetchone()[0] == 0
    status = LimitsEngine(feed.store, Settings()).plan_status(now=NOW)
    assert status.five_hour is not None and status.five_hour.source == "estimate"


def test_a_bogus_value_does_not_replace_a_good_one(feed: Feed) -> None:
    db = str(feed.store.path)
    build_line(payload({"used_percentage": 67, "resets_at": NOW + 3600}), db=db, now=NOW)
    line = build_line(payload({"used_percentage": NOW, "resets_at": NOW + 3600}), db=db,
                      now=NOW + 5)  # fmt: skip
    assert line.endswith("Plan: 67%")
    status = LimitsEngine(feed.store, Settings()).plan_status(now=NOW + 10)
    assert status.five_hour.used_pct == 67.0


def test_values_up_to_101_are_kept_and_capped() -> None:
    (fig,) = plans.sanitize_rate_limits({"five_hour": {"used_percentage": 100.6}}, NOW)
    assert fig.used_pct == 100.0 and fig.resets_at is None


def test_repeated_identical_payloads_are_stored_once_a_minute(feed: Feed) -> None:
    figure = [plans.Figure("five_hour", 67.0, NOW + 3600)]
    for i in range(10):
        plans.record_snapshots(feed.store, "official", figure, now=NOW + i)
    assert plans.record_snapshots(feed.store, "official", figure, now=NOW + 61) == 1
    assert plans.record_snapshots(
        feed.store, "official", [plans.Figure("five_hour", 68.0, NOW + 3600)], now=NOW + 62) == 1
    assert feed.store.conn.execute("SELECT COUNT(*) FROM plan_snapshots").fetchone()[0] == 3


def test_stale_while_agents_work_after_10_minutes(feed: Feed) -> None:
    plans.record_snapshots(feed.store, "official",
                           [plans.Figure("five_hour", 67.0, NOW + 4 * 3600)], now=NOW)  # fmt: skip
    engine = LimitsEngine(feed.store, Settings())
    fresh = engine.plan_status(now=NOW + 9 * 60, agents_working=True).five_hour
    assert fresh.stale is False
    idle = engine.plan_status(now=NOW + 14 * 60, agents_working=False).five_hour
    assert idle.stale is False  # nobody works: the figure still holds
    stale = engine.plan_status(now=NOW + 14 * 60, agents_working=True).five_hour
    assert stale.stale is True and stale.used_pct == 67.0 and stale.source == "official"
    assert stale.stale_reason == "official figure is 14 min old while agents work"


def test_a_figure_whose_window_has_reset_gives_way_to_the_estimate(feed: Feed) -> None:
    """formats.md §5: a past `resets_at` makes the figure absent; 67 % of a window that has
    ended would say the plan is nearly spent when it has just been renewed."""
    plans.record_snapshots(feed.store, "official",
                           [plans.Figure("five_hour", 67.0, NOW + 600)], now=NOW)  # fmt: skip
    engine = LimitsEngine(feed.store, Settings())
    assert engine.plan_status(now=NOW + 599).five_hour.used_pct == 67.0
    status = engine.plan_status(now=NOW + 601)
    assert status.five_hour.source == "estimate"
    assert status.five_hour.used_pct == 0.0  # nothing logged in the new window
    # the statusLine command too: no 67 %, and with nothing logged since, no active block
    line = build_line({}, db=str(feed.store.path), plan="max5", now=NOW + 601)
    assert line.endswith("Plan: n/a")


def test_stale_without_reset_time_after_a_window_length(feed: Feed) -> None:
    plans.record_snapshots(feed.store, "official", [plans.Figure("five_hour", 50.0, None)],
                           now=NOW)  # fmt: skip
    engine = LimitsEngine(feed.store, Settings())
    assert engine.plan_status(now=NOW + 4 * 3600).five_hour.stale is False
    late = engine.plan_status(now=NOW + 6 * 3600).five_hour
    assert late.stale and "older than the 5-hour window" in late.stale_reason


def test_a_fresh_oauth_figure_beats_a_stale_official_one(feed: Feed) -> None:
    plans.record_snapshots(feed.store, "official",
                           [plans.Figure("five_hour", 67.0, NOW + 3600)], now=NOW - 1800)  # fmt: skip
    plans.record_snapshots(feed.store, "oauth", [plans.Figure("five_hour", 71.0, NOW + 3600)],
                           now=NOW - 60)  # fmt: skip
    status = LimitsEngine(feed.store, Settings()).plan_status(now=NOW, agents_working=True)
    assert (status.five_hour.source, status.five_hour.used_pct) == ("oauth", 71.0)


def test_estimate_from_the_store_against_the_plan_table(feed: Feed) -> None:
    agent = make_agent()
    for i in range(4):
        feed.spend(0.02, session=agent.claude_session_id, cwd=agent.worktree, ts=NOW - 3000 + i * 600)
    settings, _ = parse_settings({"plan": "pro"})
    status = LimitsEngine(feed.store, settings).plan_status(now=NOW)
    five = status.five_hour
    assert five.source == "estimate" and five.stale is False
    # pro: 19k tokens (input + output) per 5 h: 80,000 input tokens → 421 %
    assert five.used_pct == pytest.approx(100 * 80_000 / 19_000)
    block_start = (int(NOW * 1000) - 3_000_000) // 3_600_000 * 3_600_000
    assert five.resets_at == (block_start + 5 * 3_600_000) / 1000
    # burn rate over the block's first → last entry: $0.08 spent over 30 minutes
    assert status.burn_usd_per_hour == pytest.approx(0.08 / 0.5)
    assert status.tokens_per_min == pytest.approx(80_000 / 30)
    left_min = (block_start + 5 * 3_600_000 - NOW * 1000) / 60_000
    assert status.projected_usd_at_window_end == pytest.approx(0.08 + 0.16 / 60 * left_min)
    assert status.seven_day is None  # no weekly limits configured
    # user overrides of the plan table
    custom, _ = parse_settings({"plan": "custom", "planLimits": {"custom": {
        "tokens": 0, "messages": 0, "costUSD": 0.16, "weeklyCostUSD": 1.6}}})  # fmt: skip
    status = LimitsEngine(feed.store, custom).plan_status(now=NOW)
    assert status.five_hour.used_pct == pytest.approx(50.0)
    assert status.seven_day.source == "estimate"
    assert status.seven_day.used_pct == pytest.approx(5.0)
    assert status.minutes_to_limit == pytest.approx((0.16 - 0.08) / (0.16 / 60))


def test_minutes_to_limit_scales_the_official_figure(feed: Feed) -> None:
    agent = make_agent()
    feed.spend(0.05, session=agent.claude_session_id, cwd=agent.worktree, ts=NOW - 3600)
    feed.spend(0.05, session=agent.claude_session_id, cwd=agent.worktree, ts=NOW - 60)
    plans.record_snapshots(feed.store, "official",
                           [plans.Figure("five_hour", 25.0, NOW + 3600)], now=NOW)  # fmt: skip
    status = LimitsEngine(feed.store, Settings()).plan_status(now=NOW)
    burn = totals(feed.store).cost_usd / (59 / 60)
    assert status.burn_usd_per_hour == pytest.approx(burn)
    # 25 % ↔ $0.10, so $0.30 to go at `burn` $/h
    assert status.minutes_to_limit == pytest.approx(0.30 / burn * 60)


def test_minutes_to_limit_ignores_a_figure_from_a_window_that_has_reset(feed: Feed) -> None:
    # 100 % in the last window says nothing about this one: the panel said "at the limit"
    # until Claude Code ran again; the estimate's cost limit applies instead
    agent = make_agent()
    plans.record_snapshots(feed.store, "official",
                           [plans.Figure("five_hour", 100.0, NOW - 600)], now=NOW - 3 * 3600)  # fmt: skip
    feed.spend(0.05, session=agent.claude_session_id, cwd=agent.worktree, ts=NOW - 1800)
    feed.spend(0.05, session=agent.claude_session_id, cwd=agent.worktree, ts=NOW - 60)
    status = LimitsEngine(feed.store, Settings(plan="max5")).plan_status(now=NOW)
    assert status.five_hour.source == "estimate"  # the old window's figure is absent
    burn = 0.10 / (29 / 60)
    assert status.minutes_to_limit == pytest.approx((35.0 - 0.10) / burn * 60)


def test_plan_thresholds_alert_once_per_window_without_action(feed: Feed) -> None:
    engine = LimitsEngine(feed.store, Settings(on_limit="stop"))
    agent = make_agent()
    for pct, now in ((70, NOW), (85, NOW + 60), (86, NOW + 120), (100, NOW + 180)):
        plans.record_snapshots(feed.store, "official",
                               [plans.Figure("five_hour", pct, NOW + 3600)], now=now)  # fmt: skip
        events = engine.evaluate([agent], {}, now=now)
        levels = [(e.scope, e.level, e.action) for e in events]
        expected = {70: [], 85: [("plan", "warning", None)], 86: [],
                    100: [("plan", "exceeded", None)]}[pct]  # fmt: skip
        assert levels == expected
    # the next window (a new reset time) re-arms
    plans.record_snapshots(feed.store, "official",
                           [plans.Figure("five_hour", 90, NOW + 5 * 3600)], now=NOW + 3700)  # fmt: skip
    events = engine.evaluate([agent], {}, now=NOW + 3700)
    assert [(e.scope_key, e.level) for e in events] == [("five_hour", "warning")]


def test_statusline_estimates_against_the_plan_the_server_uses(feed: Feed) -> None:
    import time as _time

    now = _time.time()
    agent = make_agent()
    feed.spend(0.02, session=agent.claude_session_id, cwd=agent.worktree, ts=now - 60)
    db = str(feed.store.path)
    # no engine yet: the default plan (max5: 88k tokens, $35, 1,000 messages) → 23 %
    assert build_line({}, db=db, now=now).endswith("Plan: ~23% est")
    settings, _ = parse_settings({"plan": "custom", "planLimits": {"custom": {
        "tokens": 0, "messages": 0, "costUSD": 0.08}}})  # fmt: skip
    engine = LimitsEngine(feed.store, settings)
    assert build_line({}, db=db, now=now).endswith("Plan: ~25% est")
    assert engine.plan_status(now=now).five_hour.used_pct == pytest.approx(25.0)
    engine.update_settings(Settings(plan="pro"))  # 19k tokens: 20,000 input tokens → 105 %
    assert build_line({}, db=db, now=now).endswith("Plan: ~105% est")
    assert build_line({}, db=db, now=now, plan="max20").endswith("Plan: ~9% est")


def test_a_plan_window_without_reset_time_alerts_again_in_a_later_window(feed: Feed) -> None:
    # the 7-day estimate has no reset time, nor has an official figure whose resets_at was
    # missing or untrustworthy: their alerts must re-arm once a window has passed, not fire
    # once in the store's lifetime
    settings, _ = parse_settings({"plan": "custom", "planLimits": {"custom": {
        "tokens": 0, "messages": 0, "costUSD": 1000, "weeklyCostUSD": 0.1}}})  # fmt: skip
    engine = LimitsEngine(feed.store, settings, tz="UTC")
    agent = make_agent()
    week = 7 * 86400

    def spend(usd: float, now: float) -> list[tuple[str, str]]:
        feed.spend(usd, session=agent.claude_session_id, cwd=agent.worktree, ts=now)
        return [(e.scope_key, e.level) for e in engine.evaluate([agent], {}, now=now)]

    assert spend(0.085, NOW) == [("seven_day", "warning")]
    assert spend(0.001, NOW + 3600) == []  # same window: once
    assert spend(0.085, NOW + week + 3600) == [("seven_day", "warning")]

    official = LimitsEngine(feed.store, Settings(plan="max5"), tz="UTC")
    fired = []
    for now in (NOW + 3 * week, NOW + 3 * week + 600, NOW + 3 * week + 6 * 3600):
        plans.record_snapshots(feed.store, "official", [plans.Figure("five_hour", 90, None)],
                               now=now)  # fmt: skip
        fired.append([(e.scope_key, e.level) for e in official.evaluate([], {}, now=now)
                      if e.scope_key == "five_hour"])  # fmt: skip
    assert fired == [[("five_hour", "warning")], [], [("five_hour", "warning")]]


@pytest.mark.parametrize("offset_ms", [-1, 0, 1])
def test_the_active_block_is_the_one_podium_report_blocks_shows(feed: Feed, offset_ms: int) -> None:
    # an entry exactly 5 h after the block start still belongs to that block (ccusage: a new
    # block starts only *past* the end); the status bar and `report blocks` must agree 1 ms
    # either side of that edge
    from podium.usage import reports

    agent = make_agent()
    hour = 3_600_000
    start_ms = (int(NOW * 1000) // hour - 6) * hour
    edge = start_ms + 5 * hour + offset_ms
    for ts_ms, now_ms in ((start_ms + 60_000, None), (edge, edge + 60_000),
                          (edge + 120_000, edge + 180_000)):  # fmt: skip
        feed.spend(0.01, session=agent.claude_session_id, cwd=agent.worktree, ts=ts_ms / 1000)
        if now_ms is None:
            continue
        report = reports.blocks(reports.ReportQuery(feed.store), now_ms=now_ms)
        active = [b for b in report["blocks"] if b["isActive"]]
        block = plans.active_block(feed.store, now_ms)
        if not active:
            assert block is None, (offset_ms, now_ms)
            continue
        (want,) = active
        assert block is not None, (offset_ms, now_ms)
        entries = feed.store.conn.execute("SELECT COUNT(*) FROM entries WHERE ts BETWEEN ? AND ?",
                                          (block.first_ms, block.last_ms)).fetchone()[0]  # fmt: skip
        assert (block.start_ms, block.end_ms, block.last_ms, entries) == (
            reports._ms(want["startTime"]), reports._ms(want["endTime"]),
            reports._ms(want["actualEndTime"]), want["entries"]), (offset_ms, now_ms)
