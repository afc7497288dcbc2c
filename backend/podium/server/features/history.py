"""History: `podium/usageHistory` answers usage over time, the plan figures seen and the
per-agent table from the store (podium.usage.history), on the core lane (it reads the core
connection)."""

from __future__ import annotations

from typing import Any

from podium.server import protocol as proto
from podium.server.features.base import Feature, Handler
from podium.server.state import Core
from podium.usage.history import usage_history
from podium.usage.insights import wire


class HistoryFeature(Feature):
    def handlers(self) -> dict[str, Handler]:
        return {proto.USAGE_HISTORY: self.usage_history}

    async def usage_history(self, params: Any) -> proto.UsageHistory:
        p = proto.parse_params(proto.UsageHistoryParams, params)
        core = await self.host.ready()
        return await self.host.lanes.core.run(_history, core, p)


def _history(core: Core, p: proto.UsageHistoryParams) -> proto.UsageHistory:
    result = usage_history(core.store, since=p.since, until=p.until, group_by=p.group_by,
                           bucket=p.bucket, tz=p.tz, prices=core.prices)  # fmt: skip
    result["insights"] = wire(core.insights())
    return proto.UsageHistory.model_validate(result)
