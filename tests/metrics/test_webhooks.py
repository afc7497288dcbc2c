"""Alerts out: one delivery per alert level, retries, timeouts, a receiver that is down."""

from __future__ import annotations

import json
import logging
import threading
import time

import pytest
from tests.metrics.helpers import Feed, free_port, receiver, wait_for

from podium.limits.engine import LimitsEngine
from podium.metrics.config import MetricsConfig, WebhookTarget
from podium.metrics.service import MetricsService
from podium.metrics.webhooks import Webhooks
from podium.settings import Limits, Settings

SECRET = "sk-ant-api03-" + "A" * 40
# a plan table no test spend comes near: only the budgets alert
QUIET_PLAN = {"custom": {"tokens": 1e12, "costUSD": 1e6, "messages": 1e9}}


def test_each_alert_level_is_delivered_once(feed: Feed) -> None:
    settings = Settings(plan="custom", planLimits=QUIET_PLAN,
                        limits=Limits(dailyUSD=1.0, monthlyUSD=100.0))  # fmt: skip
    engine = LimitsEngine(feed.store, settings)  # the server's engine, raising the alerts
    with receiver() as rec:
        config = MetricsConfig(webhooks=(WebhookTarget(rec.url + "/hook", "json"),), machine="m1")
        # two processes on one store (e.g. `podium serve` and `podium metrics`): one sends
        services = [MetricsService(feed.store.path, settings, config, feed_poll_s=0.05)
                    for _ in range(2)]  # fmt: skip
        for service in services:
            service.start()
        try:
            now = time.time()
            for usd in (0.85, 0.05, 0.07, 0.03):  # 85 %, 90 %, 97 %, 100 %
                feed.spend(usd, session="s", cwd="/repos/shop", ts=now)
                engine.evaluate([], {}, now=now)
            engine.evaluate([], {}, now=now + 1)  # nothing new: no alert, no delivery
            wait_for(lambda: len(rec.bodies()) >= 3, timeout=10, message="three deliveries")
            # a later, different alert arrives, so anything sent in between would be here too
            feed.spend(99.0, session="s", cwd="/repos/shop", ts=now)
            engine.evaluate([], {}, now=now + 2)
            wait_for(lambda: any(json.loads(b)["scope"] == "monthly" for b in rec.bodies()),
                     timeout=10, message="the monthly alert")  # fmt: skip
        finally:
            for service in services:
                service.stop()
    alerts = [json.loads(b) for b in rec.bodies("/hook")]
    daily = [(a["level"], a["scope"]) for a in alerts if a["scope"] == "daily"]
    assert daily == [("warning", "daily"), ("critical", "daily"), ("exceeded", "daily")]
    assert [a["level"] for a in alerts if a["scope"] == "monthly"] == ["exceeded"]
    first = alerts[0]
    assert first["machine"] == "m1" and first["source"] == "podium"
    assert first["limit"] == 1.0 and first["pct"] == pytest.approx(85.0)
    assert "daily spend" in first["message"]


def test_a_500_is_retried_then_delivered() -> None:
    with receiver(statuses=[500, 503]) as rec:
        hooks = Webhooks([WebhookTarget(rec.url, "json")], machine="m1", backoff_s=0.05)
        try:
            hooks.send({"level": "warning", "scope": "daily", "message": "daily spend at 80%"})
            wait_for(lambda: hooks.targets[0].delivered == 1, timeout=10, message="delivery")
        finally:
            hooks.close()
        bodies = rec.bodies()
    assert len(bodies) == 3 and len(set(bodies)) == 1  # the same alert, tried three times
    assert hooks.targets[0].failed == 0


def test_a_receiver_that_is_down_costs_a_log_line_only(caplog: pytest.LogCaptureFixture) -> None:
    url = f"http://127.0.0.1:{free_port()}/services/T000/B000/{SECRET[:20]}"
    hooks = Webhooks([WebhookTarget(url, "slack")], machine="m1", attempts=3, backoff_s=0.01)
    try:
        with caplog.at_level(logging.WARNING, logger="podium.metrics.webhooks"):
            started = time.monotonic()
            hooks.send({"level": "critical", "scope": "plan", "message": "plan 5-hour at 96%"})
            assert time.monotonic() - started < 0.1  # queued, never waited for
            wait_for(lambda: hooks.targets[0].failed == 1, timeout=10, message="giving up")
    finally:
        hooks.close()
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1
    assert "alert not delivered" in lines[0] and "plan 5-hour at 96%" in lines[0]
    assert "T000" not in lines[0]  # the URL's path (a Slack URL's secret) is never logged


def test_a_hanging_receiver_times_out_and_nothing_waits_for_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    release = threading.Event()
    with receiver(on_post=lambda _path, _body: release.wait(10)) as rec:
        hooks = Webhooks([WebhookTarget(rec.url, "json")], machine="m1", timeout_s=0.3,
                         attempts=2, backoff_s=0.01)  # fmt: skip
        try:
            with caplog.at_level(logging.WARNING, logger="podium.metrics.webhooks"):
                hooks.send({"level": "warning", "scope": "agent", "message": "agent a at 80%"})
                wait_for(lambda: hooks.targets[0].failed == 1, timeout=10, message="time-outs")
        finally:
            release.set()
            hooks.close()
        assert len(rec.bodies()) == 2
    assert "timed out" in caplog.text


def test_bodies_are_scrubbed_and_slack_shaped() -> None:
    alert = {"level": "exceeded", "scope": "agent", "agentName": f"bot {SECRET}",
             "message": f"agent alpha reached its $5.00 limit; key {SECRET}"}  # fmt: skip
    with receiver() as slack, receiver() as generic:
        hooks = Webhooks([WebhookTarget(slack.url, "slack"), WebhookTarget(generic.url, "json")],
                         machine="m1")  # fmt: skip
        try:
            hooks.send(alert)
            wait_for(lambda: slack.bodies() and generic.bodies(), timeout=10, message="both")
        finally:
            hooks.close()
        text = json.loads(slack.bodies()[0])
        body = json.loads(generic.bodies()[0])
    assert set(text) == {"text"}
    assert text["text"].startswith(":no_entry: Podium on m1: agent alpha reached its $5.00 limit")
    for raw in (slack.bodies()[0], generic.bodies()[0]):
        assert SECRET not in raw.decode() and "REDACTED" in raw.decode()
    assert body["level"] == "exceeded" and body["scope"] == "agent"
