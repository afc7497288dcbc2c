"""podium.toml: found in the user config dir or given by --config / $PODIUM_CONFIG, overridden
by the environment, shown with each value's source, used by report, monitor and statusline."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from .helpers import CORPUS, write_session


def _show(cli, *args: str, env: dict | None = None) -> dict[str, dict]:
    got = cli(*args, "config", "show", "--json", env=env, check=True)
    data = json.loads(got.out)
    return {row["key"]: row for row in data["settings"]} | {"_file": data}


def test_defaults_without_a_file(cli):
    rows = _show(cli)
    assert rows["_file"]["found"] is False
    assert rows["_file"]["file"] == str(cli.tmp / "home" / ".config" / "podium" / "podium.toml")
    assert rows["plan"]["value"] == "max5" and rows["plan"]["source"] == "default"
    assert rows["limits.daily_usd"]["value"] is None


def test_file_values_env_overrides_and_sources(cli):
    path = cli.tmp / "home" / ".config" / "podium" / "podium.toml"
    path.parent.mkdir(parents=True)
    path.write_text('plan = "pro"\ntimezone = "Asia/Tokyo"\n[limits]\ndaily_usd = 12.5\n'
                    "monthly_usd = 200\n[monitor]\ninterval = 5\n")  # fmt: skip
    rows = _show(cli, env={"PODIUM_MONTHLY_BUDGET_USD": "300"})
    assert rows["plan"]["value"] == "pro" and rows["plan"]["source"] == str(path)
    assert rows["limits.daily_usd"]["value"] == 12.5
    assert rows["limits.monthly_usd"]["value"] == 300.0
    assert rows["limits.monthly_usd"]["source"] == "env PODIUM_MONTHLY_BUDGET_USD"
    assert rows["monitor.interval"]["value"] == 5.0
    text = cli("config", "show", check=True).out
    assert "limits.daily_usd    12.5" in text and str(path) in text
    # the file's zone dates the report; -z still wins
    assert json.loads(cli("report", "daily", "-j", check=True).out)["timezone"] == "Asia/Tokyo"
    assert json.loads(cli("report", "daily", "-j", "-z", "UTC", check=True).out)["timezone"] == "UTC"


def test_config_flag_and_env_choose_the_file(cli):
    a, b = cli.tmp / "a.toml", cli.tmp / "b.toml"
    a.write_text('plan = "max20"\n')
    b.write_text('plan = "team"\n')
    assert _show(cli, "--config", str(a))["plan"]["value"] == "max20"
    assert _show(cli, env={"PODIUM_CONFIG": str(b)})["plan"]["value"] == "team"
    assert _show(cli, "--config", str(a), env={"PODIUM_CONFIG": str(b)})["plan"]["value"] == "max20"


@pytest.mark.parametrize(("text", "words"), [
    ("plan = \n", ["not valid TOML", "bad.toml"]),
    ('plan = "platinum"\n', ["plan", "must be one of", "platinum"]),
    ("[limits]\ndaily_usd = -3\n", ["limits.daily_usd", "≥ 0"]),
    ('[limits]\ndaily_usd = "ten"\n', ["limits.daily_usd", "number"]),
    ("warning_at = 80\n", ["warning_at", "fraction"]),
    ('timezon = "UTC"\n', ["unknown key 'timezon'", "did you mean timezone"]),
    ('timezone = "Mars/Olympus"\n', ["bad.toml", "timezone", "Mars/Olympus", "Europe/Paris"]),
])  # fmt: skip
def test_a_bad_file_is_one_line_naming_the_key(cli, text, words):
    bad = cli.tmp / "bad.toml"
    bad.write_text(text)
    for args in (("config", "show"), ("report", "daily"), ("monitor", "--once")):
        got = cli("--config", str(bad), *args)
        assert got.code == 2 and "Traceback" not in got.err
        assert len(got.err.strip().splitlines()) == 1, got.err
        for word in words:
            assert word in got.err, (word, got.err)


def test_a_bad_env_value_and_a_missing_config_file(cli):
    got = cli("config", "show", env={"PODIUM_DAILY_BUDGET_USD": "lots"})
    assert got.code == 2 and "$PODIUM_DAILY_BUDGET_USD" in got.err and "lots" in got.err
    zone = cli("report", "daily", env={"PODIUM_TIMEZONE": "Mars/Olympus"})
    assert zone.code == 2 and "$PODIUM_TIMEZONE" in zone.err and "Mars/Olympus" in zone.err
    missing = cli("--config", str(cli.tmp / "nope.toml"), "report", "daily")
    assert missing.code == 2 and "nope.toml" in missing.err and "does not exist" in missing.err


def test_log_roots_and_db_from_the_file(cli):
    cli.env.pop("CLAUDE_CONFIG_DIR")
    cli.env.pop("PODIUM_DB")
    config = cli.tmp / "p.toml"
    config.write_text(f'claude_config_dirs = ["{CORPUS / "projects"}"]\n'
                      f'db = "{cli.tmp / "from-config.db"}"\n')  # fmt: skip
    got = json.loads(cli("--config", str(config), "report", "daily", "-j", check=True).out)
    assert got["totals"]["totalTokens"] == 2839859
    assert (cli.tmp / "from-config.db").exists()


def test_init_writes_a_template_that_loads(cli):
    got = cli("config", "init", check=True)
    path = cli.tmp / "home" / ".config" / "podium" / "podium.toml"
    assert path.exists() and str(path) in got.err
    assert _show(cli)["_file"]["found"] is True
    again = cli("config", "init")
    assert again.code == 2 and "exists" in again.err


def test_monitor_and_statusline_use_the_files_plan_and_budgets(cli):
    root = cli.logs()
    write_session(root, minutes_ago=[4, 2])
    config = cli.tmp / "podium.toml"
    config.write_text('plan = "pro"\n[limits]\ndaily_usd = 1000\n')
    frame = cli("--config", str(config), "monitor", "--once", env={"COLUMNS": "120"},
                check=True).out  # fmt: skip
    assert "estimate vs pro limits" in frame and "$1,000.00" in frame
    over = cli("--config", str(config), "monitor", "--once",
               env={"COLUMNS": "120", "PODIUM_DAILY_BUDGET_USD": "0.001"}, check=True).out  # fmt: skip
    assert "EXCEEDED" in over and "$1,000.00" not in over
    # the status line (run by Claude Code, not through `podium`) estimates against that plan
    payload = json.dumps({"session_id": "s", "model": {"display_name": "Sonnet"},
                          "transcript_path": "", "cwd": str(cli.tmp)})  # fmt: skip

    def line(plan_env: dict) -> str:
        return subprocess.run([sys.executable, "-m", "podium.limits.statusline"], input=payload,
                              env={**cli.env, "PODIUM_CONFIG": str(config), **plan_env},
                              capture_output=True, text=True, check=True).stdout  # fmt: skip

    pro, max20 = line({}), line({"PODIUM_PLAN": "max20"})
    assert "est" in pro and "est" in max20
    pct = {name: int(text.split("Plan: ~")[1].split("%")[0]) for name, text in
           (("pro", pro), ("max20", max20))}  # fmt: skip
    assert pct["pro"] > pct["max20"], (pro, max20)
