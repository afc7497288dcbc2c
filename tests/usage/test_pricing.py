import json

import pytest

from podium.errors import InvalidInput
from podium.usage.pricing import PriceTable
from podium.usage.queries import price_group


@pytest.fixture
def prices() -> PriceTable:
    return PriceTable.load()


def test_family_matching_and_rates(prices):
    sonnet = prices.cost_of("claude-sonnet-4-5-20250929", 100_000, 0, 0, 0)
    assert sonnet == pytest.approx(0.3)
    assert prices.cost_of("claude-opus-4-5-20251101", 0, 1_000_000, 0, 0) == pytest.approx(25)
    assert prices.cost_of("claude-opus-4-1-20250805", 0, 1_000_000, 0, 0) == pytest.approx(75)
    assert prices.cost_of("claude-haiku-4-5-20251001", 0, 0, 0, 100_000) == pytest.approx(0.01)
    assert prices.cost_of("claude-3-5-haiku-20241022", 0, 0, 100_000, 0) == pytest.approx(0.1)
    assert prices.price_for("anthropic/claude-sonnet-4-20250514").family == "Sonnet 4"
    assert prices.price_for("us.anthropic.claude-opus-4-1-20250805-v1:0").family == "Opus 4.1"


def test_unknown_model_costs_zero_and_is_reported(prices):
    assert prices.cost_of("gpt-9-ultra", 1000, 1000, 0, 0) == 0.0
    assert prices.cost_of("claude-opus-4-6", 1000, 1000, 0, 0) == 0.0  # no guessing
    assert prices.unknown_models == {"gpt-9-ultra", "claude-opus-4-6"}


def test_cache_write_split_prices_one_hour_writes_higher(prices):
    all_5m = prices.cost_of("claude-sonnet-4-5", 0, 0, 100_000, 0)
    split = prices.cost_of("claude-sonnet-4-5", 0, 0, 100_000, 0, 40_000, 60_000)
    assert all_5m == pytest.approx(0.375)
    assert split == pytest.approx(0.04 * 3.75 + 0.06 * 6)


def test_long_context_bills_the_whole_request_at_premium(prices):
    below = prices.cost_of("claude-sonnet-4-5", 100_000, 1000, 0, 100_000)
    above = prices.cost_of("claude-sonnet-4-5", 100_000, 1000, 0, 100_001)
    assert below == pytest.approx((100_000 * 3 + 1000 * 15 + 100_000 * 0.3) / 1e6)
    assert above == pytest.approx((100_000 * 6 + 1000 * 22.5 + 100_001 * 0.6) / 1e6)
    # models without a long-context tier keep their rates
    assert prices.cost_of("claude-opus-4-1", 300_000, 0, 0, 0) == pytest.approx(4.5)


def test_cost_modes(prices):
    # (model, long, has_logged, input, output, cache_create, cache_read, cache_1h, logged)
    logged = ("claude-sonnet-4-5", 0, 1, 100_000, 0, 0, 0, 0, 9.99)
    assert price_group(prices, "calculate", *logged) == pytest.approx(0.3)
    assert price_group(prices, "auto", *logged) == pytest.approx(9.99)
    assert price_group(prices, "display", *logged) == pytest.approx(9.99)
    unlogged = ("claude-sonnet-4-5", 0, 0, 100_000, 0, 0, 0, 0, 0.0)
    assert price_group(prices, "display", *unlogged) == 0.0
    assert price_group(prices, "auto", *unlogged) == pytest.approx(0.3)
    with pytest.raises(ValueError):
        price_group(prices, "guess", *unlogged)


def test_user_override_file(tmp_path, monkeypatch):
    table = {"version": "mine-1", "families": [
        {"name": "Mine", "pattern": "^my-model$", "input": 1, "output": 2, "cacheRead": 0}]}
    path = tmp_path / "prices.json"
    path.write_text(json.dumps(table))
    monkeypatch.setenv("PODIUM_PRICES", str(path))
    p = PriceTable.load()
    assert p.version == "mine-1" and p.origin == str(path)
    assert p.cost_of("my-model", 100_000, 100_000, 0, 0) == pytest.approx(0.3)
    path.write_text("{not json")
    with pytest.raises(InvalidInput, match="cannot read price table"):
        PriceTable.load()
