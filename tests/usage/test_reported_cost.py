"""Claude Code's own cost next to Podium's, on transcripts the real CLI 2.1.328 wrote
(tests/fixtures/claude_real/, see its README), with both log readers."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from podium.store import Store
from podium.usage import price_gen
from podium.usage.adapters.claude import ClaudeCodeAdapter
from podium.usage.ingest import Ingestor
from podium.usage.pricing import PriceTable
from podium.usage.queries import totals
from podium.usage.reported import (
    ReportedCost,
    from_result_event,
    record_reported_cost,
    reported_cost,
    reported_costs,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
REAL = FIXTURES / "claude_real"
FOLDERS = sorted(p.name for p in REAL.iterdir() if (p / "scenario.json").is_file())

pytestmark = pytest.mark.usefixtures("scanner")


def _scenario(folder: str) -> dict:
    return json.loads((REAL / folder / "scenario.json").read_text())


def _transcript(folder: str) -> Path:
    (path,) = (REAL / folder / "projects").glob("*/*.jsonl")
    return path


def _cost_state(folder: str) -> dict:
    lines = [json.loads(x) for x in _transcript(folder).read_text().splitlines()]
    (state,) = [x for x in lines if x.get("type") == "cost-state"]
    return state


@pytest.fixture
def prices(monkeypatch, tmp_path) -> PriceTable:
    monkeypatch.delenv("PODIUM_PRICES", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return PriceTable.load()


def test_the_real_fixtures_cover_the_two_default_models_and_the_price_paths():
    models = {_scenario(f)["model"] for f in FOLDERS}
    assert {"claude-opus-5-5", "claude-sonnet-5-5", "claude-haiku-5-5"} <= models
    assert len(FOLDERS) >= 6


@pytest.mark.parametrize("folder", FOLDERS)
def test_podium_cost_equals_claude_codes_own_total(tmp_path, prices, folder):
    scenario = _scenario(folder)
    state = _cost_state(folder)
    results = [json.loads(x) for x in (REAL / folder / "results.jsonl").read_text().splitlines()]
    session = scenario["session_id"]
    with Store(tmp_path / "db.sqlite") as store:
        result = Ingestor(store, [ClaudeCodeAdapter([str(REAL / folder)])]).run()
        assert result.skipped == 0 and session in result.sessions
        got = totals(store, session_ids=[session], prices=prices)
        figure = reported_cost(store, session)
    # tokens: one entry per request although the CLI logs one line per content block
    replies = [r["usage"] for t in scenario["turns"] for r in t["replies"] if "usage" in r]
    assert got.messages == len(replies)
    assert got.input == sum(u["input_tokens"] for u in replies)
    assert got.output == sum(u["output_tokens"] for u in replies)
    assert got.cache_create == sum(u["cache_5m"] + u["cache_1h"] for u in replies)
    assert got.cache_read == sum(u["cache_read"] for u in replies)
    # Claude Code's own figure, as the transcript and the stream both say
    assert figure is not None and figure.source == "cost-state"
    assert figure.cost_usd == pytest.approx(state["totalCostUSD"], rel=1e-12)
    assert figure.cost_usd == pytest.approx(results[-1]["total_cost_usd"], rel=1e-12)
    assert figure.models == {m: u["costUSD"] for m, u in state["modelUsage"].items()}
    # …and Podium's, within 0.5% (in fact to the micro-dollar)
    assert got.cost_usd == pytest.approx(state["totalCostUSD"], rel=0.005)
    assert got.cost_usd == pytest.approx(state["totalCostUSD"], abs=1e-6)
    if scenario["model"] == "claude-opus-9-9":  # nobody's table knows it
        assert figure.unknown_cost and got.reported_usd == pytest.approx(figure.cost_usd)
        assert got.unpriced_models == ["claude-opus-9-9"]
    else:
        assert got.reported_usd == 0.0 and got.unpriced_models == []


def test_api_request_lines_are_never_stored(tmp_path):
    db = tmp_path / "db.sqlite"
    with Store(db) as store:
        Ingestor(store, [ClaudeCodeAdapter([str(REAL)])]).run()  # every fixture at once
        store.checkpoint("TRUNCATE")
    secrets = set()
    for folder in FOLDERS:
        for line in _transcript(folder).read_text().splitlines():
            obj = json.loads(line)
            if obj["type"].startswith("api-request"):
                secrets.update(v for k, v in obj.items()
                               if k in ("shapeHash", "hash", "id", "requestDigest")
                               and isinstance(v, str))  # fmt: skip
    assert len(secrets) >= 10
    dump = "\n".join(sqlite3.connect(db).iterdump())
    assert "api-request" not in dump and "cost-state" in dump  # the figure's source name only
    assert not [s for s in secrets if s in dump]


def _lines(folder: str) -> list[bytes]:
    return [x + b"\n" for x in _transcript(folder).read_bytes().splitlines()]


def _write(corpus, folder: str, lines: list[bytes], mode: str = "ab") -> Path:
    return corpus.write(_transcript(folder).name, lines, project="-real", mode=mode)


def test_the_figure_arrives_when_the_process_exits_and_a_resume_raises_it(corpus, prices):
    folder = "opus-5-5-api-key"
    session = _scenario(folder)["session_id"]
    lines = _lines(folder)
    cut = next(i for i, x in enumerate(lines) if b'"cost-state"' in x)
    _write(corpus, folder, lines[:cut])  # the session is still running
    corpus.ingest()
    assert reported_cost(corpus.store, session) is None
    _write(corpus, folder, lines[cut:])  # the process exited
    assert session in corpus.ingest().sessions
    assert reported_cost(corpus.store, session).cost_usd == pytest.approx(0.074612)
    state = json.loads(lines[cut])
    for total, kept in ((0.09, 0.09), (0.05, 0.09)):  # a resumed session's total, then an older
        state["totalCostUSD"] = total
        state["modelUsage"]["claude-opus-5-5"]["costUSD"] = total
        _write(corpus, folder, [json.dumps(state).encode()])
        corpus.ingest()
        assert reported_cost(corpus.store, session).cost_usd == pytest.approx(kept)


@pytest.mark.parametrize("bad", [
    b'{"type":"cost-state","sessionId":"s-1","totalCostUSD":"12"}',
    b'{"type":"cost-state","sessionId":"s-1","totalCostUSD":-1}',
    b'{"type":"cost-state","sessionId":"s-1","totalCostUSD":1e308}',
    b'{"type":"cost-state","totalCostUSD":1}',
    b'{"type":"cost-state","sessionId":"s-1","totalCostUSD":1,"modelUsage":{"m":{"costUSD":NaN}}}',
    b'{"type":"cost-state","sessionId":"s-1","totalCostUSD":1,"modelUsage":{"m":{"costUSD":true}}}',
    b'{"type":"cost-state", "sessionId":"s-1", "totalCostUSD":1',
])  # fmt: skip
def test_a_bad_cost_line_is_ignored_and_loses_nothing(corpus, bad):
    folder = "sonnet-5-5-oauth"
    lines = [x for x in _lines(folder) if b'"cost-state"' not in x]
    _write(corpus, folder, [*lines, bad])
    result = corpus.ingest()
    assert result.errors == [] and result.entries_parsed > 0
    assert reported_costs(corpus.store) == {}
    replies = [r for t in _scenario(folder)["turns"] for r in t["replies"] if "usage" in r]
    assert corpus.totals()[0] == len(replies) == 3  # the usage still counts


def test_a_replaced_transcript_takes_its_figure_with_it(corpus):
    folder = "sonnet-5-5-oauth"
    session = _scenario(folder)["session_id"]
    path = _write(corpus, folder, _lines(folder))
    corpus.ingest()
    assert reported_cost(corpus.store, session) is not None
    path.unlink()
    _write(corpus, folder, [x for x in _lines(folder) if b'"cost-state"' not in x])
    corpus.ingest()
    assert reported_cost(corpus.store, session) is None


def test_a_model_without_a_price_costs_claude_codes_own_figure(corpus, tmp_path):
    # a table generated without the supplement does not know claude-fable-5-2
    data, info = price_gen.read_source(str(FIXTURES / "litellm" / "model_prices_small.json"))
    table = tmp_path / "prices.json"
    price_gen.write_table(price_gen.convert(data, info, supplement=None), str(table))
    bare = PriceTable(json.loads(table.read_text()), str(table))
    folder = "prices-fable-5-2"
    session = _scenario(folder)["session_id"]
    _write(corpus, folder, _lines(folder))
    corpus.ingest()
    state = _cost_state(folder)
    got = totals(corpus.store, session_ids=[session], prices=bare)
    assert got.cost_usd == pytest.approx(state["totalCostUSD"])
    assert got.reported_usd == pytest.approx(state["totalCostUSD"]) and got.unpriced_models == []
    assert totals(corpus.store, session_ids=[session], prices=bare,
                  cost_mode="calculate").unpriced_models == ["claude-fable-5-2"]  # fmt: skip
    # part of the session: its share of the figure, by tokens
    first_ts = corpus.store.conn.execute("SELECT MIN(ts), MAX(ts) FROM entries").fetchone()
    part = totals(corpus.store, session_ids=[session], prices=bare, until_ms=first_ts[1])
    share = part.input + part.output + part.cache_create + part.cache_read
    assert 0 < part.reported_usd < got.reported_usd
    assert part.reported_usd == pytest.approx(
        state["totalCostUSD"] * share / (got.input + got.output + got.cache_create + got.cache_read)
    )
    # without any figure the model is named, never silently $0
    corpus.store.conn.execute("DELETE FROM session_costs")
    lost = totals(corpus.store, session_ids=[session], prices=bare)
    assert lost.cost_usd == 0.0 and lost.unpriced_models == ["claude-fable-5-2"]


def test_the_stream_result_event_is_kept_as_the_sessions_figure(tmp_path):
    results = [json.loads(x) for x in
               (REAL / "opus-5-5-api-key" / "results.jsonl").read_text().splitlines()]  # fmt: skip
    with Store(tmp_path / "db.sqlite") as store:
        for event in results:  # cumulative: turn 1, then the session so far
            record_reported_cost(store, from_result_event(event))
            figure = reported_cost(store, event["session_id"])
            assert figure.source == "result"
            assert figure.cost_usd == pytest.approx(event["total_cost_usd"])
        assert figure.models == {"claude-opus-5-5": pytest.approx(0.074612)}
        # the transcript's cost-state (same figure) replaces it when ingest sees it
        Ingestor(store, [ClaudeCodeAdapter([str(REAL / "opus-5-5-api-key")])]).run()
        assert reported_cost(store, results[0]["session_id"]).source == "cost-state"
    assert from_result_event({"type": "assistant"}) is None
    with pytest.raises(ValueError):
        ReportedCost("s", float("inf"), {}, "result")


def test_doctor_lists_unpriced_models_and_what_covers_them(tmp_path, monkeypatch, capsys):
    from podium.cli import main
    from podium.usage.reported import unpriced_summary

    monkeypatch.delenv("PODIUM_PRICES", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    db = tmp_path / "db.sqlite"
    roots = [f"--claude-config-dir={REAL / f}" for f in ("prices-unknown-model", "prices-fable-5-2")]
    assert main(["doctor", "--db", str(db), *roots, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["unknownModels"] == ["claude-opus-9-9"]  # the bundled table prices fable-5-2
    (row,) = report["unpricedModels"]
    assert row == {"model": "claude-opus-9-9", "entries": 2, "sessions": 1,
                   "sessionsWithReportedCost": 0, "reportedUSD": 0.0}  # a guess is no cover
    assert main(["doctor", "--db", str(db), "--no-ingest"]) == 0
    assert "unpriced     claude-opus-9-9: 2 entries in 1 session; no figure" in capsys.readouterr().out
    # with a table that lacks fable-5-2, Claude Code's own figure covers it
    data, info = price_gen.read_source(str(FIXTURES / "litellm" / "model_prices_small.json"))
    bare = PriceTable(price_gen.convert(data, info, supplement=None), "bare")
    with Store(db) as store:
        rows = {r["model"]: r for r in unpriced_summary(store, bare)}
    assert rows["claude-fable-5-2"]["sessionsWithReportedCost"] == 1
    assert rows["claude-fable-5-2"]["reportedUSD"] == pytest.approx(_cost_state("prices-fable-5-2")["totalCostUSD"])


@pytest.mark.parametrize("folder", ["prices-haiku-5-5-long", "prices-opus-5-5-long"])
def test_daily_reports_from_the_buckets_price_long_requests_like_claude_code(tmp_path, prices,
                                                                              folder):  # fmt: skip
    from podium.usage import reports

    with Store(tmp_path / "db.sqlite") as store:
        Ingestor(store, [ClaudeCodeAdapter([str(REAL / folder)])]).run()
        q = reports.ReportQuery(store, timezone="UTC", prices=prices)
        assert q.buckets is not None  # the 15-minute sums, not the entries
        daily = reports.daily(q)
    assert daily["totals"]["totalCost"] == pytest.approx(_cost_state(folder)["totalCostUSD"])


def test_a_user_table_with_another_long_context_line_prices_from_the_entries(tmp_path):
    from podium.metrics.aggregate import _range_cost
    from podium.usage import reports

    folder = "prices-haiku-5-5-long"
    user = tmp_path / "prices.json"
    ones = dict.fromkeys(("input", "output", "cacheWrite5m", "cacheWrite1h", "cacheRead"), 1)
    twos = {k: 2 for k in ones}
    user.write_text(json.dumps({"models": {"claude-haiku-5-5": {
        **ones, "longContext": {"thresholdInputTokens": 121_000, **twos}}}}))  # fmt: skip
    table = PriceTable.load(user)
    assert 121_000 in table.breakpoints
    with Store(tmp_path / "db.sqlite") as store:
        Ingestor(store, [ClaudeCodeAdapter([str(REAL / folder)])]).run()
        q = reports.ReportQuery(store, timezone="UTC", prices=table)
        assert q.buckets is None  # the 15-minute sums do not split at 121k
        got = reports.daily(q)["totals"]["totalCost"]
        day = 86_400_000
        lo = store.conn.execute("SELECT MIN(ts) FROM entries").fetchone()[0] // day * day
        metrics = _range_cost(store, table, lo, lo + day)
    # turn 1 (121.5k input side) is past the line: all of it at 2; turn 2 (62k) at 1
    turn1 = 92_000 + 640 + 24_000 + 3_000 + 2_500
    turn2 = 1_200 + 40 + 60_000 + 800
    assert got == pytest.approx((2 * turn1 + turn2) / 1e6)
    assert metrics == pytest.approx(got)
