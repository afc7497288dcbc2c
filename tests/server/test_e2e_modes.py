"""Status bar text by auth mode, settings changes, progress and settings warnings."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.server.conftest import eventually, fake_command

MODE_TEXT = {
    "subscription": r"Plan: 67%",
    "api": r"\$\d+\.\d\d today",
    "both": r"Plan: 67% \| API: \$\d+\.\d\d",
    "proxy": r"Proxy: \$\d+\.\d\d today",
}


def record_official_plan(env: dict[str, str], pct: float) -> None:
    """What Claude Code does: run `podium statusline` with a payload carrying rate_limits."""
    payload = {
        "session_id": "s-1", "model": {"id": "claude-sonnet-4-5-20250929"},
        "rate_limits": {"five_hour": {"used_percentage": pct,
                                      "resets_at": int(time.time()) + 3600}},
    }  # fmt: skip
    subprocess.run([sys.executable, "-m", "podium", "statusline"], input=json.dumps(payload),
                   env=env, text=True, capture_output=True, timeout=60, check=True)  # fmt: skip


@pytest.mark.parametrize("mode", ["subscription", "api", "both", "proxy"])
async def test_status_bar_text_follows_auth_mode(mode, start_server, server_env):
    record_official_plan(server_env, 67)
    client = await start_server({"authMode": mode})
    status = await client.wait_for(client.latest_status)
    assert status["mode"] == mode
    assert re.fullmatch(MODE_TEXT[mode], status["text"]), status["text"]
    assert status["severity"] in ("ok", "warning", "error")
    assert "No agents." in status["tooltip"]
    summary = await client.request("podium/usageSummary", {})
    assert summary["mode"] == mode
    if mode in ("subscription", "both"):
        assert summary["plan"]["fiveHour"]["usedPct"] == 67
        assert summary["plan"]["fiveHour"]["source"] == "official"
        assert "official" in status["tooltip"]


async def test_api_spend_grows_with_an_api_agent_and_settings_switch_modes(start_server):
    client = await start_server({"authMode": "both"})
    await client.wait_for(client.latest_status)
    card = await client.request("podium/spawnAgent", {
        "task": "batch job", "profile": "fake", "command": fake_command(0.2),
        "env": {"ANTHROPIC_API_KEY": "fake"}})  # fmt: skip
    assert card["source"] == "api"

    def api_dollars():
        status = client.latest_status() or {}
        m = re.fullmatch(r"1 agent \| Plan: ~?(\d+%(?: est)?|n/a) \| API: \$(\d+\.\d\d)", status.get("text", ""))
        return m and float(m.group(2)) > 0 and m

    await client.wait_for(api_dollars, timeout=30)
    summary = await client.request("podium/usageSummary", {})
    assert summary["api"]["todayUSD"] > 0
    assert summary["agents"][0]["source"] == "api"
    assert "(API)" in client.latest_status()["tooltip"]

    client.change_settings({"authMode": "proxy", "bogusKey": 1})
    await client.wait_for(
        lambda: re.fullmatch(r"1 agent \| Proxy: \$\d+\.\d\d today",
                             (client.latest_status() or {}).get("text", "")))  # fmt: skip
    await client.wait_for(lambda: any("bogusKey" in m for _t, m in client.log_messages))

    client.change_settings({"authMode": "api"})
    await client.wait_for(
        lambda: re.fullmatch(r"1 agent \| \$\d+\.\d\d today",
                             (client.latest_status() or {}).get("text", "")))  # fmt: skip


async def test_history_ingest_reports_progress_and_settings_warnings(start_server):
    client = await start_server({"authMode": "nope", "unknownThing": True})
    await client.wait_for(lambda: any(p["kind"] == "end" for p in client.progress_reports))
    assert [p["kind"] for p in client.progress_reports][:1] == ["begin"]
    await client.wait_for(lambda: sum("settings:" in m for _t, m in client.log_messages) >= 2)
    status = await client.wait_for(client.latest_status)
    assert status["mode"] == "subscription"  # invalid value → default


async def test_nothing_sent_when_nothing_changed(start_server, witness):
    client = await start_server({"authMode": "api"})
    await client.wait_for(client.latest_status)
    await witness.full_tick(client)  # a full tick with nothing changed
    await witness.full_tick(client)
    assert len(client.status_bars) == 1
    assert client.cards == []
    # a settings change that alters the text is pushed; the same settings again are not
    client.change_settings({"authMode": "proxy"})
    await client.wait_for(lambda: len(client.status_bars) == 2)
    client.change_settings({"authMode": "proxy"})
    await witness.full_tick(client)
    assert [b["mode"] for _t, b in client.status_bars] == ["api", "proxy"]


async def test_log_roots_and_profiles_change_without_a_restart(start_server, tmp_path):
    """claudeConfigDirs: the new root's history is read and its files are tailed from then on;
    profiles: a new profile spawns at once. Neither asks for a restart."""
    from podium.usage import synthetic as syn

    client = await start_server({"authMode": "subscription"})
    await client.wait_for(client.latest_status)
    root = tmp_path / "other-claude"
    log = root / "projects" / "-elsewhere" / "s-9.jsonl"
    log.parent.mkdir(parents=True)

    def lines(n: int, start: int) -> bytes:
        now_ms = int(time.time() * 1000)
        out = []
        for i in range(start, start + n):
            out += syn.assistant_lines("s-9", "/elsewhere", now_ms - 1000 + i, "claude-sonnet-4-5",
                                       syn.usage_dict(10, 20, 0, 0), message_id=f"msg_{i}",
                                       request_id=f"req_{i}")  # fmt: skip
        return b"".join(map(syn.dumps, out))

    log.write_bytes(lines(3, 0))

    async def messages_today_is(n: int) -> bool:
        return (await client.request("podium/usageSummary", {}))["today"]["messages"] == n

    assert await messages_today_is(0)
    client.change_settings({"claudeConfigDirs": [str(root)], "profiles": {"quick": fake_command(0.2)}})
    assert await eventually(lambda: messages_today_is(3)), "the new root's history was not read"
    with open(log, "ab") as fh:  # a live session in the new root: tailed, not just read once
        fh.write(lines(2, 3))
    assert await eventually(lambda: messages_today_is(5)), "the new root is not tailed"
    card = await client.request("podium/spawnAgent", {"task": "t", "profile": "quick"})
    assert card["status"] in ("starting", "working", "idle", "waiting")
    assert not any("takes effect when the server restarts" in m for _t, m in client.log_messages)


async def test_a_spent_daily_budget_colours_the_bar_in_subscription_mode(start_server,
                                                                       server_env):  # fmt: skip
    """The daily budget counts all usage (docs/limits.md), so the bar turns red when it is spent
    even with no API-billed agent (it used to compare only API spend with it)."""
    from podium.usage import synthetic as syn

    log = Path(server_env["CLAUDE_CONFIG_DIR"]) / "projects" / "-w" / "s-1.jsonl"
    log.parent.mkdir(parents=True, exist_ok=True)
    now_ms = int(time.time() * 1000)
    lines = syn.assistant_lines("s-1", "/w", now_ms - 1000, "claude-sonnet-4-5",
                                syn.usage_dict(100_000, 1_000, 0, 0))  # ≈ $0.32 today
    log.write_bytes(b"".join(map(syn.dumps, lines)))
    client = await start_server({"authMode": "subscription", "onLimit": "warn",
                                 "limits": {"dailyUSD": 0.1},
                                 "planLimits": {"max5": {"costUSD": 1e6, "tokens": 1e12,
                                                         "messages": 1e9}}})  # fmt: skip
    status = await client.wait_for(
        lambda: (s := client.latest_status()) and s["severity"] == "error" and s, timeout=30
    )
    assert "API: " not in status["text"]  # nothing API-billed: the budget alone is at 300 %+


async def test_an_agent_stopped_by_the_plans_usage_limit_is_alerted_once(start_server, witness):
    client = await start_server({"authMode": "subscription"})
    await client.wait_for(client.latest_status)
    card = await client.request("podium/spawnAgent", {
        "task": "t", "profile": "fake", "command": fake_command(0.05, "--limit-error-after", "1")})

    def usage_limit_alerts():
        return [a for a in client.alerts if a["scope"] == "usage_limit"]

    (alert,) = await client.wait_for(usage_limit_alerts, timeout=30)
    assert alert["agentId"] == card["agentId"] and alert["level"] == "critical"
    assert re.search(r"hit the plan's usage limit reached; resets \d\d:\d\d", alert["message"])
    await client.wait_for(lambda: any("usage limit reached" in m for _t, m in client.show_messages))
    latest = await client.wait_for(
        lambda: next((c for _t, c in reversed(client.cards) if c["status"] == "error"), None))
    assert latest["statusReason"].startswith("usage limit reached; resets ")
    await witness.full_tick(client)  # more ticks and a full sweep: still one alert
    assert len(usage_limit_alerts()) == 1
    await client.close()
    again = await start_server({"authMode": "subscription"})  # same store: told already
    listed = await again.request("podium/listAgents", {})
    assert [a["status"] for a in listed["agents"]] == ["error"]
    await witness.full_tick(again)
    assert [a for a in again.alerts if a["scope"] == "usage_limit"] == []


async def test_invalid_value_in_a_settings_change_falls_back_to_the_default(start_server):
    # docs/protocol.md §Settings: "invalid values fall back to the default" (and the warning
    # says so); a change used to keep the previous value instead, until the next restart
    client = await start_server({"authMode": "api", "limits": {"dailyUSD": 50}})
    await client.wait_for(lambda: (client.latest_status() or {}).get("mode") == "api")
    client.change_settings({"authMode": "bogus", "limits": {"dailyUSD": "lots"}})
    await client.wait_for(lambda: (client.latest_status() or {}).get("mode") == "subscription")
    summary = await client.request("podium/usageSummary", {})
    assert summary["mode"] == "subscription"
    assert summary["limits"]["dailyUSD"] is None
    warnings = [m for _t, m in client.log_messages if m.startswith("settings:")]
    assert any("authMode" in m and "using the default" in m for m in warnings)
    assert any("limits.dailyUSD" in m for m in warnings)


async def test_source_overrides_setting_applies_to_spawned_agents(start_server):
    # docs/protocol.md §Settings and package.json: sourceOverrides {agentName: source}
    client = await start_server({"sourceOverrides": {"alpha": "api", "bravo": "bogus"}})
    await client.wait_for(lambda: any("sourceOverrides.bravo" in m for _t, m in client.log_messages))
    alpha = await client.request("podium/spawnAgent", {"task": "a", "profile": "fake",
                                                       "command": fake_command()})  # fmt: skip
    assert alpha["name"] == "alpha" and alpha["source"] == "api"
    bravo = await client.request("podium/spawnAgent", {"task": "b", "profile": "fake",
                                                       "command": fake_command()})  # fmt: skip
    assert bravo["name"] == "bravo" and bravo["source"] == "subscription"
    # an explicit source in the request wins; a settings change applies to the next spawn
    client.change_settings({"sourceOverrides": {"charlie": "proxy", "delta": "api"}})
    charlie = await client.request("podium/spawnAgent", {"task": "c", "profile": "fake",
                                                         "command": fake_command()})  # fmt: skip
    delta = await client.request("podium/spawnAgent", {"task": "d", "profile": "fake",
                                                       "source": "subscription",
                                                       "command": fake_command()})  # fmt: skip
    assert (charlie["name"], charlie["source"]) == ("charlie", "proxy")
    assert (delta["name"], delta["source"]) == ("delta", "subscription")
