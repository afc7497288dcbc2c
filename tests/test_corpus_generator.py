"""The benchmark's corpus generator (bench/gen_corpus.py): deterministic, and it writes the
layouts and line kinds of real Claude Code transcripts (formats.md §1)."""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from collections import Counter, defaultdict
from pathlib import Path

import orjson
import pytest

from podium.usage.adapters.claude import encode_cwd

BENCH = Path(__file__).resolve().parent.parent / "bench"


def _load_generator():
    spec = importlib.util.spec_from_file_location("gen_corpus", BENCH / "gen_corpus.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("gen_corpus", module)
    spec.loader.exec_module(module)
    return module


gen = _load_generator()


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted((root / "projects").rglob("*.jsonl"))
    }


def _lines(root: Path) -> list[tuple[Path, dict]]:
    out = []
    for path in sorted((root / "projects").rglob("*.jsonl")):
        data = path.read_bytes()
        assert data.endswith(b"\n"), f"{path} does not end with a newline"
        for raw in data.splitlines():
            out.append((path, orjson.loads(raw)))
    return out


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    gen.generate_corpus(root, 1.5, 40, seed=5)
    return root


def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path, corpus: Path) -> None:
    again = tmp_path / "again"
    gen.generate_corpus(again, 1.5, 40, seed=5)
    assert _digest(again) == _digest(corpus)
    other = tmp_path / "other"
    gen.generate_corpus(other, 1.5, 40, seed=6)
    assert _digest(other) != _digest(corpus)


def test_layout_file_count_and_size(corpus: Path) -> None:
    files = list((corpus / "projects").rglob("*.jsonl"))
    assert len(files) == 40
    size = sum(f.stat().st_size for f in files)
    assert 0.9e6 < size < 2.5e6, size
    subagents = [f for f in files if f.parent.name == "subagents"]
    assert subagents, "no sub-agent files"
    for f in subagents:
        # projects/<encoded-cwd>/<session>/subagents/agent-<id>.jsonl
        assert f.name.startswith("agent-")
        session_file = f.parent.parent.with_suffix(".jsonl")
        assert session_file.is_file(), f"{f} has no parent session file"
        assert f.parent.parent.parent.parent == corpus / "projects"
    # every file sits in the directory encoded from the cwd of its own lines
    for path, line in _lines(corpus):
        if "cwd" in line:
            project = path.relative_to(corpus / "projects").parts[0]
            assert project == encode_cwd(line["cwd"])
    projects = {p.name for p in (corpus / "projects").iterdir()}
    assert len(projects) >= 4


def test_line_kinds_and_edge_cases(corpus: Path) -> None:
    kinds: Counter[str] = Counter()
    models: Counter[str] = Counter()
    no_request_id = limit_errors = task_usage = one_hour = big_results = 0
    for _path, line in _lines(corpus):
        kinds[line.get("type", "?")] += 1
        message = line.get("message") or {}
        if line.get("type") == "assistant":
            models[message["model"]] += 1
            if "requestId" not in line:
                no_request_id += 1
            if line.get("isApiErrorMessage"):
                limit_errors += 1
                assert message["content"][0]["text"].startswith("Claude AI usage limit reached|")
            split = message["usage"].get("cache_creation") or {}
            one_hour += split.get("ephemeral_1h_input_tokens", 0) > 0
        result = line.get("toolUseResult")
        if isinstance(result, dict) and "usage" in result:
            task_usage += 1  # a usage object outside `message`: must not be counted
        if line.get("type") == "user" and isinstance(message.get("content"), list):
            big_results += len(message["content"][0]["content"]) >= 20_000
    for kind in ("user", "assistant", "summary", "file-history-snapshot", "system"):
        assert kinds[kind] > 0, f"no {kind} lines: {kinds}"
    assert set(models) == {m for m, _ in gen.MODEL_MIX} | {"<synthetic>"}
    assert no_request_id > 0 and limit_errors > 0 and one_hour > 0
    assert task_usage > 0 and big_results > 0


def test_tokens_realistic_and_within_200k(corpus: Path) -> None:
    reads = creates = 0
    for _path, line in _lines(corpus):
        usage = (line.get("message") or {}).get("usage")
        if line.get("type") != "assistant" or usage is None:
            continue
        total_in = (usage["input_tokens"] + usage["cache_creation_input_tokens"]
                    + usage["cache_read_input_tokens"])  # fmt: skip
        assert total_in <= 200_000
        split = usage["cache_creation"]
        assert (split["ephemeral_5m_input_tokens"] + split["ephemeral_1h_input_tokens"]
                == usage["cache_creation_input_tokens"])  # fmt: skip
        reads += usage["cache_read_input_tokens"]
        creates += usage["cache_creation_input_tokens"]
    assert reads > 3 * creates, "cache reads should dominate, as in real sessions"


def test_long_context_share_adds_requests_over_200k(tmp_path: Path) -> None:
    gen.generate_corpus(tmp_path, 0.6, 12, seed=2, long_context_share=0.3)
    over = [
        line for _p, line in _lines(tmp_path)
        if line.get("type") == "assistant" and (u := line["message"]["usage"])
        and u["input_tokens"] + u["cache_creation_input_tokens"] + u["cache_read_input_tokens"]
        > 200_000
    ]  # fmt: skip
    assert over
    assert {line["message"]["model"] for line in over} <= set(gen.SONNETS)


def test_streaming_copies_share_ids_and_carry_partial_output(corpus: Path) -> None:
    copies: dict[tuple[str, str | None], list[dict]] = defaultdict(list)
    for path, line in _lines(corpus):
        message = line.get("message") or {}
        if line.get("type") == "assistant" and message.get("model") != "<synthetic>":
            copies[(str(path), message["id"])].append(line)
    streamed = [group for group in copies.values() if len(group) > 1]
    assert len(streamed) > 10
    for group in streamed:
        assert len({line.get("requestId") for line in group}) == 1
        assert len({line["uuid"] for line in group}) == len(group)
        final = group[-1]["message"]["usage"]["output_tokens"]
        for earlier in group[:-1]:
            usage = earlier["message"]["usage"]
            assert usage["output_tokens"] <= final
            assert usage["cache_read_input_tokens"] == group[-1]["message"]["usage"][
                "cache_read_input_tokens"]  # fmt: skip


def test_resumed_sessions_replay_earlier_lines_verbatim(corpus: Path) -> None:
    raw_by_file = {
        p: p.read_bytes().splitlines() for p in (corpus / "projects").rglob("*.jsonl")
    }
    resumed = 0
    for path, lines in raw_by_file.items():
        ids = {orjson.loads(x).get("sessionId") for x in lines} - {None}
        if len(ids) < 2 or path.parent.name == "subagents":
            continue
        first = lines[0]
        source = [p for p, other in raw_by_file.items() if p != path and first in other]
        assert source, f"{path} mixes sessions but replays no other file"
        resumed += 1
    assert resumed >= 1


def test_append_grows_existing_files_and_adds_new_ones(tmp_path: Path) -> None:
    gen.generate_corpus(tmp_path, 0.5, 12, seed=9)
    before = {p: p.stat().st_size for p in (tmp_path / "projects").rglob("*.jsonl")}
    total = sum(before.values())
    added = gen.append_corpus(tmp_path, 0.05, new_files=2)
    after = {p: p.stat().st_size for p in (tmp_path / "projects").rglob("*.jsonl")}
    assert len(after) == len(before) + 2
    grown = [p for p in before if after[p] > before[p]]
    assert grown
    assert sum(after.values()) - total == added
    assert 0.02 * total < added < 0.3 * total
    manifest = gen.read_manifest(tmp_path)
    assert manifest is not None and manifest.appends == 1
    sessions = {tmp_path / f.path: f.session_id for f in manifest.files}
    for path in grown:  # appended lines continue the file's own session, later in time
        old_size = before[path]
        tail = [orjson.loads(x) for x in path.read_bytes()[old_size:].splitlines()]
        head = [orjson.loads(x) for x in path.read_bytes()[:old_size].splitlines()]
        assert {x["sessionId"] for x in tail if "sessionId" in x} == {sessions[path]}
        last_before = max(x["timestamp"] for x in head if "timestamp" in x)
        assert min(x["timestamp"] for x in tail if "timestamp" in x) > last_before


def test_some_subagents_replay_a_parent_message_as_sidechain(corpus: Path) -> None:
    parent_ids: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for path, line in _lines(corpus):
        if path.parent.name != "subagents" and line.get("type") == "assistant":
            parent_ids[line["sessionId"]].add((line["message"]["id"], line.get("requestId")))
    replays = 0
    for path in (corpus / "projects").rglob("subagents/*.jsonl"):
        first = orjson.loads(path.read_bytes().split(b"\n", 1)[0])
        if first.get("type") != "assistant":
            continue
        known = parent_ids[first["sessionId"]]
        assert first["isSidechain"] is True
        assert first["message"]["id"] in {mid for mid, _ in known}
        assert (first["message"]["id"], first["requestId"]) not in known  # a new requestId
        replays += 1
    assert replays >= 1
