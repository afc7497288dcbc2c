"""What every message model of docs/protocol.md builds on: the method names and error codes,
the enumerations (named types in the generated TypeScript) and the base models (camelCase on
the wire, strict params).

Strict JSON out: a float field never carries NaN or ±Infinity (Python's json would write them,
and no JSON parser reads them back). `Num` clamps ±inf to the largest finite float and NaN to 0 at
the model, so one absurd figure (a log line's `costUSD: 1e400`) degrades one number instead of
stopping every push.
"""

from __future__ import annotations

import math
import sys
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

# -- method names -----------------------------------------------------------------------------
SPAWN_AGENT = "podium/spawnAgent"
PAUSE_AGENT = "podium/pauseAgent"
RESUME_AGENT = "podium/resumeAgent"
STOP_AGENT = "podium/stopAgent"
REMOVE_AGENT = "podium/removeAgent"
LIST_AGENTS = "podium/listAgents"
SEND_MESSAGE = "podium/sendMessage"
ANSWER_PERMISSION = "podium/answerPermission"
USAGE_SUMMARY = "podium/usageSummary"
EXPORT = "podium/export"
USAGE_HISTORY = "podium/usageHistory"
LOG_USAGE = "podium/logUsage"

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
    SEND_MESSAGE: "podium.sendMessage",
    ANSWER_PERMISSION: "podium.answerPermission",
    USAGE_SUMMARY: "podium.usageSummary",
    EXPORT: "podium.export",
    USAGE_HISTORY: "podium.usageHistory",
    LOG_USAGE: "podium.logUsage",
}

# -- error codes ------------------------------------------------------------------------------
PARSE_ERROR = -32700
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
METHOD_NOT_FOUND = -32601
INVALID_REQUEST = -32600
SERVER_NOT_INITIALIZED = -32002
NOT_FOUND = -31001
GIT_ERROR = -31002
AGENT_ERROR = -31003
PODIUM_ERROR = -31000

# -- enumerations (named types in the generated TypeScript) ------------------------------------
AgentStatus = Literal[
    "starting", "working", "waiting", "idle", "paused", "rateLimited", "stopped", "exited",
    "error",
]
Status = AgentStatus  # the older name
Source = Literal["subscription", "api", "proxy"]
Severity = Literal["ok", "warning", "error"]
AlertLevel = Literal["info", "warning", "critical"]
AlertScope = Literal["agent", "session", "daily", "monthly", "plan", "usage_limit", "rate_limit",
                     "permission", "store"]  # fmt: skip
AuthMode = Literal["subscription", "api", "both", "proxy"]
LimitAction = Literal["warn", "pause", "stop"]
#: what the server did to an alert's agent (a limit's action, or continuing on an API key)
AlertAction = Literal["warn", "pause", "stop", "switchToApi"]
PermissionMode = Literal["default", "acceptEdits", "plan", "bypassPermissions"]
Decision = Literal["allow", "deny"]
DecisionScope = Literal["once", "agent"]
PlanSource = Literal["official", "oauth", "estimate"]
ExportFormat = Literal["csv", "json"]
ExportGroupBy = Literal["entry", "day", "agent", "model"]
HistoryGroupBy = Literal["agent", "model", "source", "project"]
HistoryBucket = Literal["day", "hour"]

#: TypeScript name → the Literal it names (podium.protocol.schema turns each into a named type)
NAMED_ENUMS: dict[str, Any] = {
    "AgentStatus": AgentStatus, "Source": Source, "Severity": Severity,
    "AlertLevel": AlertLevel, "AlertScope": AlertScope, "AuthMode": AuthMode,
    "LimitAction": LimitAction, "PlanSource": PlanSource, "ExportFormat": ExportFormat,
    "ExportGroupBy": ExportGroupBy, "PermissionMode": PermissionMode, "Decision": Decision,
    "DecisionScope": DecisionScope, "AlertAction": AlertAction,
    "HistoryGroupBy": HistoryGroupBy, "HistoryBucket": HistoryBucket,
}  # fmt: skip


def _finite(value: float) -> float:
    if math.isnan(value):
        return 0.0
    if math.isinf(value):
        return math.copysign(sys.float_info.max, value)
    return value


#: a JSON number: never NaN or ±Infinity (see the module doc)
Num = Annotated[float, AfterValidator(_finite)]


class Model(BaseModel):
    """camelCase aliases on the wire; Python attribute names in snake_case."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="ignore",
        frozen=True,
        # what the server sends always has every key: required in the generated types
        json_schema_serialization_defaults_required=True,
        # the docstrings under fields become the generated TypeScript's doc comments
        use_attribute_docstrings=True,
    )

    def wire(self) -> dict[str, Any]:
        """The JSON-ready payload (camelCase keys, in field order)."""
        return self.model_dump(by_alias=True, mode="json")


class ParamsModel(Model):
    """Request params: strict types (no silent "5" → 5), no NaN/Infinity, unknown keys ignored."""

    model_config = ConfigDict(strict=True, allow_inf_nan=False)


#: a local day in request params (`since`, `until`)
DAY_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
#: what a param that does not match a pattern is told (pydantic would quote the regex)
PATTERN_REASONS = {DAY_PATTERN: "must be a day written YYYY-MM-DD"}
