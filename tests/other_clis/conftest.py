"""Fixtures for the real Codex CLI and Gemini CLI tests: the installed binaries (session; skip
only when npm or its registry is unreachable) and a temp HOME and working dir per test."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.claude_real.install import InstallError, NpmUnreachable

from .install import CODEX, GEMINI, Cli, cache_dir, install


def _binary(cli: Cli) -> Path:
    try:
        return install(cli)
    except NpmUnreachable as exc:
        pytest.skip(f"real {cli.spec} not installed into {cache_dir(cli)}: npm is unreachable "
                    f"({str(exc).splitlines()[0]})")  # fmt: skip
    except InstallError as exc:
        pytest.fail(f"installing {cli.spec} failed: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def codex_bin() -> Path:
    return _binary(CODEX)


@pytest.fixture(scope="session")
def gemini_bin() -> Path:
    return _binary(GEMINI)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def work(tmp_path: Path) -> Path:
    path = tmp_path / "work"
    path.mkdir()
    return path.resolve()
