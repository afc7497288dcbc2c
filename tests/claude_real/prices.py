"""Claude Code's own pricing of the models the real-CLI tests use (reference §7, USD per million
tokens), as verified against `result.total_cost_usd`: a 5-minute cache write costs the table's
"cache write" price, a 1-hour cache write twice the input price."""

from __future__ import annotations

from .standin import Usage

PRICES = {
    "claude-opus-5-5": {"input": 4, "output": 20, "cache_write": 5, "cache_read": 0.20},
    "claude-sonnet-5-5": {"input": 2, "output": 10, "cache_write": 2.5, "cache_read": 0.10},
}


def expected_cost(model: str, usage: Usage) -> float:
    p = PRICES[model]
    micro = (usage.input_tokens * p["input"] + usage.output_tokens * p["output"]
             + usage.cache_5m * p["cache_write"] + usage.cache_1h * 2 * p["input"]
             + usage.cache_read * p["cache_read"])  # fmt: skip
    return micro / 1_000_000
