"""What a spawn request may contain: the one place its rules are written.

`AgentManager.spawn` validates its arguments with `SpawnSpec`; the server's
`protocol.SpawnAgentParams` is this model with the protocol's base, so the JSON-RPC request
and the Python call answer the same bad input with the same message (camelCase field names,
as on the wire). What depends on the manager's state (known profiles, taken names) is checked
by the manager.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.alias_generators import to_camel

from podium.agents.profiles import PERMISSION_MODES
from podium.agents.source import SOURCES
from podium.errors import InvalidInput
from podium.textlimits import (
    MAX_ARGS,
    MAX_ENV_ENTRIES,
    MAX_LIMIT_USD,
    Arg,
    EnvValue,
    ProfileName,
    Ref,
    Task,
    check_argv_size,
    check_env_size,
)

SourceName = Literal["subscription", "api", "proxy"]
PermissionModeName = Literal["default", "acceptEdits", "plan", "bypassPermissions"]

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")


def name_problem(name: str) -> str | None:
    """Why `name` cannot name an agent (it becomes a branch and a directory name), or None."""
    if not _NAME.fullmatch(name):
        return (f"invalid agent name {name!r}: use 1–63 letters, digits, '.', '_' or '-' "
                "starting with a letter or digit")  # fmt: skip
    if name.endswith(".lock") or ".." in name:
        return f"invalid agent name {name!r}"
    return None


class SpawnSpec(BaseModel):
    """A spawn request (strict types: no silent "5" → 5; unknown keys ignored)."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True, strict=True
    )

    task: Task
    name: str | None = None
    base_ref: Ref | None = None
    profile: ProfileName | None = None
    command: list[Arg] | None = Field(default=None, max_length=MAX_ARGS)
    env: dict[str, EnvValue] | None = Field(default=None, max_length=MAX_ENV_ENTRIES)
    source: SourceName | None = None
    limit_usd: float | None = Field(
        default=None, alias="limitUSD", ge=0, le=MAX_LIMIT_USD, allow_inf_nan=False
    )
    permission_mode: PermissionModeName | None = None

    # "before" validators: they run ahead of the strict type checks, so a wrong type gets
    # the same clear message as a wrong value
    @field_validator("task", mode="before")
    @classmethod
    def _task(cls, value: Any) -> Any:
        if not isinstance(value, str):
            raise ValueError("must be text")
        if not value.strip():
            raise ValueError("must not be empty")
        return value

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, value: Any) -> Any:
        if value is not None:
            if not isinstance(value, str):
                raise ValueError("must be text")
            if problem := name_problem(value):
                raise ValueError(problem)
        return value

    @field_validator("command", mode="before")
    @classmethod
    def _command(cls, value: Any) -> Any:
        if value is not None and (
            not isinstance(value, list) or not value
            or not all(isinstance(a, str) and a for a in value)
        ):  # fmt: skip
            raise ValueError("must be a non-empty list of strings")
        if value is not None:
            check_argv_size(value)
        return value

    @field_validator("env", mode="before")
    @classmethod
    def _env(cls, value: Any) -> Any:
        if value is None:
            return value
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise ValueError("must map names to string values")
        # the OS refuses these names at exec time, which would surface as an internal error
        for key in value:
            if not key or "=" in key:
                raise ValueError(f"invalid environment variable name {key!r}")
        check_env_size(value)
        return value

    @field_validator("source", mode="before")
    @classmethod
    def _source(cls, value: Any) -> Any:
        if value is not None and value not in SOURCES:
            raise ValueError(f"unknown source {value!r}; use one of {', '.join(SOURCES)}")
        return value

    @field_validator("permission_mode", mode="before")
    @classmethod
    def _permission_mode(cls, value: Any) -> Any:
        if value is not None and value not in PERMISSION_MODES:
            raise ValueError(f"unknown permission mode {value!r}; use one of "
                             f"{', '.join(PERMISSION_MODES)}")  # fmt: skip
        return value

    @field_validator("limit_usd", mode="before")
    @classmethod
    def _limit(cls, value: Any) -> Any:
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0
        ):
            raise ValueError("must be a non-negative number")
        return value


def first_error(model: type[BaseModel], exc: ValidationError) -> InvalidInput:
    """The first error of a validation as InvalidInput naming the wire field (camelCase)."""
    first = exc.errors()[0]
    loc = [str(p) for p in first.get("loc", ())]
    if loc and loc[0] in model.model_fields:
        loc[0] = model.model_fields[loc[0]].alias or loc[0]
    field = ".".join(loc) or "params"
    reason = first.get("msg", "invalid").removeprefix("Value error, ")
    if first.get("type") == "missing":
        reason = "field required"
    return InvalidInput(f"{field}: {reason}", field=field)


def validate_spawn(**values: Any) -> SpawnSpec:
    """A `SpawnSpec` from keyword arguments (Python names); InvalidInput when one is bad."""
    try:
        return SpawnSpec.model_validate(values)
    except ValidationError as exc:
        raise first_error(SpawnSpec, exc) from None
