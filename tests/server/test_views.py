"""Pure view functions: status bar text by mode, tooltip table, severity, cards, the usage
summary, alerts, formatting; every payload is a protocol model with strict JSON."""

from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass, field, replace

import pytest

from podium.limits.models import AgentLimit, LimitEvent, PlanStatus, PlanWindow
from podium.protocol.models import AgentCard, Alert, Usage
from podium.settings import Limits
from podium.views.alerts import limit_alert, usage_limit_alert
from podium.views.cards import render_card
from podium.views.format import (
    format_agent_usage,
    format_duration,
    format_duration_coarse,
    format_tokens,
    format_usd,
)
from podium.views.status import PlanFigure, StatusInputs, render_status_bar
from podium.views.summary import render_usage_summary

NOW = 1_800_000_000.0


def card(name: str, status: str = "working", *, since: float = NOW - 125, source: str = "subscription",
         messages: int = 23, cost: float = 0.32, reason: str | None = None, limit=None) -> AgentCard:
    return AgentCard.model_validate({
        "agentId": f"ag-{name}", "name": name, "task": "t", "status": status,
        "statusSince": int(since * 1000), "statusReason": reason,
        "startedAt": int((NOW - 600) * 1000), "worktree": f"/w/{name}", "branch": f"podium/{name}",
        "profile": "fake", "source": source,
        "usage": {"inputTokens": 40_000, "outputTokens": 5_000, "cacheCreationTokens": 0,
                  "cacheReadTokens": 0, "costUSD": cost, "messages": messages},
        "diff": {"added": 142, "removed": 38, "files": 3}, "limit": limit,
    })  # fmt: skip


PLAN = PlanFigure(window="five_hour", used_pct=67.2, source="official", observed_at=NOW - 60)


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("subscription", "Plan: 67%"),
        ("api", "$2.47 today"),
        ("both", "Plan: 67% | API: $2.47"),
        ("proxy", "Proxy: $5.10 today"),
    ],
)
def test_text_by_mode_without_agents(mode: str, expected: str) -> None:
    state = StatusInputs(mode=mode, plan=PLAN, api_today_usd=2.468, api_month_usd=30.0,
                         today_usd=5.1, now=NOW)  # fmt: skip
    bar = render_status_bar(state)
    assert bar.text == expected
    assert bar.mode == mode
    assert bar.severity == "ok"


def test_agent_counts_prefix_and_waiting() -> None:
    cards = [card("alpha", "waiting"), card("bravo", "waiting"), card("charlie", "working")]
    bar = render_status_bar(StatusInputs(mode="subscription", cards=cards, plan=PLAN, now=NOW))
    assert bar.text == "3 agents | 2 waiting | Plan: 67%"
    one = render_status_bar(StatusInputs(mode="api", cards=[card("a", "paused")], now=NOW))
    assert one.text == "1 agent | 1 paused | $0.00 today"


def test_ended_agents_are_not_counted_but_stay_in_the_tooltip() -> None:
    cards = [card("alpha", "working"), card("bravo", "stopped"), card("charlie", "exited"),
             card("delta", "error")]  # fmt: skip
    bar = render_status_bar(StatusInputs(mode="subscription", cards=cards, plan=PLAN, now=NOW))
    assert bar.text == "1 agent | Plan: 67%"
    assert all(name in bar.tooltip for name in ("alpha", "bravo", "charlie", "delta"))
    done = render_status_bar(StatusInputs(mode="subscription", cards=cards[1:3], plan=PLAN,
                                          now=NOW))  # fmt: skip
    assert done.text == "Plan: 67%"


def test_stale_and_missing_plan_figures() -> None:
    stale = PlanFigure(window="five_hour", used_pct=67, source="official", observed_at=NOW - 900,
                       stale=True, stale_reason="official figure is 15 min old while agents work")
    bar = render_status_bar(StatusInputs(mode="both", plan=stale, api_today_usd=1, now=NOW))
    assert bar.text == "Plan: ~67% | API: $1.00"
    assert "stale: official figure is 15 min old" in bar.tooltip
    assert render_status_bar(StatusInputs(mode="subscription", now=NOW)).text == "Plan: n/a"


def test_plan_errors_are_listed_in_the_tooltip() -> None:
    bar = render_status_bar(StatusInputs(mode="subscription", plan=PLAN, now=NOW,
                                         plan_errors=["oauth usage: HTTP 401 Unauthorized"]))
    assert "⚠ oauth usage: HTTP 401 Unauthorized" in bar.tooltip
    assert bar.text == "Plan: 67%"


def test_estimate_is_labelled_in_tooltip() -> None:
    est = PlanFigure(window="five_hour", used_pct=12, source="estimate", observed_at=NOW)
    bar = render_status_bar(StatusInputs(mode="subscription", plan=est, now=NOW))
    assert "(estimate)" in bar.tooltip
    official = render_status_bar(StatusInputs(mode="subscription", plan=PLAN, now=NOW))
    assert "(official, 1m ago)" in official.tooltip


def test_tooltip_table_rows() -> None:
    cards = [card("alpha"), card("bra|vo", "paused", source="api", reason="paused by limit: $5")]
    bar = render_status_bar(StatusInputs(mode="both", cards=cards, plan=PLAN, now=NOW))
    lines = bar.tooltip.splitlines()
    assert "| Agent | Status | For | Changes | Usage |" in lines
    assert "| alpha | working | 2m | +142 −38 | 23 msgs (Sub) |" in lines
    assert "| bra\\|vo | paused (paused by limit: $5) | 2m | +142 −38 | 45K tok $0.32 (API) |" in lines


def test_severity_levels() -> None:
    high = PlanFigure(window="five_hour", used_pct=85, source="official", observed_at=NOW)
    assert render_status_bar(StatusInputs(mode="subscription", plan=high, now=NOW)).severity == "warning"
    full = PlanFigure(window="five_hour", used_pct=100, source="official", observed_at=NOW)
    assert render_status_bar(StatusInputs(mode="subscription", plan=full, now=NOW)).severity == "error"
    # plan % does not colour the api mode; a budget does
    assert render_status_bar(StatusInputs(mode="api", plan=full, now=NOW)).severity == "ok"
    assert render_status_bar(StatusInputs(mode="api", budget_pcts=[96], now=NOW)).severity == "warning"
    limited = card("a", "paused", reason="paused by limit: agent $5.00 reached")
    assert render_status_bar(StatusInputs(mode="api", cards=[limited], now=NOW)).severity == "warning"
    assert render_status_bar(StatusInputs(mode="api", cards=[card("a", "error")], now=NOW)).severity == "error"
    over = card("a", limit={"usedPct": 101, "limitUSD": 1, "action": "warn"})
    assert render_status_bar(StatusInputs(mode="api", cards=[over], now=NOW)).severity == "error"


@dataclass
class FakeAgent:
    id: str = "ag-1"
    name: str = "alpha"
    task: str = "Fix auth"
    status: str = "working"
    status_since: float = NOW
    status_reason: str | None = None
    started_at: float = NOW - 10
    worktree: str = "/r/.podium/worktrees/alpha"
    branch: str = "podium/alpha"
    pid: int | None = 123
    exit_code: int | None = None
    profile: str = "fake"
    source: str = "api"
    model: str | None = None
    limit_usd: float | None = None


@dataclass
class FakeUsage:
    input: int = 10
    output: int = 20
    cache_create: int = 30
    cache_read: int = 40
    cost_usd: float = 0.1234567
    messages: int = 2
    models: list[str] = field(default_factory=lambda: ["claude-sonnet-4-5-20250929"])


@dataclass
class FakeDiff:
    added: int = 5
    removed: int = 1
    files: int = 2


def test_render_card_fields() -> None:
    c = render_card(FakeAgent(), FakeUsage(), FakeDiff(), AgentLimit(2.469, 5.0, "pause")).wire()
    assert c["agentId"] == "ag-1" and c["statusSince"] == int(NOW * 1000)
    assert c["startedAt"] == int((NOW - 10) * 1000)
    assert c["usage"] == {"inputTokens": 10, "outputTokens": 20, "cacheCreationTokens": 30,
                          "cacheReadTokens": 40, "costUSD": 0.123457, "messages": 2}  # fmt: skip
    assert c["diff"] == {"added": 5, "removed": 1, "files": 2}
    assert c["limit"] == {"usedPct": 2.47, "limitUSD": 5.0, "action": "pause"}
    assert c["model"] == "claude-sonnet-4-5-20250929"  # from usage when the agent has none
    empty = render_card(FakeAgent(pid=None), None, None, None).wire()
    assert empty["usage"]["messages"] == 0 and empty["limit"] is None and empty["pid"] is None


@pytest.mark.parametrize(("status", "has_pid"),
                         [("working", True), ("paused", True), ("idle", True),
                          ("exited", False), ("stopped", False), ("error", False)])  # fmt: skip
def test_an_ended_agent_card_has_no_pid(status: str, has_pid: bool) -> None:
    # protocol.md: `pid` is null when no process runs (the old pid may be someone else's now)
    card = render_card(FakeAgent(status=status), None, None, None)
    assert (card.pid is not None) is has_pid


def test_a_stop_reason_overrides_the_agents_and_the_wire_keys_keep_their_order() -> None:
    c = render_card(FakeAgent(status="stopped", status_reason="stopped"), None, None, None,
                    status_reason="stopped by limit: agent $5.00 reached")  # fmt: skip
    wire = c.wire()
    assert wire["statusReason"] == "stopped by limit: agent $5.00 reached"
    assert list(wire) == ["agentId", "name", "task", "status", "statusSince", "statusReason",
                          "startedAt", "worktree", "branch", "pid", "exitCode", "profile",
                          "source", "model", "usage", "diff", "limit", "pending", "lastTurn",
                          "reportedCostUSD", "permissionMode"]  # fmt: skip
    assert AgentCard.model_validate(wire) == c


def test_formatters() -> None:
    assert [format_duration(s) for s in (0, 45, 60, 725, 3600, 7500, 90000)] == [
        "0s", "45s", "1m", "12m", "1h", "2h 5m", "1d 1h"]  # fmt: skip
    assert format_duration_coarse(30) == "<1m" and format_duration_coarse(120) == "2m"
    assert [format_tokens(n) for n in (950, 1000, 1500, 45_000, 1_200_000, 12_000_000)] == [
        "950", "1K", "1.5K", "45K", "1.2M", "12M"]  # fmt: skip
    assert format_usd(2.468) == "$2.47" and format_usd(0) == "$0.00" and format_usd(0.001) == "<$0.01"
    assert format_agent_usage("proxy", Usage(input_tokens=500, cost_usd=1)) == "500 tok $1.00 (Proxy)"


def test_an_estimate_is_labelled_in_the_status_bar_text_too() -> None:
    # formats.md §7: always label an estimate; the text must not read like an official figure
    # (and says the same as `podium statusline`: `Plan: ~12% est`)
    est = PlanFigure(window="five_hour", used_pct=12.4, source="estimate", observed_at=NOW)
    assert render_status_bar(StatusInputs(mode="subscription", plan=est, now=NOW)).text == (
        "Plan: ~12% est")
    both = render_status_bar(StatusInputs(mode="both", plan=est, api_today_usd=2.47, now=NOW))
    assert both.text == "Plan: ~12% est | API: $2.47"
    oauth = PlanFigure(window="five_hour", used_pct=40, source="oauth", observed_at=NOW)
    assert render_status_bar(StatusInputs(mode="subscription", plan=oauth, now=NOW)).text == (
        "Plan: 40%")


def test_usage_summary_is_built_from_the_figures() -> None:
    five = PlanWindow("five_hour", 67.004, "official", NOW - 60.0004, NOW + 3600, False, None)
    plan = PlanStatus("max5", five, None, 3.14159, 1520.04, 18.40004, 95.04, ["oauth: x"])
    today = FakeUsage(cost_usd=4.9000004)
    limits = Limits(agent_usd=5.0, daily_tokens=2e6)
    summary = render_usage_summary(
        mode="both", now=NOW, plan=plan, api_spend=(2.4700004, 31.2), today=today,
        limits=limits, on_limit="pause", cards=[card("alpha", limit={"usedPct": 6.2,
        "limitUSD": 5.0, "action": "pause"})])  # fmt: skip
    wire = json.loads(json.dumps(summary.wire(), allow_nan=False))
    assert wire["generatedAt"] == int(NOW * 1000) and wire["mode"] == "both"
    assert wire["plan"] == {
        "plan": "max5", "sevenDay": None, "burnUSDPerHour": 3.1416, "tokensPerMin": 1520.0,
        "projectedUSDAtWindowEnd": 18.4, "minutesToLimit": 95.0, "errors": ["oauth: x"],
        "fiveHour": {"usedPct": 67.0, "source": "official", "observedAt": int((NOW - 60.0004) * 1000),
                     "resetsAt": int((NOW + 3600) * 1000), "stale": False, "staleReason": None},
    } and list(wire["plan"])[:3] == ["plan", "fiveHour", "sevenDay"]  # fmt: skip
    assert wire["api"] == {"todayUSD": 2.47, "monthUSD": 31.2}
    assert wire["today"]["costUSD"] == 4.9 and wire["today"]["messages"] == 2
    assert wire["limits"] == {"agentUSD": 5.0, "sessionUSD": None, "dailyUSD": None,
                              "monthlyUSD": None, "agentTokens": None, "sessionTokens": None,
                              "dailyTokens": 2e6, "monthlyTokens": None, "onLimit": "pause"}  # fmt: skip
    (row,) = wire["agents"]
    assert list(row) == ["agentId", "name", "status", "source", "usage", "limit"]
    assert row["limit"] == {"usedPct": 6.2, "limitUSD": 5.0, "action": "pause"}
    no_engine = render_usage_summary(mode="api", now=NOW, plan=None, api_spend=(0.0, 0.0),
                                     today=None, limits=Limits(), on_limit="warn", cards=[])  # fmt: skip
    assert no_engine.plan is None and no_engine.today == Usage() and no_engine.agents == []


def test_alerts_from_limit_events_and_the_usage_limit() -> None:
    event = LimitEvent("exceeded", "daily", "2026-11-23", None, 50.0123456789, 50, 100.02468,
                       "daily spend reached its $50.00 limit ($50.01)", "pause")  # fmt: skip
    wire = limit_alert(event, None).wire()
    assert wire == {"level": "critical", "message": "daily spend reached its $50.00 limit ($50.01)",
                    "agentId": None, "scope": "daily", "scopeKey": "2026-11-23", "action": None,
                    "used": 50.012346, "limit": 50.0, "pct": 100.02}  # fmt: skip
    assert limit_alert(replace(event, level="warning"), "warn").level == "warning"
    hit = usage_limit_alert("ag-1", "agent alpha hit the plan's usage limit reached").wire()
    assert (hit["scope"], hit["scopeKey"], hit["level"], hit["used"], hit["pct"]) == (
        "usage_limit", "ag-1", "critical", None, None)  # fmt: skip


def test_non_finite_figures_never_reach_the_wire() -> None:
    # a log line's absurd cost (1e400 parses as inf) must degrade one number, not the JSON
    huge = render_card(FakeAgent(), FakeUsage(cost_usd=math.inf), None,
                       AgentLimit(math.inf, 5.0, "pause")).wire()  # fmt: skip
    text = json.dumps(huge, allow_nan=False)
    assert huge["usage"]["costUSD"] == sys.float_info.max == huge["limit"]["usedPct"]
    assert json.loads(text) == huge
    assert Usage(cost_usd=math.nan).cost_usd == 0.0
    assert Alert(level="info", message="m", scope="plan", pct=-math.inf).pct == -sys.float_info.max
