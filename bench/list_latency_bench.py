"""`podium/listAgents` latency while agents are being stopped.

    .venv/bin/python bench/list_latency_bench.py --agents 10 --term-delay 1.0

Starts `podium serve` (stdio) in a temp git repo with a temp CLAUDE_CONFIG_DIR and PODIUM_DB,
spawns N fake agents (`podium fake-agent --term-delay S`: each takes S seconds to exit after
SIGTERM, as a real agent finishing its turn would), waits until all are working, then sends
N `podium/stopAgent` requests at once. While they run, one client loop sends
`podium/listAgents` every `--gap-ms` and times each answer (request sent → answer received,
perf_counter, in the client). Reports p50 / p99 / max of those latencies, how many were
answered before the first stop returned, and the stops' own durations; the same figures for an
idle server come first, for comparison.

`--src DIR` runs the server from another checkout (PYTHONPATH=DIR/backend) to measure an older
version against the same client and agents (the agents always run from this checkout).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from latency_bench import make_repo  # bench/ is on sys.path when run as a script
from podium.server.client import PodiumClient

HERE = Path(__file__).resolve().parent


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summary(latencies_s: list[float]) -> dict[str, Any]:
    ms = [v * 1000 for v in latencies_s]
    return {
        "n": len(ms),
        "p50_ms": round(pct(ms, 50), 2),
        "p99_ms": round(pct(ms, 99), 2),
        "max_ms": round(max(ms), 2),
        "mean_ms": round(statistics.fmean(ms), 2),
    }


async def list_loop(client: PodiumClient, gap_s: float, until: asyncio.Event,
                    out: list[tuple[float, float]]) -> None:  # fmt: skip
    """listAgents, one at a time, `gap_s` apart, until `until` is set: (sent_at, latency)."""
    while not until.is_set():
        sent = time.perf_counter()
        await client.request("podium/listAgents", {}, timeout=120)
        out.append((sent, time.perf_counter() - sent))
        await asyncio.sleep(gap_s)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    base = Path(tempfile.mkdtemp(prefix="podium-listbench-"))
    repo = make_repo(base)
    claude = base / "claude"
    (claude / "projects").mkdir(parents=True)
    env = dict(os.environ)
    env.update(CLAUDE_CONFIG_DIR=str(claude), PODIUM_DB=str(base / "podium.db"))
    env.pop("ANTHROPIC_API_KEY", None)
    agent_env = {}
    if args.src:
        env["PYTHONPATH"] = str(Path(args.src).resolve() / "backend")
        agent_env["PYTHONPATH"] = ""  # the agents run from this checkout (--term-delay)
    fake = [sys.executable, "-m", "podium", "fake-agent", "--interval", str(args.interval),
            "--term-delay", str(args.term_delay)]  # fmt: skip

    client = PodiumClient()
    await client.launch(cwd=repo, env=env, stderr_path=base / "server.log")
    try:
        await client.initialize_podium(repo, {"authMode": "api"})
        await client.wait_for(client.latest_status, timeout=60)
        cards = []
        for _ in range(args.agents):
            cards.append(await client.request("podium/spawnAgent", {
                "task": "bench", "profile": "fake", "command": fake, "env": agent_env},
                timeout=120))  # fmt: skip
        ids = [c["agentId"] for c in cards]

        def all_working() -> bool:
            latest = client.latest_cards()
            return all(latest.get(i, {}).get("status") == "working" for i in ids)

        await client.wait_for(all_working, timeout=120)

        # idle: the same loop with nothing else going on
        idle: list[tuple[float, float]] = []
        done = asyncio.Event()
        loop_task = asyncio.create_task(list_loop(client, args.gap_ms / 1000, done, idle))
        await asyncio.sleep(args.idle_seconds)
        done.set()
        await loop_task

        # stops: N at once, listAgents meanwhile
        during: list[tuple[float, float]] = []
        done = asyncio.Event()
        loop_task = asyncio.create_task(list_loop(client, args.gap_ms / 1000, done, during))
        await asyncio.sleep(args.gap_ms / 1000 * 3)  # the loop is running before the stops go
        stops_sent = time.perf_counter()
        stop_ends: list[float] = []

        async def stop(agent_id: str) -> dict[str, Any]:
            card = await client.request("podium/stopAgent", {"agentId": agent_id}, timeout=120)
            stop_ends.append(time.perf_counter())
            return card

        stopped = await asyncio.gather(*(stop(i) for i in ids))
        stops_done = time.perf_counter()
        done.set()
        await loop_task
        assert all(c["status"] == "stopped" for c in stopped), [c["status"] for c in stopped]
        in_window = [lat for sent, lat in during if stops_sent <= sent < stops_done]
        first_stop = min(stop_ends)
        return {
            "agents": args.agents,
            "term_delay_s": args.term_delay,
            "gap_ms": args.gap_ms,
            "server_src": args.src or str(HERE.parent),
            "idle": summary([lat for _s, lat in idle]),
            "during_stops": summary(in_window),
            "answered_before_first_stop_returned": sum(
                1 for sent, lat in during if stops_sent <= sent and sent + lat < first_stop),
            "stops_s": {
                "first": round(first_stop - stops_sent, 3),
                "last": round(stops_done - stops_sent, 3),
            },
        }
    finally:
        await client.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=10)
    parser.add_argument("--term-delay", type=float, default=1.0,
                        help="seconds each fake agent takes to exit after SIGTERM")  # fmt: skip
    parser.add_argument("--interval", type=float, default=0.3, help="fake agent turn interval")
    parser.add_argument("--gap-ms", type=float, default=5.0, help="pause between listAgents")
    parser.add_argument("--idle-seconds", type=float, default=2.0)
    parser.add_argument("--src", default=None, help="run the server from this checkout")
    parser.add_argument("--json", action="store_true", help="print the result as JSON only")
    args = parser.parse_args()
    result = asyncio.run(run(args))
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"server: {result['server_src']}; {result['agents']} fake agents, "
          f"--term-delay {result['term_delay_s']} s, listAgents every {result['gap_ms']:g} ms")
    for label in ("idle", "during_stops"):
        s = result[label]
        print(f"  listAgents {label:13s} n={s['n']:5d}  p50 {s['p50_ms']:7.2f} ms  "
              f"p99 {s['p99_ms']:7.2f} ms  max {s['max_ms']:7.2f} ms")
    print(f"  stops answered after {result['stops_s']['first']:.2f} s (first) … "
          f"{result['stops_s']['last']:.2f} s (last); listAgents answered before the first: "
          f"{result['answered_before_first_stop_returned']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
