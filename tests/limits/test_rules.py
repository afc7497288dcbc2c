"""The rules written once in podium.domain, checked where their two forms must agree: the
attribution rule in Python and in SQL, the plan estimate as the engine and `podium statusline`
compute it, and the local day as the server and the status line bound it."""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from podium.domain.attribution import Owner, OwnerIndex, inside, owned_sql, owner_keys, touched
from podium.domain.periods import concrete_tz, date_range_ms, day_bounds, resolve_tz
from podium.domain.plan_estimate import estimate_pct
from podium.limits import LimitsEngine
from podium.limits.plans import plan_limits
from podium.limits.statusline import build_line
from podium.settings import Settings

from .helpers import NOW, Feed, make_agent

ENTRIES = [  # (session_id, cwd)
    ("s-alpha", "/elsewhere"), (None, "/w/alpha"), (None, "/w/alpha/src/deep"),
    (None, "/w/alpha-2"), (None, "/w/alphabet"), ("s-other", "/w"), (None, None),
    ("s-bravo", "/w/alpha/x"), (None, "/w/bravo/"),
]  # fmt: skip


@pytest.mark.parametrize("agents", [
    [Owner("s-alpha", "/w/alpha")],
    [Owner(None, "/w/alpha/")],
    [Owner("s-alpha", None)],
    [Owner("s-alpha", "/w/alpha"), Owner(None, "/w/bravo")],
    [],
])  # fmt: skip
def test_python_and_sql_attribution_agree(agents: list[Owner]) -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE entries (id INTEGER PRIMARY KEY, session_id TEXT, cwd TEXT)")
    conn.executemany("INSERT INTO entries (session_id, cwd) VALUES (?, ?)", ENTRIES)
    where, params = owned_sql(*owner_keys(agents))
    in_sql = {row[0] - 1 for row in conn.execute(f"SELECT id FROM entries WHERE {where}", params)}
    in_python = {i for i, (session, cwd) in enumerate(ENTRIES)
                 if any(touched(a, [session] if session else [], [cwd] if cwd else [])
                        for a in agents)}  # fmt: skip
    assert in_sql == in_python
    if agents and agents[0].worktree == "/w/alpha":
        # a sibling sharing the prefix is not inside
        assert {1, 2} <= in_sql and not {3, 4} & in_sql


def test_one_owner_per_entry_in_python_and_sql() -> None:
    """Session first, else the deepest worktree holding the cwd: the same in both forms."""
    index = OwnerIndex([("alpha", "s-alpha", "/w/alpha"), ("inner", None, "/w/alpha/x"),
                        ("bravo", "s-bravo", "/w/bravo")])  # fmt: skip
    expected = ["alpha", "alpha", "alpha", None, None, None, None, "bravo", "bravo"]
    assert [index.owner(session, cwd) for session, cwd in ENTRIES] == expected
    assert index.owner(None, "/w/alpha/x/y") == "inner"  # the deeper worktree wins
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE entries (id INTEGER PRIMARY KEY, session_id TEXT, cwd TEXT)")
    conn.executemany("INSERT INTO entries (session_id, cwd) VALUES (?, ?)",
                     [*ENTRIES, (None, "/w/alpha/x/y")])  # fmt: skip
    case, params = index.case_sql()
    in_sql = [row[0] or None for row in conn.execute(f"SELECT {case} FROM entries ORDER BY id",
                                                    params)]  # fmt: skip
    assert in_sql == [*expected, "inner"]
    assert OwnerIndex([]).case_sql() == ("''", [])


def test_inside_is_the_directory_or_below() -> None:
    assert inside("/w/a", "/w/a") and inside("/w/a/b", "/w/a/") and not inside("/w/ab", "/w/a")
    assert not inside(None, "/w/a") and not inside("/w/a", None)


def test_the_engine_and_the_status_line_estimate_the_same_plan_percent(feed: Feed) -> None:
    # no official figure: both estimate the active 5-hour block against the plan table
    now = time.time()
    agent = make_agent()
    feed.spend(0.5, session=agent.claude_session_id, cwd=agent.worktree, ts=now - 60)
    feed.spend(0.25, session=agent.claude_session_id, cwd=agent.worktree, ts=now - 30)
    engine = LimitsEngine(feed.store, Settings(plan="pro"))  # publishes the plan for the line
    status = engine.plan_status(now=now)
    assert status.five_hour is not None and status.five_hour.source == "estimate"
    line = build_line({}, db=str(feed.store.path), now=now)
    assert line.endswith(f"Plan: ~{status.five_hour.used_pct:.0f}% est")
    usage = feed.usage_of(agent)
    table = plan_limits("pro")
    assert status.five_hour.used_pct == pytest.approx(
        estimate_pct(table, usage.input + usage.output, usage.cost_usd, usage.messages))


def test_the_estimate_is_the_highest_share_and_zero_without_limits() -> None:
    table = {"tokens": 1000, "costUSD": 10.0, "messages": 0, "weeklyMessages": 50}
    assert estimate_pct(table, 500, 8.0, 999) == 80.0  # messages: no limit in the table
    assert estimate_pct(table, 500, 8.0, 10, weekly=True) == 20.0
    assert estimate_pct({}, 1e9, 1e9, 1e9) == 0.0


def test_the_status_line_and_the_server_agree_on_today_when_midnight_repeats(
    local_zone, feed: Feed
) -> None:
    # Havana falls back from 01:00 to 00:00 on 2025-11-02: the day starts at the FIRST 00:00.
    # The status line used mktime, which picked the second one and lost an hour of spend.
    local_zone("America/Havana")
    havana = ZoneInfo("America/Havana")
    first = datetime(2025, 11, 2, 0, 15, tzinfo=havana)  # before the clocks go back
    later = datetime(2025, 11, 2, 12, 0, tzinfo=havana).timestamp()
    agent = make_agent()
    feed.spend(0.5, session=agent.claude_session_id, cwd=agent.worktree, ts=first.timestamp())
    start, _end, key = day_bounds(later, None)
    assert key == "2025-11-02" and start <= first.timestamp() * 1000
    assert "today $0.50" in build_line({}, db=str(feed.store.path), now=later)


def test_zones_and_open_date_ranges() -> None:
    assert resolve_tz("utc") is UTC and resolve_tz(None) is None and resolve_tz("") is None
    assert concrete_tz(UTC) is UTC and concrete_tz(None) is not None
    ny = resolve_tz("America/New_York")
    start, end = date_range_ms(date(2026, 3, 8), None, ny)
    assert end is None and start == int(datetime(2026, 3, 8, tzinfo=ny).timestamp() * 1000)
    assert date_range_ms(None, None, ny) == (None, None)
    assert day_bounds(NOW, UTC)[2] == datetime.fromtimestamp(NOW, UTC).date().isoformat()
