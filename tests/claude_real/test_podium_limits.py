"""Limits as the real Claude Code CLI reports them, through `podium serve`: the plan figure from
a subscription session's `rate_limit_event` (no statusLine set up), a 429 that makes the card
say rate limited, and `onRateLimit: switchToApi` continuing the same session under an API key."""

from __future__ import annotations

import time

import pytest

from .env import API_KEY, OAUTH_TOKEN
from .podium_serve import KEY_ENV, card_of, first_card, results, spawn_params, start_podium
from .standin import ratelimit_headers

pytestmark = pytest.mark.claude_real  # runs the real CLI (installed on first use)


async def test_plan_figure_and_rate_limited_state(git_repo, tmp_path, claude_home, claude_bin,
                                                  standin):  # fmt: skip
    five_hour_reset = int(time.time()) + 3600
    standin.default_headers = ratelimit_headers(0.67, 0.21, five_hour_reset=five_hour_reset)
    client = await start_podium(git_repo, tmp_path, claude_home, {"authMode": "subscription"})
    try:
        status = await client.wait_for(client.latest_status)
        assert "Plan: n/a" in status["text"] or "est" in status["text"]  # no official figure yet
        spawned = await client.request("podium/spawnAgent", spawn_params(
            claude_bin, standin.url, claude_home, "hello", auth="oauth"))
        agent_id = spawned["agentId"]
        await client.wait_for(lambda: card_of(client, agent_id)["lastTurn"], timeout=60)
        # the official figure the agent reported, with no statusLine installed
        await client.wait_for(lambda: (s := client.latest_status())
                              and s["text"] == "1 agent | 1 waiting | Plan: 67%", timeout=10)  # fmt: skip
        summary = await client.request("podium/usageSummary", {})
        assert summary["plan"]["fiveHour"]["source"] == "official"
        assert summary["plan"]["sevenDay"]["usedPct"] == pytest.approx(21.0)
        assert summary["plan"]["fiveHour"]["resetsAt"] == five_hour_reset * 1000
        # (its source reads `proxy`: ANTHROPIC_BASE_URL names the stand-in, not Anthropic)
        assert card_of(client, agent_id)["source"] == "proxy"

        # a 429 without plan headers is retried: the card says rate limited meanwhile
        standin.error(429, count=2)
        standin.text("Recovered.")
        await client.request("podium/sendMessage", {"agentId": agent_id, "text": "again"})
        limited_at, limited = await client.wait_for(lambda: _first_limited(client, agent_id),
                                                    timeout=30)  # fmt: skip
        first_429 = next(r for r in standin.messages_requests()[1:]).at
        assert limited_at - first_429 < 1.0
        resets = time.strftime("%H:%M", time.localtime(five_hour_reset))
        assert limited["statusReason"] == f"rate limited; resets {resets}"
        back = await client.wait_for(lambda: (c := card_of(client, agent_id))["status"]
                                     == "waiting" and len(results(c)) == 2 and c, timeout=30)  # fmt: skip
        assert back["statusReason"] is None and back["lastTurn"] == "waiting for you"
        [alert] = [a for a in client.alerts if a["scope"] == "rate_limit"]
        assert alert["agentId"] == agent_id and "rate limited" in alert["message"]
        await client.request("podium/stopAgent", {"agentId": agent_id})
    finally:
        await client.close()


def _first_limited(client, agent_id):
    try:
        return first_card(client, agent_id, lambda c: c["status"] == "rateLimited")
    except AssertionError:
        return None


async def test_switch_to_api_continues_the_session(git_repo, tmp_path, claude_home, claude_bin,
                                                   standin):  # fmt: skip
    reset = int(time.time()) + 1800
    standin.text("First turn done.", headers=ratelimit_headers(0.9, 0.4, five_hour_reset=reset))
    # the plan's 5-hour limit: a 429 carrying the unified headers (not retried)
    standin.error(429, headers=ratelimit_headers(1.0, 0.4, five_hour_reset=reset,
                                                 status="rejected", five_hour_status="rejected"))
    standin.text("Continued on the API key.")
    settings = {"authMode": "both", "onRateLimit": "switchToApi", "apiKeyEnv": KEY_ENV}
    client = await start_podium(git_repo, tmp_path, claude_home, settings,
                                extra_env={KEY_ENV: API_KEY})  # fmt: skip
    try:
        spawned = await client.request("podium/spawnAgent", spawn_params(
            claude_bin, standin.url, claude_home, "first task", auth="oauth"))
        agent_id = spawned["agentId"]
        await client.wait_for(lambda: card_of(client, agent_id)["lastTurn"], timeout=60)
        session = card_of(client, agent_id)
        await client.request("podium/sendMessage", {"agentId": agent_id, "text": "more work"})
        await client.wait_for(lambda: _first_limited(client, agent_id), timeout=30)
        switched = await client.wait_for(lambda: (c := card_of(client, agent_id))["source"]
                                         == "api" and c["pid"] and c["pid"] != session["pid"]
                                         and c, timeout=30)  # fmt: skip
        # results: the first turn, the limited one, the one continued under the key
        done = await client.wait_for(lambda: len(results(c := card_of(client, agent_id))) == 3
                                     and c["status"] == "waiting" and c, timeout=60)  # fmt: skip
        # the same session, now under the key: the login is gone from the request
        resumed = standin.messages_requests()[-1]
        assert resumed.headers.get("x-api-key") == API_KEY
        assert OAUTH_TOKEN not in str(resumed.headers)
        said = str(resumed.messages)
        assert "first task" in said and "First turn done." in said
        assert done["agentId"] == switched["agentId"] and done["source"] == "api"
        assert results(done)[-1]["session_id"] == results(session)[0]["session_id"]
        assert results(done)[-1]["is_error"] is False
        [alert] = [a for a in client.alerts if a["scope"] == "usage_limit"]
        assert alert["agentId"] == agent_id and alert["action"] == "switchToApi"
        assert alert["message"].endswith(f"; continuing on the API key in ${KEY_ENV}")
        raw = b"".join(p.read_bytes() for p in tmp_path.glob("podium.db*"))
        assert API_KEY.encode() not in raw  # never stored
        log = (tmp_path / "server.log").read_bytes()
        assert API_KEY.encode() not in log  # nor logged
        await client.request("podium/stopAgent", {"agentId": agent_id})
    finally:
        await client.close()
