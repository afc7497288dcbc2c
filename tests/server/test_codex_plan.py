"""Codex's plan % (the `rate_limits` of its token_count events) reaches the status bar as an
official figure of its own plan: `Plan: 67% | Codex: 43%`, named in the tooltip, followed live,
and never mixed into Claude's plan figure."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

from tests.usage.cli_logs import codex_real_files

from podium.views.status import PlanFigure, StatusInputs, render_status_bar


def test_the_view_shows_each_cli_plan_after_the_mode() -> None:
    now = 1_790_000_000.0
    codex = PlanFigure("five_hour", 42.5, "codex", now - 120)
    claude = PlanFigure("five_hour", 67.0, "official", now - 60)
    bar = render_status_bar(StatusInputs(mode="subscription", plan=claude, now=now,
                                         cli_plans=[("Codex", codex)]))  # fmt: skip
    assert bar.text == "Plan: 67% | Codex: 42%"
    assert "**Codex** 42% of its 5-hour window (codex, 2m ago)" in bar.tooltip
    api = render_status_bar(StatusInputs(mode="api", api_today_usd=2.5, now=now,
                                         cli_plans=[("Codex", PlanFigure(
                                             "seven_day", 97.0, "codex", now, stale=True))]))  # fmt: skip
    assert api.text == "$2.50 today | Codex: ~97%" and api.severity == "warning"


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _moved_to_now(lines: list[str], primary: float | None = None) -> str:
    """The real rollout, stamped now, its windows resetting in the future."""
    now = time.time()
    out = []
    for raw in lines:
        obj = json.loads(raw)
        obj["timestamp"] = _iso(now)
        limits = (obj.get("payload") or {}).get("rate_limits")
        if isinstance(limits, dict):
            limits["primary"]["resets_at"] = int(now + 3600)
            limits["secondary"]["resets_at"] = int(now + 3 * 86400)
            if primary is not None:
                limits["primary"]["used_percent"] = primary
        out.append(json.dumps(obj, separators=(",", ":")))
    return "\n".join(out) + "\n"


async def test_codex_plan_reaches_the_status_bar_and_follows_it(start_server, server_env,
                                                                tmp_path: Path) -> None:  # fmt: skip
    codex_home = tmp_path / "codex"
    server_env["CODEX_HOME"] = str(codex_home)
    parent, _child = codex_real_files()
    rollout = codex_home / "sessions" / "2026" / "11" / "28" / parent.name
    rollout.parent.mkdir(parents=True)
    lines = parent.read_text().splitlines()
    rollout.write_text(_moved_to_now(lines))
    client = await start_server()
    status = await client.wait_for(
        lambda: (s := client.latest_status()) and "Codex:" in s["text"] and s, timeout=30)
    assert status["text"].endswith("| Codex: 42%")  # 42.5 % of the 5-hour window
    assert status["text"].startswith("Plan: ")  # Claude's own figure stays apart
    assert "**Codex** 42% of its 5-hour window (codex" in status["tooltip"]
    # a new event in the live session moves the figure
    event = next(line for line in lines if '"token_count"' in line)
    with open(rollout, "a") as fh:
        fh.write(_moved_to_now([event], primary=71.0))
    await client.wait_for(
        lambda: (s := client.latest_status()) and s["text"].endswith("| Codex: 71%"), timeout=30)


async def test_a_codex_home_created_after_the_start_is_read_and_watched(start_server,
                                                                       server_env,
                                                                       tmp_path: Path) -> None:  # fmt: skip
    codex_home = tmp_path / "codex-later"
    server_env["CODEX_HOME"] = str(codex_home)  # nothing there yet: Codex never ran
    client = await start_server()
    await client.wait_for(lambda: client.latest_status())
    parent, _child = codex_real_files()
    lines = parent.read_text().splitlines()
    rollout = codex_home / "sessions" / "2026" / "11" / "28" / parent.name
    rollout.parent.mkdir(parents=True)
    rollout.write_text(_moved_to_now(lines))  # a first `codex exec`, already finished
    await client.wait_for(
        lambda: (s := client.latest_status()) and s["text"].endswith("| Codex: 42%"), timeout=40)
    summary = await client.request("podium/usageSummary", {})
    assert summary["today"]["messages"] == 4  # the parent's four model calls
    event = next(line for line in lines if '"token_count"' in line)
    with open(rollout, "a") as fh:  # and it is tailed from then on
        fh.write(_moved_to_now([event], primary=55.0))
    await client.wait_for(
        lambda: (s := client.latest_status()) and s["text"].endswith("| Codex: 55%"), timeout=20)
