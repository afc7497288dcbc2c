"""Every message of docs/protocol.md as a pydantic model: request params in, results and
notifications out. camelCase on the wire, snake_case attributes; the method names, error codes,
enumerations and base models are in `podium.protocol.base` (re-exported here).

Outbound payloads are built only through these models (the views render them, the server sends
them), so the wire format is written once; editor-client/src/protocol.generated.ts is generated
from their JSON Schema (`podium.protocol.schema`). Every float is a `Num`: never NaN or ±Infinity.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from podium.agents.spec import SpawnSpec
from podium.protocol.base import (
    AGENT_CARD,
    AGENT_ERROR,
    AGENT_REMOVED,
    ALERT,
    ANSWER_PERMISSION,
    COMMANDS,
    DAY_PATTERN,
    EXPORT,
    GIT_ERROR,
    INTERNAL_ERROR,
    INVALID_PARAMS,
    INVALID_REQUEST,
    LIST_AGENTS,
    LOG_USAGE,
    METHOD_NOT_FOUND,
    NAMED_ENUMS,
    NOT_FOUND,
    PARSE_ERROR,
    PAUSE_AGENT,
    PODIUM_ERROR,
    REMOVE_AGENT,
    RESUME_AGENT,
    SEND_MESSAGE,
    SERVER_NOT_INITIALIZED,
    SPAWN_AGENT,
    STATUS_BAR,
    STOP_AGENT,
    USAGE_HISTORY,
    USAGE_SUMMARY,
    AgentStatus,
    AlertAction,
    AlertLevel,
    AlertScope,
    AuthMode,
    Decision,
    DecisionScope,
    ExportFormat,
    ExportGroupBy,
    HistoryBucket,
    HistoryGroupBy,
    LimitAction,
    Model,
    Num,
    ParamsModel,
    PermissionMode,
    PlanSource,
    Severity,
    Source,
    Status,
)
from podium.textlimits import MAX_AGENT_IDS, AgentId, Message, PathText, RequestId

__all__ = [  # noqa: RUF022 (grouped as in the module)
    "SPAWN_AGENT", "PAUSE_AGENT", "RESUME_AGENT", "STOP_AGENT", "REMOVE_AGENT", "LIST_AGENTS",
    "SEND_MESSAGE", "ANSWER_PERMISSION", "USAGE_SUMMARY", "EXPORT", "LOG_USAGE", "STATUS_BAR", "AGENT_CARD", "AGENT_REMOVED", "ALERT", "COMMANDS",
    "PARSE_ERROR", "INVALID_PARAMS", "INTERNAL_ERROR", "METHOD_NOT_FOUND", "INVALID_REQUEST",
    "SERVER_NOT_INITIALIZED", "NOT_FOUND", "GIT_ERROR", "AGENT_ERROR", "PODIUM_ERROR",
    "AgentStatus", "Status", "Source", "Severity", "AlertLevel", "AlertScope", "AuthMode",
    "LimitAction", "PlanSource", "ExportFormat", "ExportGroupBy", "PermissionMode", "Decision",
    "DecisionScope", "AlertAction", "NAMED_ENUMS", "Num", "Model",
    "ParamsModel", "SpawnAgentParams", "AgentIdParams", "RemoveAgentParams", "EmptyParams",
    "ExportParams", "SendMessageParams", "AnswerPermissionParams", "Usage", "Diff", "Limit",
    "PendingRequest", "AgentCard", "ListAgentsResult", "RemoveAgentResult", "SendMessageResult",
    "AnswerPermissionResult", "PendingRef",
    "StatusBar", "AgentCardNotification", "AgentRemovedNotification", "Alert", "PlanWindowInfo",
    "PlanInfo", "ApiSpend", "LimitsInfo", "AgentUsageRow", "UsageSummary", "ExportResult",
    "MAX_LOG_RECORDS", "LogUsageParams", "RecordError", "LogUsageResult",
    "REQUESTS", "NOTIFICATIONS",
    # issue 17: usage history
    "USAGE_HISTORY", "HistoryGroupBy", "HistoryBucket", "UsageHistoryParams",
    "HistoryTokens", "HistorySums", "HistoryGroup", "HistoryPoint", "PlanPoint",
    "HistoryAgentRow", "UsageHistory",
]

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


class SendMessageParams(AgentIdParams):
    text: Message
    """Not blank, at most 64 KiB; never stored"""


class AnswerPermissionParams(AgentIdParams):
    request_id: RequestId
    decision: Decision
    scope: DecisionScope = "once"
    """`agent` with `allow`: allow this tool for this agent from now on"""


class ExportParams(ParamsModel):
    format: ExportFormat = "csv"
    since: str | None = Field(default=None, pattern=DAY_PATTERN)
    until: str | None = Field(default=None, pattern=DAY_PATTERN)
    agent_ids: list[AgentId] | None = Field(default=None, max_length=MAX_AGENT_IDS)
    group_by: ExportGroupBy = "entry"
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
    cost_usd: Num = Field(default=0.0, alias="costUSD")
    """API-equivalent cost of the entries"""
    messages: int = 0
    """Model responses"""


class Diff(Model):
    """Against the agent's base commit, uncommitted and untracked files included."""

    added: int = 0
    removed: int = 0
    files: int = 0


class Limit(Model):
    used_pct: Num
    limit_usd: Num = Field(alias="limitUSD")
    action: LimitAction


class PendingRequest(Model):
    """A permission request the agent waits on (its hook blocks until answered)."""

    request_id: str
    tool: str
    """e.g. `Write`, `Edit`, `Bash`"""
    summary: str
    """One scrubbed line: a file path relative to the worktree, or a command"""
    since: int
    """Epoch ms"""


class AgentCard(Model):
    agent_id: str
    name: str
    task: str
    status: AgentStatus
    status_since: int
    """Epoch ms: when the current status began"""
    status_reason: str | None = None
    """Why, e.g. `paused by limit: agent $5.00 reached`"""
    started_at: int
    """Epoch ms"""
    worktree: str
    branch: str
    pid: int | None = None
    """Null when no process runs"""
    exit_code: int | None = None
    """Set when `exited`"""
    profile: str
    source: Source
    """Who pays"""
    model: str | None = None
    """Last model seen"""
    usage: Usage
    diff: Diff
    limit: Limit | None = None
    """Null when no budget applies"""
    pending: list[PendingRequest] = []
    """Permission requests waiting for an answer, oldest first"""
    last_turn: str | None = None
    """How the last turn ended (`wrote 2 files`, `denied Write`, `error: …`); never the agent's
    own text"""
    reported_cost_usd: Num | None = Field(default=None, alias="reportedCostUSD")
    """Claude Code's own cost of the agent's turns (next to `usage.costUSD`)"""
    permission_mode: PermissionMode | None = None
    """The session's `--permission-mode` (`claude` profile), else null"""


class ListAgentsResult(Model):
    agents: list[AgentCard]


class RemoveAgentResult(Model):
    removed: str


class SendMessageResult(Model):
    queued: bool
    """True: a turn runs (or the agent is paused); the message is sent when it ends"""


class AnswerPermissionResult(Model):
    answered: str


class PendingRef(Model):
    agent_id: str
    request_id: str


class StatusBar(Model):
    text: str
    tooltip: str
    """Markdown"""
    severity: Severity
    mode: AuthMode
    """The authMode it was rendered for"""
    oldest_pending: PendingRef | None = None
    """The permission request waiting longest: a click on the status bar opens it"""


class AgentCardNotification(Model):
    card: AgentCard


class AgentRemovedNotification(Model):
    agent_id: str


class Alert(Model):
    level: AlertLevel
    message: str
    agent_id: str | None = None
    scope: AlertScope
    scope_key: str | None = None
    action: AlertAction | None = None
    """What the server did to `agentId`"""
    used: Num | None = None
    limit: Num | None = None
    pct: Num | None = None


class PlanWindowInfo(Model):
    used_pct: Num
    source: PlanSource
    observed_at: int
    """Epoch ms"""
    resets_at: int | None = None
    stale: bool = False
    stale_reason: str | None = None


class PlanInfo(Model):
    plan: str
    five_hour: PlanWindowInfo | None = None
    seven_day: PlanWindowInfo | None = None
    burn_usd_per_hour: Num = Field(default=0.0, alias="burnUSDPerHour")
    tokens_per_min: Num = 0.0
    projected_usd_at_window_end: Num | None = Field(default=None, alias="projectedUSDAtWindowEnd")
    minutes_to_limit: Num | None = None
    errors: list[str] = []
    """Why a figure could not be had (e.g. "oauth usage: HTTP 401 Unauthorized")"""


class ApiSpend(Model):
    today_usd: Num = Field(alias="todayUSD")
    month_usd: Num = Field(alias="monthUSD")


class LimitsInfo(Model):
    agent_usd: Num | None = Field(default=None, alias="agentUSD")
    session_usd: Num | None = Field(default=None, alias="sessionUSD")
    daily_usd: Num | None = Field(default=None, alias="dailyUSD")
    monthly_usd: Num | None = Field(default=None, alias="monthlyUSD")
    agent_tokens: Num | None = None
    session_tokens: Num | None = None
    daily_tokens: Num | None = None
    monthly_tokens: Num | None = None
    on_limit: LimitAction = "pause"


class AgentUsageRow(Model):
    agent_id: str
    name: str
    status: AgentStatus
    source: Source
    usage: Usage
    limit: Limit | None = None


class UsageSummary(Model):
    mode: AuthMode
    generated_at: int
    plan: PlanInfo | None
    api: ApiSpend
    today: Usage
    limits: LimitsInfo
    agents: list[AgentUsageRow]
    insight_count: int = 0
    """How many insights `podium/usageHistory` would list (computed at most once a minute)"""


class ExportResult(Model):
    path: str
    rows: int
    format: ExportFormat


# -- usage history and insights (issue 17) ------------------------------------------------------
class UsageHistoryParams(ParamsModel):
    since: str | None = Field(default=None, pattern=DAY_PATTERN)
    """First local day (inclusive); default: 29 days before `until`"""
    until: str | None = Field(default=None, pattern=DAY_PATTERN)
    """Last local day (inclusive); default: today"""
    group_by: HistoryGroupBy = "model"
    bucket: HistoryBucket = "day"
    tz: str | None = Field(default=None, max_length=64)
    """IANA zone of the days and hours; default: the server machine's"""


class HistoryTokens(Model):
    input: int
    output: int
    cache_write: int
    cache_read: int


class HistorySums(Model):
    cost_usd: Num = Field(alias="costUSD")
    tokens: HistoryTokens
    messages: int
    cache_hit_rate: Num | None
    """Cache reads over input + cache writes + cache reads; null without any"""
    cache_savings_usd: Num = Field(alias="cacheSavingsUSD")
    """What the cache reads would have cost more at the input rate"""


class HistoryGroup(HistorySums):
    key: str
    """The group's value ('' for usage of no agent / no model / no project)"""
    label: str


class HistoryPoint(HistorySums):
    bucket: str
    """A label of `buckets`"""
    group: str
    """A group's key"""


class PlanPoint(Model):
    window: str
    """five_hour | seven_day"""
    ts: int
    """ms since epoch"""
    used_pct: Num
    source: PlanSource


class HistoryAgentRow(HistorySums):
    agent_id: str
    name: str
    task: str
    status: AgentStatus
    source: Source
    removed: bool
    lines_added: int
    lines_removed: int
    lines_changed: int
    cost_per100_lines: Num | None = Field(alias="costPer100Lines")
    """null when the agent changed no line"""
    working_seconds: Num | None = None
    """Seconds in the range the agent was starting or working; null when its status history
    does not cover the range (an agent from before schema v11)"""
    waiting_seconds: Num | None = None
    """Seconds in the range it was alive but held: waiting for the user (a permission request,
    a finished turn), idle, paused or rate-limited; null like workingSeconds"""


class Insight(Model):
    id: str
    """cache_hit_rate | model_choice | long_context | idle_agent | rate_limit_waits | monthly_budget
    | plan_window"""
    severity: AlertLevel
    title: str
    subject: str
    """The agent id, project or plan window it is about ('' for all usage)"""
    evidence: dict[str, Any]
    """The numbers behind it, from the store (names per id in docs/protocol.md)"""
    monthly_saving_usd: Num = Field(alias="monthlySavingUSD")
    """Estimated USD a 30-day month, extrapolated from the observed window"""
    action: str


class UsageHistory(Model):
    since: str
    until: str
    timezone: str
    group_by: HistoryGroupBy
    bucket: HistoryBucket
    buckets: list[str]
    """Every day (YYYY-MM-DD) or hour (YYYY-MM-DDTHH:00, local) of the range"""
    groups: list[HistoryGroup]
    series: list[HistoryPoint]
    """Non-empty (bucket, group) cells"""
    totals: HistorySums
    plan: list[PlanPoint]
    agents: list[HistoryAgentRow]
    notes: list[str]
    insights: list[Insight] = []
    """Most valuable first (podium.usage.insights): the last 30 days, not the requested range"""
MAX_LOG_RECORDS = 10_000  # per podium/logUsage request


class LogUsageParams(ParamsModel):
    """`{records: [...]}`, or one record as the params themselves. Each record is checked on
    its own (podium.usage.records, docs/usage-api.md): a bad one is named in the result's
    `errors` and the others are kept, so the records are not typed here."""

    records: list[Any] | None = Field(default=None, max_length=MAX_LOG_RECORDS)


class RecordError(Model):
    index: int
    """the record's position in the batch (0 for a single record)"""
    field: str | None
    message: str


class LogUsageResult(Model):
    accepted: int
    """valid records"""
    new: int
    """of which not logged before (a record id seen before counts once)"""
    duplicates: int
    errors: list[RecordError]


#: request method → (params model, result model)
REQUESTS: dict[str, tuple[type[ParamsModel], type[Model]]] = {
    SPAWN_AGENT: (SpawnAgentParams, AgentCard),
    PAUSE_AGENT: (AgentIdParams, AgentCard),
    RESUME_AGENT: (AgentIdParams, AgentCard),
    STOP_AGENT: (AgentIdParams, AgentCard),
    REMOVE_AGENT: (RemoveAgentParams, RemoveAgentResult),
    LIST_AGENTS: (EmptyParams, ListAgentsResult),
    SEND_MESSAGE: (SendMessageParams, SendMessageResult),
    ANSWER_PERMISSION: (AnswerPermissionParams, AnswerPermissionResult),
    USAGE_SUMMARY: (EmptyParams, UsageSummary),
    EXPORT: (ExportParams, ExportResult),
    USAGE_HISTORY: (UsageHistoryParams, UsageHistory),
    LOG_USAGE: (LogUsageParams, LogUsageResult),
}
#: notification method → params model
NOTIFICATIONS: dict[str, type[Model]] = {
    STATUS_BAR: StatusBar,
    AGENT_CARD: AgentCardNotification,
    AGENT_REMOVED: AgentRemovedNotification,
    ALERT: Alert,
}
