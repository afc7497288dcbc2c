"""One adapter per log source behind `LogAdapter`: Claude Code, Codex CLI, Gemini CLI."""

from podium.usage.adapters.base import LogAdapter, LogFile
from podium.usage.adapters.claude import ClaudeCodeAdapter
from podium.usage.adapters.codex import CodexAdapter
from podium.usage.adapters.gemini import GeminiAdapter


def default_adapters(claude_config_dirs: list[str] | None = None) -> list[LogAdapter]:
    """Claude Code (its roots as given, else the defaults), Codex CLI (`$CODEX_HOME`, else
    ~/.codex) and Gemini CLI (`$GEMINI_CLI_HOME/.gemini`, else ~/.gemini)."""
    return [ClaudeCodeAdapter(claude_config_dirs), CodexAdapter(), GeminiAdapter()]


__all__ = ["ClaudeCodeAdapter", "CodexAdapter", "GeminiAdapter", "LogAdapter", "LogFile",
           "default_adapters"]  # fmt: skip
