"""Plan figures from Anthropic's OAuth usage endpoint (formats.md §6). Opt-in only.

`GET {base}/api/oauth/usage` with the Claude Code login's access token. The response is cached
(≥ 180 s, failures too, so a broken endpoint is not hammered); figures go to `plan_snapshots` as
source `oauth`. The token is sent in one header and nowhere else: it is never logged, stored or
put in an error message. HTTP uses only the standard library.
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from podium.limits import plans
from podium.redact import scrub
from podium.store import Store

USAGE_PATH = "/api/oauth/usage"
BETA_HEADER = "oauth-2025-04-20"
MIN_CACHE_S = 180.0


def credentials_path() -> Path:
    """`.credentials.json` in the first `CLAUDE_CONFIG_DIR` root, else `~/.claude`."""
    env = os.environ.get("CLAUDE_CONFIG_DIR", "").strip()
    root = Path(env.split(",")[0].strip()).expanduser() if env else Path.home() / ".claude"
    return root / ".credentials.json"


class OAuthError(Exception):
    """A failure shown to the user as is (never contains the token)."""


def read_token(path: Path) -> str:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise OAuthError(f"no Claude Code login found ({scrub(str(path))})") from exc
    except (OSError, ValueError) as exc:
        raise OAuthError(f"cannot read {scrub(str(path))}: {type(exc).__name__}") from exc
    oauth = raw.get("claudeAiOauth") if isinstance(raw, dict) else None
    token = oauth.get("accessToken") if isinstance(oauth, dict) else None
    if not isinstance(token, str) or not token.strip():
        raise OAuthError(f"{scrub(str(path))} holds no claudeAiOauth.accessToken")
    expires = oauth.get("expiresAt") if isinstance(oauth, dict) else None
    if isinstance(expires, int | float) and expires > 0 and expires / 1000 < time.time():
        raise OAuthError("the Claude Code login has expired; run `claude` to refresh it")
    return token.strip()


def utilization_scale(payload: dict[str, Any]) -> float:
    """The endpoint's `utilization` is 0–100 or 0–1: fractions when every value is at most 1
    and at least one is fractional (0.37); 0–100 otherwise."""
    values = []
    for window in plans.WINDOW_SECONDS:
        item = payload.get(window)
        value = item.get("utilization") if isinstance(item, dict) else None
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            values.append(float(value))
    if values and all(0 <= v <= 1 for v in values) and any(not v.is_integer() for v in values):
        return 100.0
    return 1.0


class OAuthUsage:
    """Fetches and caches the OAuth usage figures."""

    def __init__(
        self,
        base_url: str = "https://api.anthropic.com",
        *,
        credentials: str | os.PathLike[str] | None = None,
        cache_seconds: float = MIN_CACHE_S,
        timeout: float = 5.0,
        background: bool = True,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.credentials = Path(credentials) if credentials else None
        self.cache_seconds = max(MIN_CACHE_S, cache_seconds)
        self.timeout = timeout
        #: fetch in a thread so plan_status never waits on the network
        self.background = background
        self.last_attempt: float | None = None
        self.last_error: str | None = None
        self.requests = 0
        self._pending: tuple[float, list[plans.Figure]] | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.RLock()

    def due(self, now: float) -> bool:
        return self.last_attempt is None or now - self.last_attempt >= self.cache_seconds

    def refresh(self, store: Store, now: float | None = None, *, wait: bool = False) -> None:
        """Record figures fetched since the last call; start a fetch when the cache expired."""
        now = time.time() if now is None else now
        self._record_pending(store)
        with self._lock:
            if not self.due(now) or (self._thread is not None and self._thread.is_alive()):
                busy = self._thread
            else:
                self.last_attempt = now
                busy = None
                if self.background and not wait:
                    self._thread = threading.Thread(target=self._fetch_into_pending, args=(now,),
                                                    name="podium-oauth-usage", daemon=True)  # fmt: skip
                    self._thread.start()
                else:
                    self._fetch_into_pending(now)
        if wait and busy is not None:
            busy.join(self.timeout + 1)
        if wait and self._thread is not None:
            self._thread.join(self.timeout + 1)
        self._record_pending(store)

    def _record_pending(self, store: Store) -> None:
        with self._lock:
            pending, self._pending = self._pending, None
        if pending:
            observed, figures = pending
            plans.record_snapshots(store, "oauth", figures, now=observed)

    def _fetch_into_pending(self, now: float) -> None:
        try:
            figures = self.fetch(now)
        except OAuthError as exc:
            self.last_error = str(exc)
            return
        except Exception as exc:  # never let a fetch failure escape into the caller
            self.last_error = f"oauth usage failed: {type(exc).__name__}"
            return
        self.last_error = None
        with self._lock:
            self._pending = (now, figures)

    def fetch(self, now: float | None = None) -> list[plans.Figure]:
        """One request (no caching). Raises OAuthError with a user-facing message."""
        now = time.time() if now is None else now
        token = read_token(self.credentials or credentials_path())
        request = urllib.request.Request(
            self.base_url + USAGE_PATH,
            headers={
                "Authorization": f"Bearer {token}",
                "anthropic-beta": BETA_HEADER,
                "Accept": "application/json",
                "User-Agent": "podium",
            },
            method="GET",
        )
        self.requests += 1
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                body = response.read(1 << 20)
        except urllib.error.HTTPError as exc:
            raise OAuthError(f"oauth usage: HTTP {exc.code} {scrub(str(exc.reason))}") from None
        except urllib.error.URLError as exc:
            raise OAuthError(f"oauth usage: cannot connect ({scrub(str(exc.reason))})") from None
        except (TimeoutError, OSError) as exc:
            raise OAuthError(f"oauth usage: {type(exc).__name__}") from None
        try:
            payload = json.loads(body)
        except ValueError:
            raise OAuthError("oauth usage: the response is not JSON") from None
        if not isinstance(payload, dict):
            raise OAuthError("oauth usage: unexpected response shape")
        return plans.sanitize_rate_limits(payload, now, scale=utilization_scale(payload))
