"""Podium: run many coding agents side by side and always know what they do and cost."""

__version__ = "0.1.0"
