import json

import pytest

from podium.errors import InvalidInput
from podium.store.migrations import LONG_CONTEXT_LEVELS
from podium.usage.pricing import PriceTable, canonical_model
from podium.usage.queries import price_group

# claude-code-real.md §7: USD per million tokens (input, output, cache write, cache read)
SECTION_7 = {
    "claude-opus-5-5": (4, 20, 5, 0.20),
    "claude-opus-5": (5, 25, 6.25, 0.50),
    "claude-opus-4-8": (5, 25, 6.25, 0.50),
    "claude-opus-4-7": (5, 25, 6.25, 0.50),
    "claude-opus-4-6": (5, 25, 6.25, 0.50),
    "claude-opus-4-5": (5, 25, 6.25, 0.50),
    "claude-sonnet-5-5": (2, 10, 2.5, 0.10),
    "claude-sonnet-5": (2, 10, 2.5, 0.20),
    "claude-sonnet-4-6": (3, 15, 3.75, 0.30),
    "claude-sonnet-4-5": (3, 15, 3.75, 0.30),
    "claude-haiku-5-5": (0.10, 0.50, 0.125, 0.01),
    "claude-haiku-4-5": (1, 5, 1.25, 0.10),
    "claude-fable-5-1": (10, 50, 12.5, 0.25),
    "claude-mythos-5-1": (10, 50, 12.5, 0.25),
    "claude-fable-5": (10, 50, 12.5, 1.00),
    "claude-mythos-5": (10, 50, 12.5, 1.00),
}


@pytest.fixture
def prices(monkeypatch, tmp_path) -> PriceTable:
    monkeypatch.delenv("PODIUM_PRICES", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))  # no user table
    return PriceTable.load()


@pytest.mark.parametrize("model", sorted(SECTION_7))
def test_bundled_table_has_every_current_model_at_its_listed_price(prices, model):
    i, o, w, r = SECTION_7[model]
    rates = prices.rates_for(model, False)
    assert rates is not None, model
    assert (rates.input, rates.output, rates.cache_write_5m, rates.cache_read) == pytest.approx(
        (i, o, w, r)
    )
    assert rates.cache_write_1h == pytest.approx(2 * i)  # Anthropic: 1 h writes cost 2× input


def test_claude_codes_own_figures_for_the_section_7_example(prices):
    # 2,400 in + 80 out + 6,000 cache write + 18,000 cache read (claude-code-real.md §7)
    assert prices.cost_of("claude-opus-5-5", 2400, 80, 6000, 18000) == pytest.approx(0.0448)
    assert prices.cost_of("claude-sonnet-5-5", 2400, 80, 6000, 18000) == pytest.approx(0.0224)


@pytest.mark.parametrize("written", [
    "claude-opus-5-5", "claude-opus-5-5-20261001", "us.anthropic.claude-opus-5-5",
    "anthropic.claude-opus-5-5-v1:0", "claude-opus-5-5@20261001", "claude-opus-5-5@default",
    "global.anthropic.claude-opus-5-5", "anthropic/claude-opus-5-5", "claude-opus-5-5[1m]",
    "bedrock/us-gov-east-1/anthropic.claude-opus-5-5", "claude-opus-latest",
])  # fmt: skip
def test_every_id_claude_code_writes_finds_the_same_price(prices, written):
    price = prices.price_for(written)
    assert price is not None and price.family == "claude-opus-5-5"
    assert prices.cost_of(written, 1_000_000, 0, 0, 0) == pytest.approx(4)
    assert prices.unknown_models == set()


def test_dated_and_cloud_ids_of_older_models(prices):
    assert prices.cost_of("claude-sonnet-4-5-20250929", 100_000, 0, 0, 0) == pytest.approx(0.3)
    assert prices.cost_of("claude-opus-4-1-20250805", 0, 1_000_000, 0, 0) == pytest.approx(75)
    assert prices.cost_of("claude-haiku-4-5-20251001", 0, 0, 0, 100_000) == pytest.approx(0.01)
    assert prices.cost_of("claude-3-5-haiku-20241022", 0, 0, 100_000, 0) == pytest.approx(0.1)
    assert prices.price_for("anthropic/claude-sonnet-4-20250514").family == "claude-sonnet-4"
    assert prices.price_for("us.anthropic.claude-opus-4-1-20250805-v1:0").family == "claude-opus-4-1"
    assert prices.price_for("claude-sonnet-4-5@20250929").family == "claude-sonnet-4-5"
    assert canonical_model("us.anthropic.claude-haiku-4-5-20251001-v1:0") == "claude-haiku-4-5-20251001"


def test_openai_and_gemini_models_are_priced(prices):
    assert prices.cost_of("gpt-5", 1_000_000, 1_000_000, 0, 0) == pytest.approx(1.25 + 10)
    assert prices.price_for("gpt-5-2025-08-07").family == "gpt-5"
    assert prices.cost_of("gemini/gemini-2.5-pro", 100_000, 0, 0, 0) == pytest.approx(0.125)
    assert prices.cost_of("gemini/gemini-2.5-pro", 1_000_000, 0, 0, 0) == pytest.approx(2.5)


def test_unknown_model_costs_zero_and_is_reported(prices):
    assert prices.cost_of("gpt-9-ultra", 1000, 1000, 0, 0) == 0.0
    assert prices.cost_of("claude-opus-9-9", 1000, 1000, 0, 0) == 0.0  # no guessing
    assert prices.unknown_models == {"gpt-9-ultra", "claude-opus-9-9"}


def test_cache_write_split_prices_one_hour_writes_at_the_one_hour_rate(prices):
    all_5m = prices.cost_of("claude-opus-5-5", 0, 0, 100_000, 0)
    split = prices.cost_of("claude-opus-5-5", 0, 0, 100_000, 0, 40_000, 60_000)
    assert all_5m == pytest.approx(0.5)
    assert split == pytest.approx(0.04 * 5 + 0.06 * 8)


def test_long_context_bills_the_whole_request_at_premium(prices):
    below = prices.cost_of("claude-sonnet-4", 100_000, 1000, 0, 100_000)
    above = prices.cost_of("claude-sonnet-4", 100_000, 1000, 0, 100_001)
    assert below == pytest.approx((100_000 * 3 + 1000 * 15 + 100_000 * 0.3) / 1e6)
    assert above == pytest.approx((100_000 * 6 + 1000 * 22.5 + 100_001 * 0.6) / 1e6)
    # Haiku 5.5's premium tier starts at 100k (as in Claude Code's own price table)
    assert prices.cost_of("claude-haiku-5-5", 100_001, 0, 0, 0) == pytest.approx(0.0500005)
    assert prices.cost_of("claude-haiku-5-5", 100_000, 0, 0, 0) == pytest.approx(0.01)
    # models without a long-context tier keep their rates
    assert prices.cost_of("claude-opus-4-1", 300_000, 0, 0, 0) == pytest.approx(4.5)


def test_long_context_levels_cover_every_threshold_of_the_bundled_table(prices):
    # the report buckets split exactly where the bundled prices change
    assert prices.breakpoints == LONG_CONTEXT_LEVELS
    haiku = prices.breakpoints.index(100_000)
    assert not prices.is_long("claude-haiku-5-5", haiku)
    assert prices.is_long("claude-haiku-5-5", haiku + 1)
    assert not prices.is_long("claude-sonnet-4", haiku + 1)  # 150k: below Sonnet 4's 200k
    assert prices.is_long("claude-sonnet-4", prices.breakpoints.index(200_000) + 1)
    assert not prices.is_long("claude-opus-5-5", len(prices.breakpoints))  # no tier


def test_cost_modes(prices):
    # (model, long level, has_logged, input, output, cache_create, cache_read, cache_1h, logged)
    logged = ("claude-sonnet-4-5", 0, 1, 100_000, 0, 0, 0, 0, 9.99)
    assert price_group(prices, "calculate", *logged) == pytest.approx(0.3)
    assert price_group(prices, "auto", *logged) == pytest.approx(9.99)
    assert price_group(prices, "display", *logged) == pytest.approx(9.99)
    unlogged = ("claude-sonnet-4-5", 0, 0, 100_000, 0, 0, 0, 0, 0.0)
    assert price_group(prices, "display", *unlogged) == 0.0
    assert price_group(prices, "auto", *unlogged) == pytest.approx(0.3)
    with pytest.raises(ValueError):
        price_group(prices, "guess", *unlogged)


def test_user_file_overrides_models_by_name_over_the_bundled_table(tmp_path, monkeypatch):
    table = {"version": "mine-1", "models": {
        "claude-opus-5-5": {"input": 1, "output": 2},
        "my-model": {"input": 1, "output": 2, "cacheRead": 0}}}  # fmt: skip
    path = tmp_path / "prices.json"
    path.write_text(json.dumps(table))
    monkeypatch.setenv("PODIUM_PRICES", str(path))
    p = PriceTable.load()
    assert p.version == "mine-1" and p.origin == str(path)
    assert p.cost_of("my-model", 100_000, 100_000, 0, 0) == pytest.approx(0.3)
    assert p.cost_of("us.anthropic.claude-opus-5-5", 1_000_000, 0, 0, 0) == pytest.approx(1)
    assert p.cost_of("claude-sonnet-5-5", 1_000_000, 0, 0, 0) == pytest.approx(2)  # bundled
    assert sorted(p.user_models) == ["claude-opus-5-5", "my-model"]
    assert p.fingerprint != PriceTable.load_bundled().fingerprint
    path.write_text("{not json")
    with pytest.raises(InvalidInput, match="cannot read price table"):
        PriceTable.load()
    path.write_text(json.dumps({"models": {"x": {"input": -1, "output": 2}}}))
    with pytest.raises(InvalidInput, match="price"):
        PriceTable.load()


def test_old_format_user_file_with_regex_families_still_works(tmp_path):
    table = {"version": "old-1", "families": [
        {"name": "Mine", "pattern": "^my-model(-\\d{8})?$", "input": 1, "output": 2}]}
    path = tmp_path / "prices.json"
    path.write_text(json.dumps(table))
    p = PriceTable.load(path)
    assert p.price_for("my-model-20260101").family == "Mine"
    assert p.price_for("my-model@20260101").family == "Mine"
    assert p.cost_of("claude-opus-5-5", 1_000_000, 0, 0, 0) == pytest.approx(4)


def test_the_user_table_in_the_config_dir_is_used_when_present(tmp_path, monkeypatch):
    monkeypatch.delenv("PODIUM_PRICES", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert PriceTable.load().origin == "bundled"
    user = tmp_path / "podium" / "prices.json"
    user.parent.mkdir()
    user.write_text(json.dumps({"version": "u", "models": {"m": {"input": 1, "output": 1}}}))
    p = PriceTable.load()
    assert p.origin == str(user) and p.price_for("m") is not None


def test_a_broken_user_table_falls_back_to_the_bundled_one_for_the_server(tmp_path, monkeypatch):
    from podium.usage import queries

    bad = tmp_path / "prices.json"
    bad.write_text('{"models": {"m": {"input": "cheap", "output": 1}}}')
    monkeypatch.setenv("PODIUM_PRICES", str(bad))
    monkeypatch.setattr(queries, "_DEFAULT_PRICES", None)
    table = queries.default_prices()
    assert table.origin == "bundled" and str(bad) in table.load_error
    assert table.cost_of("claude-opus-5-5", 1_000_000, 0, 0, 0) == pytest.approx(4)
