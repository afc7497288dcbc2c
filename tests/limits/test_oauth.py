"""The opt-in OAuth usage source, against a local HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from podium.limits import LimitsEngine
from podium.limits.oauth import OAuthUsage, read_token
from podium.settings import parse_settings
from podium.views.summary import plan_info

from .helpers import NOW, Feed

TOKEN = "sk-ant-oat01-PLANTEDtokenVALUE1234567890abcdefXYZ"


class UsageServer:
    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.status = 200
        self.body: dict | str = {}
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests.append({"path": self.path,
                                       "headers": {k.lower(): v for k, v in self.headers.items()}})
                body = outer.body if isinstance(outer.body, str) else json.dumps(outer.body)
                data = body.encode()
                self.send_response(outer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[UsageServer]:
    s = UsageServer()
    yield s
    s.close()


@pytest.fixture
def credentials(tmp_path: Path) -> Path:
    path = tmp_path / ".credentials.json"
    path.write_text(json.dumps({"claudeAiOauth": {"accessToken": TOKEN, "expiresAt": 4e12}}))
    return path


def usage_body(five: float, seven: float) -> dict:
    return {
        "five_hour": {"utilization": five, "resets_at": "2026-11-23T05:00:00.000000+00:00"},
        "seven_day": {"utilization": seven, "resets_at": "2026-11-27T00:00:00+00:00"},
        "seven_day_opus": None,
    }


def test_request_carries_the_token_and_beta_header(server: UsageServer, credentials: Path) -> None:
    server.body = usage_body(37.0, 12.0)
    figures = OAuthUsage(server.url, credentials=credentials).fetch(now=NOW)
    assert {f.window: f.used_pct for f in figures} == {"five_hour": 37.0, "seven_day": 12.0}
    (request,) = server.requests
    assert request["path"] == "/api/oauth/usage"
    assert request["headers"]["authorization"] == f"Bearer {TOKEN}"
    assert request["headers"]["anthropic-beta"] == "oauth-2025-04-20"
    five = next(f for f in figures if f.window == "five_hour")
    assert five.resets_at == 1_795_410_000.0  # 2026-11-23T05:00Z


def test_fractional_utilization_is_scaled(server: UsageServer, credentials: Path) -> None:
    server.body = usage_body(0.37, 0.125)
    figures = OAuthUsage(server.url, credentials=credentials).fetch(now=NOW)
    assert {f.window: f.used_pct for f in figures} == {
        "five_hour": pytest.approx(37.0), "seven_day": pytest.approx(12.5)}  # fmt: skip


def test_engine_uses_oauth_when_opted_in_and_caches_it(
    feed: Feed, server: UsageServer, credentials: Path
) -> None:
    server.body = usage_body(41.0, 9.0)
    settings, _ = parse_settings({"oauthUsage": True, "oauthBaseUrl": server.url})
    oauth = OAuthUsage(server.url, credentials=credentials, background=False)
    engine = LimitsEngine(feed.store, settings, oauth=oauth)
    status = engine.plan_status(now=NOW)
    assert (status.five_hour.source, status.five_hour.used_pct) == ("oauth", 41.0)
    assert status.seven_day.used_pct == 9.0 and status.errors == []
    server.body = usage_body(55.0, 9.0)
    for dt in (10, 60, 179):  # cached for at least 180 s
        assert engine.plan_status(now=NOW + dt).five_hour.used_pct == 41.0
    assert len(server.requests) == 1
    assert engine.plan_status(now=NOW + 181).five_hour.used_pct == 55.0
    assert len(server.requests) == 2


def test_not_opted_in_means_no_request(feed: Feed, server: UsageServer) -> None:
    settings, _ = parse_settings({"oauthBaseUrl": server.url})
    status = LimitsEngine(feed.store, settings).plan_status(now=NOW)
    assert status.five_hour.source == "estimate"
    assert server.requests == []


def test_error_status_is_shown_cached_and_never_leaks_the_token(
    feed: Feed, server: UsageServer, credentials: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    server.status, server.body = 401, {"error": f"bad token {TOKEN}"}
    settings, _ = parse_settings({"oauthUsage": True, "oauthBaseUrl": server.url})
    oauth = OAuthUsage(server.url, credentials=credentials, background=False)
    engine = LimitsEngine(feed.store, settings, oauth=oauth)
    status = engine.plan_status(now=NOW)
    assert status.errors == ["oauth usage: HTTP 401 Unauthorized"]
    assert status.five_hour.source == "estimate"  # the fallback, labelled as such
    engine.plan_status(now=NOW + 100)
    assert len(server.requests) == 1  # failures are cached too
    # the editor gets the reason with the plan figures (podium/usageSummary, the tooltip)
    wire = plan_info(status).wire()
    assert TOKEN not in caplog.text and TOKEN not in json.dumps(wire)
    assert wire["errors"] == ["oauth usage: HTTP 401 Unauthorized"]
    stored = "\n".join(str(r) for r in feed.store.conn.execute("SELECT * FROM meta"))
    assert TOKEN not in stored


def test_bad_bodies_and_missing_credentials_are_errors(server: UsageServer, tmp_path: Path,
                                                       credentials: Path) -> None:  # fmt: skip
    oauth = OAuthUsage(server.url, credentials=credentials, background=False)
    server.body = "<html>nope</html>"
    oauth.refresh(_NullStore(), now=NOW)
    assert oauth.last_error == "oauth usage: the response is not JSON"
    missing = OAuthUsage(server.url, credentials=tmp_path / "none.json", background=False)
    missing.refresh(_NullStore(), now=NOW)
    assert missing.last_error.startswith("no Claude Code login found")
    closed = OAuthUsage("http://127.0.0.1:9", credentials=credentials, background=False,
                        timeout=2)  # fmt: skip
    closed.refresh(_NullStore(), now=NOW)
    assert closed.last_error.startswith("oauth usage: cannot connect")
    assert TOKEN not in (oauth.last_error + missing.last_error + closed.last_error)


def test_expired_login_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"claudeAiOauth": {"accessToken": TOKEN, "expiresAt": 1000}}))
    with pytest.raises(Exception, match="expired"):
        read_token(path)


def test_background_fetch_does_not_block_and_lands_on_the_next_call(
    feed: Feed, server: UsageServer, credentials: Path
) -> None:
    server.body = usage_body(23.0, 5.0)
    oauth = OAuthUsage(server.url, credentials=credentials)
    oauth.refresh(feed.store, now=NOW)  # starts the fetch, returns at once
    oauth.refresh(feed.store, now=NOW + 1, wait=True)
    rows = feed.store.conn.execute(
        "SELECT source, window, used_pct FROM plan_snapshots ORDER BY window").fetchall()
    assert rows == [("oauth", "five_hour", 23.0), ("oauth", "seven_day", 5.0)]


class _NullStore:
    """Refresh records nothing when a fetch fails; any write would be a bug here."""

    def transaction(self):  # pragma: no cover - must not be called
        raise AssertionError("unexpected write")
