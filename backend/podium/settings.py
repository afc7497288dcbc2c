"""User settings: the same keys as the extension's `podium.*` settings (camelCase on the wire).

Parsing never fails as a whole: unknown keys and invalid values are collected as warnings and the
default is used instead, so one typo in settings.json cannot take Podium down.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal

AuthMode = Literal["subscription", "api", "both", "proxy"]
Plan = Literal["pro", "max5", "max20", "team", "custom"]
OnLimit = Literal["warn", "pause", "stop"]

AUTH_MODES: tuple[str, ...] = ("subscription", "api", "both", "proxy")
PLANS: tuple[str, ...] = ("pro", "max5", "max20", "team", "custom")
ON_LIMIT: tuple[str, ...] = ("warn", "pause", "stop")
SOURCES: tuple[str, ...] = ("subscription", "api", "proxy")


@dataclass(frozen=True)
class Limits:
    """Budgets in USD and in tokens (input + output); 0 or None means no limit."""

    agentUSD: float | None = None
    sessionUSD: float | None = None
    dailyUSD: float | None = None
    monthlyUSD: float | None = None
    agentTokens: float | None = None
    sessionTokens: float | None = None
    dailyTokens: float | None = None
    monthlyTokens: float | None = None


@dataclass(frozen=True)
class Settings:
    authMode: str = "subscription"
    plan: str = "max5"
    limits: Limits = field(default_factory=Limits)
    onLimit: str = "pause"
    worktreeDir: str | None = None
    profiles: dict[str, list[str]] = field(default_factory=dict)
    claudeConfigDirs: list[str] = field(default_factory=list)
    #: alert levels as fractions of a limit
    warningAt: float = 0.80
    criticalAt: float = 0.95
    #: let agents outlive the server (default: stop them on shutdown)
    keepAgentsRunning: bool = False
    #: opt-in: read plan usage from Anthropic's OAuth usage endpoint
    oauthUsage: bool = False
    oauthBaseUrl: str = "https://api.anthropic.com"
    #: user overrides of the plan table (formats.md §7), e.g. {"custom": {"costUSD": 50}}
    planLimits: dict[str, dict[str, float]] = field(default_factory=dict)
    #: per-agent source override {agentName: "api"|"subscription"|"proxy"}
    sourceOverrides: dict[str, str] = field(default_factory=dict)

    def with_updates(self, raw: dict[str, Any] | None) -> tuple[Settings, list[str]]:
        """A copy with `raw` applied, and the warnings for what was ignored."""
        return parse_settings(raw, base=self)


def _number(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a number")
    if value < 0:
        raise ValueError("must not be negative")
    return float(value) if value else None


DEFAULTS = Settings()


def parse_settings(raw: dict[str, Any] | None, base: Settings | None = None) -> tuple[Settings, list[str]]:
    """Apply a settings object (maybe wrapped as {"podium": {...}}) onto `base`."""
    base = base or Settings()
    warnings: list[str] = []
    if raw is None:
        return base, warnings
    if not isinstance(raw, dict):
        return base, [f"settings must be an object, got {type(raw).__name__}; using defaults"]
    if "podium" in raw and isinstance(raw["podium"], dict):
        raw = raw["podium"]
    known = {f.name for f in fields(Settings)}
    updates: dict[str, Any] = {}

    def bad(key: str, why: str) -> None:
        warnings.append(f"setting {key}: {why}; using the default")

    for key, value in raw.items():
        if key not in known:
            warnings.append(f"unknown setting {key!r} ignored")
            continue
        try:
            if key == "authMode":
                if value not in AUTH_MODES:
                    raise ValueError(f"must be one of {', '.join(AUTH_MODES)}")
            elif key == "plan":
                if value not in PLANS:
                    raise ValueError(f"must be one of {', '.join(PLANS)}")
            elif key == "onLimit":
                if value not in ON_LIMIT:
                    raise ValueError(f"must be one of {', '.join(ON_LIMIT)}")
            elif key == "limits":
                if not isinstance(value, dict):
                    raise ValueError("must be an object")
                lim: dict[str, float | None] = {}
                for lk, lv in value.items():
                    if lk not in {f.name for f in fields(Limits)}:
                        warnings.append(f"unknown setting limits.{lk!r} ignored")
                        continue
                    try:
                        lim[lk] = _number(lv)
                    except ValueError as exc:
                        bad(f"limits.{lk}", str(exc))
                        lim[lk] = None
                value = replace(base.limits, **lim)
            elif key in ("warningAt", "criticalAt"):
                if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
                    raise ValueError("must be a fraction between 0 and 1")
                value = float(value)
            elif key in ("keepAgentsRunning", "oauthUsage"):
                if not isinstance(value, bool):
                    raise ValueError("must be true or false")
            elif key in ("worktreeDir",):
                if value is not None and not isinstance(value, str):
                    raise ValueError("must be a path string")
                value = value or None
            elif key == "oauthBaseUrl":
                if not isinstance(value, str) or not value.startswith(("http://", "https://")):
                    raise ValueError("must be an http(s) URL")
            elif key == "claudeConfigDirs":
                if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
                    raise ValueError("must be a list of paths")
            elif key == "profiles":
                if not isinstance(value, dict) or not all(
                    isinstance(v, list) and v and all(isinstance(a, str) for a in v)
                    for v in value.values()
                ):
                    raise ValueError("must map a profile name to a non-empty argv list")
            elif key in ("planLimits", "sourceOverrides") and not isinstance(value, dict):
                raise ValueError("must be an object")
            elif key == "sourceOverrides":
                # a bad entry is dropped, not the others: spawn would refuse it as an unknown source
                kept = {}
                for name, source in value.items():
                    if source in SOURCES:
                        kept[name] = source
                    else:
                        warnings.append(f"setting sourceOverrides.{name}: must be one of "
                                        f"{', '.join(SOURCES)}; ignored")  # fmt: skip
                value = kept
        except ValueError as exc:
            bad(key, str(exc))
            # the default, as the warning says: not `base`'s value, or a live change to an
            # invalid value would keep the previous one until the next restart
            updates[key] = getattr(DEFAULTS, key)
            continue
        updates[key] = value
    return replace(base, **updates), warnings
