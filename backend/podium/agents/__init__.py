"""Agent sessions: git worktrees, supervised process trees, live state, diff stats, source.

Re-exports are lazy so `podium fake-agent` (which lives in this package) starts without
importing GitPython or psutil.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from podium.agents.manager import AgentManager
    from podium.agents.models import Agent, AgentStatus, DiffStats

__all__ = ["Agent", "AgentManager", "AgentStatus", "DiffStats"]


def __getattr__(name: str) -> Any:
    if name in ("Agent", "AgentStatus", "DiffStats"):
        from podium.agents import models

        return getattr(models, name)
    if name == "AgentManager":
        from podium.agents.manager import AgentManager

        return AgentManager
    raise AttributeError(f"module 'podium.agents' has no attribute {name!r}")
