"""Plan figures the other CLIs log: Codex's `rate_limits` (the ChatGPT plan's 5-hour and
weekly windows) become `plan_snapshots` rows with source `codex`, official figures shown next
to Claude's (`Plan: 67% | Codex: 42%`), never mixed with them: they are another plan.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from podium.limits import plans
from podium.store import Store

#: adapter name → how its plan is labelled in the status bar
CLI_PLANS = {"codex": "Codex"}


def record_adapter_figures(store: Store, adapters: Iterable[Any]) -> int:
    """Store the plan figures adapters saw since last asked (the newest per window, stamped
    with when the CLI logged it); returns the rows written."""
    written = 0
    for adapter in adapters:
        take = getattr(adapter, "take_plan_figures", None)
        if take is None or adapter.name not in CLI_PLANS:
            continue
        newest: dict[str, Any] = {}
        for fig in take():
            if fig.window not in newest or fig.observed_at >= newest[fig.window].observed_at:
                newest[fig.window] = fig
        for fig in newest.values():
            latest = plans.latest_snapshot(store, fig.window, adapter.name)
            if latest is not None and latest.observed_at > fig.observed_at:
                continue  # an older file read late: the store already has a newer figure
            written += plans.record_snapshots(
                store, adapter.name, [plans.Figure(fig.window, fig.used_pct, fig.resets_at)],
                session_id=fig.session_id, now=fig.observed_at)  # fmt: skip
    return written


def cli_plan_windows(store: Store, now: float, agents_working: bool) -> list[tuple[str, Any]]:
    """(label, PlanWindow) per CLI plan with a figure that still describes its window: the
    5-hour one, else the weekly one (a figure past its reset is absent)."""
    out = []
    for source, label in CLI_PLANS.items():
        for window in plans.WINDOWS:
            fig = plans.latest_snapshot(store, window, source)
            if fig is None or (fig.resets_at is not None and now >= fig.resets_at):
                continue
            reason = plans.stale_reason(fig, now, agents_working)
            fig.stale, fig.stale_reason = reason is not None, reason
            out.append((label, fig))
            break
    return out
