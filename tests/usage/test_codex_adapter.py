"""The Codex CLI adapter on the files the real CLI wrote (tests/fixtures/codex_real) and on
generated ones: every model call once (replayed parent lines in spawned threads, repeated
events, archived copies), facts recovered mid-file, plan figures, a large corpus."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from tests.other_clis.cli import CODEX_CHILD, CODEX_MODEL, CODEX_PARENT, PLAN_PRIMARY
from tests.usage.cli_logs import (
    CODEX_REAL,
    Call,
    CodexThread,
    codex_corpus,
    codex_real_files,
    iso,
    sums,
)

from podium.store import Store
from podium.usage.adapters.codex import UNKNOWN_MODEL, CodexAdapter
from podium.usage.ingest import Ingestor

T0 = 1_790_000_000_000


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "codex"


def ingest(store: Store, home: Path, adapter: CodexAdapter | None = None):
    return Ingestor(store, [adapter or CodexAdapter([str(home)])]).run()


def real_expected() -> tuple[int, int, int, int]:
    calls = [*CODEX_PARENT, CODEX_CHILD]
    return (len(calls), sum(c.input - c.cached for c in calls), sum(c.cached for c in calls),
            sum(c.output for c in calls))  # fmt: skip


def test_the_real_files_give_each_call_once(store: Store, home: Path) -> None:
    shutil.copytree(CODEX_REAL / "sessions", home / "sessions")
    adapter = CodexAdapter([str(home)])
    result = ingest(store, home, adapter)
    assert result.malformed == result.out_of_range == 0
    assert sums(store) == real_expected()
    parent, _child = codex_real_files()
    thread = parent.name[-len("01a220bb-5d8d-7003-a5fe-afeb1f74e079.jsonl"):-6]
    assert store.conn.execute("SELECT COUNT(*) FROM entries WHERE session_id = ?",
                              (thread,)).fetchone()[0] == len(CODEX_PARENT)  # fmt: skip
    assert {r[0] for r in store.conn.execute("SELECT DISTINCT model FROM entries")} == {
        CODEX_MODEL}
    plans = {f.window: f.used_pct for f in adapter.take_plan_figures()}
    assert plans["five_hour"] == PLAN_PRIMARY and adapter.take_plan_figures() == []


def test_read_in_pieces_by_a_new_process_each_time(store: Store, home: Path) -> None:
    parent, _child = codex_real_files()
    data = parent.read_bytes()
    target = home / "sessions" / parent.name
    target.parent.mkdir(parents=True)
    for cut in range(0, len(data), 997):  # ends mid-line most of the time
        with open(target, "ab") as fh:
            fh.write(data[cut:cut + 997])
        ingest(store, home)  # a fresh adapter: it learns the model and cwd from the head
    rows = store.conn.execute("SELECT model, cwd FROM entries").fetchall()
    assert len(rows) == len(CODEX_PARENT)
    assert {r[0] for r in rows} == {CODEX_MODEL} and None not in {r[1] for r in rows}


def test_replayed_parent_lines_and_repeated_events_count_once(store: Store, home: Path) -> None:
    parent = CodexThread().meta(T0).turn(T0)
    for n in range(3):
        parent.call(T0 + 1000 * n, Call(1000 * (n + 1), 100, 10 * (n + 1)))
    parent.lines.append(parent.lines[-1])  # Codex emitting one token_count twice
    parent.write(home, T0)
    for stamp in (T0 + 9000, None):  # replayed re-stamped, and with the original times
        child = CodexThread(parent=parent.thread).meta(T0 + 9000)
        child.lines += [line if stamp is None else dict(line, timestamp=iso(stamp))
                        for line in parent.lines]  # fmt: skip
        child.turn(T0 + 9500).call(T0 + 10_000, Call(77, 0, 7))
        child.write(home, T0 + 9000 + (0 if stamp else 1000))
    ingest(store, home)
    assert sums(store) == (5, 900 + 1900 + 2900 + 77 + 77, 300, 60 + 14)


def test_archived_copies_and_events_without_a_last_call(store: Store, home: Path) -> None:
    thread = CodexThread().meta(T0).turn(T0).call(T0 + 1, Call(500, 0, 5))
    second = thread.call(T0 + 2, Call(300, 0, 3)).lines[-1]
    del second["payload"]["info"]["last_token_usage"]  # older versions: the running sum only
    thread.lines.append({"timestamp": thread.lines[-1]["timestamp"], "type": "event_msg",
                         "payload": {"type": "token_count", "info": None,
                                     "rate_limits": None}})  # a rate-limit update alone
    thread.write(home, T0)
    thread.write(home, T0, sub="archived_sessions")  # `codex` archived it: the same lines
    ingest(store, home)
    assert sums(store) == (2, 800, 0, 8)


def test_a_call_before_any_turn_context_is_flagged_not_free(store: Store, home: Path) -> None:
    CodexThread().meta(T0).call(T0 + 1, Call(500, 0, 5)).write(home, T0)
    ingest(store, home)
    from podium.usage.queries import totals

    assert totals(store).unpriced_models == [UNKNOWN_MODEL]


def test_bad_numbers_are_counted_and_the_rest_kept(store: Store, home: Path) -> None:
    thread = CodexThread().meta(T0).turn(T0).call(T0 + 1, Call(500, 0, 5))
    thread.call(T0 + 2, Call(700, 0, 7)).lines[-1]["payload"]["info"]["last_token_usage"][
        "output_tokens"] = -4  # fmt: skip
    thread.call(T0 + 3, Call(900, 0, 9)).write(home, T0)
    result = ingest(store, home)
    assert result.out_of_range == 1 and sums(store) == (2, 1400, 0, 14)


def test_a_large_generated_corpus(tmp_path: Path, home: Path) -> None:
    fresh, cached, output = codex_corpus(home, sessions=300, calls=40, seed=7, t0=T0)
    with Store(tmp_path / "big.db") as store:
        result = ingest(store, home)
        assert result.malformed == 0
        _n, i, c, o = sums(store)
        assert (i, c, o) == (fresh, cached, output)
        assert ingest(store, home).entries_written == 0
