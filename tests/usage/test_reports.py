import json
import subprocess
import sys

import pytest

from podium.errors import InvalidInput
from podium.usage import reports
from podium.usage import synthetic as syn

from .conftest import message

H = 3_600_000
# 2026-03-29 is the EU DST switch; 2026-09-21T22:30Z is already the 22nd in Berlin
LATE = 1_790_029_800_000  # 2026-09-21T22:30:00Z


pytestmark = pytest.mark.usefixtures("scanner")


def iso_ms(s: str) -> int:
    from datetime import datetime

    return int(datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp() * 1000)


def test_daily_by_timezone_and_breakdown(corpus):
    corpus.write("a.jsonl", message(LATE, out=10, model="claude-sonnet-4-5-20250929"))
    corpus.write("a.jsonl", message(LATE + 2 * H, out=20, model="claude-opus-4-5-20251101"))
    corpus.ingest()
    utc = reports.daily(reports.ReportQuery(corpus.store, timezone="UTC"), breakdown=True)
    assert [d["date"] for d in utc["daily"]] == ["2026-09-21", "2026-09-22"]
    berlin = reports.daily(reports.ReportQuery(corpus.store, timezone="Europe/Berlin"))
    assert [d["date"] for d in berlin["daily"]] == ["2026-09-22"]
    assert berlin["daily"][0]["outputTokens"] == 30
    kolkata = reports.daily(reports.ReportQuery(corpus.store, timezone="Asia/Kolkata"))
    assert [d["date"] for d in kolkata["daily"]] == ["2026-09-22"]  # +05:30
    day = utc["daily"][1]
    assert day["modelsUsed"] == ["claude-opus-4-5-20251101"]
    mb = day["modelBreakdowns"][0]
    assert mb["modelName"] == "claude-opus-4-5-20251101" and mb["outputTokens"] == 20
    expected = (10 * 5 + 20 * 25 + 1000 * 6.25 + 20000 * 0.5) / 1e6
    assert mb["cost"] == pytest.approx(expected)
    assert utc["totals"]["outputTokens"] == 30
    assert set(day) >= {"date", "inputTokens", "outputTokens", "cacheCreationTokens",
                        "cacheReadTokens", "totalTokens", "totalCost", "modelsUsed",
                        "modelBreakdowns"}  # fmt: skip


def test_since_until_are_inclusive_local_days(corpus):
    for day in range(5):
        corpus.write("a.jsonl", message(iso_ms(f"2026-10-0{day + 1}T12:00:00Z"), out=day + 1))
    corpus.ingest()
    q = reports.ReportQuery(corpus.store, since="2026-10-02", until="20261004", timezone="UTC")
    got = reports.daily(q)
    assert [d["date"] for d in got["daily"]] == ["2026-10-02", "2026-10-03", "2026-10-04"]
    with pytest.raises(InvalidInput) as err:
        reports.ReportQuery(corpus.store, since="yesterday")
    assert err.value.field == "since"
    with pytest.raises(InvalidInput):
        reports.ReportQuery(corpus.store, timezone="Mars/Olympus")


def test_monthly_session_and_project_filter(corpus):
    corpus.write("a.jsonl", message(iso_ms("2026-10-31T10:00:00Z"), out=1, session="s-a"))
    corpus.write("b.jsonl", message(iso_ms("2026-11-01T10:00:00Z"), out=2, session="s-b"),
                 project="-other")  # fmt: skip
    corpus.ingest()
    monthly = reports.monthly(reports.ReportQuery(corpus.store, timezone="UTC"))
    assert [(m["month"], m["outputTokens"]) for m in monthly["monthly"]] == [
        ("2026-10", 1), ("2026-11", 2)]  # fmt: skip
    sessions = reports.session(reports.ReportQuery(corpus.store, timezone="UTC"))["sessions"]
    assert [(s["sessionId"], s["projectPath"]) for s in sessions] == [
        ("s-b", "-other"), ("s-a", "-work-shop")]  # fmt: skip
    only = reports.daily(reports.ReportQuery(corpus.store, project="-other", timezone="UTC"))
    assert only["totals"]["outputTokens"] == 2


def test_blocks_follow_the_five_hour_rules(corpus):
    t = iso_ms("2026-10-01T09:17:00Z")
    for offset in (0, 1 * H, 4 * H + 59 * 60_000, 5 * H + 1, 12 * H):
        corpus.write("a.jsonl", message(t + offset, out=1))
    corpus.ingest()
    now = t + 12 * H + 30 * 60_000
    got = reports.blocks(reports.ReportQuery(corpus.store), now_ms=now)["blocks"]
    kinds = [(b["startTime"], b["isGap"], b["entries"], b["isActive"]) for b in got]
    assert kinds == [
        ("2026-10-01T09:00:00.000Z", False, 2, False),  # floored to the hour
        # 14:16 is past the block's end (14:00) → a new block, floored to 14:00
        ("2026-10-01T14:00:00.000Z", False, 2, False),
        ("2026-10-01T19:17:00.001Z", True, 0, False),  # > 5 h since the last entry → gap
        ("2026-10-01T21:00:00.000Z", False, 1, True),
    ]
    active = got[-1]
    assert active["burnRate"] is None  # one entry: no duration to measure a rate over
    corpus.write("a.jsonl", message(t + 12 * H + 20 * 60_000, out=1))
    corpus.ingest()
    active = reports.blocks(reports.ReportQuery(corpus.store), now_ms=now, active_only=True)
    (block,) = active["blocks"]
    assert block["burnRate"]["tokensPerMinute"] == pytest.approx(block["totalTokens"] / 20)
    assert block["projection"]["remainingMinutes"] == 253  # 21:47 → block end 02:00
    assert block["projection"]["totalTokens"] > block["totalTokens"]


def test_cli_report_json_and_table(corpus, tmp_path):
    corpus.write("a.jsonl", [*message(LATE, out=10), syn.summary_line("x", "y")])
    env = {"CLAUDE_CONFIG_DIR": str(corpus.root), "PODIUM_DB": str(tmp_path / "cli.db"),
           "PATH": "/usr/bin:/bin"}  # fmt: skip
    run = [sys.executable, "-m", "podium", "report"]
    out = subprocess.run([*run, "daily", "--json", "--breakdown", "-z", "UTC"], env=env,
                         capture_output=True, text=True, check=True)  # fmt: skip
    data = json.loads(out.stdout)
    assert data["daily"][0]["outputTokens"] == 10
    table = subprocess.run([*run, "monthly", "-z", "UTC"], env=env, capture_output=True,
                           text=True, check=True).stdout  # fmt: skip
    assert "2026-09" in table and "Total" in table
    bad = subprocess.run([*run, "daily", "--since", "nope"], env=env, capture_output=True,
                         text=True)  # fmt: skip
    assert bad.returncode == 2 and "since must be a date, YYYY-MM-DD" in bad.stderr
    doctor = subprocess.run([sys.executable, "-m", "podium", "doctor", "--json"], env=env,
                            capture_output=True, text=True, check=True)  # fmt: skip
    assert json.loads(doctor.stdout)["entries"] == 1


def _daily_both_ways(store, **kw) -> tuple[dict, dict]:
    fast = reports.ReportQuery(store, **kw)
    assert fast.buckets is not None  # the 15-minute sums answer this query
    slow = reports.ReportQuery(store, **kw)
    slow.buckets = None  # force the scan over every entry
    return reports.daily(fast, breakdown=True), reports.daily(slow, breakdown=True)


def test_bucket_sums_stay_exact_through_replacements_resets_and_deletes(corpus):
    """usage_buckets is kept by triggers: streaming copies replace kept rows, a parent line
    deletes a sub-agent's copy (replay rule), a truncated file drops its rows. After each step
    the bucket-based daily report equals the one computed from the entries."""

    def check(**kw) -> dict:
        fast, slow = _daily_both_ways(corpus.store, **kw)
        assert fast == slow
        sums = corpus.store.conn.execute("SELECT SUM(n), SUM(output) FROM usage_buckets")
        assert sums.fetchone() == corpus.store.conn.execute(
            "SELECT COUNT(*), SUM(output) FROM entries"
        ).fetchone()
        return fast

    first = message(LATE, out=10, session="s-1")
    a = corpus.write("a.jsonl", first + message(LATE + H, out=7, session="s-1"))
    corpus.write("b.jsonl", first)  # a resumed copy: counted once
    side = message(LATE + 60_000, out=50, session="s-1", request_id="req-side")[-1]
    side["isSidechain"] = True
    corpus.write("c.jsonl", [side])
    corpus.ingest()
    for tz in ("UTC", "Europe/Berlin", "Asia/Kolkata"):
        assert check(timezone=tz)["totals"]["outputTokens"] == 67
    parent = dict(side, isSidechain=False, requestId="req-parent")
    parent["message"] = dict(side["message"], usage=syn.usage_dict(10, 5, 1000, 20000))
    corpus.write("a.jsonl", [parent])  # wins over the sidechain copy: that row is deleted
    corpus.write("a.jsonl", message(LATE + 2 * H, out=3, model="claude-opus-4-5-20251101"))
    corpus.ingest()
    assert check(timezone="UTC", since="2026-09-21")["totals"]["outputTokens"] == 25
    a.write_bytes(b"")  # truncated: its rows go; b's copy and the sidechain line come back
    corpus.ingest()
    assert check(timezone="Europe/Berlin")["totals"]["outputTokens"] == 60
