"""User settings: the same keys as the extension's `podium.*` settings.

camelCase on the wire (`authMode`, `limits.agentUSD`), snake_case inside the core
(`settings.auth_mode`, `settings.limits.agent_usd`): pydantic models with camelCase aliases.

Parsing never fails as a whole: each unknown key or invalid value is reported once as a warning
naming the setting, and the default is used instead, so one typo in settings.json cannot take
Podium down.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.alias_generators import to_camel

from podium.textlimits import MAX_ARGS, MAX_PATH_BYTES, Arg, PathText, utf8_size

AuthMode = Literal["subscription", "api", "both", "proxy"]
Plan = Literal["pro", "max5", "max20", "team", "custom"]
OnLimit = Literal["warn", "pause", "stop"]
Source = Literal["subscription", "api", "proxy"]
PermissionMode = Literal["default", "acceptEdits", "plan", "bypassPermissions"]
OnRateLimit = Literal["wait", "pause", "switchToApi"]

NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Fraction = Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)]
# paths and argv go to the OS: valid UTF-8 without NUL, bounded (podium.textlimits)
Argv = Annotated[list[Arg], Field(min_length=1, max_length=MAX_ARGS)]


class _SettingsModel(BaseModel):
    # strict: no silent "5" → 5 or true → 1; frozen: a settings change makes a new object
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True, strict=True
    )


class Limits(_SettingsModel):
    """Budgets in USD and in tokens (input + output); 0 or None means no limit."""

    agent_usd: NonNegative | None = Field(default=None, alias="agentUSD")
    session_usd: NonNegative | None = Field(default=None, alias="sessionUSD")
    daily_usd: NonNegative | None = Field(default=None, alias="dailyUSD")
    monthly_usd: NonNegative | None = Field(default=None, alias="monthlyUSD")
    agent_tokens: NonNegative | None = None
    session_tokens: NonNegative | None = None
    daily_tokens: NonNegative | None = None
    monthly_tokens: NonNegative | None = None

    @field_validator("*", mode="after")
    @classmethod
    def _zero_is_none(cls, value: float | None) -> float | None:
        return float(value) if value else None


class MetricsSettings(_SettingsModel):
    """`metrics` (docs/metrics.md): the Prometheus endpoint and the OTLP push, off by default."""

    #: "HOST:PORT" to serve /metrics on, e.g. "127.0.0.1:9464"
    listen: str | None = None
    otlp: bool = False
    #: the `machine` label (default: the host name)
    machine: str | None = None

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str | None) -> str | None:
        if value is not None:
            from podium.metrics.config import parse_listen  # light; one parser for both

            parse_listen(value)
        return value or None

    @field_validator("machine")
    @classmethod
    def _named(cls, value: str | None) -> str | None:
        return (value or "").strip() or None


class Webhook(_SettingsModel):
    """One entry of `webhooks`: where budget, plan and usage-limit alerts are POSTed."""

    url: str
    kind: Literal["json", "slack"] = "json"

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value


class Settings(_SettingsModel):
    auth_mode: AuthMode = "subscription"
    plan: Plan = "max5"
    limits: Limits = Limits()
    on_limit: OnLimit = "pause"
    worktree_dir: str | None = None
    #: extra agent profiles: a name → the argv that starts it
    profiles: dict[str, Argv] = {}
    claude_config_dirs: list[PathText] = []
    #: alert levels as fractions of a limit
    warning_at: Fraction = 0.80
    critical_at: Fraction = 0.95
    #: let agents outlive the server (default: stop them on shutdown)
    keep_agents_running: bool = False
    #: opt-in: read plan usage from Anthropic's OAuth usage endpoint
    oauth_usage: bool = False
    oauth_base_url: str = "https://api.anthropic.com"
    #: user overrides of the plan table (formats.md §7), e.g. {"custom": {"costUSD": 50}};
    #: limits.plans.plan_limits ignores values that are not positive numbers
    plan_limits: dict[str, dict[str, Any]] = {}
    #: per-agent source override {agentName: "api"|"subscription"|"proxy"}
    source_overrides: dict[str, Source] = {}
    #: opt-in: Prometheus endpoint / OTLP push, and alert webhooks (docs/metrics.md)
    metrics: MetricsSettings = MetricsSettings()
    webhooks: list[Webhook] = []
    #: the `--permission-mode` of new Claude Code sessions (a spawn's own wins), and per
    #: profile {profileName: mode}
    permission_mode: PermissionMode = "default"
    profile_permission_modes: dict[str, PermissionMode] = {}
    #: what to do when an agent reports a rate limit: wait it out, pause the agent, or
    #: continue its session under the API key in the environment variable `apiKeyEnv`
    on_rate_limit: OnRateLimit = "wait"
    #: the NAME of an environment variable of the server holding an API key (its value is
    #: never stored or logged)
    api_key_env: str | None = None
    #: retention: once a month, usage older than this many days moves into monthly archive
    #: databases (podium.store.archive); at least 32 so this month's budget counts all of it
    archive_older_than_days: Annotated[int, Field(ge=32, le=36_500)] | None = None

    @field_validator("worktree_dir")
    @classmethod
    def _empty_dir_is_none(cls, value: str | None) -> str | None:
        if value and utf8_size(value) > MAX_PATH_BYTES:
            raise ValueError(f"must be at most {MAX_PATH_BYTES:,} bytes")
        return value or None

    @field_validator("api_key_env")
    @classmethod
    def _env_name(cls, value: str | None) -> str | None:
        if value and (not value.replace("_", "a").isalnum() or value[0].isdigit()):
            raise ValueError("must be an environment variable name (letters, digits, _)")
        return value or None

    @field_validator("oauth_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value

    def with_updates(self, raw: dict[str, Any] | None) -> tuple[Settings, list[str]]:
        """A copy with `raw` applied, and the warnings for what was ignored."""
        return parse_settings(raw, base=self)


DEFAULTS = Settings()


def _wire_names(model: type[BaseModel]) -> dict[str, str]:
    """camelCase key → attribute name."""
    return {field.alias or name: name for name, field in model.model_fields.items()}


#: the settings' camelCase keys (docs/protocol.md §Settings)
SETTING_KEYS: tuple[str, ...] = tuple(_wire_names(Settings))


def _problem(exc: ValidationError, prefix: str = "") -> str:
    """`limits.dailyUSD: Input should be a valid number`: the setting's dotted path, and why."""
    first = exc.errors()[0]
    path = ".".join(str(part) for part in first.get("loc", ()))
    return f"{prefix}{path}: {first.get('msg', 'invalid').removeprefix('Value error, ')}"


def _check(model: type[_SettingsModel], key: str, value: Any) -> Any:
    """`value` validated as the setting `key` of `model` (raises ValidationError)."""
    return getattr(model.model_validate({key: value}), _wire_names(model)[key])


def parse_settings(
    raw: dict[str, Any] | None, base: Settings | None = None
) -> tuple[Settings, list[str]]:
    """Apply a settings object (maybe wrapped as {"podium": {...}}) onto `base`.

    Keys present replace `base`'s values (`limits` key by key); an invalid value becomes the
    default, not `base`'s value: a live change to an invalid value must not keep the previous
    one until the next restart.
    """
    base = base or Settings()
    warnings: list[str] = []
    if raw is None:
        return base, warnings
    if not isinstance(raw, dict):
        return base, [f"settings must be an object, got {type(raw).__name__}; using defaults"]
    if isinstance(raw.get("podium"), dict):
        raw = raw["podium"]
    # applied key by key: `limits` merges into base's, a bad sourceOverrides entry goes alone
    nested = {
        "limits": lambda value: _parse_limits(value, base.limits, warnings),
        "sourceOverrides": lambda value: _parse_source_overrides(value, warnings),
    }
    updates = _updates(Settings, raw, DEFAULTS, warnings, nested=nested)
    return base.model_copy(update=updates), warnings


def _updates(model: type[_SettingsModel], raw: dict[str, Any], defaults: _SettingsModel,
             warnings: list[str], prefix: str = "",
             nested: dict[str, Callable[[Any], Any]] | None = None) -> dict[str, Any]:  # fmt: skip
    """attribute → value for each key of `raw`: validated, else the default (and a warning)."""
    names = _wire_names(model)
    updates: dict[str, Any] = {}
    for key, value in raw.items():
        name = names.get(key)
        if name is None:
            warnings.append(f"unknown setting {prefix}{key!r} ignored")
        elif nested and key in nested:
            updates[name] = nested[key](value)
        else:
            try:
                updates[name] = _check(model, key, value)
            except ValidationError as exc:
                warnings.append(f"setting {_problem(exc, prefix)}; using the default")
                updates[name] = getattr(defaults, name)
    return updates


def _parse_limits(value: Any, base: Limits, warnings: list[str]) -> Limits:
    if not isinstance(value, dict):
        warnings.append("setting limits: must be an object; using the default")
        return DEFAULTS.limits
    return base.model_copy(update=_updates(Limits, value, Limits(), warnings, prefix="limits."))


def _parse_source_overrides(value: Any, warnings: list[str]) -> dict[str, Source]:
    """A bad entry is dropped, not the others: spawn would refuse it as an unknown source."""
    if not isinstance(value, dict):
        warnings.append("setting sourceOverrides: must be an object; using the default")
        return {}
    kept: dict[str, Source] = {}
    for name, source in value.items():
        try:
            kept.update(_check(Settings, "sourceOverrides", {name: source}))
        except ValidationError as exc:
            warnings.append(f"setting {_problem(exc)}; ignored")
    return kept
