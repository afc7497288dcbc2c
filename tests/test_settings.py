"""Settings: camelCase keys in, snake_case attributes out; each bad value is reported once,
naming the setting, and defaulted."""

from __future__ import annotations

import pytest

from podium.settings import DEFAULTS, SETTING_KEYS, Limits, Settings, parse_settings


def test_camel_case_keys_become_snake_case_attributes() -> None:
    settings, warnings = parse_settings({"podium": {
        "authMode": "both", "plan": "max20", "onLimit": "stop", "worktreeDir": "/tmp/wt",
        "limits": {"agentUSD": 5, "dailyTokens": 2_000_000, "monthlyUSD": 0},
        "profiles": {"aider": ["aider", "--yes"]}, "claudeConfigDirs": ["/a", "/b"],
        "warningAt": 0.5, "criticalAt": 1, "keepAgentsRunning": True, "oauthUsage": True,
        "oauthBaseUrl": "http://127.0.0.1:9", "planLimits": {"custom": {"costUSD": 50}},
        "sourceOverrides": {"alpha": "api"},
    }})  # fmt: skip
    assert warnings == []
    assert (settings.auth_mode, settings.plan, settings.on_limit) == ("both", "max20", "stop")
    assert settings.worktree_dir == "/tmp/wt"
    assert settings.limits == Limits(agent_usd=5.0, daily_tokens=2e6)  # 0 = no limit
    assert settings.profiles == {"aider": ["aider", "--yes"]}
    assert settings.claude_config_dirs == ["/a", "/b"]
    assert (settings.warning_at, settings.critical_at) == (0.5, 1.0)
    assert settings.keep_agents_running and settings.oauth_usage
    assert settings.oauth_base_url == "http://127.0.0.1:9"
    assert settings.plan_limits == {"custom": {"costUSD": 50}}
    assert settings.source_overrides == {"alpha": "api"}


@pytest.mark.parametrize(("raw", "named"), [
    ({"authMode": "nope"}, "setting authMode:"),
    ({"plan": 5}, "setting plan:"),
    ({"warningAt": 1.5}, "setting warningAt:"),
    ({"criticalAt": True}, "setting criticalAt:"),
    ({"keepAgentsRunning": "yes"}, "setting keepAgentsRunning:"),
    ({"oauthBaseUrl": "ftp://x"}, "setting oauthBaseUrl: must be an http(s) URL"),
    ({"claudeConfigDirs": "/a"}, "setting claudeConfigDirs:"),
    ({"profiles": {"a": []}}, "setting profiles.a:"),
    ({"worktreeDir": 3}, "setting worktreeDir:"),
    ({"planLimits": []}, "setting planLimits:"),
    ({"sourceOverrides": "api"}, "setting sourceOverrides:"),
])  # fmt: skip
def test_an_invalid_value_is_reported_once_and_defaulted(raw: dict, named: str) -> None:
    base, _ = parse_settings({"authMode": "api", "plan": "pro", "warningAt": 0.6,
                              "criticalAt": 0.7, "keepAgentsRunning": True,
                              "oauthBaseUrl": "http://127.0.0.1:1", "claudeConfigDirs": ["/x"],
                              "profiles": {"b": ["b"]}, "worktreeDir": "/w",
                              "planLimits": {"pro": {"tokens": 1}},
                              "sourceOverrides": {"alpha": "api"}})  # fmt: skip
    settings, warnings = parse_settings(raw, base=base)
    assert len(warnings) == 1 and warnings[0].startswith(named), warnings
    assert warnings[0].endswith("; using the default")
    (key,) = raw
    name = {"authMode": "auth_mode", "warningAt": "warning_at", "criticalAt": "critical_at",
            "keepAgentsRunning": "keep_agents_running", "oauthBaseUrl": "oauth_base_url",
            "claudeConfigDirs": "claude_config_dirs", "worktreeDir": "worktree_dir",
            "planLimits": "plan_limits", "sourceOverrides": "source_overrides"}.get(key, key)  # fmt: skip
    # the default, not the previous value (a live change must not keep the old one)
    assert getattr(settings, name) == getattr(DEFAULTS, name) != getattr(base, name)


def test_limits_merge_key_by_key_and_a_bad_one_is_dropped() -> None:
    base, _ = parse_settings({"limits": {"agentUSD": 5, "dailyUSD": 50}})
    settings, warnings = parse_settings(
        {"limits": {"dailyUSD": "lots", "sessionUSD": -1, "monthlyUSD": 9, "weeklyUSD": 1,
                    "agentTokens": float("inf")}}, base=base)  # fmt: skip
    assert settings.limits == Limits(agent_usd=5.0, monthly_usd=9.0)
    assert [w.split(":")[0] for w in warnings] == [
        "setting limits.dailyUSD", "setting limits.sessionUSD", "unknown setting limits.'weeklyUSD' ignored",
        "setting limits.agentTokens"]  # fmt: skip
    _, warnings = parse_settings({"limits": 5})
    assert warnings == ["setting limits: must be an object; using the default"]


def test_unknown_keys_and_bad_source_overrides_are_dropped_alone() -> None:
    settings, warnings = parse_settings(
        {"bogus": 1, "sourceOverrides": {"alpha": "api", "bravo": "bogus"}, "plan": "team"})
    assert settings.plan == "team" and settings.source_overrides == {"alpha": "api"}
    assert warnings[0] == "unknown setting 'bogus' ignored"
    assert warnings[1].startswith("setting sourceOverrides.bravo:") and warnings[1].endswith("ignored")
    assert parse_settings(["not", "an", "object"])[1] == [
        "settings must be an object, got list; using defaults"]  # fmt: skip


def test_keys_are_the_documented_camel_case_names_and_updates_copy() -> None:
    assert "authMode" in SETTING_KEYS and "claudeConfigDirs" in SETTING_KEYS
    assert all("_" not in key for key in SETTING_KEYS)
    base = Settings()
    changed, warnings = base.with_updates({"worktreeDir": ""})
    assert warnings == [] and changed.worktree_dir is None and changed is not base
