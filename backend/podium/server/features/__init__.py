"""The server's features and their wiring (`setup`): one class per concern, each with its
requests, its part of the tick and its notifications (see features/base.py)."""

from __future__ import annotations

from dataclasses import dataclass

from podium.server.features.agents import AgentsFeature
from podium.server.features.archive import ArchiveFeature
from podium.server.features.base import Feature, Handler, Host
from podium.server.features.export import ExportFeature
from podium.server.features.history import HistoryFeature
from podium.server.features.limits import LimitsFeature
from podium.server.features.metrics import MetricsFeature
from podium.server.features.records import RecordsFeature
from podium.server.features.reports import ReportsFeature
from podium.server.features.status import StatusFeature
from podium.server.features.usage import UsageFeature

__all__ = ["Feature", "Features", "Handler", "Host", "setup"]


@dataclass(frozen=True)
class Features:
    agents: AgentsFeature
    usage: UsageFeature
    reports: ReportsFeature
    limits: LimitsFeature
    status: StatusFeature
    export: ExportFeature
    metrics: MetricsFeature
    history: HistoryFeature
    records: RecordsFeature
    archive: ArchiveFeature

    @property
    def all(self) -> tuple[Feature, ...]:
        """In tick order: ingest (usage, then logged records), cards (agents), what the agents
        reported (fresh cards), limits on fresh usage, the status bar last (it shows the cards).
        `started()` and `publish()` follow the same order."""
        return (self.usage, self.records, self.agents, self.reports, self.limits, self.status,
                self.export, self.metrics, self.history, self.archive)  # fmt: skip


def setup(host: Host) -> Features:
    agents = AgentsFeature(host)
    usage = UsageFeature(host, agents)
    return Features(
        agents=agents,
        usage=usage,
        reports=ReportsFeature(host, usage),
        limits=LimitsFeature(host, agents),
        status=StatusFeature(host, agents, usage),
        export=ExportFeature(host),
        metrics=MetricsFeature(host, pending=lambda: sum(len(c.pending) for c in agents.listing)),
        history=HistoryFeature(host),
        records=RecordsFeature(host, usage),
        archive=ArchiveFeature(host),
    )
