"""Install the real Claude Code CLI from npm into a cache outside the repo (once per machine).

`install_claude()` returns the path of the `claude` binary of `@anthropic-ai/claude-code` at
CLAUDE_VERSION, installing it into `cache_dir()` on first use (default
`~/.cache/podium-claude/<version>`, override with PODIUM_CLAUDE_CACHE). The download is ~373 MB
(the native binary comes in the optional dependency `@anthropic-ai/claude-code-linux-x64`).
An exclusive file lock next to the cache makes parallel pytest runs/workers install once; the
install goes to a staging dir that is renamed into place only when `claude --version` answers.
`NpmUnreachable` (npm missing or the registry not answering) is the one failure tests skip on.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

CLAUDE_VERSION = "2.1.328"
PACKAGE = "@anthropic-ai/claude-code"
CACHE_ENV = "PODIUM_CLAUDE_CACHE"
TIMEOUT_ENV = "PODIUM_CLAUDE_INSTALL_TIMEOUT"
DEFAULT_TIMEOUT = 900.0  # seconds for the whole npm install (a ~373 MB download)
STAMP = ".podium-installed"


class InstallError(RuntimeError):
    """npm answered but the install did not produce a working `claude`."""


class NpmUnreachable(InstallError):
    """npm is not installed or its registry cannot be reached: tests skip, not fail."""


def cache_dir() -> Path:
    override = os.environ.get(CACHE_ENV, "").strip()
    if override:
        return Path(override).expanduser()
    return Path.home() / ".cache" / "podium-claude" / CLAUDE_VERSION


def installed_binary(cache: Path | None = None) -> Path | None:
    """The cached binary if a complete install of CLAUDE_VERSION is there, else None."""
    cache = cache or cache_dir()
    stamp = cache / STAMP
    if not stamp.is_file():
        return None
    binary = cache / stamp.read_text().strip()
    return binary if _version_of(binary) == CLAUDE_VERSION else None


def install_claude(cache: Path | None = None, timeout: float | None = None,
                   log: Callable[[str], None] = print) -> Path:  # fmt: skip
    """The path of a working `claude` CLAUDE_VERSION binary, installing it when missing."""
    cache = cache or cache_dir()
    found = installed_binary(cache)
    if found:
        return found
    if timeout is None:
        timeout = float(os.environ.get(TIMEOUT_ENV) or DEFAULT_TIMEOUT)
    cache.parent.mkdir(parents=True, exist_ok=True)
    with open(cache.parent / f".{cache.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another run installing: wait for it, then reuse
        found = installed_binary(cache)
        if found:
            return found
        return _install_locked(cache, timeout, log)


def npm_staging(cache: Path) -> tuple[str, Path]:
    """npm (checked reachable) and an empty staging dir next to `cache` to install into; the
    caller renames it into place once the install works (tests/other_clis/install.py too)."""
    npm = shutil.which("npm")
    if npm is None:
        raise NpmUnreachable("npm is not on PATH")
    _ping(npm)
    staging = cache.with_name(f"{cache.name}.partial-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    (staging / "package.json").write_text('{"private": true}\n')
    return npm, staging


def _install_locked(cache: Path, timeout: float, log: Callable[[str], None]) -> Path:
    npm, staging = npm_staging(cache)
    log(f"claude_real: installing {PACKAGE}@{CLAUDE_VERSION} into {cache} "
        f"(first use, ~373 MB download, timeout {timeout:.0f}s)")  # fmt: skip
    started = time.monotonic()
    npm_log = staging / "npm-install.log"
    with open(npm_log, "w") as out:
        try:
            done = subprocess.run(
                [npm, "install", "--no-audit", "--no-fund", "--no-save",
                 f"{PACKAGE}@{CLAUDE_VERSION}"],
                cwd=staging, stdout=out, stderr=subprocess.STDOUT, timeout=timeout,
                stdin=subprocess.DEVNULL,
            )  # fmt: skip
        except subprocess.TimeoutExpired as exc:
            raise InstallError(f"npm install timed out after {timeout:.0f}s "
                               f"(log: {npm_log})") from exc  # fmt: skip
    if done.returncode != 0:
        tail = npm_log.read_text(errors="replace")[-2000:]
        if _looks_offline(tail):
            raise NpmUnreachable(f"npm install could not reach the registry:\n{tail}")
        raise InstallError(f"npm install failed ({done.returncode}):\n{tail}")
    binary = _working_binary(staging)
    (staging / STAMP).write_text(str(binary.relative_to(staging)) + "\n")
    shutil.rmtree(cache, ignore_errors=True)  # an incomplete older attempt, never a stamped one
    staging.rename(cache)
    log(f"claude_real: installed claude {CLAUDE_VERSION} in {time.monotonic() - started:.0f}s")
    return cache / binary.relative_to(staging)


def _working_binary(root: Path) -> Path:
    """`node_modules/.bin/claude`, or the platform package's binary if npm skipped postinstall
    and left the placeholder in place."""
    modules = root / "node_modules"
    wrapper = modules / ".bin" / "claude"
    if _version_of(wrapper) == CLAUDE_VERSION:
        return wrapper
    installer = modules / "@anthropic-ai" / "claude-code" / "install.cjs"
    node = shutil.which("node")
    if installer.is_file() and node:
        subprocess.run([node, str(installer)], cwd=installer.parent, capture_output=True,
                       timeout=120, check=False)  # fmt: skip
        if _version_of(wrapper) == CLAUDE_VERSION:
            return wrapper
    for native in sorted(modules.glob("@anthropic-ai/claude-code-*/claude")):
        if _version_of(native) == CLAUDE_VERSION:
            return native
    raise InstallError(f"no working claude {CLAUDE_VERSION} binary under {modules} "
                       "(is there a native package for this platform?)")  # fmt: skip


def _version_of(binary: Path) -> str | None:
    if not binary.exists():
        return None
    try:
        out = subprocess.run([str(binary), "--version"], capture_output=True, text=True,
                             timeout=60, stdin=subprocess.DEVNULL).stdout  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return None
    words = out.split()
    return words[0] if words else None


def _ping(npm: str) -> None:
    try:
        # No retries: an unreachable registry must skip quickly, not after npm's backoff.
        done = subprocess.run([npm, "ping", "--fetch-retries=0", "--fetch-timeout=30000"],
                              capture_output=True, text=True, timeout=60,
                              stdin=subprocess.DEVNULL)  # fmt: skip
    except subprocess.TimeoutExpired as exc:
        raise NpmUnreachable("`npm ping` did not answer within 60s") from exc
    if done.returncode != 0:
        raise NpmUnreachable(f"`npm ping` failed: {_npm_error(done.stderr + done.stdout)}")


def _npm_error(output: str) -> str:
    """npm's own error lines (code, message), without the stack trace it prints."""
    lines = [line.removeprefix("npm error").strip() for line in output.splitlines()
             if line.startswith("npm error") and " at " not in line]  # fmt: skip
    return "; ".join([line for line in lines if line][:3])[:300] or output.strip()[-300:]


_OFFLINE_MARKERS = ("ENOTFOUND", "EAI_AGAIN", "ECONNREFUSED", "ECONNRESET", "ETIMEDOUT",
                    "ENETUNREACH", "EHOSTUNREACH", "network request", "socket hang up")  # fmt: skip


def _looks_offline(npm_output: str) -> bool:
    return any(marker in npm_output for marker in _OFFLINE_MARKERS)
