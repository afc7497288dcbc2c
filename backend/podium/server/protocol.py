"""The custom protocol of `docs/protocol.md`, as pydantic models (camelCase on the wire).

Request params are validated with `parse_params`, which turns a pydantic validation error into a
`podium.errors.InvalidInput` naming the first offending field, so the server answers with
JSON-RPC InvalidParams and `data.field`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)
from pydantic.alias_generators import to_camel

from podium.errors import InvalidInput

# -- method names -----------------------------------------------------------------------------
SPAWN_AGENT = "podium/spawnAgent"
PAUSE_AGENT = "podium/pauseAgent"
RESUME_AGENT = "podium/resumeAgent"
STOP_AGENT = "podium/stopAgent"
REMOVE_AGENT = "podium/removeAgent"
LIST_AGENTS = "podium/listAgents"
USAGE_SUMMARY = "podium/usageSummary"
EXPORT = "podium/export"

STATUS_BAR = "podium/statusBar"
AGENT_CARD = "podium/agentCard"
AGENT_REMOVED = "podium/agentRemoved"
ALERT = "podium/alert"

#: request method → workspace/executeCommand command name
COMMANDS: dict[str, str] = {
    SPAWN_AGENT: "podium.spawnAgent",
    PAUSE_AGENT: "podium.pauseAgent",
    RESUME_AGENT: "podium.resumeAgent",
    STOP_AGENT: "podium.stopAgent",
    REMOVE_AGENT: "podium.removeAgent",
    LIST_AGENTS: "podium.listAgents",
    USAGE_SUMMARY: "podium.usageSummary",
    EXPORT: "podium.export",
}

# -- error codes ------------------------------------------------------------------------------
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
NOT_FOUND = -31001
GIT_ERROR = -31002
AGENT_ERROR = -31003
PODIUM_ERROR = -31000

Status = Literal["starting", "working", "waiting", "idle", "paused", "stopped", "exited", "error"]
Source = Literal["subscription", "api", "proxy"]
Severity = Literal["ok", "warning", "error"]
AlertLevel = Literal["info", "warning", "critical"]


class Model(BaseModel):
    """camelCase aliases on the wire; Python attribute names in snake_case."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True
    )

    def wire(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, mode="json")


class ParamsModel(Model):
    """Request params: strict types (no silent "5" → 5), unknown keys ignored."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True, strict=True
    )


# -- limits (docs/protocol.md §Limits) --------------------------------------------------------
MAX_TASK_BYTES = 64 * 1024
MAX_REF_BYTES = 256
MAX_PROFILE_BYTES = 128
MAX_AGENT_ID_BYTES = 128
MAX_ARGS = 1024
MAX_ARG_BYTES = 32 * 1024
MAX_ARGV_BYTES = 256 * 1024
MAX_ENV_ENTRIES = 256
MAX_ENV_NAME_BYTES = 256
MAX_ENV_VALUE_BYTES = 32 * 1024
MAX_ENV_BYTES = 256 * 1024
MAX_PATH_BYTES = 4096
MAX_AGENT_IDS = 1000
MAX_LIMIT_USD = 1e9


def _utf8_size(value: str) -> int:
    """Bytes as UTF-8; a lone surrogate (valid in a JSON string, not in UTF-8) is refused:
    it cannot reach an argv, an environment, a path or SQLite as text."""
    if "\x00" in value:
        raise ValueError("must not contain a NUL character")
    try:
        return len(value.encode("utf-8"))
    except UnicodeEncodeError:
        raise ValueError("must not contain a lone surrogate (not valid UTF-8)") from None


def _text(max_bytes: int) -> AfterValidator:
    def check(value: str) -> str:
        if _utf8_size(value) > max_bytes:
            raise ValueError(f"must be at most {max_bytes:,} bytes")
        return value

    return AfterValidator(check)


#: inbound strings: valid UTF-8, no NUL, at most N bytes (the OS refuses NUL in argv, paths and
#: environments, SQLite and JSON writers a lone surrogate: refuse them before anything happens)
Task = Annotated[str, _text(MAX_TASK_BYTES)]
Ref = Annotated[str, _text(MAX_REF_BYTES)]
ProfileName = Annotated[str, _text(MAX_PROFILE_BYTES)]
AgentId = Annotated[str, Field(min_length=1), _text(MAX_AGENT_ID_BYTES)]
Arg = Annotated[str, _text(MAX_ARG_BYTES)]
EnvValue = Annotated[str, _text(MAX_ENV_VALUE_BYTES)]
PathText = Annotated[str, Field(min_length=1), _text(MAX_PATH_BYTES)]


# -- requests ---------------------------------------------------------------------------------
class SpawnAgentParams(ParamsModel):
    task: Task
    name: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._-]{1,64}$")
    base_ref: Ref | None = None
    profile: ProfileName | None = None
    command: list[Arg] | None = Field(default=None, max_length=MAX_ARGS)
    env: dict[str, EnvValue] | None = Field(default=None, max_length=MAX_ENV_ENTRIES)
    source: Source | None = None
    limit_usd: float | None = Field(
        default=None, alias="limitUSD", ge=0, le=MAX_LIMIT_USD, allow_inf_nan=False
    )

    @field_validator("task")
    @classmethod
    def _task_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value

    @field_validator("env")
    @classmethod
    def _env_names(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        # the OS refuses these names at exec time, which would surface as an internal error
        total = 0
        for name, item in (value or {}).items():
            if not name or "=" in name:
                raise ValueError(f"invalid environment variable name {name!r}")
            size = _utf8_size(name)
            if size > MAX_ENV_NAME_BYTES:
                raise ValueError(f"a variable name is over {MAX_ENV_NAME_BYTES} bytes")
            total += size + len(item.encode("utf-8")) + 2
        if total > MAX_ENV_BYTES:
            raise ValueError(f"must be at most {MAX_ENV_BYTES:,} bytes in all")
        return value

    @field_validator("command")
    @classmethod
    def _command_not_empty(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and not value:
            raise ValueError("must not be an empty list")
        if value is not None and sum(len(a.encode("utf-8")) + 1 for a in value) > MAX_ARGV_BYTES:
            raise ValueError(f"must be at most {MAX_ARGV_BYTES:,} bytes in all")
        return value


class AgentIdParams(ParamsModel):
    agent_id: AgentId


class RemoveAgentParams(AgentIdParams):
    delete_branch: bool = False
    force: bool = False


class EmptyParams(ParamsModel):
    pass


class ExportParams(ParamsModel):
    format: Literal["csv", "json"] = "csv"
    since: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}-\d{2}$")
    until: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}-\d{2}$")
    agent_ids: list[AgentId] | None = Field(default=None, max_length=MAX_AGENT_IDS)
    group_by: Literal["entry", "day", "agent", "model"] = "entry"
    path: PathText | None = None
    overwrite: bool = False

    def options(self) -> dict[str, Any]:
        """The options dict of `podium.export.export_usage` (camelCase keys, no Nones)."""
        return {k: v for k, v in self.model_dump(by_alias=True).items() if v is not None}


# -- results and notifications ----------------------------------------------------------------
class Usage(Model):
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_tokens: int = 0
    cache_read_tokens: int = 0
    cost_usd: float = Field(default=0.0, alias="costUSD")
    messages: int = 0


class Diff(Model):
    added: int = 0
    removed: int = 0
    files: int = 0


class Limit(Model):
    used_pct: float
    limit_usd: float = Field(alias="limitUSD")
    action: str


class AgentCard(Model):
    agent_id: str
    name: str
    task: str
    status: Status
    status_since: int
    status_reason: str | None = None
    started_at: int
    worktree: str
    branch: str
    pid: int | None = None
    exit_code: int | None = None
    profile: str
    source: Source
    model: str | None = None
    usage: Usage
    diff: Diff
    limit: Limit | None = None


class ListAgentsResult(Model):
    agents: list[AgentCard]


class RemoveAgentResult(Model):
    removed: str


class StatusBar(Model):
    text: str
    tooltip: str
    severity: Severity
    mode: str


class AgentCardNotification(Model):
    card: AgentCard


class AgentRemovedNotification(Model):
    agent_id: str


class Alert(Model):
    level: AlertLevel
    message: str
    agent_id: str | None = None
    scope: str
    scope_key: str | None = None
    action: str | None = None
    used: float | None = None
    limit: float | None = None
    pct: float | None = None


class PlanWindowInfo(Model):
    used_pct: float
    source: str
    observed_at: int
    resets_at: int | None = None
    stale: bool = False
    stale_reason: str | None = None


class PlanInfo(Model):
    plan: str
    five_hour: PlanWindowInfo | None = None
    seven_day: PlanWindowInfo | None = None
    burn_usd_per_hour: float = Field(default=0.0, alias="burnUSDPerHour")
    tokens_per_min: float = 0.0
    projected_usd_at_window_end: float | None = Field(
        default=None, alias="projectedUSDAtWindowEnd"
    )
    minutes_to_limit: float | None = None
    #: why a figure could not be had (e.g. "oauth usage: HTTP 401 Unauthorized")
    errors: list[str] = []


class ApiSpend(Model):
    today_usd: float = Field(alias="todayUSD")
    month_usd: float = Field(alias="monthUSD")


class LimitsInfo(Model):
    agent_usd: float | None = Field(default=None, alias="agentUSD")
    session_usd: float | None = Field(default=None, alias="sessionUSD")
    daily_usd: float | None = Field(default=None, alias="dailyUSD")
    monthly_usd: float | None = Field(default=None, alias="monthlyUSD")
    agent_tokens: float | None = None
    session_tokens: float | None = None
    daily_tokens: float | None = None
    monthly_tokens: float | None = None
    on_limit: str = "pause"


class AgentUsageRow(Model):
    agent_id: str
    name: str
    status: Status
    source: Source
    usage: Usage
    limit: Limit | None = None


class UsageSummary(Model):
    mode: str
    generated_at: int
    plan: PlanInfo | None
    api: ApiSpend
    today: Usage
    limits: LimitsInfo
    agents: list[AgentUsageRow]


class ExportResult(Model):
    path: str
    rows: int
    format: str


# -- validation -------------------------------------------------------------------------------
P = TypeVar("P", bound=ParamsModel)


def _field_path(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc) or "params"


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
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = _field_path(tuple(first.get("loc", ())))
        reason = first.get("msg", "invalid").removeprefix("Value error, ")
        if first.get("type") == "missing":
            reason = "field required"
        raise InvalidInput(f"invalid params: {field}: {reason}", field=field) from None
