"""One adapter per log source behind `LogAdapter`; add Codex or Gemini CLI as another module."""

from podium.usage.adapters.base import LogAdapter, LogFile
from podium.usage.adapters.claude import ClaudeCodeAdapter


def default_adapters(claude_config_dirs: list[str] | None = None) -> list[LogAdapter]:
    return [ClaudeCodeAdapter(claude_config_dirs)]


__all__ = ["ClaudeCodeAdapter", "LogAdapter", "LogFile", "default_adapters"]
