"""The bundled price table is generated from the LiteLLM price file (podium.usage.price_gen)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from podium.usage import price_gen
from podium.usage.pricing import BUNDLED_PATH, PriceTable

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "litellm"


def _generate(tmp_path: Path, source: Path, supplement: Path | None) -> dict:
    out = tmp_path / "prices.json"
    argv = ["--from", str(source), "--out", str(out), "--date", "2026-11-28",
            "--supplement", str(supplement) if supplement else ""]  # fmt: skip
    assert price_gen.main(argv) == 0
    return json.loads(out.read_text())


def test_small_litellm_fixture_becomes_the_expected_table(tmp_path):
    got = _generate(tmp_path, FIXTURES / "model_prices_small.json",
                    FIXTURES / "supplement_small.json")  # fmt: skip
    want = json.loads((FIXTURES / "expected_prices.json").read_text())
    assert got == want
    # what the expected table says, spelled out (it was checked by hand against the fixture)
    models = got["models"]
    assert models["claude-opus-5-5"] == {"input": 4.0, "output": 20.0, "cacheWrite5m": 5.0,
                                         "cacheWrite1h": 8.0, "cacheRead": 0.2}  # fmt: skip
    assert models["claude-haiku-5-5"]["longContext"]["thresholdInputTokens"] == 100_000
    assert models["gpt-5.4"]["longContext"]["thresholdInputTokens"] == 272_000
    assert "longContext" not in models["gemini-exp-1114"]  # a tier that changes nothing
    assert got["origins"]["claude-sonnet-4"] == "anthropic.claude-sonnet-4-20250514-v1:0"
    assert got["origins"]["claude-3-5-haiku"].startswith("anthropic.")  # Bedrock over Vertex
    assert got["origins"]["gemini-2.5-pro"] == "gemini/gemini-2.5-pro"
    assert got["aliases"]["claude-opus-4-5-20251101"] == "claude-opus-4-5"
    assert got["aliases"]["claude-opus-latest"] == "claude-opus-5-5"
    for skipped in ("ft:gpt-4o-2024-08-06", "gpt-4o-audio-preview", "dall-e-3",
                    "mistral-large-latest", "claude-no-output-price", "sample_spec"):  # fmt: skip
        assert skipped not in models and skipped not in got["aliases"]
    # resellers never price a first-party model
    assert models["claude-opus-5-5"]["input"] == 4.0
    assert got["source"]["date"] == got["version"] == "2026-11-28"


def test_the_supplement_fills_gaps_but_never_beats_the_source(tmp_path):
    got = _generate(tmp_path, FIXTURES / "model_prices_small.json",
                    FIXTURES / "supplement_small.json")  # fmt: skip
    assert got["models"]["claude-opus-5-5"]["input"] == 4.0  # supplement says 99
    assert got["models"]["claude-opus-5-5"]["cacheWrite1h"] == 8.0
    assert got["models"]["claude-sonnet-4"]["cacheWrite1h"] == 6.0
    assert got["models"]["claude-sonnet-4"]["longContext"]["cacheWrite1h"] == 12.0
    assert got["origins"]["claude-fable-5-2"] == "supplement"
    assert got["supplemented"] == {
        "claude-sonnet-4": ["cacheWrite1h", "longContext.cacheWrite1h"],
        "claude-fable-5-2": ["input", "output", "cacheWrite5m", "cacheWrite1h", "cacheRead"],
    }
    bare = _generate(tmp_path, FIXTURES / "model_prices_small.json", None)
    assert "claude-fable-5-2" not in bare["models"] and "supplemented" not in bare
    assert "cacheWrite1h" not in bare["models"]["claude-sonnet-4"]


def test_a_litellm_wheel_is_read_directly(tmp_path):
    wheel = tmp_path / "litellm-9.9.9-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.write(FIXTURES / "model_prices_small.json", price_gen.LITELLM_MEMBER)
    got = _generate(tmp_path, wheel, None)
    assert got["source"]["from"] == "litellm 9.9.9 wheel"
    assert got["source"]["member"] == price_gen.LITELLM_MEMBER
    assert got["models"]["claude-opus-5-5"]["output"] == 20.0


@pytest.mark.parametrize("content", [b"{not json", b'{"a": 1}', b"[]"])
def test_a_file_that_is_not_a_litellm_price_file_is_a_clear_error(tmp_path, capsys, content):
    bad = tmp_path / "bad.json"
    bad.write_bytes(content)
    out = tmp_path / "prices.json"
    assert price_gen.main(["--from", str(bad), "--out", str(out)]) == 1
    assert "price_gen:" in capsys.readouterr().err
    assert not out.exists()


def test_the_bundled_table_is_generated_and_loads(monkeypatch):
    raw = json.loads(Path(BUNDLED_PATH).read_text())
    assert raw["format"] == price_gen.FORMAT and "GENERATED" in raw["note"]
    assert raw["source"]["from"].startswith("litellm ") and len(raw["source"]["sha256"]) == 64
    assert raw["source"]["date"] == raw["version"]
    supplement = price_gen.load_supplement()
    for name, fields in raw.get("supplemented", {}).items():
        assert name in supplement["models"], name  # every supplemented number has a source
        assert supplement["models"][name]["from"]
        assert all(f.split(".")[-1] in price_gen.RATE_FIELDS for f in fields)
    table = PriceTable.load_bundled()
    assert len(table.model_names) == len(raw["models"]) >= 100
    assert all(table.price_for(alias) is not None for alias in raw["aliases"])
