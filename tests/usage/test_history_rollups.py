"""The store's sums for the history (podium.store.rollups: `history_buckets`, `plan_steps`) give
exactly what reading every row gives: on a constructed store with requests on quarter-hour
edges, across both DST changes and in zones 30 and 45 minutes off the hour, with long-context
requests, logged costs, entries without a session, cwd or model, after a file is rewritten and
read again, a message replaced by a bigger copy, an archive run, a first bulk load, and a
migration of an existing store."""

from __future__ import annotations

import random
import sqlite3
from datetime import date
from pathlib import Path

import pytest
from tests.usage.history_seed import OPUS, SONNET, add_agent, ingest, ms

from podium.domain.periods import concrete_tz, date_range_ms, resolve_tz
from podium.limits import plans
from podium.store import Store
from podium.store.archive import archive, include_archives
from podium.store.levels import long_level
from podium.store.migrations import MIGRATIONS
from podium.store.rollups import HISTORY_FROM_ENTRIES
from podium.usage import ingest as ingest_module
from podium.usage import synthetic as syn
from podium.usage.adapters.claude import encode_cwd
from podium.usage.history import GROUP_BYS, LocalClock, usage_history
from podium.usage.history_scan import plan_series, scan
from podium.usage.queries import default_prices
from podium.usage.records import parse_record, write_records

SONNET4 = "claude-sonnet-4-20250514"  # a long-context tier above 200k input
MODELS = [SONNET, OPUS, SONNET4, "gpt-4.1", "model-nobody-prices"]
# (cwd, session): an agent's session, a cwd in an agent's worktree, no agent at all
PLACES = [("/seed/wt/alpha", "s-alpha"), ("/seed/wt/beta/sub", "s-beta"),
          ("/home/ana/shop", "s-shop"), ("/home/ana/shop", "s-shop-2")]  # fmt: skip
# instants that matter: Paris' DST changes, quarter-hour edges, midnights of the zones off the
# hour (Kolkata +5:30 → 18:30Z, Kathmandu +5:45 → 18:15Z, St John's -3:30/-2:30)
EDGES = ["2026-03-29T00:59:59.999", "2026-03-29T01:00", "2026-03-29T01:14:59.999",
         "2026-03-28T18:29:59.999", "2026-03-28T18:30", "2026-03-28T18:14:59.999",
         "2026-03-28T18:15", "2026-03-29T02:29:59.999", "2026-03-29T02:30",
         "2026-10-25T00:59:59.999", "2026-10-25T01:00", "2026-10-25T01:59:59.999",
         "2026-10-24T22:00", "2026-10-24T23:00", "2026-03-30T23:59:59.999"]  # fmt: skip
SPRING = ("2026-03-27", "2026-03-31")
AUTUMN = ("2026-10-23", "2026-10-27")
ZONES = ["UTC", "Europe/Paris", "Asia/Kolkata", "Asia/Kathmandu", "America/St_Johns"]


def _requests(rng: random.Random, n: int) -> list[tuple[int, str, tuple[int, int, int, int], int,
                                                        float | None]]:  # fmt: skip
    """(ts, model, (input, output, cache write, cache read), cache 1h, logged cost)."""
    times = [ms(e) for e in EDGES]
    for lo, _hi in (SPRING, AUTUMN):
        start = ms(f"{lo}T00:00") - 86_400_000
        times += [start + rng.randrange(6 * 86_400_000) for _ in range(n)]
    out = []
    for ts in times:
        big = rng.random() < 0.2
        tokens = (rng.randrange(1, 5000), rng.randrange(1, 3000), rng.randrange(0, 9000),
                  rng.randrange(150_000, 300_000) if big else rng.randrange(0, 90_000))  # fmt: skip
        one_hour = rng.randrange(0, tokens[2] + 1) if rng.random() < 0.3 else 0
        # logged costs are multiples of 1/1024: their sums are exact in any order
        logged = rng.randrange(1, 4000) / 1024 if rng.random() < 0.15 else None
        out.append((ts, rng.choice(MODELS), tokens, one_hour, logged))
    return out


def _write(claude: Path, cwd: str, session: str, requests: list, *, mode: str = "ab") -> Path:
    path = claude / "projects" / encode_cwd(cwd) / f"{session}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open(mode) as fh:
        for ts, model, (i, o, cw, cr), one_hour, logged in requests:
            usage = syn.usage_dict(i, o, cw, cr, cache_1h=one_hour)
            lines = syn.assistant_lines(session, cwd, ts, model, usage, streaming=False)
            if logged is not None:
                lines[-1]["costUSD"] = logged
            for line in lines:
                fh.write(syn.dumps(line))
    return path


def _logged_records(store: Store, rng: random.Random) -> None:
    """Usage logged through podium/logUsage: no session, and no cwd or project for some."""
    records = []
    for n in range(40):
        ts = ms("2026-03-28T00:00") + rng.randrange(4 * 86_400_000)
        raw = {"id": f"rec-{n}", "timestamp": ts, "provider": "openai", "model": "gpt-4.1",
               "inputTokens": rng.randrange(1, 9000), "outputTokens": rng.randrange(1, 900)}
        if n % 3 == 0:
            raw["cwd"] = "/seed/wt/alpha/tools"
        if n % 4 == 0:
            raw["costUSD"] = rng.randrange(1, 99) / 256
        records.append(parse_record(raw, via="request"))
    with store.transaction() as conn:
        write_records(conn, records)


def _plan_figures(store: Store, rng: random.Random) -> None:
    base = ms("2026-03-28T17:00") / 1000
    for n in range(300):
        at = base + n * 97 + rng.random()
        source = ("official", "oauth", "estimate")[n % 3]
        window = ("five_hour", "seven_day")[n % 2]
        pct = float(rng.randrange(0, 40)) + (50 if n % 50 == 0 else 0)  # ties and peaks
        plans.record_snapshots(store, source, [plans.Figure(window, pct, at + 3600)], now=at)


def _assert_sums_match_rows(store: Store) -> None:
    kept = store.conn.execute("SELECT * FROM history_buckets ORDER BY 1, 2, 3, 4, 5, 6, 7").fetchall()
    assert kept == store.conn.execute(HISTORY_FROM_ENTRIES).fetchall()
    # (the report buckets' triggers leave emptied buckets behind, at zero)
    report = store.conn.execute("SELECT * FROM usage_buckets WHERE n != 0 ORDER BY 1, 2, 3, 4").fetchall()
    assert report == store.conn.execute(
        f"SELECT ts / 900000, COALESCE(model, ''), {long_level()}, cost_logged IS NOT NULL, "
        "SUM(input), SUM(output), SUM(cache_create), SUM(cache_read), SUM(COALESCE(cache_1h, 0)), "
        "SUM(COALESCE(cost_logged, 0)), COUNT(*) FROM entries GROUP BY 1, 2, 3, 4").fetchall()
    steps = store.conn.execute("SELECT window, step, n, ts, used_pct, source FROM plan_steps "
                               "ORDER BY 1, 2, 3").fetchall()  # fmt: skip
    expected = []
    for step in (900, 3600):
        rows = store.conn.execute(
            "SELECT window, ts, used_pct, source FROM plan_snapshots WHERE source IN "
            "('official', 'oauth') ORDER BY window, ts, id").fetchall()  # fmt: skip
        best: dict[tuple, list] = {}
        for window, ts, pct, source in rows:
            key = (window, step, int(ts // step))
            got = best.setdefault(key, [window, step, key[2], ts, pct, source])
            if pct > got[4]:
                got[4], got[5] = pct, source
        expected += [tuple(v) for v in best.values()]
    assert steps == sorted(expected)


def _assert_same_answers(store: Store) -> None:
    now = ms("2026-11-01T00:00") / 1000
    for since, until in (SPRING, AUTUMN):
        for tz in ZONES:
            for group_by in GROUP_BYS:
                kw = {"since": since, "until": until, "tz": tz, "group_by": group_by, "now": now}
                fast = usage_history(store, **kw)
                assert fast == usage_history(store, rollups=False, **kw), kw
            for day in (since, until):
                kw = {"since": day, "until": day, "tz": tz, "bucket": "hour", "group_by": "agent",
                      "now": now}  # fmt: skip
                assert usage_history(store, **kw) == usage_history(store, rollups=False, **kw), kw
    # what the insights read: UTC days over a range that starts and ends inside quarter hours
    prices = default_prices()
    lo, hi = ms("2026-03-28T18:07:13.5"), ms("2026-10-25T01:52:00.001")
    key = lambda ts: f"({ts}) / 86400000"  # noqa: E731
    fast = scan(store, prices, lo, hi, key)
    assert fast == scan(store, prices, lo, hi, key, rollups=False)
    assert len(fast) > 10
    for step in (900, 3600):
        lo, hi = ms("2026-03-28T17:15"), ms("2026-03-29T02:00")
        assert plan_series(store, lo, hi, step) == plan_series(store, lo, hi, step, rollups=False)
        odd = (lo + 1_800_000, hi - 1)  # not on whole steps: quarter sums or the snapshots
        assert plan_series(store, *odd, step) == plan_series(store, *odd, step, rollups=False)


@pytest.fixture
def built(tmp_path: Path) -> tuple[Store, Path, random.Random]:
    rng = random.Random(17)
    claude = tmp_path / "claude"
    requests = _requests(rng, 150)
    for n, req in enumerate(requests):
        cwd, session = PLACES[n % len(PLACES)]
        _write(claude, cwd, session, [req])
    store = Store(tmp_path / "podium.db")
    ingest(store, claude)
    _logged_records(store, rng)
    _plan_figures(store, rng)
    t0 = ms("2026-03-01T00:00") / 1000
    add_agent(store, "ag-alpha", "alpha", worktree="/seed/wt/alpha", session="s-alpha",
              started_at=t0)  # fmt: skip
    add_agent(store, "ag-beta", "beta", worktree="/seed/wt/beta", session=None, started_at=t0,
              source="api")  # fmt: skip
    return store, claude, rng


def test_sums_answer_like_the_rows(built) -> None:
    store, _claude, _rng = built
    assert store.conn.execute("SELECT COUNT(*) FROM history_buckets").fetchone()[0] > 100
    _assert_sums_match_rows(store)
    _assert_same_answers(store)
    spring = usage_history(store, since=SPRING[0], until=SPRING[1], tz="Europe/Paris")
    assert spring["totals"]["messages"] > 100 and len(spring["plan"]) > 10


def test_still_the_same_after_rewrites_replacements_and_the_archive(built) -> None:
    store, claude, rng = built
    # a transcript rewritten in place: read again from 0, its old entries go
    shop = claude / "projects" / encode_cwd("/home/ana/shop") / "s-shop.jsonl"
    before = store.conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0]
    _write(claude, "/home/ana/shop", "s-shop", _requests(rng, 3)[:20], mode="wb")
    assert shop.exists()
    ingest(store, claude)
    assert store.conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0] != before
    # a message seen again with more output: the stored entry is replaced (an UPDATE)
    path = claude / "projects" / encode_cwd("/seed/wt/alpha") / "s-alpha.jsonl"
    first = syn.assistant_lines("s-alpha", "/seed/wt/alpha", ms("2026-03-29T01:00"), SONNET,
                                syn.usage_dict(10, 10), streaming=False)[0]  # fmt: skip
    with path.open("ab") as fh:
        fh.write(syn.dumps(first))
    ingest(store, claude)
    bigger = dict(first, message=dict(first["message"], usage=syn.usage_dict(10, 5000)))
    with path.open("ab") as fh:
        fh.write(syn.dumps(bigger))
    ingest(store, claude)
    out = store.conn.execute("SELECT output FROM entries WHERE message_id = ?",
                             (first["message"]["id"],)).fetchone()  # fmt: skip
    assert out == (5000,)
    _assert_sums_match_rows(store)
    _assert_same_answers(store)
    # the archive moves the spring out: its buckets go with it, none left empty
    kw = {"since": SPRING[0], "until": SPRING[1], "tz": "Europe/Paris", "group_by": "agent",
          "now": ms("2026-11-01T00:00") / 1000}  # fmt: skip
    spring = usage_history(store, **kw)
    archive(store, ms("2026-04-01T00:00"))
    assert usage_history(store, **kw)["totals"]["messages"] == 0
    with include_archives(store) as archives:  # the store and its archives read as one
        assert archives == 1
        assert usage_history(store, **kw) == spring
    assert store.conn.execute("SELECT COUNT(*) FROM history_buckets WHERE n = 0").fetchone() == (0,)
    assert store.conn.execute("SELECT COUNT(*) FROM history_buckets WHERE bucket < ?",
                              (ms("2026-04-01T00:00") // 900_000,)).fetchone() == (0,)  # fmt: skip
    _assert_sums_match_rows(store)
    _assert_same_answers(store)
    # deleted plan figures: their steps are recomputed from what is left
    with store.transaction() as conn:
        conn.execute("DELETE FROM plan_snapshots WHERE id % 4 = 0")
        conn.execute("UPDATE plan_snapshots SET used_pct = used_pct + 7 WHERE id % 5 = 0")
    _assert_sums_match_rows(store)


def test_a_first_bulk_load_builds_the_sums_and_keeps_the_triggers(tmp_path: Path,
                                                                  monkeypatch) -> None:  # fmt: skip
    rng = random.Random(5)
    claude = tmp_path / "claude"
    for n, req in enumerate(_requests(rng, 40)):
        cwd, session = PLACES[n % len(PLACES)]
        _write(claude, cwd, session, [req])
    monkeypatch.setattr(ingest_module, "BULK_BYTES", 1)  # this small corpus takes the bulk path
    store = Store(tmp_path / "podium.db")
    ingest(store, claude)
    again = Store(tmp_path / "again.db")
    monkeypatch.setattr(ingest_module, "BULK_BYTES", 1 << 40)  # row by row, through the triggers
    written = ingest_module.Ingestor(again, claude_config_dirs=[str(claude)]).run().entries_written
    # the entries written, not the rows the triggers wrote besides
    assert written == again.conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0] > 40
    assert again.conn.execute(HISTORY_FROM_ENTRIES).fetchall() == \
        store.conn.execute("SELECT * FROM history_buckets ORDER BY 1, 2, 3, 4, 5, 6, 7").fetchall()
    triggers = {r[0] for r in store.conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'entries'")}  # fmt: skip
    assert {"entries_history_insert", "entries_history_delete", "entries_history_update"} <= triggers
    assert store.conn.execute("SELECT COUNT(*) FROM history_buckets").fetchone()[0] > 10
    _assert_sums_match_rows(store)


def test_a_migration_builds_the_sums_of_an_existing_store(tmp_path: Path) -> None:
    rng = random.Random(9)
    claude = tmp_path / "claude"
    for n, req in enumerate(_requests(rng, 30)):
        cwd, session = PLACES[n % len(PLACES)]
        _write(claude, cwd, session, [req])
    new = Store(tmp_path / "new.db")
    ingest(new, claude)
    _plan_figures(new, rng)
    rows = new.conn.execute("SELECT * FROM entries").fetchall()
    snapshots = new.conn.execute("SELECT * FROM plan_snapshots").fetchall()
    new.close()
    old = tmp_path / "v11.db"
    conn = sqlite3.connect(old, isolation_level=None)
    for target, script in MIGRATIONS:
        if target > 11:
            break
        conn.executescript(f"BEGIN;\n{script}\n;PRAGMA user_version = {target};\nCOMMIT;")
    conn.executemany(f"INSERT INTO entries VALUES ({', '.join('?' * len(rows[0]))})", rows)
    conn.executemany(f"INSERT INTO plan_snapshots VALUES ({', '.join('?' * 7)})", snapshots)
    conn.close()
    store = Store(old)
    assert store.schema_version >= 12
    assert store.conn.execute("SELECT COUNT(*) FROM history_buckets").fetchone()[0] > 10
    _assert_sums_match_rows(store)


def test_a_zone_off_the_quarter_hour_reads_the_rows(tmp_path: Path) -> None:
    # Monrovia was 44 min 30 s behind UTC until 1972-01-07: its days are no union of buckets
    zone = concrete_tz(resolve_tz("Africa/Monrovia"))
    lo, hi = date_range_ms(date(1972, 1, 1), date(1972, 1, 10), zone)
    assert lo is not None and hi is not None
    assert not LocalClock(zone, lo, hi).aligned
    assert LocalClock(concrete_tz(resolve_tz("Asia/Kathmandu")), *date_range_ms(
        date(2026, 3, 1), date(2026, 3, 9), resolve_tz("Asia/Kathmandu"))).aligned  # fmt: skip
    claude = tmp_path / "claude"
    # local midnight there is 00:44:30Z: the first belongs to the 3rd, though its quarter hour
    # began on the 2nd
    _write(claude, "/home/ana/shop", "s-old", [
        (ms("1972-01-03T00:44:40"), SONNET, (50, 5, 0, 0), 0, None),
        (ms("1972-01-06T23:50"), SONNET, (100, 10, 0, 0), 0, None),
        (ms("1972-01-07T00:50"), SONNET, (200, 20, 0, 0), 0, None)])  # fmt: skip
    store = Store(tmp_path / "podium.db")
    ingest(store, claude)
    kw = {"since": "1972-01-01", "until": "1972-01-10", "tz": "Africa/Monrovia",
          "now": ms("1972-02-01T00:00") / 1000}  # fmt: skip
    got = usage_history(store, **kw)
    assert got == usage_history(store, rollups=False, **kw)
    assert [(c["bucket"], c["messages"]) for c in got["series"]] == [
        ("1972-01-03", 1), ("1972-01-06", 1), ("1972-01-07", 1)]  # fmt: skip
