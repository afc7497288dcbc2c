"""podium.usage.history on a store with known data: local days across a DST change, hours,
every grouping, the plan figures, the per-agent table and bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.usage.history_seed import OPUS, SONNET, add_agent, add_plan, ingest, ms, write_session

from podium.errors import InvalidInput
from podium.store import Store
from podium.usage.history import usage_history
from podium.usage.queries import default_prices

# Paris moves to CEST at 2026-03-29T01:00Z: 23:30Z on the 28th is the 29th locally (+1), 22:30Z
# on the 29th is the 30th (+2)
A1 = (ms("2026-03-28T23:30"), SONNET, (1000, 2000, 4000, 30000))
A2 = (ms("2026-03-29T22:30"), SONNET, (500, 1000, 0, 10000))
B1 = (ms("2026-03-30T10:00"), OPUS, (2000, 3000, 1000, 0))
S1 = (ms("2026-03-27T12:00"), SONNET, (100, 100, 0, 0))
OLD = (ms("2026-03-20T12:00"), SONNET, (9, 9, 9, 9))
RANGE = {"since": "2026-03-27", "until": "2026-03-30", "tz": "Europe/Paris"}


def cost(req) -> float:
    _ts, model, (i, o, cw, cr) = req
    return default_prices().cost_of(model, i, o, cw, cr)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    claude = tmp_path / "claude"
    write_session(claude, "/seed/wt/alpha", "s-alpha", [A1, A2])
    write_session(claude, "/seed/wt/beta", "s-beta", [B1])
    write_session(claude, "/home/ana/shop", "s-shop", [OLD, S1])
    db = Store(tmp_path / "podium.db")
    ingest(db, claude)
    t0 = ms("2026-03-26T00:00") / 1000
    add_agent(db, "ag-alpha", "alpha", worktree="/seed/wt/alpha", session="s-alpha",
              task="fix the token sk-ant-api03-" + "x" * 40, diff=(150, 50), started_at=t0)  # fmt: skip
    add_agent(db, "ag-beta", "beta", worktree="/seed/wt/beta", session="s-beta", source="api",
              started_at=t0)  # fmt: skip
    add_agent(db, "ag-old", "old", worktree="/seed/wt/old", session="s-old",
              started_at=t0 - 30 * 86400, ended_at=t0 - 29 * 86400)  # fmt: skip
    add_plan(db, "five_hour", 40.0, ms("2026-03-29T10:00"))
    add_plan(db, "five_hour", 55.0, ms("2026-03-29T10:05"))
    add_plan(db, "seven_day", 20.0, ms("2026-03-30T08:00"))
    add_plan(db, "five_hour", 90.0, ms("2026-03-20T08:00"))  # before the range
    return db


def cells(result: dict) -> dict[tuple[str, str], float]:
    return {(c["bucket"], c["group"]): c["costUSD"] for c in result["series"]}


def test_days_follow_the_zone_across_dst_and_match_the_price_table(store: Store) -> None:
    assert cost(A1) == pytest.approx(0.057)  # 1000×3 + 2000×15 + 4000×3.75 + 30000×0.3 per M
    r = usage_history(store, group_by="model", **RANGE)
    assert r["buckets"] == ["2026-03-27", "2026-03-28", "2026-03-29", "2026-03-30"]
    assert cells(r) == pytest.approx({
        ("2026-03-27", SONNET): cost(S1), ("2026-03-29", SONNET): cost(A1),
        ("2026-03-30", SONNET): cost(A2), ("2026-03-30", OPUS): cost(B1)})  # fmt: skip
    tokens = r["totals"]["tokens"]
    assert tokens == {"input": 3600, "output": 6100, "cacheWrite": 5000, "cacheRead": 40000}
    assert r["totals"]["cacheHitRate"] == pytest.approx(40000 / (3600 + 5000 + 40000), abs=1e-6)
    # savings: cache reads at the input rate minus at the read rate (Sonnet 4.5: 3.00 vs 0.30)
    assert r["totals"]["cacheSavingsUSD"] == pytest.approx(40000 * 2.7 / 1e6)
    utc = usage_history(store, group_by="model", since="2026-03-27", until="2026-03-30", tz="UTC")
    assert ("2026-03-28", SONNET) in cells(utc) and ("2026-03-29", SONNET) in cells(utc)


def test_every_grouping_adds_up_to_the_same_totals(store: Store) -> None:
    results = {g: usage_history(store, group_by=g, **RANGE) for g in ("model", "project",
                                                                     "agent", "source")}  # fmt: skip
    for r in results.values():
        assert r["totals"] == results["model"]["totals"]
    agents = {g["key"]: g for g in results["agent"]["groups"]}
    assert agents["ag-alpha"]["label"] == "alpha"
    assert agents["ag-alpha"]["costUSD"] == pytest.approx(cost(A1) + cost(A2))
    assert agents["ag-beta"]["costUSD"] == pytest.approx(cost(B1))
    assert agents[""]["costUSD"] == pytest.approx(cost(S1))
    assert agents[""]["label"] == "(not an agent)"
    sources = {g["key"]: g["costUSD"] for g in results["source"]["groups"]}
    assert sources == pytest.approx({"subscription": cost(A1) + cost(A2), "api": cost(B1),
                                     "": cost(S1)})  # fmt: skip
    projects = {g["key"] for g in results["project"]["groups"]}
    assert len(projects) == 3


def test_hours_on_the_short_day(store: Store) -> None:
    r = usage_history(store, since="2026-03-29", until="2026-03-29", bucket="hour",
                      tz="Europe/Paris", group_by="agent")  # fmt: skip
    assert len(r["buckets"]) == 23 and "2026-03-29T02:00" not in r["buckets"]
    assert cells(r) == pytest.approx({("2026-03-29T00:00", "ag-alpha"): cost(A1)})


def test_plan_figures_and_agent_table(store: Store) -> None:
    r = usage_history(store, **RANGE)
    assert [(p["window"], p["usedPct"], p["source"]) for p in r["plan"]] == [
        ("five_hour", 55.0, "official"), ("seven_day", 20.0, "official")]
    assert r["plan"][0]["ts"] == ms("2026-03-29T10:00")
    rows = {row["name"]: row for row in r["agents"]}
    assert set(rows) == {"alpha", "beta"}  # `old` neither worked nor lived in the range
    alpha = rows["alpha"]
    assert alpha["linesChanged"] == 200 and alpha["messages"] == 2
    assert alpha["costPer100Lines"] == pytest.approx((cost(A1) + cost(A2)) / 2)
    assert "sk-ant" not in alpha["task"]
    assert rows["beta"]["costPer100Lines"] is None and rows["beta"]["source"] == "api"
    # rows written `exited` from the start: their history covers the range, all of it ended
    assert (alpha["workingSeconds"], alpha["waitingSeconds"]) == (0, 0)
    assert r["notes"] == []


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"group_by": "team"}, "groupBy"), ({"bucket": "week"}, "bucket"),
    ({"since": "2026-03-30", "until": "2026-03-01"}, "since"),
    ({"since": "2026-01-01", "until": "2026-03-01", "bucket": "hour"}, "since"),
    ({"since": "03/01/2026"}, "since"), ({"tz": "Mars/Olympus"}, "tz")])  # fmt: skip
def test_bad_input_names_its_field(store: Store, kwargs: dict, field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        usage_history(store, **kwargs)
    assert err.value.field == field


def test_the_machine_zone_is_answered_by_name_not_as_localtime(store: Store, monkeypatch) -> None:
    # the history panel shows `timezone` beside the range: "localtime" (the key zoneinfo reads
    # /etc/localtime under) told the user nothing
    from zoneinfo import ZoneInfo

    paris = "/usr/share/zoneinfo/Europe/Paris"
    if Path(paris).is_file():
        monkeypatch.setenv("TZ", ":" + paris)
        assert usage_history(store, since="2026-03-27", until="2026-03-30")["timezone"] == \
            "Europe/Paris"  # fmt: skip
    monkeypatch.delenv("TZ", raising=False)
    name = usage_history(store, since="2026-03-27", until="2026-03-30")["timezone"]
    assert name != "localtime" and not name.startswith("/")
    assert name.startswith("UTC") or ZoneInfo(name)


def test_a_zone_asked_for_is_answered_by_that_name(store: Store) -> None:
    # as the CLI does (periods.zone_label): `tz: "UTC"` is "UTC", not the "Etc/UTC" it resolves to
    for asked in ("UTC", "Europe/Paris"):
        got = usage_history(store, since="2026-03-27", until="2026-03-30", tz=asked)["timezone"]
        assert got == asked
