"""The plan window estimated from usage when no official figure exists (formats.md §7): the
highest of tokens (input + output), cost and messages against the plan table row. Always
labelled an estimate where shown. No imports: `podium statusline` uses it on every refresh."""

from __future__ import annotations

FIVE_HOUR_KEYS = ("tokens", "costUSD", "messages")
SEVEN_DAY_KEYS = ("weeklyTokens", "weeklyCostUSD", "weeklyMessages")


def estimate_pct(table: dict[str, float], tokens: float, cost_usd: float, messages: float,
                 *, weekly: bool = False) -> float:  # fmt: skip
    """% of the 5-hour (or with `weekly`, the 7-day) limits of `table` used; 0 without any."""
    tokens_key, cost_key, messages_key = SEVEN_DAY_KEYS if weekly else FIVE_HOUR_KEYS
    pcts = []
    if table.get(tokens_key):
        pcts.append(100.0 * tokens / table[tokens_key])
    if table.get(cost_key):
        pcts.append(100.0 * cost_usd / table[cost_key])
    if table.get(messages_key):
        pcts.append(100.0 * messages / table[messages_key])
    return max(pcts, default=0.0)
