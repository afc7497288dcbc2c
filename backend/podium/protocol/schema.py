"""The protocol as one JSON Schema, for generating the editor client's TypeScript types.

    python -m podium.protocol.schema > schema.json
    node editor-client/scripts/gen-protocol.mjs schema.json > editor-client/src/protocol.generated.ts

(`npm run gen:protocol` in editor-client does both.) Request params are described as the server
validates them (optional keys may be left out), results and notifications as it serialises them
(every key present). Besides the types (`$defs`), `x-podium` carries the constants the client
needs: method names, error codes and the settings keys the extension forwards.
"""

from __future__ import annotations

import json
import sys
import typing
from typing import Any

from pydantic.json_schema import GenerateJsonSchema, models_json_schema

from podium.protocol import base
from podium.protocol import models as m
from podium.settings import SETTING_KEYS

ROOT_TITLE = "PodiumProtocol"

#: oauthBaseUrl is not an extension setting: a workspace's settings must not pick where the
#: login's token is sent (docs/protocol.md §Settings)
EXTENSION_SETTING_KEYS: tuple[str, ...] = tuple(k for k in SETTING_KEYS if k != "oauthBaseUrl")


class _Generator(GenerateJsonSchema):
    def field_title_should_be_set(self, schema: Any) -> bool:
        # a titled property becomes a named TypeScript alias per field (`export type Text = string`)
        return False


def _enum_refs(node: Any, named: dict[tuple[str, ...], str]) -> Any:
    """Replace inline string enums that match a named Literal by a reference to it."""
    if isinstance(node, list):
        return [_enum_refs(item, named) for item in node]
    if not isinstance(node, dict):
        return node
    values = node.get("enum")
    if isinstance(values, list) and tuple(values) in named:
        # a sibling such as `default` would make the generator declare a copy (`LimitAction1`)
        return {"$ref": f"#/$defs/{named[tuple(values)]}"}
    return {key: _enum_refs(value, named) for key, value in node.items()}


def _constants() -> dict[str, Any]:
    # in the order base.py defines them (models.py imports them sorted)
    methods = {name: value for name, value in vars(base).items()
               if name.isupper() and isinstance(value, str) and value.startswith("podium/")}  # fmt: skip
    requests = set(m.COMMANDS)

    def key(method: str) -> str:
        return method.removeprefix("podium/")

    codes = {
        "parseError": m.PARSE_ERROR, "invalidParams": m.INVALID_PARAMS, "internalError": m.INTERNAL_ERROR,
        "methodNotFound": m.METHOD_NOT_FOUND, "invalidRequest": m.INVALID_REQUEST,
        "notFound": m.NOT_FOUND, "gitError": m.GIT_ERROR, "agentError": m.AGENT_ERROR,
        "podiumError": m.PODIUM_ERROR, "serverNotInitialized": m.SERVER_NOT_INITIALIZED,
    }  # fmt: skip
    return {
        "Methods": {key(v): v for v in methods.values() if v in requests},
        "Notifications": {key(v): v for v in methods.values() if v not in requests},
        "Commands": {key(method): command for method, command in m.COMMANDS.items()},
        "ErrorCodes": codes,
        "SERVER_SETTING_KEYS": list(EXTENSION_SETTING_KEYS),
    }


def _ref(model: type[m.Model]) -> dict[str, str]:
    return {"$ref": f"#/$defs/{model.__name__}"}


def _object(props: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": props, "required": list(props),
            "additionalProperties": False}  # fmt: skip


def _messages() -> dict[str, Any]:
    """The root type: method → its params and result (a typed map for clients)."""
    requests = {method: _object({"params": _ref(params), "result": _ref(result)})
                for method, (params, result) in m.REQUESTS.items()}  # fmt: skip
    notifications = {method: _ref(params) for method, params in m.NOTIFICATIONS.items()}
    return _object({"requests": _object(requests), "notifications": _object(notifications)})


def protocol_schema() -> dict[str, Any]:
    """Every request, result and notification model under `$defs`, enums as named types."""
    inputs = {params for params, _ in m.REQUESTS.values()}
    outputs = {result for _, result in m.REQUESTS.values()} | set(m.NOTIFICATIONS.values())
    _, top = models_json_schema(
        [(model, "validation") for model in sorted(inputs, key=lambda c: c.__name__)]
        + [(model, "serialization") for model in sorted(outputs, key=lambda c: c.__name__)],
        ref_template="#/$defs/{model}",
        schema_generator=_Generator,
    )
    defs: dict[str, Any] = dict(top.get("$defs", {}))
    named = {tuple(typing.get_args(lit)): name for name, lit in m.NAMED_ENUMS.items()}
    defs = _enum_refs(defs, named)
    for name, lit in m.NAMED_ENUMS.items():
        defs[name] = {"title": name, "type": "string", "enum": list(typing.get_args(lit))}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": ROOT_TITLE,
        "description": "Every custom method: its params and result (docs/protocol.md).",
        **_messages(),
        "$defs": dict(sorted(defs.items())),
        "x-podium": _constants(),
    }


def main() -> int:
    json.dump(protocol_schema(), sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
