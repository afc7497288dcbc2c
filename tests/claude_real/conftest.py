"""Fixtures for the real Claude Code CLI tests: the installed binary (session), a stand-in
Messages API per test, and a factory that starts `claude` offline against it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Literal

import pytest

from .cli import ClaudeProcess
from .env import offline_env
from .install import CLAUDE_VERSION, InstallError, NpmUnreachable, cache_dir, install_claude
from .standin import StandIn


@pytest.fixture(scope="session")
def claude_bin(request: pytest.FixtureRequest) -> Path:
    """The real `claude` binary, installed from npm into the cache on first use. Skips every
    test here only when npm or its registry is unreachable; any other install failure fails."""
    capture = request.config.pluginmanager.getplugin("capturemanager")

    def log(message: str) -> None:  # shown even under output capture: a 373 MB download
        if capture is None:
            print(message, flush=True)
            return
        with capture.global_and_fixture_disabled():
            print(message, flush=True)

    try:
        return install_claude(log=log)
    except NpmUnreachable as exc:
        pytest.skip(f"real Claude Code CLI {CLAUDE_VERSION} not installed into {cache_dir()}: "
                    f"npm is unreachable ({str(exc).splitlines()[0]})")  # fmt: skip
    except InstallError as exc:
        pytest.fail(f"installing the real Claude Code CLI failed: {exc}", pytrace=False)


@pytest.fixture
def standin() -> Iterator[StandIn]:
    with StandIn() as server:
        yield server


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    work = tmp_path / "work"
    work.mkdir()
    return work.resolve()


StartClaude = Callable[..., ClaudeProcess]


@pytest.fixture
def start_claude(claude_bin: Path, standin: StandIn, workdir: Path,
                 tmp_path: Path) -> Iterator[StartClaude]:  # fmt: skip
    """Factory: `start_claude(*args, auth=..., cwd=..., env=...)` runs the CLI offline against
    the stand-in with a temp HOME shared by the test's runs (so `--resume` finds sessions).
    Every process group started is killed at teardown."""
    started: list[ClaudeProcess] = []

    def start(*args: str, auth: Literal["api_key", "oauth"] = "api_key",
              cwd: Path | None = None, env: dict[str, str] | None = None) -> ClaudeProcess:  # fmt: skip
        environ = offline_env(standin.url, tmp_path / "home", auth=auth, extra=env)
        proc = ClaudeProcess(claude_bin, args, cwd=cwd or workdir, env=environ,
                             stderr_path=tmp_path / f"claude{len(started)}.stderr")  # fmt: skip
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.kill()


@pytest.fixture
def claude_home(tmp_path: Path) -> Path:
    """The HOME (and `.claude` config dir inside it) that start_claude's runs use."""
    return tmp_path / "home"
