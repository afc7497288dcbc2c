"""The environment for running the real Claude Code CLI offline against the stand-in API."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

API_KEY = "sk-ant-api03-standin-test-key"
OAUTH_TOKEN = "sk-ant-oat01-standin-test-token"

# Inherited from the test process; everything else (any ANTHROPIC_* or CLAUDE_* of the machine)
# stays out so a developer's own login or proxy can never leak into a run.
_KEEP = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "TZ", "USER", "LOGNAME", "SHELL")


def offline_env(
    base_url: str,
    home: Path,
    *,
    auth: Literal["api_key", "oauth"] = "api_key",
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    """A complete env: temp HOME + CLAUDE_CONFIG_DIR under `home`, the stand-in as the API,
    no nonessential traffic, and either an API key (API user, default model claude-opus-5-5)
    or an OAuth token (subscription user, default claude-sonnet-5-5, rate_limit_events)."""
    config = home / ".claude"
    config.mkdir(parents=True, exist_ok=True)
    env = {key: os.environ[key] for key in _KEEP if key in os.environ}
    env.update(
        HOME=str(home),
        CLAUDE_CONFIG_DIR=str(config),
        ANTHROPIC_BASE_URL=base_url,
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
    )
    if auth == "oauth":
        env["CLAUDE_CODE_OAUTH_TOKEN"] = OAUTH_TOKEN
    else:
        env["ANTHROPIC_API_KEY"] = API_KEY
    env.update(extra or {})
    return env


def transcripts(home: Path) -> list[Path]:
    """The session transcripts the CLI wrote under `home` (CLAUDE_CONFIG_DIR = home/.claude)."""
    return sorted((home / ".claude" / "projects").glob("*/*.jsonl"))



