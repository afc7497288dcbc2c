"""Install the real Codex CLI and Gemini CLI from npm into a cache outside the repo (once per
machine): `~/.cache/podium-clis/<name>-<version>` (PODIUM_CLIS_CACHE overrides the parent).

Same rules as tests/claude_real/install.py, whose npm checks this reuses: an exclusive lock
makes parallel runs install once, the install goes to a staging dir renamed into place only
when `<bin> --version` answers, and `NpmUnreachable` is the one failure tests skip on.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.claude_real.install import InstallError, NpmUnreachable, _looks_offline, npm_staging

CACHE_ENV = "PODIUM_CLIS_CACHE"
STAMP = ".podium-installed"
TIMEOUT = 900.0


@dataclass(frozen=True)
class Cli:
    name: str
    package: str
    version: str
    bin: str

    @property
    def spec(self) -> str:
        return f"{self.package}@{self.version}"


CODEX = Cli("codex", "@openai/codex", "0.169.0", "codex")
GEMINI = Cli("gemini", "@google/gemini-cli", "0.61.0", "gemini")


def cache_dir(cli: Cli) -> Path:
    parent = os.environ.get(CACHE_ENV, "").strip()
    base = Path(parent).expanduser() if parent else Path.home() / ".cache" / "podium-clis"
    return base / f"{cli.name}-{cli.version}"


def installed(cli: Cli) -> Path | None:
    cache = cache_dir(cli)
    binary = cache / "node_modules" / ".bin" / cli.bin
    if (cache / STAMP).is_file() and _version(binary, cli):
        return binary
    return None


def install(cli: Cli) -> Path:
    """The path of a working `cli.bin` at cli.version, installing it when missing."""
    found = installed(cli)
    if found:
        return found
    cache = cache_dir(cli)
    cache.parent.mkdir(parents=True, exist_ok=True)
    with open(cache.parent / f".{cache.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        found = installed(cli)
        if found:
            return found
        npm, staging = npm_staging(cache)
        done = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--no-save", cli.spec],
                              cwd=staging, capture_output=True, text=True, timeout=TIMEOUT,
                              stdin=subprocess.DEVNULL)  # fmt: skip
        if done.returncode != 0:
            tail = (done.stdout + done.stderr)[-2000:]
            if _looks_offline(tail):
                raise NpmUnreachable(f"npm install could not reach the registry:\n{tail}")
            raise InstallError(f"npm install {cli.spec} failed ({done.returncode}):\n{tail}")
        if not _version(staging / "node_modules" / ".bin" / cli.bin, cli):
            raise InstallError(f"{cli.spec} installed but `{cli.bin} --version` is not "
                               f"{cli.version}")  # fmt: skip
        (staging / STAMP).write_text(cli.spec + "\n")
        shutil.rmtree(cache, ignore_errors=True)
        staging.rename(cache)
    return cache / "node_modules" / ".bin" / cli.bin


def _version(binary: Path, cli: Cli) -> bool:
    if not binary.exists():
        return False
    try:
        out = subprocess.run([str(binary), "--version"], capture_output=True, text=True,
                             timeout=60, stdin=subprocess.DEVNULL).stdout  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return False
    return cli.version in out.split()
