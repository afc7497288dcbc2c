"""The custom protocol of `docs/protocol.md`, as pydantic models (camelCase on the wire).

Request params are validated with `parse_params`, which turns a pydantic validation error into a
`podium.errors.InvalidInput` naming the first offending field, so the server answers with
JSON-RPC InvalidParams and `data.field`.
"""

from __future__ import annotations

from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from podium.agents.spec import SpawnSpec
from podium.errors import InvalidInput
from podium.textlimits import MAX_AGENT_IDS, AgentId, PathText

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


# -- requests ---------------------------------------------------------------------------------
class SpawnAgentParams(ParamsModel, SpawnSpec):
    """The agents' own spawn rules (`podium.agents.spec`), written once for both doors."""


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


def _nul_at(value: Any, path: str) -> str | None:
    """The dotted path of the first string (or key) holding a NUL character, if any."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            sub = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key) or (found := _nul_at(item, sub)):
                return found or sub
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
