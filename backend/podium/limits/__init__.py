"""Plan windows (official / oauth / estimate), budgets, alerts and limit actions.

Names are imported lazily so that `podium statusline` (which imports this package) stays fast.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (~5 ms)
if TYPE_CHECKING:
    from podium.limits.engine import LimitsEngine
    from podium.limits.models import AgentLimit, LimitEvent, PlanStatus, PlanWindow

__all__ = [
    "AgentLimit",
    "LimitEvent",
    "LimitsEngine",
    "PlanStatus",
    "PlanWindow",
]

_HOME = {
    "AgentLimit": "podium.limits.models",
    "LimitEvent": "podium.limits.models",
    "PlanStatus": "podium.limits.models",
    "PlanWindow": "podium.limits.models",
    "LimitsEngine": "podium.limits.engine",
}


def __getattr__(name: str) -> object:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module 'podium.limits' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
