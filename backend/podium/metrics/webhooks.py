"""Alerts out: Slack-compatible incoming webhooks and generic JSON POSTs.

`Webhooks.send(alert)` only queues: each target has its own thread that POSTs with a timeout
and retries with exponential backoff on a connection error, a timeout, 408, 429 or 5xx. A
delivery that still fails is logged (the URL without its path: a Slack URL's path is its secret)
and dropped; nothing here ever raises into the caller.

`AlertFeed` is where alerts come from: the store's `alerts` table, which holds each budget,
plan and usage-limit alert once per level (the rule the editor's `podium/alert` follows). It
claims new rows by moving a mark in `meta` inside a write transaction, so when several
processes share a store each alert is sent by one of them.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from typing import Any

from podium.metrics.config import WebhookTarget
from podium.redact import scrub
from podium.store import Store

log = logging.getLogger(__name__)

#: alert scopes that go out (docs/protocol.md `Alert.scope`); anything else stays in the editor
ALERT_SCOPES = frozenset({"agent", "session", "daily", "monthly", "plan", "usage_limit",
                          "rate_limit"})  # fmt: skip
CLAIM_KEY = "metrics.webhooks.sent_id"
SLACK_ICON = {"warning": ":warning:", "critical": ":rotating_light:", "exceeded": ":no_entry:"}
_STOP = object()


def safe_url(url: str) -> str:
    """The URL as it may appear in a log line: scheme and host only."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}/…"


def payload(kind: str, alert: dict[str, Any], machine: str) -> dict[str, Any]:
    """The body for one alert: the `podium/alert` fields (+ machine, agent name, time) as JSON,
    or a Slack message. Every free text is scrubbed."""
    text_fields = ("message", "agentName", "scopeKey", "agentId")
    clean = {k: scrub(v) if k in text_fields and isinstance(v, str) else v
             for k, v in alert.items()}  # fmt: skip
    clean["machine"] = scrub(machine)
    clean.setdefault("source", "podium")
    if kind == "slack":
        icon = SLACK_ICON.get(str(clean.get("level")), ":information_source:")
        return {"text": f"{icon} Podium on {clean['machine']}: {clean.get('message', '')}"}
    return clean


class _Target(threading.Thread):
    """One webhook URL: its queue and the thread that delivers it."""

    def __init__(self, target: WebhookTarget, machine: str, *, timeout_s: float, attempts: int,
                 backoff_s: float, max_backoff_s: float, queue_size: int) -> None:  # fmt: skip
        super().__init__(name=f"podium-webhook-{safe_url(target.url)}", daemon=True)
        self.target = target
        self.machine = machine
        self.timeout_s = timeout_s
        self.attempts = max(1, attempts)
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.queue: queue.Queue[Any] = queue.Queue(maxsize=queue_size)
        self.abort = threading.Event()
        #: alerts delivered / given up (diagnostics)
        self.delivered = 0
        self.failed = 0

    def put(self, alert: dict[str, Any]) -> None:
        try:
            self.queue.put_nowait(alert)
        except queue.Full:
            self.failed += 1
            log.warning("webhook %s: queue full, alert dropped: %s", safe_url(self.target.url),
                        scrub(str(alert.get("message", ""))))  # fmt: skip

    def run(self) -> None:
        while True:
            item = self.queue.get()
            if item is _STOP:
                return
            try:
                self._deliver(item)
            except Exception:  # never let one alert end the thread
                log.exception("webhook %s: delivery failed", safe_url(self.target.url))

    def _deliver(self, alert: dict[str, Any]) -> None:
        body = json.dumps(payload(self.target.kind, alert, self.machine)).encode()
        where = safe_url(self.target.url)
        error = ""
        for attempt in range(self.attempts):
            if attempt and self.abort.wait(min(self.max_backoff_s, self.backoff_s * 2 ** (attempt - 1))):
                break  # closing: stop retrying
            status, error = self._post(body)
            if status is not None and 200 <= status < 300:
                self.delivered += 1
                return
            if status is not None and 400 <= status < 500 and status not in (408, 429):
                break  # the receiver refuses this body: retrying will not help
        self.failed += 1
        log.warning("webhook %s: alert not delivered (%s): %s", where, error,
                    scrub(str(alert.get("message", ""))))  # fmt: skip

    def _post(self, body: bytes) -> tuple[int | None, str]:
        request = urllib.request.Request(
            self.target.url, data=body, method="POST",
            headers={"Content-Type": "application/json", "User-Agent": "podium-webhook"},
        )  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                return response.status, f"HTTP {response.status}"
        except urllib.error.HTTPError as exc:
            return exc.code, f"HTTP {exc.code}"
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            return None, scrub(str(reason)) or type(exc).__name__


class Webhooks:
    """Delivers alerts to every target, in the background."""

    def __init__(self, targets: Iterable[WebhookTarget], *, machine: str, timeout_s: float = 5.0,
                 attempts: int = 5, backoff_s: float = 1.0, max_backoff_s: float = 30.0,
                 queue_size: int = 1000) -> None:  # fmt: skip
        self.targets = [
            _Target(t, machine, timeout_s=timeout_s, attempts=attempts, backoff_s=backoff_s,
                    max_backoff_s=max_backoff_s, queue_size=queue_size)
            for t in targets
        ]  # fmt: skip
        for target in self.targets:
            target.start()

    def send(self, alert: dict[str, Any]) -> None:
        """Queue `alert` (a `podium/alert`-shaped dict) for every target; never blocks."""
        for target in self.targets:
            target.put(dict(alert))

    def close(self, timeout_s: float = 5.0) -> None:
        """Deliver what is queued for up to `timeout_s`, then stop retrying and end."""
        deadline = time.monotonic() + timeout_s
        for target in self.targets:
            target.queue.put(_STOP)
        for target in self.targets:
            target.join(max(0.0, deadline - time.monotonic()))
        for target in self.targets:
            target.abort.set()
            target.join(1.0)


class AlertFeed:
    """Sends the alerts the store records from now on to `webhooks` (polls every `poll_s`)."""

    def __init__(self, db_path: str, webhooks: Webhooks, *, poll_s: float = 0.5) -> None:
        self.db_path = db_path
        self.webhooks = webhooks
        self.poll_s = poll_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="podium-alert-feed", daemon=True)
        self._store: Store | None = None

    def start(self) -> None:
        self._store = Store(self.db_path)
        with self._store.transaction() as conn:
            # first start: alerts raised before webhooks were configured are not sent
            conn.execute("INSERT OR IGNORE INTO meta(key, value) "
                         "SELECT ?, COALESCE(MAX(id), 0) FROM alerts", (CLAIM_KEY,))  # fmt: skip
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        if self._store is not None:
            self._store.close()

    def _run(self) -> None:
        while not self._stop.wait(self.poll_s):
            try:
                self.poll()
            except Exception:  # a busy store: the next poll tries again
                log.exception("alert feed: reading alerts failed")

    def poll(self) -> int:
        """Claim and send every alert stored since the last claim; returns how many."""
        store = self._store
        assert store is not None
        newest = store.conn.execute("SELECT COALESCE(MAX(id), 0) FROM alerts").fetchone()[0]
        if newest <= int(store.get_meta(CLAIM_KEY) or 0):
            return 0  # nothing new: no write lock taken
        with store.transaction() as conn:
            last = int(store.get_meta(CLAIM_KEY) or 0)
            rows = conn.execute(
                "SELECT a.id, a.ts, a.level, a.scope, a.scope_key, a.message, a.agent_id, "
                "g.name, a.action, a.used, a.limit_value FROM alerts a "
                "LEFT JOIN agents g ON g.id = a.agent_id WHERE a.id > ? ORDER BY a.id",
                (last,),
            ).fetchall()
            if not rows:
                return 0
            store.set_meta(CLAIM_KEY, str(rows[-1][0]))
        sent = 0
        for row in rows:
            alert = _alert(row)
            if alert["scope"] in ALERT_SCOPES:
                self.webhooks.send(alert)
                sent += 1
        return sent


def _alert(row: tuple) -> dict[str, Any]:
    alert_id, ts, level, scope, key, message, agent_id, name, action, used, limit = row
    pct = round(100.0 * used / limit, 2) if used is not None and limit else None
    return {
        "level": level, "message": message, "agentId": agent_id, "agentName": name,
        "scope": scope, "scopeKey": key, "action": action, "used": used, "limit": limit,
        "pct": pct, "raisedAt": int(ts * 1000), "alertId": alert_id,
    }  # fmt: skip
