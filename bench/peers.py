"""Install the peer tools Podium is compared with, into a scratch dir outside the repo.

    python bench/peers.py [--cache DIR]      # installs both, prints their paths

- ccusage 20.0.24 (npm). Its `ccusage` package is a tiny Node launcher; the real program is
  the native binary of `@ccusage/ccusage-<platform>`, which we run directly so that Node's
  start-up is not charged to it and its wall time and RSS are its own.
- claude-monitor (PyPI) in its own virtualenv.

A peer that cannot be installed (no network, no npm) is skipped with a clear message: the
functions return None and say why on stderr.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

CCUSAGE_VERSION = "20.0.24"
CLAUDE_MONITOR_SPEC = "claude-monitor>=3.0"


def cache_dir(override: str | Path | None = None) -> Path:
    """`--cache`, else `$PODIUM_BENCH_CACHE`, else `~/.cache/podium-bench`."""
    raw = override or os.environ.get("PODIUM_BENCH_CACHE") or Path.home() / ".cache/podium-bench"
    path = Path(raw).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass
class Peer:
    name: str
    version: str
    argv: list[str]  # the command prefix to run it


def _say(msg: str) -> None:
    print(f"[peers] {msg}", file=sys.stderr)


def _native_package() -> str | None:
    system = {"linux": "linux", "darwin": "darwin", "win32": "win32"}.get(sys.platform)
    machine = platform.machine().lower()
    arch = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}.get(machine)
    if not system or not arch:
        return None
    return f"@ccusage/ccusage-{system}-{arch}"


def ccusage_binary(root: Path) -> Path | None:
    package = _native_package()
    if package is None:
        return None
    name = "ccusage.exe" if sys.platform == "win32" else "ccusage"
    binary = root / "node_modules" / package / "bin" / name
    return binary if binary.is_file() else None


def ensure_ccusage(cache: str | Path | None = None, *, timeout: float = 300) -> Peer | None:
    """ccusage@20.0.24 installed under `<cache>/ccusage`; None (with a message) if impossible."""
    root = cache_dir(cache) / "ccusage"
    binary = ccusage_binary(root)
    if binary is None:
        npm = shutil.which("npm")
        if npm is None:
            _say("npm not found: skipping ccusage")
            return None
        root.mkdir(parents=True, exist_ok=True)
        if not (root / "package.json").exists():
            (root / "package.json").write_text('{"name": "podium-bench-peers", "private": true}\n')
        _say(f"installing ccusage@{CCUSAGE_VERSION} into {root} …")
        try:
            proc = subprocess.run(
                [npm, "install", "--no-audit", "--no-fund", "--loglevel=error",
                 f"ccusage@{CCUSAGE_VERSION}"],
                cwd=root, capture_output=True, text=True, timeout=timeout,
            )  # fmt: skip
        except (OSError, subprocess.TimeoutExpired) as exc:
            _say(f"npm install ccusage failed ({exc}): skipping ccusage")
            return None
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
            _say(f"npm install ccusage failed (exit {proc.returncode}): {' | '.join(tail)}")
            return None
        binary = ccusage_binary(root)
        if binary is None:
            _say(f"ccusage installed but no native binary for {sys.platform}/{platform.machine()}")
            return None
    # npm does not keep the exec bit on the native binary (the JS launcher chmods it at run time)
    mode = binary.stat().st_mode
    if not mode & stat.S_IXUSR:
        binary.chmod(mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return Peer("ccusage", CCUSAGE_VERSION, [str(binary)])


def ensure_claude_monitor(cache: str | Path | None = None, *, timeout: float = 600) -> Peer | None:
    """claude-monitor in its own venv under `<cache>/claude-monitor`; None if impossible."""
    venv = cache_dir(cache) / "claude-monitor"
    bindir = venv / ("Scripts" if sys.platform == "win32" else "bin")
    exe = bindir / "claude-monitor"
    if not exe.exists():
        _say(f"installing {CLAUDE_MONITOR_SPEC} into {venv} …")
        try:
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True,
                           capture_output=True, timeout=timeout)  # fmt: skip
            proc = subprocess.run(
                [str(bindir / "python"), "-m", "pip", "install", "-q", CLAUDE_MONITOR_SPEC],
                capture_output=True, text=True, timeout=timeout,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            _say(f"claude-monitor install failed ({exc}): skipping claude-monitor")
            return None
        if proc.returncode != 0 or not exe.exists():
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
            _say(f"pip install claude-monitor failed: {' | '.join(tail)}: skipping claude-monitor")
            return None
    version = "?"
    try:
        out = subprocess.run([str(bindir / "python"), "-m", "pip", "show", "claude-monitor"],
                             capture_output=True, text=True, timeout=60).stdout  # fmt: skip
        version = next((ln.split(":", 1)[1].strip() for ln in out.splitlines()
                        if ln.startswith("Version:")), "?")  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        pass
    return Peer("claude-monitor", version, [str(exe)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Install ccusage and claude-monitor for bench/")
    parser.add_argument("--cache", default=None, help="scratch dir (default: $PODIUM_BENCH_CACHE "
                        "or ~/.cache/podium-bench)")  # fmt: skip
    args = parser.parse_args(argv)
    for peer in (ensure_ccusage(args.cache), ensure_claude_monitor(args.cache)):
        if peer is not None:
            print(f"{peer.name} {peer.version}: {' '.join(peer.argv)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
