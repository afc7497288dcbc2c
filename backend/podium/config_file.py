"""`podium.toml`: settings for the command line, the status line and the monitor.

Where: `--config FILE`, else `$PODIUM_CONFIG`, else `podium.toml` in the user config dir
(`~/.config/podium/podium.toml` on Linux). Keys are the editor settings' snake_case names
(podium.settings.Settings) plus a few of the CLI's own; see docs/cli.md:

    plan = "max5"                       # pro | max5 | max20 | team | custom
    timezone = "Europe/Paris"           # days and months of reports (default: the machine's)
    prices = "~/prices.json"            # a price table override
    claude_config_dirs = ["~/.claude"]  # log roots
    db = "~/podium.db"                  # the store
    warning_at = 0.8                    # alert levels, fractions of a limit
    critical_at = 0.95
    [limits]
    daily_usd = 10
    monthly_usd = 300
    [plan_limits.custom]
    costUSD = 50
    [monitor]
    interval = 2

Precedence: a command-line flag, then the environment (`PODIUM_DAILY_BUDGET_USD`, …, see
`ENV`), then the file, then the default. Inside the editor its own settings win: `podium serve`
does not read this file. Reading it costs no pydantic import (the report path stays fast);
`settings()` builds the editor's Settings model from it for the monitor.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from podium.errors import InvalidInput

if TYPE_CHECKING:
    from podium.settings import Settings

ENV_CONFIG = "PODIUM_CONFIG"
PLANS = ("pro", "max5", "max20", "team", "custom")


def _text(value: Any, key: str) -> str:
    if not isinstance(value, str) or not value.strip() or "\0" in value:
        raise ValueError("must be a non-empty string")
    return value.strip()


def _zone(value: Any, key: str) -> str:
    value = _text(value, key)
    from podium.domain.periods import resolve_tz

    try:
        resolve_tz(value)
    except InvalidInput:
        raise ValueError("must be an IANA time zone such as Europe/Paris, or UTC") from None
    return value


def _plan(value: Any, key: str) -> str:
    value = _text(value, key)
    if value not in PLANS:
        raise ValueError(f"must be one of {', '.join(PLANS)}")
    return value


def _usd(value: Any, key: str) -> float | None:
    if isinstance(value, str):  # from the environment
        try:
            value = float(value)
        except ValueError:
            raise ValueError("must be a number of US dollars") from None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError("must be a number of US dollars")
    if value < 0:
        raise ValueError("must be ≥ 0 (0 means no limit)")
    return float(value) or None


def _fraction(value: Any, key: str) -> float:
    number = _usd(value, key) or 0.0
    if not 0 < number <= 1:
        raise ValueError("must be a fraction of the limit, above 0 and at most 1 (0.8 = 80 %)")
    return number


def _seconds(value: Any, key: str) -> float:
    number = _usd(value, key) or 0.0
    if not 0.1 <= number <= 3600:
        raise ValueError("must be a number of seconds from 0.1 to 3600")
    return number


def _paths(value: Any, key: str) -> list[str]:
    if isinstance(value, str):  # CLAUDE_CONFIG_DIR: comma-separated
        value = [p for p in (s.strip() for s in value.split(",")) if p]
    if not isinstance(value, list) or not value or not all(isinstance(p, str) for p in value):
        raise ValueError("must be a list of folders")
    return [os.path.expanduser(p.strip()) for p in value if p.strip()]


def _path(value: Any, key: str) -> str:
    return os.path.expanduser(_text(value, key))


def _table(value: Any, key: str) -> dict:
    if not isinstance(value, dict):
        raise ValueError("must be a table")
    return value


class Key:
    """One setting: its dotted name in the file (`limits.daily_usd`), parser, environment
    variable, default and help. (Plain classes here: `dataclasses` pulls in `inspect`, ~5 ms
    of start-up on the report path.)"""

    __slots__ = ("default", "env", "help", "name", "parse")

    def __init__(self, name: str, parse: Any, env: str | None, default: Any, help: str) -> None:
        self.name, self.parse, self.env, self.default, self.help = name, parse, env, default, help


KEYS: tuple[Key, ...] = (
    Key("plan", _plan, "PODIUM_PLAN", "max5", "your Claude plan, for the plan estimate"),
    Key("timezone", _zone, "PODIUM_TIMEZONE", None, "IANA zone of report days (default: local)"),
    Key("prices", _path, "PODIUM_PRICES", None, "price table override (JSON)"),
    Key("claude_config_dirs", _paths, "CLAUDE_CONFIG_DIR", None,
        "log roots holding projects/ (default: ~/.config/claude and ~/.claude)"),
    Key("db", _path, "PODIUM_DB", None, "the store (default: the user data dir)"),
    Key("limits.daily_usd", _usd, "PODIUM_DAILY_BUDGET_USD", None, "daily budget (USD)"),
    Key("limits.monthly_usd", _usd, "PODIUM_MONTHLY_BUDGET_USD", None, "monthly budget (USD)"),
    Key("limits.session_usd", _usd, "PODIUM_SESSION_BUDGET_USD", None, "per session (USD)"),
    Key("limits.agent_usd", _usd, "PODIUM_AGENT_BUDGET_USD", None, "per agent (USD)"),
    Key("warning_at", _fraction, "PODIUM_WARNING_AT", 0.8, "WARNING from this share of a limit"),
    Key("critical_at", _fraction, "PODIUM_CRITICAL_AT", 0.95, "critical alert level"),
    Key("plan_limits", _table, None, {}, "your plan table overrides (docs/limits.md)"),
    Key("monitor.interval", _seconds, "PODIUM_MONITOR_INTERVAL", 2.0, "monitor refresh (s)"),
)  # fmt: skip
BY_NAME = {k.name: k for k in KEYS}
#: environment variable → key (`podium config show` names them)
ENV = {k.env: k.name for k in KEYS if k.env}


class Entry:
    __slots__ = ("source", "value")

    def __init__(self, value: Any, source: str) -> None:
        self.value = value
        self.source = source  # "default" | the file's path | "env NAME"


class Config:
    def __init__(self, path: str, found: bool) -> None:
        self.path = path  # the file looked for
        self.found = found
        self.entries: dict[str, Entry] = {}

    def get(self, name: str) -> Any:
        return self.entries[name].value

    def source(self, name: str) -> str:
        return self.entries[name].source

    def settings(self) -> Settings:
        """The editor's settings model with this file's values (plan, limits, levels, roots)."""
        from podium.settings import Limits, Settings

        limits = Limits(**{n.split(".", 1)[1]: self.get(n) for n in BY_NAME
                           if n.startswith("limits.")})  # fmt: skip
        return Settings(plan=self.get("plan"), limits=limits, warning_at=self.get("warning_at"),
                        critical_at=self.get("critical_at"),
                        claude_config_dirs=self.get("claude_config_dirs") or [],
                        plan_limits=self.get("plan_limits"))  # fmt: skip


def default_path() -> str:
    from podium.userdirs import config_dir

    return os.path.join(config_dir(), "podium.toml")


def config_path() -> tuple[str, bool]:
    """(path, explicit): `$PODIUM_CONFIG` (set by `--config` too) or the default."""
    explicit = os.environ.get(ENV_CONFIG, "").strip()
    return (os.path.expanduser(explicit), True) if explicit else (default_path(), False)


def _flatten(data: dict, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and name not in BY_NAME:
            out.update(_flatten(value, name + "."))
        else:
            out[name] = value
    return out


def load(env: Mapping[str, str] | None = None) -> Config:
    """The effective configuration; a bad file or value raises InvalidInput naming it."""
    env = os.environ if env is None else env
    path, explicit = config_path()
    raw: dict[str, Any] = {}
    found = os.path.isfile(path)
    if explicit and not found:
        raise InvalidInput(f"config file {path} does not exist (from --config or "
                           f"${ENV_CONFIG})", field="config")  # fmt: skip
    if found:
        raw = _read(path)
    cfg = Config(path, found)
    for name in raw:
        if name not in BY_NAME:
            import difflib

            close = difflib.get_close_matches(name, list(BY_NAME), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise InvalidInput(f"{path}: unknown key {name!r}{hint}", field="config")
    for key in KEYS:
        if key.env and env.get(key.env, "").strip():
            cfg.entries[key.name] = Entry(_parse(key, env[key.env], f"${key.env}"),
                                          f"env {key.env}")  # fmt: skip
        elif key.name in raw:
            cfg.entries[key.name] = Entry(_parse(key, raw[key.name], path), path)
        else:
            cfg.entries[key.name] = Entry(key.default, "default")
    return cfg


def _parse(key: Key, value: Any, where: str) -> Any:
    try:
        return key.parse(value, key.name)
    except ValueError as exc:
        raise InvalidInput(f"{where}: {key.name} {exc}, got {value!r}", field=key.name) from None


def _read(path: str) -> dict[str, Any]:
    import tomllib

    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"{path} is not valid TOML: {exc}", field="config") from None
    except OSError as exc:
        raise InvalidInput(f"cannot read config file {path}: {exc.strerror}",
                           field="config") from None  # fmt: skip
    return _flatten(data)


def apply_to_env(cfg: Config) -> None:
    """Hand the file's store, log roots, price table and zone to the code that reads them from
    the environment (only where the environment does not already say)."""
    for name, var in (("db", "PODIUM_DB"), ("prices", "PODIUM_PRICES"),
                      ("claude_config_dirs", "CLAUDE_CONFIG_DIR")):  # fmt: skip
        entry = cfg.entries[name]
        if entry.value and entry.source == cfg.path:
            os.environ[var] = ",".join(entry.value) if isinstance(entry.value, list) else entry.value


def timezone(cfg: Config) -> str | None:
    return cfg.get("timezone")
