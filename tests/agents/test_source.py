"""Billing source detection."""

from __future__ import annotations

import pytest

from podium.agents.source import detect_source
from podium.errors import InvalidInput


@pytest.mark.parametrize(
    ("env", "key_source", "override", "expected"),
    [
        ({}, None, None, "subscription"),
        ({}, "none", None, "subscription"),
        ({"ANTHROPIC_API_KEY": "sk-ant-x"}, None, None, "api"),
        ({"ANTHROPIC_API_KEY": "  "}, None, None, "subscription"),
        ({}, "ANTHROPIC_API_KEY", None, "api"),
        ({}, "apiKeyHelper", None, "api"),
        ({"ANTHROPIC_BASE_URL": "http://localhost:8080"}, None, None, "proxy"),
        ({"ANTHROPIC_BASE_URL": "https://api.anthropic.com"}, None, None, "subscription"),
        ({"ANTHROPIC_BASE_URL": "https://API.anthropic.com/v1"}, "none", None, "subscription"),
        ({"ANTHROPIC_BASE_URL": "localhost:8080"}, None, None, "proxy"),
        ({"ANTHROPIC_API_KEY": "k", "ANTHROPIC_BASE_URL": "http://lb:1"}, None, None, "api"),
        ({"ANTHROPIC_API_KEY": "k"}, None, "subscription", "subscription"),
        ({}, "none", "proxy", "proxy"),
    ],
)
def test_detect_source(env, key_source, override, expected) -> None:
    assert detect_source(env, api_key_source=key_source, override=override) == expected


def test_unknown_override_is_rejected() -> None:
    with pytest.raises(InvalidInput, match="unknown source"):
        detect_source({}, override="free")
