"""Limits through the real server: fake agents spend, the engine acts, the client sees it.

Each test starts `podium serve` over stdio with a real git repo, spawns fake Claude Code agents
(about a cent a turn) and watches notifications. Waits poll with generous deadlines.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import psutil
from tests.server.conftest import fake_command

from podium.usage.adapters.claude import encode_cwd
from podium.usage.pricing import PriceTable

LIMIT = 0.05


async def spawn(client: Any, interval: float = 0.3, **params: Any) -> dict[str, Any]:
    return await client.request("podium/spawnAgent", {
        "task": "spend money", "profile": "fake", "command": fake_command(interval),
        "limitUSD": LIMIT, **params})  # fmt: skip


def card_with(client: Any, agent_id: str, status: str) -> Any:
    card = client.latest_cards().get(agent_id)
    return card if card and card["status"] == status else None


def first_card_time(client: Any, agent_id: str, status: str) -> float:
    return next(t for t, c in client.cards if c["agentId"] == agent_id and c["status"] == status)


def crossing_time(claude_dir: Path, worktree: str, limit: float) -> float:
    """When the agent's transcript first reached `limit` dollars (epoch s of that line),
    priced and deduplicated the way Podium does it."""
    prices = PriceTable.load()
    best: dict[str, tuple[float, float]] = {}
    for path in (claude_dir / "projects" / encode_cwd(worktree)).glob("*.jsonl"):
        for raw in path.read_text().splitlines():
            try:
                line = json.loads(raw)
            except ValueError:
                continue
            message = line.get("message") or {}
            usage = message.get("usage")
            if not usage or message.get("model") == "<synthetic>":
                continue
            key = f"{message.get('id')}:{line.get('requestId')}"
            i, o = usage.get("input_tokens", 0), usage.get("output_tokens", 0)
            cc = usage.get("cache_creation_input_tokens", 0)
            cr = usage.get("cache_read_input_tokens", 0)
            one_h = (usage.get("cache_creation") or {}).get("ephemeral_1h_input_tokens")
            cost = prices.cost_of(message.get("model"), i, o, cc, cr, None, one_h or None)
            when = datetime.fromisoformat(line["timestamp"].replace("Z", "+00:00")).timestamp()
            # streamed copies carry later timestamps (+350 ms a block) but are written at
            # once: the message lands when its first copy is written
            first, top = best.get(key, (when, cost))
            best[key] = (min(first, when), max(top, cost))
    spent = 0.0
    for when, cost in sorted(best.values()):
        spent += cost
        if spent >= limit - 1e-9:
            return float(when)
    raise AssertionError(f"the transcript never reached ${limit}")


def exceeded_alerts(client: Any, agent_id: str) -> list[dict[str, Any]]:
    return [a for a in client.alerts
            if a["agentId"] == agent_id and a["scope"] == "agent" and a["level"] == "critical"
            and a["pct"] >= 100]  # fmt: skip


async def test_paused_within_1s_of_crossing_alert_once_card_says_why(start_server, server_env,
                                                                    witness):  # fmt: skip
    client = await start_server({"authMode": "api", "onLimit": "pause"})
    card = await spawn(client)
    agent_id = card["agentId"]
    paused = await client.wait_for(lambda: card_with(client, agent_id, "paused"), timeout=60)
    paused_at = first_card_time(client, agent_id, "paused")
    crossed_at = crossing_time(Path(server_env["CLAUDE_CONFIG_DIR"]), card["worktree"], LIMIT)
    print(f"pause latency {paused_at - crossed_at:.3f} s")
    # the card arrives at the client within 1 s of the line that crossed the budget
    assert paused_at - crossed_at <= 1.0, f"paused {paused_at - crossed_at:.2f} s after crossing"
    assert psutil.Process(paused["pid"]).status() == psutil.STATUS_STOPPED
    # the card says why
    reason = paused["statusReason"] or ""
    assert "limit" in reason and "$0.05" in reason and "paused" in reason
    assert paused["limit"]["limitUSD"] == LIMIT and paused["limit"]["usedPct"] >= 100
    assert paused["limit"]["action"] == "pause"
    # the alert arrives once, even though evaluation keeps running
    await client.wait_for(lambda: exceeded_alerts(client, agent_id))
    await witness.full_tick(client)
    await witness.full_tick(client)
    alerts = exceeded_alerts(client, agent_id)
    assert len(alerts) == 1, alerts
    assert alerts[0]["action"] == "pause" and alerts[0]["limit"] == LIMIT
    kinds = [(a["level"], a["pct"] >= 100) for a in client.alerts
             if a["agentId"] == agent_id and a["scope"] == "agent"]  # fmt: skip
    assert len(kinds) == len(set(kinds)), kinds  # warning / critical / exceeded: once each
    # and the paused agent spends nothing more
    cost = client.latest_cards()[agent_id]["usage"]["costUSD"]
    await witness.full_tick(client)
    assert client.latest_cards()[agent_id]["usage"]["costUSD"] == cost


async def test_stop_action_terminates_with_reason_and_one_alert(start_server, witness):
    client = await start_server({"authMode": "api", "onLimit": "stop"})
    card = await spawn(client)
    agent_id = card["agentId"]
    stopped = await client.wait_for(lambda: card_with(client, agent_id, "stopped"), timeout=60)
    assert "limit" in (stopped["statusReason"] or "")
    assert not psutil.pid_exists(card["pid"]) or psutil.Process(card["pid"]).status() == (
        psutil.STATUS_ZOMBIE)  # fmt: skip
    await client.wait_for(lambda: exceeded_alerts(client, agent_id))
    await witness.full_tick(client)
    alerts = exceeded_alerts(client, agent_id)
    assert len(alerts) == 1 and alerts[0]["action"] == "stop"


async def test_warn_alerts_and_leaves_the_agent_running(start_server):
    client = await start_server({"authMode": "api", "onLimit": "warn"})
    card = await spawn(client)
    agent_id = card["agentId"]
    alert = await client.wait_for(lambda: exceeded_alerts(client, agent_id), timeout=60)
    assert alert[0]["action"] == "warn"
    spent = client.latest_cards()[agent_id]["usage"]["costUSD"]
    # it keeps working and spending
    await client.wait_for(
        lambda: client.latest_cards()[agent_id]["usage"]["costUSD"] > spent + 0.015, timeout=30)
    now = client.latest_cards()[agent_id]
    assert now["status"] in ("working", "waiting", "idle", "starting")
    assert psutil.Process(now["pid"]).status() != psutil.STATUS_STOPPED
    assert len(exceeded_alerts(client, agent_id)) == 1


async def test_user_resume_is_not_immediately_undone(start_server, witness):
    client = await start_server({"authMode": "api", "onLimit": "pause"})
    card = await spawn(client, interval=0.2)
    agent_id = card["agentId"]
    await client.wait_for(lambda: card_with(client, agent_id, "paused"), timeout=60)
    at_pause = client.latest_cards()[agent_id]["usage"]["costUSD"]
    resumed = await client.request("podium/resumeAgent", {"agentId": agent_id})
    assert resumed["status"] != "paused"
    # keeps spending well past the limit for several evaluation rounds, never re-paused
    await client.wait_for(
        lambda: client.latest_cards()[agent_id]["usage"]["costUSD"] > at_pause + 0.03, timeout=30)
    await witness.full_tick(client)
    cards_after = [c for t, c in client.cards if c["agentId"] == agent_id]
    last_pause = max(i for i, c in enumerate(cards_after) if c["status"] == "paused")
    assert all(c["status"] != "paused" for c in cards_after[last_pause + 1:])
    assert client.latest_cards()[agent_id]["status"] != "paused"
    assert len(exceeded_alerts(client, agent_id)) == 1
    # a user pause + resume is still the user's business
    await client.request("podium/pauseAgent", {"agentId": agent_id})
    again = await client.request("podium/resumeAgent", {"agentId": agent_id})
    assert again["status"] != "paused"


def statusline(env: dict[str, str], payload: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "podium", "statusline"],
                          input=json.dumps(payload), env=env, text=True, capture_output=True,
                          timeout=60, check=True)  # fmt: skip


def plan_payload(pct: Any) -> dict[str, Any]:
    return {"session_id": "s-1", "model": {"id": "claude-sonnet-4-5-20250929"},
            "rate_limits": {"five_hour": {"used_percentage": pct,
                                          "resets_at": int(time.time()) + 3600}}}  # fmt: skip


async def test_statusline_67_reads_plan_67_and_bogus_values_are_ignored(start_server, server_env):
    line = statusline(server_env, plan_payload(67)).stdout
    assert line.strip().endswith("Plan: 67%")
    client = await start_server({"authMode": "both"})
    status = await client.wait_for(
        lambda: (s := client.latest_status()) and s["text"].startswith("Plan: 67% | API: $") and s)
    assert status["text"] == "Plan: 67% | API: $0.00"
    summary = await client.request("podium/usageSummary", {})
    assert summary["plan"]["fiveHour"]["source"] == "official"
    # Claude Code's epoch-as-percentage bug, negative and NaN values change nothing
    for bogus in (int(time.time()), -5, "NaN"):
        assert statusline(server_env, plan_payload(bogus)).returncode == 0
    # a real new figure does arrive (so the bogus ones were really seen and dropped)
    statusline(server_env, plan_payload(72))
    await client.wait_for(
        lambda: (s := client.latest_status()) and s["text"].startswith("Plan: 72%"), timeout=30)
    shown = {s["text"].split(" | ")[0] for _t, s in client.status_bars}
    assert shown <= {"Plan: 67%", "Plan: 72%"}, shown
    client.change_settings({"authMode": "subscription"})
    await client.wait_for(lambda: (client.latest_status() or {}).get("text") == "Plan: 72%")
