"""Shared fixtures (append-only: several folders' tests use these)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "claude_real: runs the real Claude Code CLI (tests/claude_real; npm install "
        "into ~/.cache/podium-claude on first use, skipped when npm is unreachable)"
    )


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout


@pytest.fixture
def git_repo(tmp_path: Path) -> Path:
    """A real git repository with one commit (README.md, src/app.py) on branch main."""
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "config", "user.email", "test@podium.invalid")
    _git(repo, "config", "user.name", "Podium Test")
    _git(repo, "config", "commit.gpgsign", "false")
    (repo / "README.md").write_text("# demo\n\nA demo repository.\n")
    (repo / "src").mkdir()
    (repo / "src" / "app.py").write_text("def main():\n    return 1\n\n\nprint(main())\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "initial")
    return repo.resolve()


@pytest.fixture
def store(tmp_path: Path) -> Iterator:
    """A fresh Podium store in a temp file."""
    from podium.store import Store

    s = Store(tmp_path / "podium.db")
    yield s
    s.close()


@pytest.fixture
def claude_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty Claude config dir, also set as CLAUDE_CONFIG_DIR for the test."""
    d = tmp_path / "claude"
    (d / "projects").mkdir(parents=True)
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(d))
    return d.resolve()


@pytest.fixture(autouse=True, scope="session")
def _no_machine_cli_logs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """No test reads the Codex or Gemini CLI logs of the machine it runs on: CODEX_HOME and
    GEMINI_CLI_HOME point at empty folders (a test that wants logs sets its own)."""
    import os

    empty = tmp_path_factory.mktemp("no-cli-logs")
    saved = {k: os.environ.get(k) for k in ("CODEX_HOME", "GEMINI_CLI_HOME")}
    os.environ["CODEX_HOME"] = str(empty / "codex")
    os.environ["GEMINI_CLI_HOME"] = str(empty / "gemini")
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
