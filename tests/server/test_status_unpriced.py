"""A model without a price is never a silent $0 in the status bar: `API: $2.47+`, named in the
tooltip (the view, and end to end through `podium serve` on a real-CLI transcript)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from podium.views.status import StatusInputs, render_status_bar

REAL = Path(__file__).resolve().parent.parent / "fixtures" / "claude_real"


@pytest.mark.parametrize(("mode", "text"), [
    ("api", "$2.47+ today"), ("both", "Plan: n/a | API: $2.47+"), ("proxy", "Proxy: $5.10+ today"),
    ("subscription", "Plan: n/a"),
])  # fmt: skip
def test_unpriced_models_add_a_plus_and_are_named(mode: str, text: str) -> None:
    state = StatusInputs(mode=mode, api_today_usd=2.47, today_usd=5.10,
                         unpriced_models=["claude-opus-9-9"])  # fmt: skip
    bar = render_status_bar(state)
    assert bar.text == text
    assert ("no price for claude-opus-9-9" in bar.tooltip) == (mode != "subscription")
    plain = render_status_bar(StatusInputs(mode=mode, api_today_usd=2.47, today_usd=5.10))
    assert "+" not in plain.text and "no price" not in plain.tooltip


async def test_the_status_bar_flags_a_model_nobody_can_price(start_server, server_env):
    # the real CLI's transcript for `--model claude-opus-9-9`, moved to today
    (source,) = (REAL / "prices-unknown-model" / "projects").glob("*/*.jsonl")
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    lines = []
    for raw in source.read_text().splitlines():
        obj = json.loads(raw)
        if "timestamp" in obj:
            obj["timestamp"] = now
        lines.append(json.dumps(obj, separators=(",", ":")))  # as Claude Code writes
    target = Path(server_env["CLAUDE_CONFIG_DIR"]) / "projects" / source.parent.name / source.name
    target.parent.mkdir(parents=True)
    target.write_text("\n".join(lines) + "\n")
    client = await start_server({"authMode": "api"})
    status = await client.wait_for(
        lambda: (s := client.latest_status()) and "+" in s["text"] and s, timeout=30)
    # Claude Code's own figure ($0.0103, its guess: it flags the model as unknown) is counted,
    # and the model is still named: neither table has a real price for it
    assert status["text"] == "$0.01+ today"
    assert "no price for claude-opus-9-9" in status["tooltip"]
