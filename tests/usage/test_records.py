"""The logged-record shape (podium.usage.records): validation per field, kinds, pricing of
local and unknown models, and what reaches the store (never the prompt)."""

from __future__ import annotations

import pytest

from podium.usage.queries import totals
from podium.usage.records import RecordError, parse_record, write_records

T = 1_790_000_000_000


def llm(**fields):
    return {"agent": "brunel", "provider": "openai", "model": "gpt-4o", "inputTokens": 1000,
            "outputTokens": 500, "timestamp": T, **fields}  # fmt: skip


def test_seed_fields_are_kept_and_the_kind_follows_the_call() -> None:
    rec = parse_record(llm(taskType="build", taskDescription="Building the dashboard",
                           cacheReadTokens=50_000, durationMs=8500, sessionKey="s-1",
                           id="call-1"), via="request")  # fmt: skip
    assert (rec.kind, rec.agent, rec.provider, rec.model, rec.task_type) == (
        "llm", "brunel", "openai", "gpt-4o", "build")
    assert (rec.input, rec.output, rec.cache_read, rec.duration_ms, rec.session_key) == (
        1000, 500, 50_000, 8500, "s-1")
    assert rec.key == "log:call-1" and rec.ts == T and rec.status == "success"
    api = parse_record({"agent": "scout", "service": "serpapi", "endpoint": "/search?q=x&key=1",
                        "statusCode": 503, "durationMs": 1200}, via="cli")  # fmt: skip
    assert (api.kind, api.service, api.endpoint, api.status_code) == (
        "api", "serpapi", "/search", 503)
    assert api.status == "error"  # a 5xx is an error unless said otherwise


@pytest.mark.parametrize(("fields", "field"), [
    ({"inputTokens": -1}, "inputTokens"),
    ({"outputTokens": 1.5}, "outputTokens"),
    ({"outputTokens": True}, "outputTokens"),
    ({"cacheReadTokens": 2_000_000_000}, "cacheReadTokens"),
    ({"model": None}, "model"),
    ({"model": 7}, "model"),
    ({"kind": "sql"}, "kind"),
    ({"timestamp": "yesterday"}, "timestamp"),
    ({"timestamp": 9e15}, "timestamp"),
    ({"costUSD": -2}, "costUSD"),
    ({"costUSD": float("nan")}, "costUSD"),
    ({"durationMs": "fast"}, "durationMs"),
    ({"agent": "a\x00b"}, "agent"),
    ({"taskDescription": "\ud800"}, "taskDescription"),
    ({"id": ""}, "id"),
])  # fmt: skip
def test_a_bad_field_is_named(fields: dict, field: str) -> None:
    with pytest.raises(RecordError) as err:
        parse_record(llm(**fields), via="request")
    assert err.value.field == field


def test_api_calls_need_a_service_and_a_real_status_code() -> None:
    with pytest.raises(RecordError) as err:
        parse_record({"kind": "api", "endpoint": "/x"}, via="request")
    assert err.value.field == "service"
    with pytest.raises(RecordError) as err:
        parse_record({"kind": "api", "service": "s", "statusCode": 42}, via="request")
    assert err.value.field == "statusCode"
    with pytest.raises(RecordError) as err:
        parse_record(["not", "an", "object"], via="request")
    assert err.value.field == "record"


def test_local_providers_cost_nothing_and_unknown_models_are_flagged(store) -> None:
    records = [
        parse_record(llm(id="a", provider="lmstudio", model="devstral-small-2-2512"), via="cli"),
        parse_record(llm(id="b", provider="ollama", model="qwen3:4b"), via="cli"),
        parse_record(llm(id="c", provider="acme", model="acme-large-9"), via="cli"),
        parse_record(llm(id="d", provider="openai", model="gpt-4o"), via="cli"),
    ]
    with store.transaction() as conn:
        assert write_records(conn, records) == (4, 4)
    local = totals(store, session_ids=None, since_ms=T, until_ms=T + 1)
    assert local.input == 4000 and local.messages == 4
    assert local.unpriced_models == ["acme-large-9"]  # named, never a silent $0
    # the two local calls add nothing; gpt-4o is priced from the table
    from podium.usage.queries import default_prices

    gpt = default_prices().cost_of("gpt-4o", 1000, 500, 0, 0)
    assert gpt > 0 and local.cost_usd == pytest.approx(gpt)


def test_the_same_id_counts_once_and_api_calls_have_no_tokens(store) -> None:
    first = parse_record(llm(id="same", inputTokens=10), via="request")
    again = parse_record(llm(id="same", inputTokens=99_999), via="inbox")
    api = parse_record({"id": "api-1", "service": "serpapi"}, via="request")
    with store.transaction() as conn:
        assert write_records(conn, [first, api]) == (2, 1)
        assert write_records(conn, [again, api]) == (0, 0)
    assert store.conn.execute("SELECT COUNT(*), SUM(input) FROM entries").fetchone() == (1, 10)
    assert store.conn.execute("SELECT COUNT(*) FROM usage_records").fetchone()[0] == 2


def test_prompt_and_response_never_reach_the_store(store, tmp_path) -> None:
    marker = "PROMPT-TEXT-7f3a9"
    rec = parse_record(llm(prompt=f"{marker} secret plan", response=f"{marker} answer",
                           messages=[{"content": marker}]), via="request")  # fmt: skip
    with store.transaction() as conn:
        write_records(conn, [rec])
    store.checkpoint("TRUNCATE")
    assert marker.encode() not in (tmp_path / "podium.db").read_bytes()


def test_free_text_is_cut_short_and_long_input_stays_cheap() -> None:
    rec = parse_record(llm(taskDescription="word " * 100_000, errorMessage="x" * 5000),
                       via="request")  # fmt: skip
    assert len(rec.task_description) <= 200 and rec.task_description.startswith("word word")
    assert len(rec.error_message) <= 200


def test_exports_include_logged_calls(store, tmp_path) -> None:
    import json

    from podium.export import export_usage

    with store.transaction() as conn:
        write_records(conn, [parse_record(llm(id="e1", model="gpt-4o-mini", inputTokens=4321),
                                          via="request")])  # fmt: skip
    out = export_usage(store, {"format": "json", "groupBy": "model", "path": "x.json"},
                       workspace=tmp_path)  # fmt: skip
    rows = json.loads((tmp_path / "x.json").read_text())["rows"]
    assert [(r["model"], r["inputTokens"]) for r in rows] == [("gpt-4o-mini", 4321)]
    assert out["rows"] == 1
