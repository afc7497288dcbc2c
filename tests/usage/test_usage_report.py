"""`podium report usage`: logged records and the CLIs' usage by agent, provider, model and
task type, top models by cost, unpriced models named, external API calls counted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from podium.usage.queries import default_prices
from podium.usage.records import parse_record, write_records
from podium.usage.usage_report import parse_last, usage_report

NOW = int(time.time() * 1000)
DAY = 86_400_000


def log(store, *records: dict) -> None:
    with store.transaction() as conn:
        write_records(conn, [parse_record(r, via="request") for r in records])


def claude_entry(store, key: str, cwd: str, model: str, i: int, o: int, ts: int) -> None:
    store.conn.execute(
        "INSERT INTO entries(key, file_id, ts, session_id, cwd, model, input, output, total, "
        "adapter) VALUES (?, 1, ?, 's-x', ?, ?, ?, ?, ?, 'claude')",
        (key, ts, cwd, model, i, o, i + o))


@pytest.fixture
def filled(store):
    log(store,
        {"agent": "brunel", "provider": "lmstudio", "model": "devstral-small-2-2512",
         "taskType": "build", "inputTokens": 1200, "outputTokens": 3400, "timestamp": NOW - 1000},
        {"agent": "walt", "provider": "openai", "model": "gpt-4-turbo", "taskType": "review",
         "inputTokens": 12000, "outputTokens": 8000, "timestamp": NOW - 2000},
        {"agent": "walt", "provider": "openai", "model": "gpt-4-turbo", "taskType": "review",
         "inputTokens": 10, "outputTokens": 0, "status": "error", "errorMessage": "429",
         "timestamp": NOW - 3000},
        {"agent": "marcus", "provider": "acme", "model": "acme-9", "taskType": "heartbeat",
         "inputTokens": 800, "outputTokens": 50, "timestamp": NOW - 4000},
        {"agent": "scout", "service": "serpapi", "endpoint": "/search", "statusCode": 200,
         "timestamp": NOW - 5000},
        {"agent": "walt", "model": "gpt-4o", "inputTokens": 999, "timestamp": NOW - 40 * DAY},
    )  # fmt: skip
    store.conn.execute(
        "INSERT INTO agents(id, name, repo, worktree, branch, profile, state_dir, status, "
        "status_since, started_at) VALUES ('ag-1', 'alpha', '/r', '/r/.podium/wt/alpha', "
        "'podium/alpha', 'claude', '/s', 'working', 0, 0)")
    claude_entry(store, "m1:r1", "/r/.podium/wt/alpha/src", "claude-sonnet-4-5", 5000, 100, NOW)
    claude_entry(store, "m2:r2", "/home/x/other", "claude-sonnet-4-5", 7000, 200, NOW)
    return store


def test_by_agent_covers_logged_calls_cli_usage_and_api_calls(filled) -> None:
    report = usage_report(filled, by="agent", since_ms=NOW - 7 * DAY)
    rows = {r["agent"]: r for r in report["rows"]}
    assert set(rows) == {"brunel", "walt", "marcus", "scout", "alpha", "claude"}
    assert (rows["walt"]["calls"], rows["walt"]["errors"], rows["walt"]["inputTokens"]) == (
        2, 1, 12010)  # the 40-day-old call is outside the week
    assert rows["brunel"]["costUSD"] == 0.0 and rows["brunel"]["unpricedModels"] == []
    assert rows["marcus"]["unpricedModels"] == ["acme-9"] and report["unpricedModels"] == [
        "acme-9"]
    assert rows["scout"]["apiCalls"] == 1 and rows["scout"]["calls"] == 0
    assert rows["alpha"]["inputTokens"] == 5000 and rows["claude"]["inputTokens"] == 7000
    assert report["totals"]["calls"] == 6 and report["totals"]["apiCalls"] == 1
    costs = [r["costUSD"] for r in report["rows"]]
    assert costs == sorted(costs, reverse=True)


def test_by_provider_task_type_and_top_models(filled) -> None:
    providers = {r["provider"]: r for r in usage_report(filled, by="provider")["rows"]}
    assert set(providers) == {"lmstudio", "openai", "acme", "serpapi", "anthropic"}
    assert providers["anthropic"]["inputTokens"] == 12000
    tasks = {r["taskType"]: r["calls"] for r in usage_report(filled, by="taskType",
                                                             since_ms=NOW - DAY)["rows"]}  # fmt: skip
    assert tasks == {"build": 1, "review": 2, "heartbeat": 1, "(none)": 2}
    top = usage_report(filled, by="model", since_ms=NOW - DAY, top_models=2)["topModels"]
    prices = default_prices()
    turbo = prices.cost_of("gpt-4-turbo", 12010, 8000, 0, 0)
    sonnet = prices.cost_of("claude-sonnet-4-5", 12000, 300, 0, 0)
    assert [t["model"] for t in top] == (["gpt-4-turbo", "claude-sonnet-4-5"] if turbo > sonnet
                                         else ["claude-sonnet-4-5", "gpt-4-turbo"])  # fmt: skip
    assert len(top) == 2


def test_periods() -> None:
    assert parse_last("7d") == 7 * DAY and parse_last("30d") == 30 * DAY
    assert parse_last("12h") == DAY // 2 and parse_last("2w") == 14 * DAY
    assert parse_last("30") == 30 * DAY  # a bare number is days, as --last of the daily report
    with pytest.raises(Exception, match="--last"):
        parse_last("week")
    with pytest.raises(Exception, match="at least 1h"):
        parse_last("0h")


def test_the_command_prints_json_and_a_table(filled, tmp_path: Path) -> None:
    filled.close()
    db = tmp_path / "podium.db"
    claude = tmp_path / "claude"
    (claude / "projects").mkdir(parents=True)
    env = {**os.environ, "CLAUDE_CONFIG_DIR": str(claude), "PODIUM_INBOX": ""}
    run = [sys.executable, "-m", "podium", "report", "usage", "--db", str(db)]
    out = subprocess.run([*run, "--by", "provider", "--last", "30d", "--json", "--top-models"],
                         capture_output=True, text=True, timeout=60, env=env)  # fmt: skip
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    # five models in all, four of them in the last 30 days (the default top is 5)
    assert data["by"] == "provider" and len(data["topModels"]) == 4
    text = subprocess.run([*run, "--top-models", "3"], capture_output=True, text=True,
                          timeout=60, env=env).stdout  # fmt: skip
    assert "Top models by cost" in text and "walt" in text and "no price for acme-9" in text


def test_days_replace_the_last_period(filled) -> None:
    from argparse import Namespace
    from datetime import UTC, datetime

    from podium.usage.usage_report import usage_report_for

    old = datetime.fromtimestamp((NOW - 40 * DAY) / 1000, tz=UTC).date().isoformat()
    args = Namespace(since=old, until=old, timezone="UTC", last="7d", by="model",
                     top_models=None)  # fmt: skip
    report = usage_report_for(filled, args, default_prices())
    assert [r["model"] for r in report["rows"]] == ["gpt-4o"]  # only the 40-day-old call
