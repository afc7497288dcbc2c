"""`podium report` as a person and a script use it: tables that fit, ccusage's flags and JSON."""

from __future__ import annotations

import json
import re

import pytest

from .helpers import FIXTURES, write_session

TOKEN_FIELDS = ("inputTokens", "outputTokens", "cacheCreationTokens", "cacheReadTokens",
                "totalTokens")  # fmt: skip
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _widest(text: str) -> int:
    return max(len(line) for line in text.splitlines())


@pytest.mark.parametrize("args", [
    ("daily",), ("daily", "-b"), ("weekly",), ("monthly", "--breakdown"), ("session",),
    ("session", "-b"), ("blocks",), ("daily", "--instances"),
])  # fmt: skip
def test_every_report_fits_80_columns_with_a_title_and_a_total(cli, args):
    run = cli("report", *args, "-z", "UTC", env={"COLUMNS": "80"}, check=True)
    assert _widest(run.out) <= 80, run.out
    first = run.out.splitlines()[0]
    assert first.startswith("Claude Code usage, " + args[0])
    assert re.search(r"^Total\b", run.out, re.M)
    assert "claude-" not in run.out  # short model names in tables
    assert not ANSI.search(run.out)  # piped: no colour


def test_wide_terminal_gets_every_column_and_compact_forces_the_narrow_table(cli):
    wide = cli("report", "daily", "-z", "UTC", env={"COLUMNS": "200"}, check=True).out
    assert "Cache" in wide and "Total" in wide.splitlines()[2]  # header: Total / Tokens
    compact = cli("report", "daily", "-z", "UTC", "--compact", env={"COLUMNS": "200"},
                  check=True).out  # fmt: skip
    assert "Cache" not in compact and _widest(compact) < _widest(wide)
    # the totals agree whatever the width
    total = next(line for line in wide.splitlines() if line.startswith("Total")).split()
    small = next(line for line in compact.splitlines() if line.startswith("Total")).split()
    assert total[-1] == small[-1] == "$7.66"


def test_json_is_ccusage_plus_two_keys_at_the_end(cli):
    expected = json.loads((FIXTURES / "ccusage_daily_breakdown_utc.json").read_text())
    run = cli("report", "daily", "-j", "-b", "-z", "UTC", check=True)
    got = json.loads(run.out)
    # ccusage's keys first, then Podium's own (scripts that read ccusage's keys see no change)
    assert list(got)[:2] == ["daily", "totals"]
    assert set(got) - set(expected) == {"schemaVersion", "timezone"}
    assert got["schemaVersion"] == 1 and got["timezone"] == "UTC"
    assert len(got["daily"]) == len(expected["daily"])
    for have, want in zip(got["daily"], expected["daily"], strict=True):
        assert set(have) == set(want)
        assert have["date"] == want["date"]
        for f in TOKEN_FIELDS:
            assert have[f] == want[f], (want["date"], f)
        assert have["totalCost"] == pytest.approx(want["totalCost"], rel=0.005)
    for f in TOKEN_FIELDS:
        assert got["totals"][f] == expected["totals"][f]


def test_json_names_the_local_zone_when_none_is_given(cli):
    got = json.loads(cli("report", "monthly", "-j", env={"TZ": "Asia/Tokyo"}, check=True).out)
    assert got["timezone"] == "Asia/Tokyo"


def test_weekly_matches_ccusage_weeks_and_sums_to_the_daily_totals(cli):
    ccusage = json.loads((FIXTURES / "ccusage_weekly_utc.json").read_text())
    got = json.loads(cli("report", "weekly", "-j", "-z", "UTC", check=True).out)
    daily = json.loads(cli("report", "daily", "-j", "-z", "UTC", check=True).out)
    assert [w["week"] for w in got["weekly"]] == [w["week"] for w in ccusage["weekly"]]
    assert got["totals"] == daily["totals"]
    monday = json.loads(cli("report", "weekly", "-j", "-z", "UTC", "-w", "monday",
                            check=True).out)  # fmt: skip
    from datetime import date

    assert {date.fromisoformat(w["week"]).weekday() for w in monday["weekly"]} == {0}
    assert {date.fromisoformat(w["week"]).weekday() for w in got["weekly"]} == {6}


def test_order_last_and_since_until(cli):
    asc = json.loads(cli("report", "daily", "-j", "-z", "UTC", check=True).out)["daily"]
    desc = json.loads(cli("report", "daily", "-j", "-z", "UTC", "-o", "desc", check=True).out)
    assert [d["date"] for d in desc["daily"]] == [d["date"] for d in reversed(asc)]
    window = json.loads(cli("report", "daily", "-j", "-z", "UTC", "-s", "20251015", "-u",
                            "2025-10-20", check=True).out)["daily"]  # fmt: skip
    assert [d["date"] for d in window] == [d["date"] for d in asc
                                           if "2025-10-15" <= d["date"] <= "2025-10-20"]  # fmt: skip
    sessions = json.loads(cli("report", "session", "-j", "--last", "2", check=True).out)
    assert len(sessions["sessions"]) == 2
    assert sessions["totals"]["totalTokens"] == sum(s["totalTokens"] for s in sessions["sessions"])
    # --last counts calendar days back from today: the 2025 corpus has nothing in the last week
    assert json.loads(cli("report", "daily", "-j", "--last", "7", check=True).out)["daily"] == []
    blocks = json.loads(cli("report", "blocks", "-j", "--last", "3", check=True).out)["blocks"]
    assert len([b for b in blocks if not b["isGap"]]) == 3


def test_usage_report_is_a_table_like_the_others_and_takes_the_same_flags(cli):
    """`podium report usage` (every source by agent/provider/model): width-aware, a title, a
    total, short model names, --order honoured; `--last N` means N days as for daily."""
    since = ("-s", "2025-01-01", "-z", "UTC")
    data = json.loads(cli("report", "usage", "--by", "model", *since, "-j", check=True).out)
    assert data["schemaVersion"] == 1 and data["timezone"] == "UTC"
    costs = [r["costUSD"] for r in data["rows"]]
    assert len(costs) == 5 and costs == sorted(costs, reverse=True)  # most expensive first
    run = cli("report", "usage", "--by", "model", *since, "--top-models", "2",
              env={"COLUMNS": "80"}, check=True)  # fmt: skip
    assert _widest(run.out) <= 80, run.out
    assert run.out.startswith("Usage by model (UTC), from 2025-01-01")
    assert "claude-" not in run.out and "opus-4-1" in run.out
    total = next(line for line in run.out.splitlines() if line.startswith("Total")).split()
    assert total[-1] == "$7.66"
    assert "Top models by cost" in run.out
    asc = json.loads(cli("report", "usage", "--by", "model", *since, "-o", "asc", "-j",
                         check=True).out)  # fmt: skip
    assert [r["model"] for r in asc["rows"]] == [r["model"] for r in reversed(data["rows"])]
    days = json.loads(cli("report", "usage", "--last", "5000", "-j", check=True).out)
    assert days["rows"] == json.loads(cli("report", "usage", "--last", "5000d", "-j",
                                          check=True).out)["rows"]  # fmt: skip
    assert days["totals"]["costUSD"] == pytest.approx(data["totals"]["costUSD"])
    bad = cli("report", "usage", "--last", "week")
    assert bad.code == 2 and bad.err.count("\n") == 1 and "7d, 30d" in bad.err
    wrong = cli("report", "daily", "--by", "model")
    assert wrong.code == 2 and "report usage" in wrong.err and "Traceback" not in wrong.err


def test_instances_split_by_project_and_add_up(cli):
    got = json.loads(cli("report", "daily", "-j", "-i", "-z", "UTC", check=True).out)
    daily = json.loads(cli("report", "daily", "-j", "-z", "UTC", check=True).out)
    assert "-home-ana-shop" in got["projects"]
    assert all(r["project"] == p for p, rows in got["projects"].items() for r in rows)
    for f in TOKEN_FIELDS:
        assert got["totals"][f] == daily["totals"][f]


def test_project_takes_an_encoded_folder_name_as_written(cli):
    # an encoded folder name starts with "-": argparse took `-p -home-ana-shop` for two options
    # ("expected one argument") although the docs tell you to write exactly that
    whole = json.loads(cli("report", "daily", "-j", check=True).out)["totals"]["totalTokens"]
    runs = [json.loads(cli("report", "daily", "-j", *args, check=True).out)["totals"]
            for args in (("-p", "-home-ana-shop"), ("--project", "-home-ana-shop"),
                         ("--project=-home-ana-shop",), ("-p", "/home/ana/shop"))]  # fmt: skip
    assert all(run == runs[0] for run in runs) and 0 < runs[0]["totalTokens"] < whole
    missing = cli("report", "daily", "--since", "--json")  # a real option still is one
    assert missing.code == 2 and "--since: expected one argument" in missing.err


def test_session_grouping_by_file_is_ccusages(cli):
    """ccusage names a session by its transcript's file name; Podium by the sessionId its lines
    carry, so a resumed session (a new file replaying the old one) is one row. `--group-by file`
    gives ccusage's rows (docs/cli.md)."""
    ccusage = json.loads((FIXTURES / "ccusage_session_utc.json").read_text())["sessions"]
    want = {(s["sessionId"], s["projectPath"]) for s in ccusage}
    by_file = json.loads(cli("report", "session", "-j", "--group-by", "file", check=True).out)
    assert {(s["sessionId"], s["projectPath"]) for s in by_file["sessions"]} == want
    by_id = json.loads(cli("report", "session", "-j", check=True).out)
    assert by_id["totals"]["totalTokens"] == by_file["totals"]["totalTokens"]


def test_session_grouping_by_file_names_the_transcript(cli):
    """A transcript whose lines carry another session's id (a resumed session's copy): by
    sessionId its usage joins that session; by file it stays with the file's name."""
    root = cli.logs()
    write_session(root, minutes_ago=[30], session="5e55a0b1-0b05-4c0d-9a11-0a0000000001")
    copy = root / "projects" / "-work-shop" / "5e55a0b1-0b05-4c0d-9a11-0a0000000002.jsonl"
    write_session(root, minutes_ago=[20], session="5e55a0b1-0b05-4c0d-9a11-0a0000000001")
    (root / "projects" / "-work-shop" / "5e55a0b1-0b05-4c0d-9a11-0a0000000001.jsonl").rename(copy)
    write_session(root, minutes_ago=[30], session="5e55a0b1-0b05-4c0d-9a11-0a0000000003")
    by_id = json.loads(cli("report", "session", "-j", check=True).out)["sessions"]
    by_file = json.loads(cli("report", "session", "-j", "--group-by", "file",
                             check=True).out)["sessions"]  # fmt: skip
    assert sorted(s["sessionId"][-2:] for s in by_id) == ["01", "03"]
    assert sorted(s["sessionId"][-2:] for s in by_file) == ["02", "03"]


def test_blocks_token_limit_marks_the_active_block(cli):
    root = cli.logs()
    write_session(root, minutes_ago=[300 * 3, 300 * 3 - 10])  # an old block of 2 entries
    write_session(root, minutes_ago=[40, 20, 1], session="5e55a0b1-0b05-4c0d-9a11-0a00000000bb")
    got = json.loads(cli("report", "blocks", "-j", "-t", "max", check=True).out)
    real = [b for b in got["blocks"] if not b["isGap"]]
    old, active = real[0], real[-1]
    assert active["isActive"] and not old["isActive"]
    status = active["tokenLimitStatus"]
    assert status["limit"] == old["totalTokens"]
    assert status["projectedUsage"] >= active["totalTokens"]
    assert status["status"] == "exceeds"  # 3 entries so far, projected over 5 h ≫ 2 entries
    table = cli("report", "blocks", "-t", "100000000", env={"COLUMNS": "80"}, check=True).out
    assert "ACTIVE" in table and "Token limit 100,000,000" in table and "OK" in table
    assert _widest(table) <= 80
    bad = cli("report", "blocks", "-t", "lots")
    assert bad.code == 2 and "--token-limit wants a number" in bad.err


def test_no_rich_import_for_json_or_piped_tables(cli):
    for args in (("report", "daily", "--json"), ("report", "daily")):
        run = cli(*args, python=("-X", "importtime"), check=True)
        modules = {line.rsplit("|", 1)[-1].strip() for line in run.err.splitlines()
                   if line.startswith("import time:")}  # fmt: skip
        assert "rich" not in modules and not any(m.startswith("rich.") for m in modules)
        assert "pydantic" not in modules  # nor the settings' validation machinery
        assert "inspect" not in modules and "dataclasses" not in modules  # (~5 ms of start-up)


def test_forced_colour_uses_rich_and_no_color_wins(cli):
    forced = cli("report", "daily", "-z", "UTC", env={"FORCE_COLOR": "1", "COLUMNS": "100"},
                 check=True).out  # fmt: skip
    assert ANSI.search(forced) and "╭" in forced
    assert _widest(ANSI.sub("", forced)) <= 100
    plain = cli("report", "daily", "-z", "UTC", "--color", env={"NO_COLOR": "1"}, check=True).out
    assert ANSI.search(plain)  # the flag beats the environment
    none = cli("report", "daily", env={"FORCE_COLOR": "1", "NO_COLOR": "1"}, check=True).out
    assert not ANSI.search(none)


def test_a_terminal_narrower_than_the_boxed_table_gets_whole_cells(cli):
    # rich folded every cell to squeeze its boxes into 40 columns ("2025" / "-11-" / "21",
    # "Tota" / "l"); the plain table keeps each on its line (the terminal wraps a long one)
    days = [d["date"] for d in json.loads(cli("report", "daily", "-j", check=True).out)["daily"]]
    narrow = cli("report", "daily", "-z", "UTC", env={"FORCE_COLOR": "1", "COLUMNS": "40"},
                 check=True).out  # fmt: skip
    text = ANSI.sub("", narrow)
    assert "╭" not in text and re.search(r"^Total\b", text, re.M), text
    assert [line[:10] for line in text.splitlines() if re.match(r"\d{4}-\d\d-\d\d", line)] == days
    roomy = cli("report", "daily", "-z", "UTC", env={"FORCE_COLOR": "1", "COLUMNS": "80"},
                check=True).out  # fmt: skip
    assert "╭" in roomy  # where the boxes fit, they stay



def test_a_project_with_no_usage_names_the_closest_ones(cli):
    """`-p` that matches nothing: "No usage found", then one stderr line with what to type."""
    near = cli("report", "daily", "-p", "shop", check=True)
    assert "No usage found" in near.out
    (line,) = near.err.strip().splitlines()
    assert line.startswith("podium: no project 'shop'; closest: ") and "-home-ana-shop" in line
    typo = cli("report", "daily", "-p", "/home/ana/shp", "--json", "--no-ingest", check=True)
    assert json.loads(typo.out)["daily"] == []  # the JSON stays clean: the hint is on stderr
    assert "closest: /home/ana/shop" in typo.err
    far = cli("report", "monthly", "-p", "zzzzqqq", "--no-ingest", check=True)
    assert "known projects: -home-" in far.err and "more)" in far.err
    exact = cli("report", "daily", "-p", "-home-ana-shop", "--no-ingest", check=True)
    assert "No usage found" not in exact.out and exact.err == ""
    named = cli("report", "daily", "-p", "/home/ana/shop", "--no-ingest", check=True)
    assert named.err == ""
