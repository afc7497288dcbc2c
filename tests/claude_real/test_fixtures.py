"""The recorded tests/fixtures/claude_real sessions agree with their stand-in script and with
the price table (no CLI needed: this guards the files other tests and engineers build on)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.jsonl import read_jsonl

from .make_fixtures import SCENARIOS
from .prices import expected_cost
from .standin import Usage

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "claude_real"


def _usages(scenario: dict) -> list[list[Usage]]:
    return [[Usage(**reply["usage"]) for reply in turn["replies"] if "usage" in reply]
            for turn in scenario["turns"]]  # fmt: skip


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_fixture_matches_its_script_and_the_prices(name):
    folder = FIXTURES / name
    scenario = json.loads((folder / "scenario.json").read_text())
    model = scenario["model"]
    turns = _usages(scenario)
    results = read_jsonl(folder / "results.jsonl")
    assert len(results) == len(turns) == 2
    total = 0.0
    for result, usages in zip(results, turns, strict=True):
        turn_cost = sum(expected_cost(model, u) for u in usages)
        total += turn_cost
        assert result["model_usage_since_last_result"][model]["costUSD"] == pytest.approx(turn_cost)
        assert result["total_cost_usd"] == pytest.approx(total)
        assert result["usage"]["output_tokens"] == sum(u.output_tokens for u in usages)
    [transcript] = folder.glob("projects/*/*.jsonl")
    assert transcript.stem == scenario["session_id"]
    lines = read_jsonl(transcript)
    # One assistant line per content block; the same id, requestId and final usage on each.
    by_message: dict[str, list[dict]] = {}
    for line in lines:
        if line["type"] == "assistant":
            by_message.setdefault(line["message"]["id"], []).append(line)
    flat = [u for usages in turns for u in usages]
    assert len(by_message) == len(flat)
    for copies, usage in zip(by_message.values(), flat, strict=True):
        assert {c["requestId"] for c in copies} == {copies[0]["requestId"]}
        recorded = copies[0]["message"]["usage"]
        assert all(c["message"]["usage"] == recorded for c in copies)
        assert recorded["output_tokens"] == usage.output_tokens
        assert recorded["cache_creation"] == {
            "ephemeral_5m_input_tokens": usage.cache_5m,
            "ephemeral_1h_input_tokens": usage.cache_1h,
        }
        assert copies[0]["message"]["model"] == model
    [cost_state] = [line for line in lines if line["type"] == "cost-state"]
    assert cost_state["totalCostUSD"] == pytest.approx(total)
    # No prompt text of Claude Code's own survived the scrub.
    text = transcript.read_text()
    assert "You are powered by" not in text and "system-reminder" not in text
