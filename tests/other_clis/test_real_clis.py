"""The real Codex CLI 0.169.0 and Gemini CLI 0.61.0, run offline against the stand-ins: Podium
reads from the files they wrote exactly the tokens the stand-in sent, and agrees with the CLIs'
own totals (`turn.completed.usage`, `stats.models`)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from podium.store import Store
from podium.usage.adapters import CodexAdapter, GeminiAdapter
from podium.usage.ingest import Ingestor

from .cli import (
    CODEX_CHILD,
    CODEX_MODEL,
    CODEX_PARENT,
    GEMINI_MAIN,
    PLAN_PRIMARY,
    PLAN_SECONDARY,
    codex_rollouts,
    gemini_chats,
    run_codex,
    run_gemini,
)


def entries(store: Store, session: str | None = None) -> list[tuple]:
    where, params = ("WHERE session_id = ?", [session]) if session else ("", [])
    return store.conn.execute(
        f"SELECT input, cache_read, cache_create, output, model, cwd, session_id FROM entries "
        f"{where} ORDER BY ts, key", params).fetchall()


def test_codex_every_call_once_and_the_plan_figures(codex_bin: Path, home: Path, work: Path,
                                                    tmp_path: Path) -> None:  # fmt: skip
    run = run_codex(codex_bin, home, work)
    assert run.returncode == 0, run.stderr[-2000:]
    events = run.json_lines()
    parent = next(e["thread_id"] for e in events if e["type"] == "thread.started")
    cli_usage = next(e["usage"] for e in events if e["type"] == "turn.completed")
    rollouts = codex_rollouts(home)
    assert len(rollouts) == 2  # the parent's and the spawned sub-agent's
    adapter = CodexAdapter([str(home / ".codex")])
    with Store(tmp_path / "podium.db") as store:
        Ingestor(store, [adapter]).run()
        rows = entries(store)
        # one entry per model call, with the stand-in's figures (input excludes cached)
        expected = sorted((t.input - t.cached, t.cached, 0, t.output)
                          for t in [*CODEX_PARENT, CODEX_CHILD])  # fmt: skip
        assert sorted(r[:4] for r in rows) == expected
        assert {r[4] for r in rows} == {CODEX_MODEL} and {r[5] for r in rows} == {str(work)}
        mine = entries(store, parent)
        assert len(mine) == len(CODEX_PARENT)
        # the CLI's own total for the parent thread (input includes cached)
        assert sum(r[0] + r[1] for r in mine) == cli_usage["input_tokens"]
        assert sum(r[1] for r in mine) == cli_usage["cached_input_tokens"]
        assert sum(r[3] for r in mine) == cli_usage["output_tokens"]
        assert Ingestor(store, [CodexAdapter([str(home / ".codex")])]).run().entries_written == 0
    figures = {f.window: f for f in adapter.take_plan_figures()}
    assert (figures["five_hour"].used_pct, figures["seven_day"].used_pct) == (
        PLAN_PRIMARY, PLAN_SECONDARY)
    assert figures["five_hour"].resets_at == pytest.approx(time.time() + 3600, abs=600)


def test_gemini_every_main_call_and_the_cli_stats(gemini_bin: Path, home: Path, work: Path,
                                                  tmp_path: Path) -> None:  # fmt: skip
    run = run_gemini(gemini_bin, home, work)
    assert run.returncode == 0, run.stderr[-2000:]
    output = json.loads(run.stdout)
    (chat,) = gemini_chats(home)
    with Store(tmp_path / "podium.db") as store:
        Ingestor(store, [GeminiAdapter([str(home)])]).run()
        rows = entries(store)
        assert sorted(r[:4] for r in rows) == sorted(
            (t.input - t.cached + t.tool, t.cached, 0, t.output + t.reasoning)
            for t in GEMINI_MAIN)  # fmt: skip
        assert {r[5] for r in rows} == {str(work)}
        assert {r[6] for r in rows} == {output["session_id"]}
    model = rows[0][4]
    stats = output["stats"]["models"][model]["roles"]["main"]["tokens"]
    # the CLI's own sums for its main model (its `input` excludes cached, like Podium's)
    assert sum(r[0] for r in rows) == stats["input"] + stats["tool"]
    assert sum(r[1] for r in rows) == stats["cached"]
    assert sum(r[3] for r in rows) == stats["candidates"] + stats["thoughts"]
    assert sum(r[0] + r[1] + r[3] for r in rows) == stats["total"]
    # the router's call is in the CLI's stats but not in its chat file: Podium cannot see it
    router = sum(m["tokens"]["total"] for m in output["stats"]["models"].values()
                 if "utility_router" in m["roles"])  # fmt: skip
    assert router > 0 and chat.parent.name == "chats"
