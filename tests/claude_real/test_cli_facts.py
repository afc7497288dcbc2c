"""Facts about the real Claude Code CLI (2.1.328) that Podium relies on, checked against the
stand-in Messages API: long-lived stream-json sessions, --resume, rate-limit events, 429
retries, and Claude Code's own cost. (Permission hooks: test_cli_hooks.py.)"""

from __future__ import annotations

import time

import pytest
from tests.jsonl import read_jsonl

from .cli import INTERACTIVE_ARGS, STREAM_ARGS, is_event
from .env import transcripts
from .install import CLAUDE_VERSION
from .prices import expected_cost
from .standin import Usage, ratelimit_headers

pytestmark = pytest.mark.claude_real  # runs the real CLI (installed on first use)


def test_stream_json_input_keeps_the_session_alive_between_turns(start_claude, standin):
    standin.text("First answer.")
    standin.text("Second answer.")
    claude = start_claude(*INTERACTIVE_ARGS)
    claude.send("first question")  # nothing is printed before the first message
    init = claude.wait_for(is_event("system", "init"), what="the init event")
    assert init["claude_code_version"] == CLAUDE_VERSION
    assert init["apiKeySource"] == "ANTHROPIC_API_KEY" and init["model"] == "claude-opus-5-5"
    first = claude.wait_result()
    assert first["subtype"] == "success" and not first["is_error"]
    assert first["result"] == "First answer."
    assert claude.proc.poll() is None, "the CLI exited after its first turn"
    assert len(standin.messages_requests()) == 1

    claude.send("second question")
    claude.proc.stdin.close()  # closing stdin during a turn lets the turn finish, then exit 0
    second = claude.wait_result()
    assert second["result"] == "Second answer."
    assert second["session_id"] == first["session_id"]
    # The follow-up goes out with the whole conversation so far.
    roles = [m["role"] for m in standin.messages_requests()[-1].messages if m["role"] != "system"]
    assert roles == ["user", "assistant", "user"]
    # Every turn starts with its own system/init event.
    assert len(claude.seen(is_event("system", "init"))) == 2
    assert claude.close() == 0


@pytest.mark.parametrize("ended_by", ["stdin-closed", "SIGKILL"])
def test_resume_continues_the_session_in_the_same_cwd(start_claude, standin, claude_home,
                                                      ended_by):  # fmt: skip
    first_usage, second_usage = Usage(1000, 100), Usage(2000, 200)
    standin.text("first answer", usage=first_usage)
    standin.text("second answer", usage=second_usage)
    first = start_claude(*INTERACTIVE_ARGS)
    first.send("first question")
    session = first.wait_result()["session_id"]
    if ended_by == "SIGKILL":
        first.kill()
    else:
        assert first.close() == 0
    [transcript] = transcripts(claude_home)
    assert transcript.stem == session
    lines_before = len(read_jsonl(transcript))

    resumed = start_claude(*INTERACTIVE_ARGS, "--resume", session)
    resumed.send("second question")
    result = resumed.wait_result()
    assert resumed.close() == 0
    assert result["session_id"] == session and result["result"] == "second answer"
    texts = [
        block.get("text") if isinstance(block, dict) else block
        for message in standin.messages_requests()[-1].messages
        for block in (message["content"] if isinstance(message["content"], list)
                      else [message["content"]])
    ]  # fmt: skip
    assert {"first question", "first answer", "second question"} <= set(texts)
    assert transcripts(claude_home) == [transcript], "resume must append to the same transcript"
    assert len(read_jsonl(transcript)) > lines_before
    # total_cost_usd carries over from the transcript's last cost-state line, which the CLI
    # writes on a clean exit (or SIGTERM) but not when killed: then it restarts from zero.
    # The turn's own cost is exact either way.
    model = "claude-opus-5-5"
    turn = expected_cost(model, second_usage)
    assert result["model_usage_since_last_result"][model]["costUSD"] == pytest.approx(turn)
    carried = expected_cost(model, first_usage) if ended_by == "stdin-closed" else 0.0
    assert result["total_cost_usd"] == pytest.approx(carried + turn)


@pytest.mark.parametrize("auth", ["oauth", "api_key"])
def test_rate_limit_event_reports_the_plan_windows(start_claude, standin, auth):
    # Resets must be plausible (a reset years ahead drops unifiedWindows from the event).
    five_hour_reset, seven_day_reset = int(time.time()) + 3600, int(time.time()) + 3 * 86400
    claude = start_claude(*INTERACTIVE_ARGS, auth=auth)
    results = []
    for five_hour in (0.67, 0.67, 0.70):  # one event per change, not per reply
        headers = ratelimit_headers(five_hour, 0.21, five_hour_reset=five_hour_reset,
                                    seven_day_reset=seven_day_reset)  # fmt: skip
        standin.text("ok", headers=headers)
        claude.send("hello")
        results.append(claude.wait_result())
    assert claude.close() == 0
    events = claude.seen(is_event("rate_limit_event"))
    if auth == "api_key":
        assert events == [], "API-key users get no rate_limit_event"
        return
    first, changed = events
    info = first["rate_limit_info"]
    assert info["status"] == "allowed" and info["rateLimitType"] == "five_hour"
    assert "resetsAt" not in info
    assert info["unifiedWindows"] == {
        "five_hour": {
            "utilization": 0.67,
            "resetsAt": five_hour_reset,
            "status": "allowed_warning",
        },
        "seven_day": {"utilization": 0.21, "resetsAt": seven_day_reset, "status": "allowed"},
    }
    assert changed["rate_limit_info"]["unifiedWindows"]["five_hour"]["utilization"] == 0.70
    assert first["session_id"] == results[0]["session_id"]
    # The subscription's default model and its OAuth credential.
    init = claude.seen(is_event("system", "init"))[0]
    assert init["model"] == "claude-sonnet-5-5" and init["apiKeySource"] == "none"


def test_429_is_retried_with_api_retry_events(start_claude, standin):
    standin.error(429)
    standin.text("Recovered.")
    claude = start_claude(*STREAM_ARGS, "--", "hello", auth="oauth")
    retry = claude.wait_for(is_event("system", "api_retry"), what="an api_retry event")
    assert retry["error_status"] == 429 and retry["error"] == "rate_limit"
    assert retry["attempt"] == 1 and retry["max_retries"] == 10
    assert 0 < retry["retry_delay_ms"] < 5000
    result = claude.wait_result()
    assert result["result"] == "Recovered." and not result["is_error"]
    assert claude.close() == 0


def test_max_retries_env_bounds_429_retries(start_claude, standin, claude_home):
    standin.error(429, count=3)
    claude = start_claude(*STREAM_ARGS, "--", "hello", env={"CLAUDE_CODE_MAX_RETRIES": "1"})
    result = claude.wait_result()
    assert claude.close() == 1, "an error result makes the CLI exit 1"
    [retry] = claude.seen(is_event("system", "api_retry"))
    assert retry["max_retries"] == 1 and retry["error_status"] == 429
    assert len(standin.messages_requests()) == 2
    assert result["is_error"] and result["api_error_status"] == 429
    assert result["terminal_reason"] == "api_error" and result["subtype"] == "success"
    [transcript] = transcripts(claude_home)
    [api_error] = [line for line in read_jsonl(transcript) if line.get("subtype") == "api_error"]
    assert api_error["type"] == "system" and api_error["error"]["status"] == 429
    assert api_error["retryAttempt"] == 1 and api_error["maxRetries"] == 1
    assert api_error["error"]["requestId"] == "req_standin0001"


def test_subscription_429_with_rejected_window_is_a_usage_limit(start_claude, standin, claude_home):
    """A 429 carrying unified rate-limit headers is not retried: the plan limit is reached."""
    reset = int(time.time()) + 1800
    headers = ratelimit_headers(1.0, 0.4, five_hour_reset=reset, status="rejected",
                                five_hour_status="rejected")  # fmt: skip
    standin.error(429, headers=headers)
    claude = start_claude(*STREAM_ARGS, "--", "hello", auth="oauth")
    result = claude.wait_result()
    assert claude.close() == 1, "an error result makes the CLI exit 1"
    assert claude.seen(is_event("system", "api_retry")) == []
    assert result["is_error"] and result["api_error_status"] == 429
    assert result["api_error"] == "usage_limit_reached"
    assert result["result"] == "You've hit your 5-hour limit"
    [event] = claude.seen(is_event("rate_limit_event"))
    assert event["rate_limit_info"]["status"] == "rejected"
    five_hour = event["rate_limit_info"]["unifiedWindows"]["five_hour"]
    assert five_hour == {"utilization": 1, "resetsAt": reset, "status": "rejected"}
    # The transcript records it as a <synthetic> API-error message (no reset time in it).
    [line] = [x for x in read_jsonl(transcripts(claude_home)[0]) if x["type"] == "assistant"]
    assert line["message"]["model"] == "<synthetic>" and line["isApiErrorMessage"] is True
    assert line["apiError"] == "usage_limit_reached" and line["apiErrorStatus"] == 429
    assert line["message"]["content"] == [{"type": "text", "text": "You've hit your 5-hour limit"}]


@pytest.mark.parametrize(("auth", "model", "reference_cost"), [
    ("api_key", "claude-opus-5-5", 0.0448),
    ("oauth", "claude-sonnet-5-5", 0.0224),
])  # fmt: skip
def test_total_cost_usd_follows_the_price_table(start_claude, standin, claude_home, auth, model,
                                                reference_cost):  # fmt: skip
    plain = Usage(input_tokens=2400, output_tokens=80, cache_read=18000, cache_5m=6000)
    one_hour = Usage(input_tokens=1000, output_tokens=50, cache_read=0, cache_1h=3000)
    standin.text("one", usage=plain)
    standin.text("two", usage=one_hour)
    claude = start_claude(*INTERACTIVE_ARGS, auth=auth)
    claude.send("one")
    first = claude.wait_result()
    assert first["total_cost_usd"] == pytest.approx(reference_cost, abs=1e-9)
    assert first["total_cost_usd"] == pytest.approx(expected_cost(model, plain), abs=1e-9)
    assert first["modelUsage"][model]["costUSD"] == pytest.approx(reference_cost, abs=1e-9)
    claude.send("two")
    second = claude.wait_result()
    assert claude.close() == 0
    turn_two = expected_cost(model, one_hour)
    assert second["usage"]["cache_creation"]["ephemeral_1h_input_tokens"] == 3000
    assert second["model_usage_since_last_result"][model]["costUSD"] == pytest.approx(turn_two)
    # total_cost_usd and modelUsage add up over the process; usage is the turn's own.
    assert second["total_cost_usd"] == pytest.approx(reference_cost + turn_two, abs=1e-9)
    assert second["usage"]["input_tokens"] == 1000
    [cost_state] = [x for x in read_jsonl(transcripts(claude_home)[0])
                    if x["type"] == "cost-state"]  # fmt: skip
    assert cost_state["totalCostUSD"] == pytest.approx(second["total_cost_usd"], abs=1e-9)
    assert cost_state["modelUsage"][model]["cacheCreationEphemeral1hInputTokens"] == 3000
