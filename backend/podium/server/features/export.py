"""Export: `podium/export` writes or returns usage as CSV/JSON (podium.export), on the core
lane (it reads the core connection)."""

from __future__ import annotations

from typing import Any

from podium.export import export_usage
from podium.server import protocol as proto
from podium.server.features.base import Feature, Handler
from podium.server.state import Core


class ExportFeature(Feature):
    def handlers(self) -> dict[str, Handler]:
        return {proto.EXPORT: self.export}

    async def export(self, params: Any) -> proto.ExportResult:
        p = proto.parse_params(proto.ExportParams, params)
        core = await self.host.ready()
        return await self.host.lanes.core.run(_export, core, p.options())


def _export(core: Core, options: dict[str, Any]) -> proto.ExportResult:
    worktrees = [core.settings.worktree_dir] if core.settings.worktree_dir else []
    with core.store.lock:
        return proto.ExportResult.model_validate(
            export_usage(core.store, options, workspace=core.workspace, protected=worktrees))
