"""The `metrics` and `webhooks` settings, and what the metrics need of the other settings.

Everything that knows the settings' shape lives here, so the rest of the package does not
care how `podium.settings` spells its attributes.
"""

from __future__ import annotations

import dataclasses
import socket
from dataclasses import dataclass
from typing import Any

WEBHOOK_KINDS = ("json", "slack")
DEFAULT_PORT = 9464  # the port OpenTelemetry's Prometheus exporters use by convention


@dataclass(frozen=True)
class WebhookTarget:
    url: str
    kind: str = "json"  # json | slack


@dataclass(frozen=True)
class MetricsConfig:
    """`listen` (host, port) serves /metrics; `otlp` pushes over OTLP/HTTP; `webhooks` get
    alerts. All off by default."""

    listen: tuple[str, int] | None = None
    otlp: bool = False
    machine: str | None = None
    webhooks: tuple[WebhookTarget, ...] = ()

    @property
    def enabled(self) -> bool:
        return self.listen is not None or self.otlp or bool(self.webhooks)

    @property
    def machine_name(self) -> str:
        return self.machine or socket.gethostname() or "localhost"


def parse_listen(text: str) -> tuple[str, int]:
    """`HOST:PORT`, `[IPv6]:PORT` or `:PORT` (127.0.0.1); port 0 picks a free one."""
    if not isinstance(text, str) or ":" not in text:
        raise ValueError(f"listen must be HOST:PORT, got {text!r}")
    host, _, port_text = text.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    try:
        port = int(port_text)
    except ValueError:
        raise ValueError(f"listen must be HOST:PORT, got {text!r}") from None
    if not 0 <= port <= 65535:
        raise ValueError(f"listen port must be 0–65535, got {port}")
    return host, port


def parse_webhooks(raw: Any) -> tuple[tuple[WebhookTarget, ...], list[str]]:
    """`[{url, kind?}]`; a bad entry is dropped with a warning, the others are kept."""
    if raw is None:
        return (), []
    if not isinstance(raw, list):
        return (), ["setting webhooks: must be a list of {url, kind}; ignored"]
    targets: list[WebhookTarget] = []
    warnings: list[str] = []
    for i, item in enumerate(raw):
        url = item.get("url") if isinstance(item, dict) else None
        kind = item.get("kind", "json") if isinstance(item, dict) else None
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            warnings.append(f"setting webhooks[{i}].url: must be an http(s) URL; ignored")
        elif kind not in WEBHOOK_KINDS:
            warnings.append(f"setting webhooks[{i}].kind: must be one of "
                            f"{', '.join(WEBHOOK_KINDS)}; ignored")  # fmt: skip
        else:
            targets.append(WebhookTarget(url, kind))
    return tuple(targets), warnings


def parse_metrics(raw: Any, webhooks: Any = None) -> tuple[MetricsConfig, list[str]]:
    """The `metrics` setting (`{listen?, otlp?, machine?}`) and the `webhooks` setting; invalid
    values are reported and left off, never fatal."""
    warnings: list[str] = []
    listen = None
    otlp = False
    machine = None
    if raw is not None and not isinstance(raw, dict):
        warnings.append("setting metrics: must be an object; metrics stay off")
        raw = None
    for key, value in (raw or {}).items():
        if key == "listen":
            if value is None:
                continue
            try:
                listen = parse_listen(value)
            except ValueError as exc:
                warnings.append(f"setting metrics.listen: {exc}; the endpoint stays off")
        elif key == "otlp":
            if isinstance(value, bool):
                otlp = value
            else:
                warnings.append("setting metrics.otlp: must be true or false; off")
        elif key == "machine":
            if isinstance(value, str) and value.strip():
                machine = value.strip()
            elif value is not None:
                warnings.append("setting metrics.machine: must be a non-empty string; "
                                "using the host name")  # fmt: skip
        else:
            warnings.append(f"unknown setting metrics.{key!r} ignored")
    targets, hook_warnings = parse_webhooks(webhooks)
    return MetricsConfig(listen, otlp, machine, targets), warnings + hook_warnings


def config_from_settings(settings: Any) -> MetricsConfig:
    """The metrics config a settings object carries (its `metrics` and `webhooks` values)."""
    hooks = _get(settings, "webhooks")
    config, _ = parse_metrics(_plain(_get(settings, "metrics")),
                              [_plain(h) for h in hooks] if isinstance(hooks, list) else hooks)  # fmt: skip
    return config


def _plain(value: Any) -> Any:
    """A settings model as the dict it was parsed from (unset fields left out)."""
    if hasattr(value, "model_dump"):
        return value.model_dump(exclude_none=True)
    return value


# -- what the reader needs of the other settings ----------------------------------------------------
def limits_settings(settings: Any) -> Any:
    """The settings for the metrics' own limits engine: the same, minus the OAuth lookup."""
    for name in ("oauth_usage", "oauthUsage"):
        if _get(settings, name):
            if hasattr(settings, "model_copy"):  # pydantic
                return settings.model_copy(update={name: False})
            return dataclasses.replace(settings, **{name: False})
    return settings


def unattributed_source(settings: Any) -> str:
    """The source of usage no agent claims: all of it is API-billed in authMode `api`,
    proxied in `proxy`, else on the subscription (as the limits engine's API spend counts)."""
    mode = _get(settings, "auth_mode") or _get(settings, "authMode")
    return mode if mode in ("api", "proxy") else "subscription"


def budget_limits(settings: Any) -> dict[str, float]:
    """The session, daily and monthly USD limits in force (absent when 0 or unset)."""
    limits = _get(settings, "limits")
    out: dict[str, float] = {}
    for key, names in (("session", ("session_usd", "sessionUSD")),
                       ("daily", ("daily_usd", "dailyUSD")),
                       ("monthly", ("monthly_usd", "monthlyUSD"))):  # fmt: skip
        value = next((v for v in (_get(limits, n) for n in names) if v is not None), None)
        if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
            out[key] = float(value)
    return out


def _get(settings: Any, name: str) -> Any:
    if isinstance(settings, dict):
        return settings.get(name)
    return getattr(settings, name, None)
