"""podium/usageHistory through a real `podium serve`: transcripts the server ingests itself, an
agent row and plan figures seeded in its store; the answer matches the price table, and bad
params are InvalidParams naming the field."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from pygls.exceptions import JsonRpcException
from tests.server.conftest import eventually, fake_command
from tests.usage.history_seed import OPUS, SONNET, add_agent, add_plan, ms, write_session

from podium.store import Store
from podium.usage.queries import default_prices

REQS = [(ms("2026-03-28T23:30"), SONNET, (1000, 2000, 4000, 30000)),
        (ms("2026-03-30T10:00"), OPUS, (2000, 3000, 1000, 0))]  # fmt: skip


async def test_usage_history_through_the_server(start_server, server_env: dict[str, str]) -> None:
    claude = Path(server_env["CLAUDE_CONFIG_DIR"])
    write_session(claude, "/seed/wt/alpha", "s-alpha", REQS)
    with Store(server_env["PODIUM_DB"]) as store:
        add_agent(store, "ag-alpha", "alpha", worktree="/seed/wt/alpha", session="s-alpha",
                  diff=(80, 20), started_at=ms("2026-03-27T00:00") / 1000)  # fmt: skip
        add_plan(store, "seven_day", 33.0, ms("2026-03-29T09:00"))
        # the last 30 days' budget insight: far over a $0.01 monthly budget
        write_session(claude, "/seed/wt/recent", "s-recent",
                      [(int(time.time() * 1000) - 3_600_000, OPUS, (1000, 1000, 0, 0))])
    client = await start_server({"limits": {"monthlyUSD": 0.01}})
    params = {"since": "2026-03-27", "until": "2026-03-30", "groupBy": "agent",
              "tz": "Europe/Paris"}  # fmt: skip
    answer: dict = {}

    async def ingested() -> bool:
        answer.update(await client.request("podium/usageHistory", params))
        return answer["totals"]["messages"] == 2 and bool(answer["insights"])

    assert await eventually(ingested, timeout=30), answer
    ids = [(i["id"], i["severity"]) for i in answer["insights"]]
    assert ("monthly_budget", "critical") in ids, answer["insights"]
    summary = await client.request("podium/usageSummary", {})
    assert summary["insightCount"] == len(answer["insights"])
    prices = default_prices()
    costs = [prices.cost_of(model, *tokens) for _ts, model, tokens in REQS]
    cells = {(c["bucket"], c["group"]): c["costUSD"] for c in answer["series"]}
    assert cells == pytest.approx({("2026-03-29", "ag-alpha"): costs[0],
                                   ("2026-03-30", "ag-alpha"): costs[1]})  # fmt: skip
    (row,) = answer["agents"]
    assert row["name"] == "alpha" and row["linesChanged"] == 100
    assert row["costPer100Lines"] == pytest.approx(sum(costs))
    assert answer["plan"] == [{"window": "seven_day", "ts": ms("2026-03-29T09:00"),
                               "usedPct": 33.0, "source": "official"}]  # fmt: skip
    by_hour = await client.command("podium.usageHistory", {**params, "bucket": "hour",
                                                           "since": "2026-03-29",
                                                           "until": "2026-03-29"})  # fmt: skip
    assert len(by_hour["buckets"]) == 23
    with pytest.raises(JsonRpcException) as err:
        await client.request("podium/usageHistory", {"groupBy": "team"})
    assert err.value.code == -32602 and err.value.data["field"] == "groupBy"
    with pytest.raises(JsonRpcException) as err:
        await client.request("podium/usageHistory", {"tz": "Mars/Olympus"})
    assert err.value.code == -32602 and err.value.data["field"] == "tz"


async def test_an_agent_s_time_working_and_waiting_through_the_server(start_server) -> None:
    client = await start_server()
    card = await client.request("podium/spawnAgent", {"task": "t", "command": fake_command(0.2),
                                                      "profile": "fake"})  # fmt: skip
    agent_id = card["agentId"]
    await client.wait_for(lambda: (c := client.latest_cards().get(agent_id)) and
                          c["status"] == "working" and c, timeout=30)  # fmt: skip
    paused = await client.request("podium/pauseAgent", {"agentId": agent_id})
    assert paused["status"] == "paused"
    # paused for a while on the clock (no fixed sleep: until the time has passed)
    assert await eventually(lambda: _after(paused["statusSince"] + 400), timeout=10)
    resumed = await client.request("podium/resumeAgent", {"agentId": agent_id})
    stopped = await client.request("podium/stopAgent", {"agentId": agent_id})
    assert stopped["status"] == "stopped"
    day = time.strftime("%Y-%m-%d", time.gmtime(card["startedAt"] / 1000))
    today = time.strftime("%Y-%m-%d", time.gmtime())
    answer = await client.request("podium/usageHistory", {"since": day, "until": today,
                                                          "tz": "UTC", "groupBy": "agent"})  # fmt: skip
    (row,) = [r for r in answer["agents"] if r["agentId"] == agent_id]
    paused_s = (resumed["statusSince"] - paused["statusSince"]) / 1000
    lived_s = (stopped["statusSince"] - card["startedAt"]) / 1000
    assert paused_s >= 0.4
    # paused counts as waiting, the rest of its life (starting, working) as working; card
    # times are whole milliseconds
    assert row["waitingSeconds"] >= paused_s - 0.002
    assert row["workingSeconds"] > 0
    assert row["workingSeconds"] + row["waitingSeconds"] == pytest.approx(lived_s, abs=0.01)
    assert answer["notes"] == []


async def _after(ms: int) -> bool:
    return time.time() * 1000 > ms
