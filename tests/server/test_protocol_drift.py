"""The protocol is written once, as pydantic models (podium.protocol.models); the editor client's
TypeScript types are generated from them and docs/protocol.md describes them. Check that the
generated file is up to date, that the docs still name every method and field (and that their
examples validate), and that what a real server sent (the client's recorded fixture) is exactly
what the models write."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import typing
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from podium.errors import InvalidInput
from podium.protocol import models as proto
from podium.protocol.params import parse_params
from podium.protocol.schema import EXTENSION_SETTING_KEYS, protocol_schema
from podium.settings import SETTING_KEYS

ROOT = Path(__file__).resolve().parents[2]
CLIENT = ROOT / "editor-client"
GENERATED = CLIENT / "src" / "protocol.generated.ts"
DOC = (ROOT / "docs" / "protocol.md").read_text()
REGENERATE = "cd editor-client && npm run gen:protocol"

MODELS: list[type[BaseModel]] = sorted(
    {m for pair in proto.REQUESTS.values() for m in pair} | set(proto.NOTIFICATIONS.values()),
    key=lambda m: m.__name__,
)


def _nested(model: type[BaseModel]) -> set[type[BaseModel]]:
    """`model` and every model its fields hold."""
    found = {model}
    for field in model.model_fields.values():
        for arg in (field.annotation, *typing.get_args(field.annotation)):
            for inner in (arg, *typing.get_args(arg)):
                if isinstance(inner, type) and issubclass(inner, BaseModel) and inner not in found:
                    found |= _nested(inner)
    return found


ALL_MODELS = sorted(set().union(*(_nested(m) for m in MODELS)), key=lambda m: m.__name__)


@pytest.fixture(scope="module")
def generator() -> list[str]:
    """`node scripts/gen-protocol.mjs`, with the client's node_modules installed if missing."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node/npm not installed: cannot check editor-client/src/protocol.generated.ts")
    if not (CLIENT / "node_modules" / "json-schema-to-typescript").is_dir():
        # the same install `make test-client` runs; npm caches packages outside the repo
        done = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=CLIENT,
                              capture_output=True, text=True, timeout=600)  # fmt: skip
        if done.returncode != 0:
            pytest.skip(f"`npm ci` in editor-client failed, so the generator is missing:\n"
                        f"{done.stderr[-2000:]}")  # fmt: skip
    return [node, str(CLIENT / "scripts" / "gen-protocol.mjs")]


def test_the_generated_typescript_is_up_to_date(generator: list[str], tmp_path: Path) -> None:
    schema = tmp_path / "protocol.schema.json"
    schema.write_text(json.dumps(protocol_schema(), indent=2))
    out = tmp_path / "protocol.generated.ts"
    subprocess.run([*generator, str(schema), "--out", str(out)], cwd=CLIENT, check=True,
                   capture_output=True, timeout=120)  # fmt: skip
    assert out.read_text() == GENERATED.read_text(), (
        f"editor-client/src/protocol.generated.ts is out of date: run `{REGENERATE}`")


def test_the_client_uses_the_generated_types() -> None:
    ts = (CLIENT / "src" / "protocol.ts").read_text()
    assert "export * from './protocol.generated';" in ts
    generated = GENERATED.read_text()
    for model in ALL_MODELS:
        assert f"export interface {model.__name__} " in generated, model.__name__
        # a hand-written copy next to the generated one would drift again
        assert not re.search(rf"\b(interface|type) {model.__name__}\b", ts), model.__name__
    for name in proto.NAMED_ENUMS:
        assert f"export type {name} =" in generated


def test_the_schema_matches_what_is_sent() -> None:
    schema = protocol_schema()
    card = schema["$defs"]["AgentCard"]
    # results are described as sent: every key present, nullable where the server sends null
    assert set(card["required"]) == set(card["properties"])
    assert card["properties"]["status"] == {"$ref": "#/$defs/AgentStatus"}
    spawn = schema["$defs"]["SpawnAgentParams"]
    assert spawn["required"] == ["task"]  # params as validated: the rest may be left out
    constants = schema["x-podium"]
    methods = {**constants["Methods"], **constants["Notifications"]}
    assert set(methods.values()) == set(proto.REQUESTS) | set(proto.NOTIFICATIONS)
    assert constants["SERVER_SETTING_KEYS"] == list(EXTENSION_SETTING_KEYS)


def _wire_fields(model: type[BaseModel]) -> dict[str, Any]:
    return {f.alias or n: f for n, f in model.model_fields.items()}


def test_the_docs_name_every_method_command_error_and_field() -> None:
    for method in (*proto.REQUESTS, *proto.NOTIFICATIONS):
        assert re.search(rf"^### `{re.escape(method)}`", DOC, re.M), f"no section for {method}"
    for method, command in proto.COMMANDS.items():
        assert f"| `{command}` | `{method}` |" in DOC
    documented = {int(c) for c in re.findall(r"^\| (-\d+) \|", DOC, re.M)}
    assert documented == set(protocol_schema()["x-podium"]["ErrorCodes"].values())
    for model in ALL_MODELS:
        for key in _wire_fields(model):
            assert f"`{key}`" in DOC or f'"{key}"' in DOC, f"docs/protocol.md: {model.__name__}.{key}"
    for name, values in proto.NAMED_ENUMS.items():
        for value in typing.get_args(values):
            assert f"`{value}`" in DOC or f'"{value}"' in DOC, f"docs/protocol.md: {name} {value}"


def doc_json_after(heading: str) -> Any:
    """The first ```json block after `heading` in docs/protocol.md."""
    start = DOC.index(heading)
    m = re.search(r"```json\n(.*?)\n```", DOC[start:], re.S)
    assert m, heading
    return json.loads(m.group(1))


def assert_same_keys(value: Any, model: type[BaseModel], where: str) -> None:
    py = _wire_fields(model)
    assert set(value) == set(py), f"{where}: only doc {set(value) - set(py)}, only py {set(py) - set(value)}"
    for key, item in value.items():
        nested = [a for a in (py[key].annotation, *typing.get_args(py[key].annotation))
                  if isinstance(a, type) and issubclass(a, BaseModel)]  # fmt: skip
        if isinstance(item, dict) and nested:
            assert_same_keys(item, nested[0], f"{where}.{key}")
        elif isinstance(item, list) and item and isinstance(item[0], dict):
            (inner,) = [a for a in typing.get_args(py[key].annotation) if isinstance(a, type)]
            assert_same_keys(item[0], inner, f"{where}.{key}[0]")


@pytest.mark.parametrize(("heading", "model", "path"), [
    ("### AgentCard", proto.AgentCard, ()),
    ("### StatusBar", proto.StatusBar, ()),
    ("### Alert", proto.Alert, ()),
    ("Result:\n```json", proto.UsageSummary, ()),
    ("### `podium/alert` Alert", proto.Alert, ("params",)),
    ("### `podium/statusBar` StatusBar", proto.StatusBar, ("params",)),
    ("### `podium/agentRemoved`", proto.AgentRemovedNotification, ("params",)),
])  # fmt: skip
def test_doc_examples_have_the_models_fields(heading: str, model: type[BaseModel], path: tuple) -> None:
    value = doc_json_after(heading)
    for key in path:
        value = value[key]
    assert_same_keys(value, model, heading)
    assert model.model_validate(value).wire() == value


def test_documented_params_match_the_params_models() -> None:
    for method, model in ((proto.SPAWN_AGENT, proto.SpawnAgentParams),
                          (proto.EXPORT, proto.ExportParams)):  # fmt: skip
        section = DOC[DOC.index(f"### `{method}`"):]
        table = section[: section.index("```")]
        documented = set(re.findall(r"^\| `(\w+)`(?:, `(\w+)`)? \|", table, re.M))
        names = {n for pair in documented for n in pair if n}
        assert names == set(_wire_fields(model)), method
    for method, model in ((proto.PAUSE_AGENT, proto.AgentIdParams),
                          (proto.REMOVE_AGENT, proto.RemoveAgentParams)):  # fmt: skip
        heading = re.search(rf"### `{re.escape(method)}` `\{{(.*?)\}}`", DOC)
        assert heading, method
        names = {n.strip().rstrip("?") for n in heading.group(1).split(",")}
        assert names == set(_wire_fields(model)), method


def test_documented_settings_match_the_server_and_the_extension() -> None:
    table = DOC[DOC.index("### Settings"):DOC.index("Unknown keys are ignored")]
    documented = {k for row in re.findall(r"^\| (`.*?) \|", table, re.M)
                  for k in re.findall(r"`(\w+)`", row)}  # fmt: skip
    assert documented == set(SETTING_KEYS), documented ^ set(SETTING_KEYS)
    manifest = json.loads((CLIENT / "package.json").read_text())
    contributed = {key.removeprefix("podium.")
                   for key in manifest["contributes"]["configuration"]["properties"]}  # fmt: skip
    # oauthBaseUrl on purpose: workspace settings must not pick where the login's token goes
    assert set(EXTENSION_SETTING_KEYS) <= contributed and "oauthBaseUrl" not in contributed


def test_what_a_real_server_sent_is_exactly_what_the_models_write() -> None:
    # editor-client/test/fixtures/notifications.json: recorded from `podium serve`
    recorded = json.loads((CLIENT / "test" / "fixtures" / "notifications.json").read_text())
    seen = set()
    for note in recorded:
        model = proto.NOTIFICATIONS.get(note["method"])
        if model is None:
            continue
        seen.add(note["method"])
        params = note["params"]
        assert model.model_validate(params).wire() == params, note["method"]
        assert list(model.model_validate(params).wire()) == list(params)  # key order too
    assert seen == set(proto.NOTIFICATIONS)


def test_the_recorded_usage_history_answers_still_fit_the_model() -> None:
    # editor-client/test/fixtures/usage-history.json: `podium/usageHistory` answers recorded from
    # `podium serve` for the history panel's tests; re-record (node test/record-history.mjs)
    # when a field is renamed or removed (an added optional field only adds to what is written)
    recorded = json.loads((CLIENT / "test" / "fixtures" / "usage-history.json").read_text())
    assert set(recorded["answers"]) == {"model", "project", "agent"}
    for group_by, answer in recorded["answers"].items():
        wire = proto.UsageHistory.model_validate(answer).wire()
        assert wire["groupBy"] == group_by

        def keys_of(recorded: Any, written: Any, path: str) -> None:
            if isinstance(recorded, dict) and path != ".insights[].evidence":
                assert set(recorded) <= set(written), (path, set(recorded) - set(written))
                for key, value in recorded.items():
                    keys_of(value, written[key], f"{path}.{key}")
            elif isinstance(recorded, list):
                for item, item_written in zip(recorded, written, strict=True):
                    keys_of(item, item_written, f"{path}[]")
            elif not isinstance(recorded, dict):
                assert recorded == written, path

        keys_of(answer, wire, "")


@pytest.mark.parametrize("number", [float("nan"), float("inf"), -float("inf")])
def test_a_non_finite_param_is_invalid_params_naming_the_field(number: float) -> None:
    # docs/protocol.md §Conventions: strict JSON both ways (Python's json reads NaN/Infinity)
    with pytest.raises(InvalidInput) as err:
        parse_params(proto.SpawnAgentParams, {"task": "x", "limitUSD": number})
    assert err.value.field == "limitUSD"
