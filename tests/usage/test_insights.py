"""podium.usage.insights on stores with known data: each insight with its evidence and saving,
its absence when the condition is not met, and `podium report insights --json` (a subprocess)
returning exactly the expected list."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from tests.usage.history_seed import OPUS, SONNET, add_agent, ingest, ms, set_status, write_session

from podium.limits import plans
from podium.settings import parse_settings
from podium.store import Store
from podium.usage.insights import insights, wire
from podium.usage.queries import default_prices

NOW_MS = ms("2026-03-30T12:00")
NOW = NOW_MS / 1000
SONNET4 = "claude-sonnet-4-20250514"  # priced with a long-context tier above 200k
DAY = 86_400_000
HOUR = 3_600_000
# the first entry is 10 days before NOW: the observed window, extrapolated ×3 to 30 days
FIRST = NOW_MS - 10 * DAY
# alpha: Opus, no cache reads, 10 requests under 200k
ALPHA = [(FIRST + n * 20 * HOUR, OPUS, (100_000, 10_000, 0, 0)) for n in range(10)]
# beta: well cached, 10 long-context requests (over 200k input) on Sonnet 4
BETA = [(NOW_MS - n * HOUR - 1000, SONNET4, (10_000, 2_000, 0, 250_000)) for n in range(10)]
# usage of no agent: a project with a poor hit rate
SHOP = [(NOW_MS - 2 * DAY + n * HOUR, SONNET, (150_000, 0, 0, 0)) for n in range(5)]
# gamma: a little Opus (far below the model-choice threshold), then waiting for 5 hours
GAMMA = [(NOW_MS - 6 * HOUR, OPUS, (1_000, 100, 0, 50_000))]


def month_cost() -> float:
    p = default_prices()
    return sum(p.cost_of(m, *t) for _ts, m, t in ALPHA + BETA + SHOP + GAMMA)


def recent_cost() -> float:
    """Cost of the UTC days overlapping the last 7 days (the burn window)."""
    p = default_prices()
    cut = (NOW_MS - 7 * DAY) // DAY * DAY
    return sum(p.cost_of(m, *t) for ts, m, t in ALPHA + BETA + SHOP + GAMMA if ts >= cut)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    claude = tmp_path / "claude"
    write_session(claude, "/seed/wt/alpha", "s-alpha", ALPHA)
    write_session(claude, "/seed/wt/beta", "s-beta", BETA)
    write_session(claude, "/home/ana/shop", "s-shop", SHOP)
    write_session(claude, "/seed/wt/gamma", "s-gamma", GAMMA)
    db = Store(tmp_path / "podium.db")
    ingest(db, claude)
    t0 = FIRST / 1000 - 3600
    add_agent(db, "ag-alpha", "alpha", worktree="/seed/wt/alpha", session="s-alpha",
              started_at=t0, ended_at=NOW - 3600)  # fmt: skip
    add_agent(db, "ag-beta", "beta", worktree="/seed/wt/beta", session="s-beta",
              started_at=t0, ended_at=NOW - 60)  # fmt: skip
    add_agent(db, "ag-gamma", "gamma", worktree="/seed/wt/gamma", session="s-gamma",
              started_at=NOW - 5 * 3600, status="waiting")  # fmt: skip
    # five_hour: 40% → 70% in 10 minutes, full at NOW, resets at NOW + 2 h; seven_day: slow
    for pct, at in ((40.0, NOW - 1200), (70.0, NOW - 600)):
        plans.record_snapshots(db, "official", [plans.Figure("five_hour", pct, NOW + 7200)], now=at)
    for pct, at in ((20.0, NOW - 7200), (21.0, NOW - 600)):
        plans.record_snapshots(db, "official", [plans.Figure("seven_day", pct, NOW + 86400)],
                               now=at)  # fmt: skip
    return db


def by_id(items) -> dict[tuple[str, str], object]:
    return {(i.id, i.subject): i for i in items}


def test_cache_hit_rate_below_target_per_agent_and_project(store: Store) -> None:
    found = by_id(insights(store, now=NOW))
    alpha = found[("cache_hit_rate", "ag-alpha")]
    assert alpha.evidence["cacheHitRate"] == 0 and alpha.evidence["windowDays"] == 10
    assert alpha.evidence["inputSideTokens"] == 1_000_000
    # 80% of 1M tokens should have been cache reads: 800k × (5.00 − 0.50) per M, ×3 for a month
    assert alpha.monthly_saving_usd == pytest.approx(800_000 * 4.5 / 1e6 * 3)
    shop = [i for (k, _s), i in found.items() if k == "cache_hit_rate" and i.evidence.get("project")]
    assert len(shop) == 1 and shop[0].evidence["inputSideTokens"] == 750_000
    assert shop[0].monthly_saving_usd == pytest.approx(600_000 * 2.7 / 1e6 * 3)
    # beta reads 300k of its 312k input-side tokens from cache (96%): no insight
    assert ("cache_hit_rate", "ag-beta") not in found
    # gamma is below target but its shortfall is far under a dollar a month
    assert ("cache_hit_rate", "ag-gamma") not in found


def test_model_choice_only_above_the_threshold(store: Store) -> None:
    found = by_id(insights(store, now=NOW))
    alpha = found[("model_choice", "ag-alpha")]
    # Opus 4.5: 1M × 5 + 100k × 25 = $7.50; Sonnet 4.5: 1M × 3 + 100k × 15 = $4.50
    assert alpha.evidence["opusUSDInWindow"] == pytest.approx(7.5)
    assert alpha.evidence["sameTokensOnSonnetUSDInWindow"] == pytest.approx(4.5)
    assert alpha.evidence["alternatives"] == ["claude-sonnet-4-5"]
    assert alpha.monthly_saving_usd == pytest.approx(3.0 * 3)
    assert ("model_choice", "ag-gamma") not in found  # cents of Opus
    assert ("model_choice", "ag-beta") not in found  # Sonnet already


def test_long_context_surcharge(store: Store) -> None:
    lc = by_id(insights(store, now=NOW))[("long_context", "")]
    # per request: 10k × (6 − 3) + 2k × (22.5 − 15) + 250k × (0.6 − 0.3) per M = $0.12
    assert lc.evidence["longRequests"] == 10
    assert lc.evidence["requests"] == 10 + 10 + 5 + 1
    assert lc.evidence["surchargeUSDInWindow"] == pytest.approx(1.2)
    assert lc.monthly_saving_usd == pytest.approx(1.2 * 3)
    total = month_cost()
    assert lc.evidence["surchargeShare"] == pytest.approx(1.2 / total, abs=1e-4)


def test_idle_agent_holding_a_worktree(store: Store) -> None:
    found = by_id(insights(store, now=NOW))
    gamma = found[("idle_agent", "ag-gamma")]
    assert gamma.evidence == {"agent": "gamma", "status": "waiting", "hours": 5.0,
                              "waitingSince": "2026-03-30T07:00Z", "worktree": "/seed/wt/gamma",
                              "workingHoursInWindow": 0.0, "waitingHoursInWindow": 5.0}  # fmt: skip
    assert not [k for k in found if k[0] == "idle_agent" and k[1] != "ag-gamma"]
    # less than IDLE_HOURS later than its status change: nothing
    assert ("idle_agent", "ag-gamma") not in by_id(insights(store, now=NOW - 4 * 3600))


def test_idle_agent_counts_a_whole_run_of_held_statuses(store: Store) -> None:
    # delta: worked 3 h, then waiting → idle → paused; its status is 1 h old, its wait 3 h
    add_agent(store, "ag-delta", "delta", worktree="/seed/wt/delta", session=None,
              started_at=NOW - 6 * 3600, status="starting")  # fmt: skip
    for status, hours_ago in (("working", 6), ("waiting", 3), ("idle", 2.5), ("paused", 1)):
        set_status(store, "ag-delta", status, NOW - hours_ago * 3600)
    # epsilon: the same, but it worked again 1.5 h ago: its wait is 1.5 h
    add_agent(store, "ag-eps", "epsilon", worktree="/seed/wt/eps", session=None,
              started_at=NOW - 6 * 3600, status="starting")  # fmt: skip
    for status, hours_ago in (("working", 6), ("waiting", 3), ("working", 2), ("waiting", 1.5)):
        set_status(store, "ag-eps", status, NOW - hours_ago * 3600)
    found = by_id(insights(store, now=NOW))
    delta = found[("idle_agent", "ag-delta")]
    assert delta.evidence == {"agent": "delta", "status": "paused", "hours": 3.0,
                              "waitingSince": "2026-03-30T09:00Z", "worktree": "/seed/wt/delta",
                              "workingHoursInWindow": 3.0, "waitingHoursInWindow": 3.0}  # fmt: skip
    assert ("idle_agent", "ag-eps") not in found
    assert ("idle_agent", "ag-delta") not in by_id(insights(store, now=NOW - 3600 * 1.5))


def test_rate_limit_waits_from_the_status_history(store: Store) -> None:
    # zeta: two 429 series of 20 and 25 minutes, then working; eta: 10 minutes (under the bar)
    add_agent(store, "ag-zeta", "zeta", worktree="/seed/wt/zeta", session=None,
              started_at=NOW - 5 * 3600, status="starting")  # fmt: skip
    for status, minutes_ago in (("working", 290), ("rateLimited", 240), ("working", 220),
                                ("rateLimited", 100), ("working", 75)):  # fmt: skip
        set_status(store, "ag-zeta", status, NOW - minutes_ago * 60)
    add_agent(store, "ag-eta", "eta", worktree="/seed/wt/eta", session=None,
              started_at=NOW - 3600, status="starting")  # fmt: skip
    set_status(store, "ag-eta", "rateLimited", NOW - 600)  # still limited: runs to now
    found = by_id(insights(store, now=NOW))
    zeta = found[("rate_limit_waits", "ag-zeta")]
    # the store's window is 10 days (its first entry), so 45 minutes is 2.25 h a 30-day month
    assert zeta.evidence == {"agent": "zeta", "rateLimitedHours": 0.75, "waits": 2,
                             "hoursPerMonth": 2.2}  # fmt: skip
    assert zeta.severity == "warning" and zeta.monthly_saving_usd == 0.0
    assert not [k for k in found if k[0] == "rate_limit_waits" and k[1] != "ag-zeta"]
    # 20 more minutes limited makes eta's wait count too; an hour earlier zeta's was 20 min
    assert ("rate_limit_waits", "ag-eta") in by_id(insights(store, now=NOW + 1200))
    assert ("rate_limit_waits", "ag-zeta") not in by_id(insights(store, now=NOW - 200 * 60))


def test_plan_window_projected_full_before_reset(store: Store) -> None:
    found = by_id(insights(store, now=NOW))
    five = found[("plan_window", "five_hour")]
    assert five.evidence["usedPct"] == 70.0 and five.evidence["burnPctPerHour"] == 180.0
    assert five.evidence["fullAt"] == "2026-03-30T12:00Z"
    assert five.evidence["resetsAt"] == "2026-03-30T14:00Z"
    assert ("plan_window", "seven_day") not in found  # 1% in 6.5 h: full long after its reset


def test_month_end_projection_against_the_budget(store: Store) -> None:
    spent, rate = month_cost(), recent_cost() / 7
    # 36 h left in March at the burn rate
    projected = spent + rate * 1.5
    budget = spent + rate * 0.5  # runs out 12 h after NOW
    settings, _ = parse_settings({"limits": {"monthlyUSD": budget}})
    b = by_id(insights(store, now=NOW, settings_like=settings))[("monthly_budget", "")]
    assert b.severity == "warning"
    assert b.evidence["monthToDateUSD"] == pytest.approx(spent, abs=0.01)
    assert b.evidence["projectedMonthEndUSD"] == pytest.approx(projected, abs=0.01)
    assert b.evidence["runsOutAt"] == "2026-03-31T00:00Z"
    assert b.monthly_saving_usd == pytest.approx(projected - budget)
    over, _ = parse_settings({"limits": {"monthlyUSD": spent / 2}})
    assert by_id(insights(store, now=NOW, settings_like=over))[("monthly_budget", "")].severity \
        == "critical"  # fmt: skip
    enough, _ = parse_settings({"limits": {"monthlyUSD": projected + 1}})
    assert ("monthly_budget", "") not in by_id(insights(store, now=NOW, settings_like=enough))
    assert ("monthly_budget", "") not in by_id(insights(store, now=NOW))


def test_nothing_on_an_empty_or_healthy_store(tmp_path: Path) -> None:
    assert insights(Store(tmp_path / "empty.db"), now=NOW) == []
    claude = tmp_path / "claude"
    write_session(claude, "/w", "s", [(NOW_MS - DAY, SONNET, (1000, 1000, 1000, 100_000))])
    db = Store(tmp_path / "ok.db")
    ingest(db, claude)
    assert insights(db, now=NOW) == []


def test_cli_json_returns_exactly_the_expected_list(store: Store, tmp_path: Path) -> None:
    spent = month_cost()
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps({"podium": {"limits": {"monthlyUSD": round(spent / 2, 2)}}}))
    proc = subprocess.run(
        [sys.executable, "-m", "podium", "report", "insights", "--json", "--no-ingest",
         "--db", str(store.path), "--now", str(NOW), "--settings", str(settings)],
        capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    parsed, _ = parse_settings({"limits": {"monthlyUSD": round(spent / 2, 2)}})
    assert got == wire(insights(store, now=NOW, settings_like=parsed))
    assert [(i["id"], i["subject"]) for i in got] == [
        ("cache_hit_rate", "ag-alpha"), ("model_choice", "ag-alpha"),
        ("monthly_budget", ""), ("cache_hit_rate", got[3]["subject"]), ("long_context", ""),
        ("plan_window", "five_hour"), ("idle_agent", "ag-gamma")]  # fmt: skip
    assert got[3]["evidence"]["project"]
    assert [i["monthlySavingUSD"] for i in got[:2]] == [10.8, 9.0]
    assert all(set(i) == {"id", "severity", "title", "subject", "evidence",
                          "monthlySavingUSD", "action"} for i in got)  # fmt: skip


def test_cli_text_and_bad_settings(store: Store, tmp_path: Path) -> None:
    base = [sys.executable, "-m", "podium", "insights", "--no-ingest", "--db", str(store.path),
            "--now", str(NOW)]  # fmt: skip
    text = subprocess.run(base, capture_output=True, text=True, timeout=60, check=False)
    assert text.returncode == 0, text.stderr
    assert "[warning] Cache hit rate 0% for alpha (target 80%)  (saves ~$10.80/month)" in text.stdout
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    proc = subprocess.run([*base, "--settings", str(bad)], capture_output=True, text=True,
                          timeout=60, check=False)  # fmt: skip
    assert proc.returncode == 2 and "not JSON" in proc.stderr and proc.stdout == ""
