"""Diff stats for 50 worktrees: how fast one file change is reflected, and what idling costs.

    .venv/bin/python bench/diffstats_bench.py [--worktrees 50] [--changes 20] [--idle 5]

Creates a temp repo (200 tracked files), spawns N shell agents (`sleep`) through AgentManager
(real worktrees and branches), runs `run_watchers()`, then
  1. edits one file in a random worktree, N times, and measures the time from the write to the
     `on_change` callback carrying the new diff stats;
  2. measures this process's CPU time (all threads, incl. the watcher) over an idle period,
     and counts diff recomputations in it (expected: 0).
Not a test: figures go to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import psutil

from podium.agents import Agent, AgentManager
from podium.store import Store


def make_repo(root: Path, files: int) -> Path:
    repo = root / "repo"
    repo.mkdir()

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    git("config", "user.email", "bench@podium.invalid")
    git("config", "user.name", "bench")
    for i in range(files):
        d = repo / f"pkg{i % 10}"
        d.mkdir(exist_ok=True)
        (d / f"mod{i}.py").write_text("".join(f"line_{j} = {j}\n" for j in range(50)))
    git("add", "-A")
    git("commit", "-q", "-m", "corpus")
    return repo


async def bench(args: argparse.Namespace) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="podium-diffbench-"))
    repo = make_repo(tmp, args.files)
    store = Store(tmp / "podium.db")
    seen: dict[str, tuple[int, float]] = {}
    cond = threading.Condition()

    def on_change(agent: Agent) -> None:
        with cond:
            seen[agent.id] = (agent.diff.added, time.perf_counter())
            cond.notify_all()

    manager = AgentManager(store, repo, on_change=on_change)
    refreshes = 0
    original = manager._refresh_diff

    def counting(agent_id: str, notify: bool = True):
        nonlocal refreshes
        refreshes += 1
        return original(agent_id, notify)

    manager._refresh_diff = counting  # type: ignore[method-assign]
    t0 = time.perf_counter()
    agents = [manager.spawn("bench", profile="shell", command=["sleep", "3600"])
              for _ in range(args.worktrees)]  # fmt: skip
    spawn_s = time.perf_counter() - t0
    watcher = asyncio.create_task(manager.run_watchers())
    try:
        deadline = time.monotonic() + 120
        while refreshes < len(agents) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        await asyncio.sleep(2.0)  # initial refreshes settle

        rng = random.Random(7)
        latencies: list[float] = []
        for i in range(args.changes):
            agent = rng.choice(agents)
            target = Path(agent.worktree) / f"pkg{i % 10}" / f"mod{i}.py"
            before = manager.diff(agent.id).added
            with open(target, "a") as fh:
                fh.write(f"change_{i} = {i}\n")
            written = time.perf_counter()
            while True:
                got = seen.get(agent.id)
                if got and got[0] > before and got[1] >= written:
                    latencies.append(got[1] - written)
                    break
                if time.perf_counter() - written > 10:
                    latencies.append(float("inf"))
                    break
                await asyncio.sleep(0.005)
            await asyncio.sleep(0.3)

        await asyncio.sleep(1.0)
        proc = psutil.Process()
        cpu0 = sum(proc.cpu_times()[:2])
        ref0 = refreshes
        await asyncio.sleep(args.idle)
        idle_cpu = sum(proc.cpu_times()[:2]) - cpu0
        idle_refreshes = refreshes - ref0
    finally:
        manager.close()
        await asyncio.wait_for(watcher, timeout=60)
        store.close()
        subprocess.run(["rm", "-rf", str(tmp)], check=False)
    return {
        "worktrees": args.worktrees,
        "tracked_files_per_worktree": args.files,
        "spawn_seconds_total": round(spawn_s, 2),
        "changes": args.changes,
        "latency_ms_median": round(statistics.median(latencies) * 1000, 1),
        "latency_ms_p90": round(sorted(latencies)[int(0.9 * (len(latencies) - 1))] * 1000, 1),
        "latency_ms_max": round(max(latencies) * 1000, 1),
        "idle_seconds": args.idle,
        "idle_cpu_seconds": round(idle_cpu, 4),
        "idle_cpu_percent": round(100 * idle_cpu / args.idle, 3),
        "idle_diff_recomputations": idle_refreshes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worktrees", type=int, default=50)
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--changes", type=int, default=20)
    parser.add_argument("--idle", type=float, default=5.0)
    result = asyncio.run(bench(parser.parse_args()))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
