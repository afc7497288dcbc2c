"""Request params validation: a pydantic error becomes a `podium.errors.InvalidInput` naming the
first offending field, so the server answers JSON-RPC InvalidParams with `data.field`."""

from __future__ import annotations

import types
from typing import Any, TypeVar, Union, get_args, get_origin

from pydantic import ValidationError

from podium.errors import InvalidInput
from podium.protocol.base import PATTERN_REASONS
from podium.protocol.models import ParamsModel

P = TypeVar("P", bound=ParamsModel)


def _field_path(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc) or "params"


def _nul_at(value: Any, path: str) -> str | None:
    """The dotted path of the first string (or key) holding a NUL character, if any."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            sub = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                return sub
            if found := _nul_at(item, sub):  # (found by the fuzzer: a NUL key left it unbound)
                return found
    elif isinstance(value, list):
        for i, item in enumerate(value):
            if found := _nul_at(item, f"{path}.{i}" if path else str(i)):
                return found
    return None


def _takes_none(annotation: Any) -> bool:
    if annotation is None or annotation is type(None):
        return True
    if get_origin(annotation) in (Union, types.UnionType):
        return any(_takes_none(arg) for arg in get_args(annotation))
    return False


def _nulls_omitted(model: type[P], raw: dict[str, Any]) -> dict[str, Any]:
    """docs/protocol.md: "Optional params may be omitted or `null`". A null for a param with a
    default that is not null (`groupBy`, `bucket`, `format`, `overwrite`, `scope`…) means the
    default, not a type error; a required param's null stays an error."""
    dropped = dict(raw)
    for name, field in model.model_fields.items():
        if field.is_required() or _takes_none(field.annotation):
            continue
        for key in {name, field.alias or name}:
            if key in dropped and dropped[key] is None:
                del dropped[key]
    return dropped


def parse_params(model: type[P], raw: Any) -> P:
    """Validate request params; raise InvalidInput(field=...) naming the first bad field."""
    if raw is None:
        raw = {}
    elif isinstance(raw, list | tuple) and len(raw) == 1 and isinstance(raw[0], dict):
        raw = raw[0]  # executeCommand-style positional params
    if not isinstance(raw, dict):
        raise InvalidInput(
            f"invalid params: expected an object, got {type(raw).__name__}", field="params"
        )
    # params end up in argv, environments and paths, where a NUL cannot go (the OS says
    # "embedded null byte", which would surface as an internal error)
    known = {name for n, f in model.model_fields.items() for name in (n, f.alias) if name}
    if bad := _nul_at({k: v for k, v in raw.items() if k in known}, ""):
        raise InvalidInput(f"invalid params: {bad}: must not contain a NUL character", field=bad)
    raw = _nulls_omitted(model, raw)
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = _field_path(tuple(first.get("loc", ())))
        reason = first.get("msg", "invalid").removeprefix("Value error, ")
        if first.get("type") == "missing":
            reason = "field required"
        elif first.get("type") == "string_pattern_mismatch":
            reason = PATTERN_REASONS.get(str((first.get("ctx") or {}).get("pattern")), reason)
        raise InvalidInput(f"invalid params: {field}: {reason}", field=field) from None
