"""The protocol is written three times (docs/protocol.md, server/protocol.py, editor-client's
protocol.ts): check the copies agree field by field, so a change to one that misses another
fails here rather than in an editor."""

from __future__ import annotations

import json
import re
import typing
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import BaseModel

from podium.server import protocol as proto
from podium.settings import SETTING_KEYS

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "protocol.md").read_text()
TS = (ROOT / "editor-client" / "src" / "protocol.ts").read_text()

#: TS interface → pydantic model (same name unless noted)
MODELS: dict[str, type[BaseModel]] = {
    name: getattr(proto, name)
    for name in (
        "Usage", "Diff", "Limit", "AgentCard", "StatusBar", "AgentCardNotification",
        "AgentRemovedNotification", "Alert", "SpawnAgentParams", "AgentIdParams",
        "RemoveAgentParams", "RemoveAgentResult", "ListAgentsResult", "PlanWindowInfo",
        "PlanInfo", "LimitsInfo", "AgentUsageRow", "UsageSummary", "ExportParams", "ExportResult",
    )
}  # fmt: skip


def ts_interfaces() -> dict[str, dict[str, tuple[bool, str]]]:
    """interface name → {field: (optional, type text)}, with `extends` resolved."""
    out: dict[str, dict[str, tuple[bool, str]]] = {}
    for m in re.finditer(r"export interface (\w+)(?: extends (\w+))? \{(.*?)\n\}", TS, re.S):
        name, base, body = m.groups()
        members = dict(out.get(base, {})) if base else {}
        body = re.sub(r"/\*\*.*?\*/", "", body, flags=re.S)
        for fm in re.finditer(r"^\s*(\w+)(\??):\s*(.+?);\s*$", body, re.M):
            members[fm.group(1)] = (fm.group(2) == "?", fm.group(3))
        out[name] = members
    return out


def ts_union(name: str) -> set[str]:
    m = re.search(rf"export type {name} =(.*?);", TS, re.S)
    assert m, name
    return set(re.findall(r"'([^']*)'", m.group(1)))


def ts_const(name: str) -> dict[str, Any]:
    m = re.search(rf"export const {name} = \{{(.*?)\}} as const;", TS, re.S)
    assert m, name
    return {k: json.loads(v.replace("'", '"')) for k, v in re.findall(r"(\w+): ([^,\n]+),", m.group(1))}


def wire_fields(model: type[BaseModel]) -> dict[str, Any]:
    return {f.alias or n: f for n, f in model.model_fields.items()}


def nullable(annotation: Any) -> bool:
    return type(None) in typing.get_args(annotation) or annotation is type(None)


def literal_values(annotation: Any) -> set[str]:
    for arg in (annotation, *typing.get_args(annotation)):
        if typing.get_origin(arg) is Literal:
            return set(typing.get_args(arg))
    return set()


def test_ts_interfaces_match_the_pydantic_models() -> None:
    interfaces = ts_interfaces()
    assert set(MODELS) <= set(interfaces), set(MODELS) - set(interfaces)
    for name, model in MODELS.items():
        ts = interfaces[name]
        py = wire_fields(model)
        assert set(ts) == set(py), f"{name}: only TS {set(ts) - set(py)}, only py {set(py) - set(ts)}"
        for key, field in py.items():
            optional, ts_type = ts[key]
            if field.is_required():
                assert not optional, f"{name}.{key} is required in protocol.py"
            # what the server may send as null, the client must accept as null
            if not issubclass(model, proto.ParamsModel) and nullable(field.annotation):
                assert "null" in ts_type, f"{name}.{key} may be null (protocol.py)"


def test_enums_methods_and_error_codes_match() -> None:
    assert ts_union("AgentStatus") == set(typing.get_args(proto.Status))
    assert ts_union("Source") == set(typing.get_args(proto.Source))
    assert ts_union("Severity") == set(typing.get_args(proto.Severity))
    assert ts_union("AlertLevel") == set(typing.get_args(proto.AlertLevel))
    export = wire_fields(proto.ExportParams)
    assert ts_union("ExportFormat") == literal_values(export["format"].annotation)
    assert ts_union("ExportGroupBy") == literal_values(export["groupBy"].annotation)
    methods = {v for k, v in vars(proto).items() if k.isupper() and isinstance(v, str)
               and v.startswith("podium/")}  # fmt: skip
    assert set(ts_const("Methods").values()) | set(ts_const("Notifications").values()) == methods
    codes = ts_const("ErrorCodes")
    assert codes["invalidParams"] == proto.INVALID_PARAMS
    assert codes["internalError"] == proto.INTERNAL_ERROR
    assert codes["notFound"] == proto.NOT_FOUND and codes["gitError"] == proto.GIT_ERROR
    assert codes["agentError"] == proto.AGENT_ERROR and codes["podiumError"] == proto.PODIUM_ERROR
    documented = {int(c) for c in re.findall(r"^\| (-\d+) \|", DOC, re.M)}
    assert documented == set(codes.values())
    for method, command in proto.COMMANDS.items():
        assert f"| `{command}` | `{method}` |" in DOC


def doc_json_after(heading: str) -> Any:
    """The first ```json block after `heading` in docs/protocol.md."""
    start = DOC.index(heading)
    m = re.search(r"```json\n(.*?)\n```", DOC[start:], re.S)
    assert m, heading
    return json.loads(m.group(1))


def assert_same_keys(value: Any, model: type[BaseModel], where: str) -> None:
    py = wire_fields(model)
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
    model.model_validate(value)


def test_documented_params_match_the_params_models() -> None:
    for method, model in ((proto.SPAWN_AGENT, proto.SpawnAgentParams),
                          (proto.EXPORT, proto.ExportParams)):  # fmt: skip
        section = DOC[DOC.index(f"### `{method}`"):]
        table = section[: section.index("```")]
        documented = set(re.findall(r"^\| `(\w+)`(?:, `(\w+)`)? \|", table, re.M))
        names = {n for pair in documented for n in pair if n}
        assert names == set(wire_fields(model)), method
    for method, model in ((proto.PAUSE_AGENT, proto.AgentIdParams),
                          (proto.REMOVE_AGENT, proto.RemoveAgentParams)):  # fmt: skip
        heading = re.search(rf"### `{re.escape(method)}` `\{{(.*?)\}}`", DOC)
        assert heading, method
        names = {n.strip().rstrip("?") for n in heading.group(1).split(",")}
        assert names == set(wire_fields(model)), method


def test_documented_settings_match_the_server_and_the_client() -> None:
    table = DOC[DOC.index("### Settings"):DOC.index("Unknown keys are ignored")]
    documented = {k for row in re.findall(r"^\| (`.*?) \|", table, re.M)
                  for k in re.findall(r"`(\w+)`", row)}  # fmt: skip
    server = set(SETTING_KEYS)
    client = set(re.findall(r"'(\w+)'", TS[TS.index("SERVER_SETTING_KEYS"):]))
    assert documented == server, (documented ^ server)
    # oauthBaseUrl on purpose: workspace settings must not pick where the login's token goes
    assert client == server - {"oauthBaseUrl"}, (client ^ server)

