"""The metrics Podium exports: one list, read by the Prometheus collector, the OTLP push and
docs/metrics.md (a test keeps the doc and this list in step).

Names: Prometheus `podium_<name>` (counters get `_total` from prometheus_client), OTLP
`podium.<name>`. Every series also carries `machine`.
"""

from __future__ import annotations

from dataclasses import dataclass

COUNTER = "counter"
GAUGE = "gauge"


@dataclass(frozen=True)
class MetricDef:
    name: str
    kind: str  # counter | gauge
    help: str
    labels: tuple[str, ...]  # without `machine`, which every series has
    unit: str  # the OTLP unit (UCUM)

    @property
    def prometheus_name(self) -> str:
        return f"podium_{self.name}"

    @property
    def otlp_name(self) -> str:
        return f"podium.{self.name}"

    @property
    def label_names(self) -> tuple[str, ...]:
        return (*self.labels, "machine")


COST = MetricDef("cost_usd", COUNTER, "Cost of usage in USD (priced as `podium report` prices it)",
                 ("model", "source", "agent", "project"), "USD")  # fmt: skip
TOKENS = MetricDef("tokens", COUNTER, "Tokens used, by type (input, output, cache_creation, "
                   "cache_read)", ("type", "model", "source", "agent", "project"), "{token}")  # fmt: skip
AGENTS = MetricDef("agents", GAUGE, "Agents Podium knows (not removed), by status",
                   ("status",), "{agent}")  # fmt: skip
PENDING = MetricDef("pending_permission_requests", GAUGE,
                    "Permission requests from agents waiting for an answer", (), "{request}")  # fmt: skip
PLAN = MetricDef("plan_used_ratio", GAUGE, "Plan window utilisation (1 = the window's limit), "
                 "with the figure's source (official, oauth, estimate)", ("window", "source"),
                 "1")  # fmt: skip
PLAN_AGE = MetricDef("plan_figure_age_seconds", GAUGE, "Age of the plan window figure",
                     ("window", "source"), "s")  # fmt: skip
BUDGET = MetricDef("budget_used_ratio", GAUGE, "Spend against a USD budget (1 = the limit)",
                   ("budget", "agent"), "1")  # fmt: skip
BUDGET_LIMIT = MetricDef("budget_limit_usd", GAUGE, "A USD budget's limit", ("budget", "agent"),
                         "USD")  # fmt: skip
ALERTS = MetricDef("alerts", COUNTER, "Alerts raised (budgets, plan windows, usage limits), by "
                   "level and scope", ("level", "scope"), "{alert}")  # fmt: skip
INGEST_LAG = MetricDef("ingest_lag_seconds", GAUGE, "Age of the oldest log write the store has "
                       "not read yet (0 when caught up)", (), "s")  # fmt: skip
SKIPPED = MetricDef("ingest_skipped_lines", COUNTER, "Log lines skipped as unreadable, by reason",
                    ("reason",), "{line}")  # fmt: skip

CATALOG: tuple[MetricDef, ...] = (COST, TOKENS, AGENTS, PENDING, PLAN, PLAN_AGE, BUDGET,
                                  BUDGET_LIMIT, ALERTS, INGEST_LAG, SKIPPED)  # fmt: skip

#: label values with a meaning of their own
AGENT_ENDED = "_ended"  # agents that ended more than FOLD_AFTER_S ago, folded together
AGENT_NONE = "_none"  # usage not attributed to any Podium agent
UNKNOWN = "_unknown"  # an entry without a model or project
#: agents that ended longer ago than this fold into agent="_ended" (bounded cardinality)
FOLD_AFTER_S = 86_400.0
TOKEN_TYPES = ("input", "output", "cache_creation", "cache_read")
