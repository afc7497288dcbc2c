"""`podium agents`: spawn, list and control agents without an editor (thin over AgentManager).

Agents spawned here outlive the command (it exits right away); a later `podium agents …` or
the language server re-attaches to them through the store.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from dataclasses import asdict
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from podium.agents import AgentManager
    from podium.agents.models import Agent, DiffStats

ACTIONS = ("spawn", "list", "pause", "resume", "stop", "remove", "diff")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", help="store path (default: $PODIUM_DB or the user data dir)")
    parser.add_argument("--repo", default=".", help="the git repository (default: .)")
    parser.add_argument("--worktree-dir", help="where worktrees go (default <repo>/.podium/worktrees)")
    parser.add_argument("--claude-config-dir", help="CLAUDE_CONFIG_DIR for fake agents")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    sub = parser.add_subparsers(dest="action", required=True)
    spawn = sub.add_parser("spawn", help="start an agent in a new worktree")
    spawn.add_argument("task", help="what the agent should do")
    spawn.add_argument("--name")
    spawn.add_argument("--base-ref")
    spawn.add_argument("--profile", default="fake", help="fake | claude | shell (default fake)")
    spawn.add_argument("--source", choices=["subscription", "api", "proxy"])
    spawn.add_argument("--limit-usd", type=float)
    spawn.add_argument("--fake-arg", action="append", default=[], dest="fake_args",
                       help="extra argument for the fake agent (repeatable)")  # fmt: skip
    spawn.add_argument("--command", dest="command_line",
                       help="argv as one shell-quoted string (required for --profile shell)")  # fmt: skip
    sub.add_parser("list", help="list agents")
    for action in ("pause", "resume", "stop", "diff"):
        p = sub.add_parser(action, help=f"{action} an agent")
        p.add_argument("agent", help="agent id or name")
    remove = sub.add_parser("remove", help="stop an agent and remove its worktree")
    remove.add_argument("agent", help="agent id or name")
    remove.add_argument("--delete-branch", action="store_true")
    remove.add_argument("--force", action="store_true", help="discard uncommitted work")


def _resolve(manager: AgentManager, key: str) -> str:
    from podium.errors import NotFound

    for agent in manager.list():
        if key in (agent.id, agent.name):
            return agent.id
    raise NotFound(f"no agent with id or name {key!r}", field="agentId")


def _row(agent: Agent, diff: DiffStats | None = None) -> dict:
    data = asdict(agent)
    data["status"] = agent.status.value
    if diff is not None:
        data["diff"] = asdict(diff)
    return data


def _print_agents(agents: list, as_json: bool) -> None:
    if as_json:
        print(json.dumps([_row(a) for a in agents], indent=2))
        return
    if not agents:
        print("no agents")
        return
    now = time.time()
    for a in agents:
        since = int(now - a.status_since)
        code = f" ({a.exit_code})" if a.exit_code is not None else ""
        print(f"{a.id}  {a.name:<10} {a.status.value}{code:<6} {since:>5}s  "
              f"+{a.diff.added} -{a.diff.removed} ({a.diff.files} files)  {a.branch}")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from podium.agents.manager import AgentManager
    from podium.errors import PodiumError
    from podium.store import Store

    store = Store(args.db)
    try:
        manager = AgentManager(store, args.repo, worktree_dir=args.worktree_dir,
                               claude_config_dir=args.claude_config_dir, keep_running=True)  # fmt: skip
    except PodiumError as exc:
        print(f"podium agents: {exc}", file=sys.stderr)
        return 1
    try:
        if args.action == "spawn":
            argv = shlex.split(args.command_line) if args.command_line else None
            agent = manager.spawn(
                args.task, name=args.name, base_ref=args.base_ref, profile=args.profile,
                command=argv, source=args.source, limit_usd=args.limit_usd,
                fake_args=args.fake_args,
            )  # fmt: skip
            _print_agents([agent], args.json)
        elif args.action == "list":
            agents = manager.list()
            for a in agents:
                if a.status.is_live:
                    a.diff = manager.diff(a.id)
            _print_agents(agents, args.json)
        elif args.action == "remove":
            manager.remove(_resolve(manager, args.agent), delete_branch=args.delete_branch,
                           force=args.force)  # fmt: skip
            print(f"removed {args.agent}")
        elif args.action == "diff":
            stats = manager.diff(_resolve(manager, args.agent))
            print(json.dumps(asdict(stats)) if args.json
                  else f"+{stats.added} -{stats.removed} ({stats.files} files)")  # fmt: skip
        else:
            agent = getattr(manager, args.action)(_resolve(manager, args.agent))
            _print_agents([agent], args.json)
    except PodiumError as exc:
        print(f"podium agents: {exc}", file=sys.stderr)
        return 1
    finally:
        manager.close()
        store.close()
    return 0
