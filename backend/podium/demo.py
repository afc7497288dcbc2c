"""`podium demo` (`make demo`): the real thing, headless.

A temp git repo, `podium serve` over stdio (with a temp CLAUDE_CONFIG_DIR and PODIUM_DB, so your
own data is untouched), three fake agents — one per source: subscription, api
(ANTHROPIC_API_KEY=fake in its env) and proxy (ANTHROPIC_BASE_URL=http://127.0.0.1:8080) — and a
terminal client that prints the status bar and the cards as they change. After `--seconds` it
shuts the server down and checks that no agent process is left.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seconds", type=float, default=20.0, help="how long to run (default 20)")
    parser.add_argument("--mode", default="both", choices=["subscription", "api", "both", "proxy"],
                        help="authMode for the status bar (default both)")  # fmt: skip
    parser.add_argument("--keep", action="store_true", help="keep the temp directory")


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.email=demo@podium.invalid", "-c", "user.name=Podium Demo",
         "-c", "commit.gpgsign=false", *args],
        cwd=repo, check=True, capture_output=True,
    )  # fmt: skip


def make_repo(base: Path) -> Path:
    repo = base / "shop"
    (repo / "src").mkdir(parents=True)
    (repo / "README.md").write_text("# shop\n\nA tiny demo project.\n")
    (repo / "src" / "cart.py").write_text("def total(items):\n    return sum(items)\n")
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "initial")
    return repo


class Printer:
    """Prints a line per visible change (not per notification)."""

    def __init__(self, started: float) -> None:
        self.started = started
        self.last: dict[str, str] = {}

    def _emit(self, key: str, line: str) -> None:
        if self.last.get(key) == line:
            return
        self.last[key] = line
        print(f"[{time.monotonic() - self.started:5.1f}s] {line}", flush=True)

    def status(self, bar: dict[str, Any]) -> None:
        self._emit("status", f"STATUS  {bar['text']}  ({bar['severity']})")

    def card(self, card: dict[str, Any]) -> None:
        from podium.protocol.models import Usage
        from podium.views.format import format_agent_usage

        diff = card["diff"]
        limit = card.get("limit")
        limit_text = f"  limit {limit['usedPct']:.0f}% of ${limit['limitUSD']:.2f}" if limit else ""
        reason = f"  ({card['statusReason']})" if card.get("statusReason") else ""
        self._emit(
            card["agentId"],
            f"CARD    {card['name']:<8} {card['status']:<8} "
            f"{format_agent_usage(card['source'], Usage.model_validate(card['usage'])):<26} "
            f"+{diff['added']} -{diff['removed']} ({diff['files']} files){limit_text}{reason}",
        )

    def alert(self, alert: dict[str, Any]) -> None:
        self._emit(f"alert{len(self.last)}", f"ALERT   [{alert['level']}] {alert['message']}")

    def removed(self, params: dict[str, Any]) -> None:
        self._emit(params["agentId"], f"REMOVED {params['agentId']}")


async def run_demo(seconds: float, mode: str, base: Path) -> int:
    from podium import server as _server  # noqa: F401  (fail early with a clear import error)
    from podium.server import protocol as proto
    from podium.server.client import PodiumClient

    repo = make_repo(base)
    claude = base / "claude"
    (claude / "projects").mkdir(parents=True)
    env = dict(os.environ)
    env.pop("ANTHROPIC_API_KEY", None)
    env.pop("ANTHROPIC_BASE_URL", None)
    env["CLAUDE_CONFIG_DIR"] = str(claude)
    env["PODIUM_DB"] = str(base / "podium.db")
    print(f"repo {repo}\nlogs {claude}\nstore {env['PODIUM_DB']}\n", flush=True)

    started = time.monotonic()
    printer = Printer(started)
    client = PodiumClient()

    def on_notification(method: str, params: Any) -> None:
        if method == proto.STATUS_BAR:
            printer.status(params)
        elif method == proto.AGENT_CARD:
            printer.card(params)
        elif method == proto.ALERT:
            printer.alert(params)
        elif method == proto.AGENT_REMOVED:
            printer.removed(params)

    client.on_notification = on_notification
    await client.launch(cwd=repo, env=env, stderr_path=base / "server.log")
    await client.initialize_podium(repo, {"authMode": mode, "plan": "max5", "onLimit": "pause"})
    fake = [sys.executable, "-m", "podium", "fake-agent", "--interval", "0.5"]
    specs = [
        {"name": "alpha", "task": "Fix auth bypass", "env": {}},
        {"name": "bravo", "task": "Add caching layer", "env": {"ANTHROPIC_API_KEY": "fake"},
         "limitUSD": 0.15},
        {"name": "charlie", "task": "Write API docs",
         "env": {"ANTHROPIC_BASE_URL": "http://127.0.0.1:8080"}},
    ]  # fmt: skip
    pids: list[int] = []
    for spec in specs:
        card = await client.request(proto.SPAWN_AGENT, {**spec, "profile": "fake", "command": fake})
        pids.append(card["pid"])
        print(f"spawned {card['name']} ({card['source']}) in {card['worktree']}", flush=True)
    await asyncio.sleep(max(0.0, seconds - (time.monotonic() - started)))

    summary = await client.request(proto.USAGE_SUMMARY, {})
    print("\nusage summary:", flush=True)
    for row in summary["agents"]:
        usage = row["usage"]
        print(f"  {row['name']:<8} {row['source']:<12} {row['status']:<8} "
              f"{usage['messages']:>3} msgs  ${usage['costUSD']:.2f}", flush=True)  # fmt: skip
    print(f"  API today ${summary['api']['todayUSD']:.2f}; all usage today "
          f"${summary['today']['costUSD']:.2f}", flush=True)  # fmt: skip

    code = await client.close()
    leftovers = [pid for pid in pids if _alive(pid)]
    print(f"\nserver exited with {code}; agent processes left: {len(leftovers)}", flush=True)
    grew = all(row["usage"]["messages"] > 0 for row in summary["agents"])
    return 0 if code == 0 and not leftovers and grew else 1


def _alive(pid: int) -> bool:
    try:
        import psutil

        return psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except Exception:
        return False


def run(args: argparse.Namespace) -> int:
    base = Path(tempfile.mkdtemp(prefix="podium-demo-"))
    try:
        return asyncio.run(run_demo(args.seconds, args.mode, base))
    finally:
        if args.keep:
            print(f"kept {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)
