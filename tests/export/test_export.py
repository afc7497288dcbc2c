"""Export round-trips the report's numbers, honours dates, and survives hostile strings."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import time
from datetime import date, datetime
from pathlib import Path

import pytest

from podium.errors import InvalidInput
from podium.export import export_usage, resolve_export_path
from podium.store import Store
from podium.usage import reports
from podium.usage import synthetic as syn
from podium.usage.adapters.claude import ClaudeCodeAdapter
from podium.usage.ingest import Ingestor

DAY = 86_400_000
T0 = 1_790_000_000_000  # 2026-09-21T14:13:20Z
HOSTILE = '=HYPERLINK("http://x","y"), "quoted"\nnewline +1 @cmd -2 ünïcødé ✓ sk-ant-api03-AAAAAAAAAAAAAAAAAAAAAAAA'


@pytest.fixture
def store(tmp_path: Path) -> Store:
    root = tmp_path / "claude"
    wt = tmp_path / "repo" / ".podium" / "worktrees" / "alpha"
    for d, cwd, session in ((0, str(wt), "s-agent"), (1, "/elsewhere", "s-other"),
                            (3, str(wt / "sub"), "s-agent2")):  # fmt: skip
        path = root / "projects" / f"-p{d}" / f"{session}.jsonl"
        path.parent.mkdir(parents=True)
        lines = []
        for k in range(3):
            lines += syn.assistant_lines(session, cwd, T0 + d * DAY + k * 1000,
                                         "claude-sonnet-4-5-20250929",
                                         syn.usage_dict(10 + k, 100, 2000, 30000))  # fmt: skip
        path.write_bytes(b"".join(syn.dumps(x) for x in lines))
    s = Store(tmp_path / "db.sqlite")
    Ingestor(s, [ClaudeCodeAdapter([str(root)])]).run()
    now = time.time()
    s.conn.execute(
        "INSERT INTO agents(id, name, task, repo, worktree, branch, profile, state_dir, "
        "source, status, status_since, started_at) VALUES (?, ?, ?, ?, ?, ?, 'fake', '/tmp', "
        "'api', 'working', ?, ?)",
        ("ag-1", HOSTILE, HOSTILE, str(tmp_path / "repo"), str(wt), "podium/alpha", now, now),
    )
    yield s
    s.close()


def _csv(path: str) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_day_export_round_trips_the_daily_report(store, tmp_path):
    report = reports.daily(reports.ReportQuery(store, timezone="UTC"))
    for fmt in ("csv", "json"):
        out = export_usage(store, {"format": fmt, "groupBy": "day"}, workspace=tmp_path,
                           tz="UTC")  # fmt: skip
        assert out["rows"] == len(report["daily"]) == 3
        assert Path(out["path"]).parent == tmp_path / ".podium" / "exports"
        rows = (_csv(out["path"]) if fmt == "csv"
                else json.loads(Path(out["path"]).read_text())["rows"])  # fmt: skip
        for got, want in zip(rows, report["daily"], strict=True):
            assert got["date"] == want["date"]
            for f in ("inputTokens", "outputTokens", "cacheCreationTokens", "cacheReadTokens",
                      "totalTokens"):  # fmt: skip
                assert int(got[f]) == want[f]
            assert float(got["costUSD"]) == pytest.approx(want["totalCost"], abs=1e-6)


def test_every_grouping_has_the_same_totals(store, tmp_path):
    totals = {}
    for group in ("entry", "day", "agent", "model"):
        out = export_usage(store, {"format": "json", "groupBy": group}, workspace=tmp_path,
                           tz="UTC")  # fmt: skip
        rows = json.loads(Path(out["path"]).read_text())["rows"]
        totals[group] = (sum(r["totalTokens"] for r in rows),
                         round(sum(r["costUSD"] for r in rows), 4),
                         sum(r["messages"] for r in rows))  # fmt: skip
    assert len(set(totals.values())) == 1, totals
    assert totals["entry"][2] == 9


def test_date_range_is_inclusive_and_agent_filter(store, tmp_path):
    out = export_usage(store, {"format": "json", "groupBy": "day", "since": "2026-09-22",
                               "until": "2026-09-24"}, workspace=tmp_path, tz="UTC")  # fmt: skip
    dates = [r["date"] for r in json.loads(Path(out["path"]).read_text())["rows"]]
    assert dates == ["2026-09-22", "2026-09-24"]
    out = export_usage(store, {"format": "json", "groupBy": "agent", "agentIds": ["ag-1"]},
                       workspace=tmp_path, tz="UTC")  # fmt: skip
    (row,) = json.loads(Path(out["path"]).read_text())["rows"]
    assert row["agentId"] == "ag-1" and row["messages"] == 6  # its session and a subdir cwd


def test_hostile_strings_survive_and_formulas_are_neutralised(store, tmp_path):
    out = export_usage(store, {"format": "csv", "groupBy": "agent"}, workspace=tmp_path)
    rows = _csv(out["path"])
    agent = next(r for r in rows if r["agentId"] == "ag-1")
    assert agent["task"].startswith("'=HYPERLINK(")  # neutralised, not executed
    assert '"quoted"\nnewline +1 @cmd -2 ünïcødé ✓' in agent["task"]  # intact through CSV
    assert "sk-ant" not in Path(out["path"]).read_text(encoding="utf-8")  # scrubbed
    assert agent["agentName"] == agent["task"]
    unattributed = next(r for r in rows if r["agentId"] == "")
    assert int(unattributed["messages"]) == 3


def test_paths_stay_in_the_workspace_and_files_are_not_overwritten(store, tmp_path):
    with pytest.raises(InvalidInput) as err:
        resolve_export_path(tmp_path, "../outside.csv", "day", "csv")
    assert err.value.field == "path"
    rel = export_usage(store, {"path": "reports/u.csv"}, workspace=tmp_path)
    assert rel["path"] == str(tmp_path / "reports" / "u.csv")
    with pytest.raises(InvalidInput, match="exists"):
        export_usage(store, {"path": "reports/u.csv"}, workspace=tmp_path)
    again = export_usage(store, {"path": "reports/u.csv", "overwrite": True}, workspace=tmp_path)
    assert again["rows"] == rel["rows"]
    outside = tmp_path.parent / f"{tmp_path.name}-explicit.json"
    done = export_usage(store, {"path": str(outside), "format": "json"}, workspace=tmp_path)
    assert Path(done["path"]) == outside and outside.is_file()
    outside.unlink()
    for bad, field in (({"format": "xml"}, "format"), ({"groupBy": "hour"}, "groupBy"),
                       ({"since": "soon"}, "since"), ({"agentIds": "ag-1"}, "agentIds")):  # fmt: skip
        with pytest.raises(InvalidInput) as e:
            export_usage(store, bad, workspace=tmp_path)
        assert e.value.field == field


def test_cli_export(store, tmp_path):
    res = subprocess.run(
        [sys.executable, "-m", "podium", "export", "--db", str(store.path), "--no-ingest",
         "--workspace", str(tmp_path), "--group-by", "model", "--format", "json"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    path = res.stdout.strip().split(" to ", 1)[1]
    rows = json.loads(Path(path).read_text())["rows"]
    assert [r["model"] for r in rows] == ["claude-sonnet-4-5-20250929"]
    bad = subprocess.run(
        [sys.executable, "-m", "podium", "export", "--db", str(store.path), "--no-ingest",
         "--workspace", str(tmp_path), "--path", "../x.csv"], capture_output=True, text=True)
    assert bad.returncode == 2 and "leaves the workspace" in bad.stderr


def test_local_zone_dates_follow_dst_of_the_entry_not_of_today(tmp_path, monkeypatch):
    # without --timezone the user's local zone applies; an entry at 00:30 local in the other
    # half of the DST year must be dated that day (the zone's offset *today* put it on the day
    # before) and be inside --since/--until of that day
    from zoneinfo import ZoneInfo

    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        ny = ZoneInfo("America/New_York")
        summer_now = datetime.now(ny).dst().total_seconds() != 0
        day = date(2026, 1, 15) if summer_now else date(2026, 7, 15)
        ts = datetime(day.year, day.month, day.day, 0, 30, tzinfo=ny)
        root = tmp_path / "claude"
        path = root / "projects" / "-p" / "s-1.jsonl"
        path.parent.mkdir(parents=True)
        lines = syn.assistant_lines("s-1", "/elsewhere", int(ts.timestamp() * 1000),
                                    "claude-sonnet-4-5-20250929", syn.usage_dict(10, 100))  # fmt: skip
        path.write_bytes(b"".join(syn.dumps(x) for x in lines))
        with Store(tmp_path / "db.sqlite") as s:
            Ingestor(s, [ClaudeCodeAdapter([str(root)])]).run()
            out = export_usage(s, {"format": "json", "groupBy": "entry"}, workspace=tmp_path)
            rows = json.loads(Path(out["path"]).read_text())["rows"]
            assert [r["date"] for r in rows] == [day.isoformat()]
            assert rows[0]["timestamp"].startswith(f"{day.isoformat()}T00:30:00")
            one_day = export_usage(s, {"format": "json", "groupBy": "day", "since": day.isoformat(),
                                       "until": day.isoformat()}, workspace=tmp_path)  # fmt: skip
            assert one_day["rows"] == 1
            report = reports.daily(reports.ReportQuery(s))
            assert [d["date"] for d in report["daily"]] == [day.isoformat()]
    finally:
        monkeypatch.undo()
        time.tzset()


def test_since_after_until_is_refused_and_writes_nothing(store, tmp_path):
    # swapped dates used to write a header-only file and report "0 rows" as a success
    with pytest.raises(InvalidInput, match="after") as err:
        export_usage(store, {"since": "2026-09-24", "until": "2026-09-22"}, workspace=tmp_path)
    assert err.value.field == "since"
    assert not (tmp_path / ".podium" / "exports").exists()
    # one day (since == until) and an empty but valid range are fine
    assert export_usage(store, {"since": "2026-09-22", "until": "2026-09-22", "groupBy": "day"},
                        workspace=tmp_path, tz="UTC")["rows"] == 1  # fmt: skip
    assert export_usage(store, {"since": "2030-01-01"}, workspace=tmp_path)["rows"] == 0
