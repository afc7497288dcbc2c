"""Which account pays for an agent: `api` (a billed key), `proxy` (a load balancer such as
ccflare in front of several accounts) or `subscription` (a Pro/Max login)."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from podium.errors import InvalidInput

SOURCES: tuple[str, ...] = ("subscription", "api", "proxy")
ANTHROPIC_API_HOST = "api.anthropic.com"


def detect_source(
    env: Mapping[str, str], *, api_key_source: str | None = None, override: str | None = None
) -> str:
    """The billing source of an agent running with `env`.

    `api_key_source` is stream-json init's `apiKeySource` once known (`none` on a subscription
    login). A user `override` wins over everything.
    """
    if override:
        if override not in SOURCES:
            raise InvalidInput(
                f"unknown source {override!r}; use one of {', '.join(SOURCES)}", field="source"
            )
        return override
    if env.get("ANTHROPIC_API_KEY", "").strip():
        return "api"
    if api_key_source and api_key_source.strip().lower() not in ("none", ""):
        return "api"
    base_url = env.get("ANTHROPIC_BASE_URL", "").strip()
    if base_url and _host(base_url) != ANTHROPIC_API_HOST:
        return "proxy"
    return "subscription"


def _host(url: str) -> str:
    if "://" not in url:
        url = "https://" + url
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""
