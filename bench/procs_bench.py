"""What owning agents' process trees costs, and how fast ownership moves.

    .venv/bin/python bench/procs_bench.py [--agents 20] [--rounds 5]

In a temp repo and store, through AgentManager (real keepers, worktrees, processes):
  1. spawn N shell agents (`sleep`): spawn latency p50/p95 and each keeper's RSS;
  2. stop them one by one: stop latency p50/p95 (a tree that ends on SIGTERM);
  3. a supervising process spawns an agent that leaves a setsid daemon ignoring SIGTERM and is
     SIGKILLed (keepAgentsRunning off): time until the agent and its daemon are gone (the keeper
     waits the 1 s grace, then SIGKILLs);
  4. an owner closes with agents kept running: time until a read-only manager polling every
     0.2 s (the server's pace) has taken over and re-attached.
Not a test: figures go to docs/reliability.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from latency_bench import make_repo  # bench/ is on sys.path when run as a script
from podium.agents import AgentManager
from podium.store import Store

HERE = Path(__file__).resolve().parent
SUPERVISOR = HERE.parent / "tests" / "agents" / "supervisor_proc.py"


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def spawn_and_stop(root: Path, agents: int) -> dict:
    repo = make_repo(root)
    m = AgentManager(Store(root / "a.db"), repo, stop_grace=1.0)
    spawns, stops, rss = [], [], []
    try:
        ids = []
        for _ in range(agents):
            t = time.perf_counter()
            agent = m.spawn("x", profile="shell", command=["sleep", "600"])
            spawns.append(time.perf_counter() - t)
            ids.append(agent.id)
            rss.append(psutil.Process(agent.pid).parent().memory_info().rss)
        for agent_id in ids:
            t = time.perf_counter()
            m.stop(agent_id)
            stops.append(time.perf_counter() - t)
    finally:
        m.close()
    return {"spawn_ms_p50": round(statistics.median(spawns) * 1000, 1),
            "spawn_ms_p95": round(pct(spawns, 0.95) * 1000, 1),
            "stop_ms_p50": round(statistics.median(stops) * 1000, 1),
            "stop_ms_p95": round(pct(stops, 0.95) * 1000, 1),
            "keeper_rss_mb": round(statistics.median(rss) / 2**20, 1)}  # fmt: skip


def killed_supervisor(root: Path) -> float:
    repo = make_repo(root)
    sup = subprocess.Popen([sys.executable, str(SUPERVISOR), str(root / "k.db"), str(repo), "0"],
                           stdout=subprocess.PIPE, text=True)  # fmt: skip
    info = json.loads(sup.stdout.readline())
    pid_file = Path(info["worktree"]) / "daemon.pid"
    while not pid_file.exists():
        time.sleep(0.01)
    pids = [info["pid"], *map(int, pid_file.read_text().split())]
    t = time.perf_counter()
    sup.kill()
    sup.wait()
    while any(alive(p) for p in pids):
        time.sleep(0.005)
    return time.perf_counter() - t


def takeover(root: Path) -> float:
    repo = make_repo(root)
    db = root / "t.db"
    owner = AgentManager(Store(db), repo, keep_running=True)
    agent = owner.spawn("x", profile="shell", command=["sleep", "600"])
    other = AgentManager(Store(db), repo)
    try:
        t = time.perf_counter()
        owner.close()
        while other.read_only:
            other.poll()
            time.sleep(0.2)
        took = time.perf_counter() - t
        other.stop(agent.id)
        return took
    finally:
        other.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        def fresh(name: str) -> Path:
            (root / name).mkdir()
            return root / name

        out = spawn_and_stop(fresh("s"), args.agents)
        kills = [killed_supervisor(fresh(f"k{i}")) for i in range(args.rounds)]
        takes = [takeover(fresh(f"t{i}")) for i in range(args.rounds)]
        out["sigkilled_podium_to_tree_gone_s_max"] = round(max(kills), 2)
        out["takeover_s_max"] = round(max(takes), 2)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
