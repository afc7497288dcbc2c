"""Every format × grouping against `podium report`, local-time date ranges, hostile names."""

from __future__ import annotations

import csv
import json
import time
from collections import defaultdict
from pathlib import Path

import pytest

from podium.export import export_usage
from podium.redact import scrub
from podium.store import Store
from podium.usage import reports
from podium.usage import synthetic as syn
from podium.usage.adapters.claude import ClaudeCodeAdapter, encode_cwd
from podium.usage.ingest import Ingestor

HOUR = 3_600_000
# 2026-09-21T18:00Z = 23:30 in Kolkata (UTC+05:30): around local midnight on purpose
T0 = 1_790_013_600_000
MODELS = ("claude-sonnet-4-5-20250929", "claude-opus-4-5-20251101", "claude-haiku-4-5-20251001")
TOKENS = ("inputTokens", "outputTokens", "cacheCreationTokens", "cacheReadTokens", "totalTokens")
NAMES = [
    "=SUM(A1:A9)", "+1+1", "-2-2", "@SUM(1)", "\tTAB", "\rCR", 'a,b "c" d', "multi\nline",
    "ünïcødé ✓ 名前", "mail ops@example.com at /home/ana/x",
]


@pytest.fixture
def world(tmp_path: Path) -> tuple[Store, Path]:
    """Ten agents with hostile names and tasks, a mix of models, 36 hours of usage."""
    root = tmp_path / "claude"
    store = Store(tmp_path / "podium.db")
    now = time.time()
    for n, name in enumerate(NAMES):
        worktree = str(tmp_path / "repo" / ".podium" / "worktrees" / f"a{n}")
        session = f"sess-{n}"
        path = root / "projects" / encode_cwd(worktree) / f"{session}.jsonl"
        path.parent.mkdir(parents=True)
        with open(path, "wb") as fh:
            for k in range(6):
                ts = T0 + (n * 6 + k) * HOUR // 2
                usage = syn.usage_dict(20 + n, 150 + 10 * k, 1500 + k, 12_000 + 100 * n,
                                       cache_1h=100 * (k % 2))  # fmt: skip
                for line in syn.assistant_lines(session, worktree, ts, MODELS[(n + k) % 3], usage):
                    fh.write(syn.dumps(line))
        store.conn.execute(
            "INSERT INTO agents(id, name, task, repo, worktree, branch, profile, state_dir, "
            "claude_session_id, source, status, status_since, started_at) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (f"ag-{n}", name, f"task: {name}", str(tmp_path / "repo"), worktree, f"podium/a{n}",
             "fake", "/tmp", session, "api" if n % 2 else "subscription", "working", now, now),
        )  # fmt: skip
    # usage of no agent
    stray = root / "projects" / "-stray" / "stray.jsonl"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"".join(syn.dumps(x) for x in syn.assistant_lines(
        "stray", "/somewhere/else", T0 + 5 * HOUR, MODELS[0], syn.usage_dict(5, 50, 500, 5000))))
    Ingestor(store, [ClaudeCodeAdapter([str(root)])]).run()
    yield store, tmp_path
    store.close()


def read_rows(out: dict) -> list[dict]:
    path = Path(out["path"])
    if out["format"] == "json":
        return json.loads(path.read_text(encoding="utf-8"))["rows"]
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        for key in (*TOKENS, "messages"):
            row[key] = int(row[key])
        row["costUSD"] = float(row["costUSD"])
    return rows


@pytest.mark.parametrize("fmt", ["csv", "json"])
@pytest.mark.parametrize("group", ["entry", "day", "agent", "model"])
@pytest.mark.parametrize("tz", ["UTC", "Asia/Kolkata"])
def test_each_format_and_grouping_round_trips_the_report(world, fmt, group, tz) -> None:
    store, workspace = world
    report = reports.daily(reports.ReportQuery(store, timezone=tz), breakdown=True)
    out = export_usage(store, {"format": fmt, "groupBy": group}, workspace=workspace, tz=tz)
    rows = read_rows(out)
    assert out["rows"] == len(rows) and out["format"] == fmt
    for key in TOKENS:
        assert sum(r[key] for r in rows) == report["totals"][key]
    assert sum(r["costUSD"] for r in rows) == pytest.approx(report["totals"]["totalCost"], abs=1e-5)
    if group == "day":
        assert [r["date"] for r in rows] == [d["date"] for d in report["daily"]]
        for got, want in zip(rows, report["daily"], strict=True):
            assert [got[k] for k in TOKENS] == [want[k] for k in TOKENS]
            assert got["costUSD"] == pytest.approx(want["totalCost"], abs=1e-6)
    if group == "model":
        per_model: dict[str, list[float]] = defaultdict(lambda: [0, 0, 0, 0, 0.0])
        for day in report["daily"]:
            for m in day["modelBreakdowns"]:
                acc = per_model[m["modelName"]]
                for i, k in enumerate(TOKENS[:4]):
                    acc[i] += m[k]
                acc[4] += m["cost"]
        assert {r["model"] for r in rows} == set(per_model)
        for row in rows:
            want = per_model[row["model"]]
            assert [row[k] for k in TOKENS[:4]] == want[:4]
            assert row["costUSD"] == pytest.approx(want[4], abs=1e-6)
    if group == "agent":
        by_agent = {r["agentId"]: r for r in rows}
        assert set(by_agent) == {f"ag-{n}" for n in range(len(NAMES))} | {""}
        assert by_agent[""]["messages"] == 1  # the stray session
        assert all(by_agent[f"ag-{n}"]["messages"] == 6 for n in range(len(NAMES)))
    if group == "entry":
        assert len(rows) == 6 * len(NAMES) + 1
        assert all(r["date"] == r["timestamp"][:10] for r in rows)


@pytest.mark.parametrize("tz", ["UTC", "Asia/Kolkata", "America/New_York"])
def test_date_range_is_inclusive_in_the_users_time_zone(world, tz) -> None:
    store, workspace = world
    full = reports.daily(reports.ReportQuery(store, timezone=tz))["daily"]
    assert len(full) >= 2
    first, last = full[0]["date"], full[-1]["date"]
    # one day: exactly that local day's numbers
    out = export_usage(store, {"format": "json", "groupBy": "entry", "since": last,
                               "until": last}, workspace=workspace, tz=tz)  # fmt: skip
    rows = read_rows(out)
    assert rows and {r["date"] for r in rows} == {last}
    assert sum(r["totalTokens"] for r in rows) == full[-1]["totalTokens"]
    # since alone, until alone: inclusive on both ends
    since = read_rows(export_usage(store, {"format": "csv", "groupBy": "day", "since": last},
                                   workspace=workspace, tz=tz))  # fmt: skip
    until = read_rows(export_usage(store, {"format": "csv", "groupBy": "day", "until": first},
                                   workspace=workspace, tz=tz))  # fmt: skip
    assert [r["date"] for r in since] == [last]
    assert [r["date"] for r in until] == [first]


def test_hostile_names_and_tasks_survive_csv_and_json(world) -> None:
    store, workspace = world
    csv_rows = read_rows(export_usage(store, {"format": "csv", "groupBy": "agent"},
                                      workspace=workspace))  # fmt: skip
    json_rows = read_rows(export_usage(store, {"format": "json", "groupBy": "agent"},
                                       workspace=workspace))  # fmt: skip
    csv_by = {r["agentId"]: r for r in csv_rows}
    json_by = {r["agentId"]: r for r in json_rows}
    for n, name in enumerate(NAMES):
        expected = scrub(name)
        # JSON keeps the (scrubbed) text exactly: no spreadsheet there to protect
        assert json_by[f"ag-{n}"]["agentName"] == expected
        assert json_by[f"ag-{n}"]["task"] == scrub(f"task: {name}")
        got = csv_by[f"ag-{n}"]["agentName"]
        if expected.startswith(("=", "+", "-", "@", "\t", "\r")):
            assert got == "'" + expected  # neutralised: shown as text, never run
        else:
            assert got == expected  # commas, quotes, newlines, unicode intact
    assert "ops@example.com" not in json.dumps(json_rows)
    assert "/home/ana" not in json.dumps(json_rows)
    # numbers are numbers, never neutralised
    assert all(isinstance(r["costUSD"], float) for r in json_rows)


def test_entry_export_holds_no_message_text(world) -> None:
    store, workspace = world
    out = export_usage(store, {"format": "json", "groupBy": "entry"}, workspace=workspace)
    text = Path(out["path"]).read_text(encoding="utf-8")
    # the transcripts' assistant text ("Done.") and the user turns never reach the store
    assert "Done." not in text and '"content"' not in text


def test_a_symlink_inside_the_workspace_cannot_lead_outside(world, tmp_path: Path) -> None:
    store, workspace = world
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir()
    (workspace / "link").symlink_to(outside)
    from podium.errors import InvalidInput

    with pytest.raises(InvalidInput) as err:
        export_usage(store, {"path": "link/u.csv"}, workspace=workspace)
    assert err.value.field == "path"
    assert not (outside / "u.csv").exists()


def test_default_paths_never_clash_within_one_second(world) -> None:
    store, workspace = world
    paths = {export_usage(store, {"groupBy": "model"}, workspace=workspace)["path"]
             for _ in range(3)}  # fmt: skip
    assert len(paths) == 3
    assert all(Path(p).parent == workspace / ".podium" / "exports" for p in paths)
    assert all(Path(p).name.startswith("usage-model-") and p.endswith(".csv") for p in paths)
