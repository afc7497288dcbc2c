"""`podium demo` (`make demo`): the real thing, headless.

A temp git repo, `podium serve` over stdio (with a temp CLAUDE_CONFIG_DIR and PODIUM_DB, so your
own data is untouched), three fake agents — one per source: subscription, api
(ANTHROPIC_API_KEY=fake in its env) and proxy (ANTHROPIC_BASE_URL=http://127.0.0.1:8080) — and a
terminal client that prints the status bar and the cards as they change. The fake agents are
sessions like Claude Code's (`podium fake-agent --input-format stream-json`, docs/claude-code.md):

- alpha (subscription, permission mode `default`) asks before each Write. The demo plays the
  person: it allows the first request, denies the second (the turn ends saying so), sends a
  follow-up message, and answers its next request with "Allow all Write". Its stream reports the
  plan's figures (`rate_limit_event`, 67% / 21%): the status bar's `Plan: 67%` comes from it.
- bravo (api, $0.15 limit) works without asking until its limit pauses it.
- charlie (proxy) is rate limited for a few seconds (HTTP 429s, retried) before it works.

After `--seconds` it shuts the server down and checks that no agent process is left.
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
from collections.abc import Callable
from pathlib import Path
from typing import Any


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seconds", type=float, default=30.0, help="how long to run (default 30)")
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
        turn = f"  last turn: {card['lastTurn']}" if card.get("lastTurn") else ""
        self._emit(
            card["agentId"],
            f"CARD    {card['name']:<8} {card['status']:<11} "
            f"{format_agent_usage(card['source'], Usage.model_validate(card['usage'])):<26} "
            f"+{diff['added']} -{diff['removed']} ({diff['files']} files){limit_text}{reason}{turn}",
        )
        for request in card.get("pending") or []:
            self._emit(f"ask{request['requestId']}",
                       f"ASKS    {card['name']:<8} {request['tool']} {request['summary']}")  # fmt: skip

    def note(self, line: str) -> None:
        """A line the demo itself says (what the person did)."""
        self._emit(f"note{len(self.last)}", line)

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
    specs: list[dict[str, Any]] = [
        {"name": "alpha", "task": "Fix auth bypass", "env": {}, "permissionMode": "default",
         "command": [*fake, "--steps", "4", "--rate-limit", "0.67,0.21"]},
        {"name": "bravo", "task": "Add caching layer", "env": {"ANTHROPIC_API_KEY": "fake"},
         "limitUSD": 0.15, "permissionMode": "bypassPermissions",
         "command": [*fake, "--steps", "0"]},
        {"name": "charlie", "task": "Write API docs", "permissionMode": "acceptEdits",
         "env": {"ANTHROPIC_BASE_URL": "http://127.0.0.1:8080"},
         "command": [*fake, "--steps", "0", "--api-retries", "3", "--retry-delay", "1.5"]},
    ]  # fmt: skip
    pids: list[int] = []
    ids: dict[str, str] = {}
    for spec in specs:
        card = await client.request(proto.SPAWN_AGENT, {**spec, "profile": session_profile()})
        pids.append(card["pid"])
        ids[card["name"]] = card["agentId"]
        print(f"spawned {card['name']} ({card['source']}) in {card['worktree']}", flush=True)
    person = asyncio.create_task(play_the_person(client, printer, ids["alpha"]))
    await asyncio.sleep(max(0.0, seconds - (time.monotonic() - started)))
    played = person.done() and person.exception() is None and person.result()
    if not person.done():
        person.cancel()
        print("\nthe demo ran out of time before alpha's story ended (try --seconds 40)")
    elif person.exception() is not None:
        print(f"\nalpha's story failed: {person.exception()}", flush=True)

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
    five = (summary.get("plan") or {}).get("fiveHour") or {}
    official = five.get("source") == "official" and round(five.get("usedPct", 0)) == 67
    print(f"plan figure from alpha's stream: {'yes' if official else 'no'} ({five})", flush=True)
    ok = code == 0 and not leftovers and grew and played and official
    return 0 if ok else 1


def session_profile() -> str:
    """The profile that runs the fake agent as a session: `fake` where it is one, else `claude`
    (whose command the spawn replaces with the fake agent: the same argv, FIFO and hooks)."""
    from podium.agents.profiles import SESSION_PROFILES

    return "fake" if "fake" in SESSION_PROFILES else "claude"


async def play_the_person(client: Any, printer: Printer, agent_id: str) -> bool:
    """What a person does on alpha's card: allow, deny, a follow-up, then "Allow all"."""
    from podium.server import protocol as proto

    answered: set[str] = set()

    async def next_request() -> dict[str, Any]:
        def pending() -> dict[str, Any] | None:
            card = client.latest_cards().get(agent_id) or {}
            fresh = [r for r in card.get("pending") or [] if r["requestId"] not in answered]
            return fresh[0] if fresh else None

        request = await client.wait_for(pending, timeout=30)
        await asyncio.sleep(1.0)  # a person reads it first
        answered.add(request["requestId"])
        return request

    async def answer(decision: str, scope: str = "once") -> None:
        request = await next_request()
        await client.request(proto.ANSWER_PERMISSION, {"agentId": agent_id, "decision": decision,
                                                       "requestId": request["requestId"],
                                                       "scope": scope})  # fmt: skip
        what = "Allow all " + request["tool"] if scope == "agent" else decision.capitalize()
        printer.note(f"YOU     {what}: alpha's {request['tool']} {request['summary']}")

    def last_turn(text: str) -> Callable[[], bool]:
        return lambda: text in ((client.latest_cards().get(agent_id) or {}).get("lastTurn") or "")

    await answer("allow")
    await answer("deny")
    await client.wait_for(last_turn("denied"), timeout=30)
    result = await client.request(proto.SEND_MESSAGE, {"agentId": agent_id,
                                                       "text": "Try again, with tests."})  # fmt: skip
    printer.note(f"YOU     message to alpha: {'queued' if result['queued'] else 'sent'}")
    await answer("allow", "agent")
    await client.wait_for(last_turn("wrote"), timeout=60)
    return True


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
