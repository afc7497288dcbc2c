"""Helpers for the command-line tests: run `python -m podium` as a user does, in a clean
environment (no inherited COLUMNS, NO_COLOR, PODIUM_* or CLAUDE_CONFIG_DIR)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from podium.usage import synthetic as syn

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
CORPUS = FIXTURES / "claude_corpus"


@dataclass
class Run:
    code: int
    out: str
    err: str


class Cli:
    """`podium` with its own store, config dir and log root under a temp dir."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.db = tmp / "podium.db"
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(tmp / "home"),
            "XDG_CONFIG_HOME": str(tmp / "home" / ".config"),
            "XDG_DATA_HOME": str(tmp / "home" / ".local" / "share"),
            "PODIUM_DB": str(self.db),
            "CLAUDE_CONFIG_DIR": str(CORPUS),
            "TZ": "UTC",
            "LANG": "C.UTF-8",
            "PYTHONIOENCODING": "utf-8",
        }
        (tmp / "home").mkdir(exist_ok=True)

    def __call__(self, *args: str, env: dict | None = None, check: bool = False,
                 python: tuple[str, ...] = (), timeout: float = 120) -> Run:  # fmt: skip
        proc = subprocess.run([sys.executable, *python, "-m", "podium", *args],
                              env={**self.env, **(env or {})}, capture_output=True, text=True,
                              timeout=timeout)  # fmt: skip
        if check and proc.returncode != 0:
            raise AssertionError(f"podium {' '.join(args)} exited {proc.returncode}: {proc.stderr}")
        return Run(proc.returncode, proc.stdout, proc.stderr)

    def logs(self, name: str = "claude") -> Path:
        """A fresh Claude config root under the temp dir (CLAUDE_CONFIG_DIR points at it)."""
        root = self.tmp / name
        (root / "projects").mkdir(parents=True, exist_ok=True)
        self.env["CLAUDE_CONFIG_DIR"] = str(root)
        return root


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path)


def write_session(root: Path, *, minutes_ago: list[float], model: str = "claude-sonnet-4-5-20250929",
                  out: int = 1000, inp: int = 200, cache_read: int = 5000, cache_create: int = 1000,
                  session: str = "5e55a0b1-0b05-4c0d-9a11-0a00000000aa",
                  project: str = "-work-shop") -> Path:  # fmt: skip
    """A transcript with one assistant message per `minutes_ago` (relative to now)."""
    path = root / "projects" / project / f"{session}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    now_ms = int(time.time() * 1000)
    with open(path, "ab") as fh:
        for ago in minutes_ago:
            usage = syn.usage_dict(inp, out, cache_create, cache_read)
            for line in syn.assistant_lines(session, "/work/shop", now_ms - int(ago * 60_000),
                                            model, usage, streaming=False):  # fmt: skip
                fh.write(syn.dumps(line) + b"\n")
    return path
