"""The `metrics` and `webhooks` settings: parsed with the others, off by default, and a bad
value is a warning that leaves that part off."""

from __future__ import annotations

import re
from pathlib import Path

from podium.metrics.catalog import CATALOG, COUNTER
from podium.metrics.config import MetricsConfig, WebhookTarget, config_from_settings
from podium.settings import DEFAULTS, parse_settings

DOCS = Path(__file__).parents[2] / "docs"


def test_off_by_default() -> None:
    assert config_from_settings(DEFAULTS) == MetricsConfig()
    assert not config_from_settings(DEFAULTS).enabled


def test_settings_turn_each_part_on() -> None:
    settings, warnings = parse_settings({"podium": {
        "metrics": {"listen": "127.0.0.1:9464", "otlp": True, "machine": " ana "},
        "webhooks": [{"url": "https://hooks.example/a", "kind": "slack"},
                     {"url": "http://127.0.0.1:9/b"}],
    }})  # fmt: skip
    assert warnings == []
    assert config_from_settings(settings) == MetricsConfig(
        listen=("127.0.0.1", 9464), otlp=True, machine="ana",
        webhooks=(WebhookTarget("https://hooks.example/a", "slack"),
                  WebhookTarget("http://127.0.0.1:9/b", "json")),
    )  # fmt: skip
    ipv6, _ = parse_settings({"metrics": {"listen": "[::1]:0"}})
    assert config_from_settings(ipv6).listen == ("::1", 0)


def test_bad_values_are_warnings_and_stay_off() -> None:
    for raw, problem in (
        ({"metrics": {"listen": "9464"}}, "metrics.listen"),
        ({"metrics": {"listen": "host:70000"}}, "metrics.listen"),
        ({"metrics": {"otlp": "yes"}}, "metrics.otlp"),
        ({"webhooks": [{"url": "ftp://x"}]}, "webhooks.0.url"),
        ({"webhooks": [{"url": "https://x", "kind": "teams"}]}, "webhooks.0.kind"),
        ({"webhooks": {"url": "https://x"}}, "webhooks"),
    ):
        settings, warnings = parse_settings(raw)
        assert len(warnings) == 1 and warnings[0].startswith(f"setting {problem}"), (raw, warnings)
        assert not config_from_settings(settings).enabled


def test_docs_name_every_metric_with_its_labels() -> None:
    doc = (DOCS / "metrics.md").read_text()
    rows = {m.group(1): m.group(2) for m in re.finditer(r"^\| `(podium_\w+)` \| \w+ \|([^|]*)\|",
                                                        doc, re.M)}  # fmt: skip
    expected = {d.prometheus_name + ("_total" if d.kind == COUNTER else ""): set(d.labels)
                for d in CATALOG}  # fmt: skip
    assert rows.keys() == expected.keys()
    for name, labels in expected.items():
        assert set(re.findall(r"`(\w+)`", rows[name])) == labels, name
