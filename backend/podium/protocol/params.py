"""Request params validation: a pydantic error becomes a `podium.errors.InvalidInput` naming the
first offending field, so the server answers JSON-RPC InvalidParams with `data.field`."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import ValidationError

from podium.errors import InvalidInput
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
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = _field_path(tuple(first.get("loc", ())))
        reason = first.get("msg", "invalid").removeprefix("Value error, ")
        if first.get("type") == "missing":
            reason = "field required"
        raise InvalidInput(f"invalid params: {field}: {reason}", field=field) from None
