"""Podium's daily report equals ccusage's on a committed corpus (recorded with the real
ccusage 20.0.24 binary; see tests/fixtures/README.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from podium.store import Store
from podium.usage import reports
from podium.usage.adapters.claude import ClaudeCodeAdapter
from podium.usage.ingest import Ingestor

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
TOKEN_FIELDS = ("inputTokens", "outputTokens", "cacheCreationTokens", "cacheReadTokens")


pytestmark = pytest.mark.usefixtures("scanner")


def test_daily_breakdown_matches_ccusage_on_every_row(tmp_path):
    expected = json.loads((FIXTURES / "ccusage_daily_breakdown_utc.json").read_text())
    with Store(tmp_path / "db.sqlite") as store:
        Ingestor(store, [ClaudeCodeAdapter([str(FIXTURES / "claude_corpus")])]).run()
        got = reports.daily(reports.ReportQuery(store, timezone="UTC"), breakdown=True)

    def rows(report: dict) -> dict[tuple[str, str], dict]:
        return {(d["date"], m["modelName"]): m for d in report["daily"]
                for m in d["modelBreakdowns"]}  # fmt: skip

    want, have = rows(expected), rows(got)
    assert len(want) >= 25
    assert set(have) == set(want)
    for key, row in want.items():
        for f in TOKEN_FIELDS:
            assert have[key][f] == row[f], (key, f)
        assert have[key]["cost"] == pytest.approx(row["cost"], rel=0.005, abs=1e-9), key
    for day_want, day_have in zip(expected["daily"], got["daily"], strict=True):
        assert day_have["date"] == day_want["date"]
        for f in (*TOKEN_FIELDS, "totalTokens"):
            assert day_have[f] == day_want[f]
        assert sorted(day_have["modelsUsed"]) == sorted(day_want["modelsUsed"])
    for f in (*TOKEN_FIELDS, "totalTokens"):
        assert got["totals"][f] == expected["totals"][f]
    assert got["totals"]["totalCost"] == pytest.approx(expected["totals"]["totalCost"], rel=0.005)
