"""`podium/logUsage` and the inbox through a real `podium serve`: per-record errors, ids counted
once, and logged usage counted at once by the status bar, the usage summary and the budgets."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from pygls.exceptions import JsonRpcException

from podium.store import Store


def call(n: int, **fields) -> dict:
    return {"id": f"call-{n}", "agent": "walt", "provider": "openai", "model": "gpt-4o",
            "taskType": "review", "inputTokens": 400_000, "outputTokens": 100_000,
            "timestamp": int(time.time() * 1000), **fields}  # fmt: skip


async def test_a_batch_keeps_good_records_names_bad_ones_and_counts_ids_once(start_server,
                                                                             server_env):  # fmt: skip
    client = await start_server({"authMode": "api"})
    batch = [call(1), {"kind": "api", "agent": "scout", "service": "serpapi", "statusCode": 200},
             call(2, inputTokens="many"), {"agent": "x"}, call(3, provider="ollama",
                                                                model="qwen3:4b")]  # fmt: skip
    outcome = await client.request("podium/logUsage", {"records": batch})
    assert (outcome["accepted"], outcome["new"], outcome["duplicates"]) == (3, 3, 0)
    assert [(e["index"], e["field"]) for e in outcome["errors"]] == [(2, "inputTokens"),
                                                                     (3, "model")]  # fmt: skip
    again = await client.request("podium/logUsage", call(1))  # one record, not a batch
    assert (again["new"], again["duplicates"]) == (0, 1)
    # gpt-4o's 400k in / 100k out are priced; the local model costs nothing
    status = await client.wait_for(
        lambda: (s := client.latest_status()) and s["text"] != "$0.00 today" and s)
    summary = await client.request("podium/usageSummary", {})
    assert summary["today"]["inputTokens"] == 800_000 and summary["today"]["messages"] == 2
    cost = summary["today"]["costUSD"]
    assert cost > 0 and status["text"] == f"${cost:,.2f} today"
    with pytest.raises(JsonRpcException) as err:
        await client.request("podium/logUsage", {"records": "nope"})
    assert err.value.code == -32602 and err.value.data["field"] == "records"


async def test_inbox_lines_count_as_they_are_written(start_server, server_env):
    client = await start_server()
    inbox = Path(server_env["PODIUM_DB"]).parent / "inbox"
    await client.wait_for(lambda: inbox.is_dir())
    with open(inbox / "nightly.jsonl", "a") as fh:
        fh.write(json.dumps(call(10, inputTokens=1234, outputTokens=5)) + "\n")
        fh.flush()
        started = time.monotonic()

        async def counted() -> dict:
            return await client.request("podium/usageSummary", {})

        while (await counted())["today"]["inputTokens"] != 1234:
            assert time.monotonic() - started < 10, "inbox line not counted"
        took = time.monotonic() - started
    assert took < 5.0  # watched: counted on the change, not on a timer
    await client.close()
    with Store(server_env["PODIUM_DB"]) as store:
        assert store.conn.execute(
            "SELECT via, agent, task_type FROM usage_records").fetchall() == [
                ("inbox", "walt", "review")]


async def test_the_daily_budget_counts_logged_usage(start_server):
    client = await start_server({"authMode": "api", "limits": {"dailyUSD": 0.5},
                                 "onLimit": "warn"})  # fmt: skip
    await client.request("podium/logUsage", {"records": [call(20)]})
    alert = await client.wait_for(
        lambda: next((a for a in client.alerts if a.get("scope") == "daily"), None), timeout=20)
    assert alert["limit"] == 0.5 and alert["used"] > 0.5
