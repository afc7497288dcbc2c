"""How long a `podium.track.log_llm` call keeps its caller, while `podium serve` ingests.

    .venv/bin/python bench/track_bench.py [--threads 4] [--per-thread 2500] [--pause-us 200]

Starts a real `podium serve` (temp store, its inbox watched), then THREADS threads each log
PER_THREAD calls through one `Tracker`, pausing PAUSE between calls (an agent logs after an LLM
call, which takes far longer; `--pause-us 0` is a tight loop, where CPython's GIL switch interval,
5 ms, decides how long a thread waits for another, Podium or not). Reports the wall time of every
call (p50, p99, p99.9, max), how many took over 1 ms, how long the server took to count all of
them after the last call, and checks each record was counted exactly once.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from podium.server.client import PodiumClient
from podium.store import Store
from podium.track import Tracker


def log_from_threads(tracker: Tracker, threads: int, per_thread: int, pause: float) -> list[float]:
    """Thread n logs `per_thread` calls of 100 + n input tokens, `pause` s apart; returns every
    call's wall time in seconds, sorted (also tests/server/test_track_e2e.py)."""
    times: list[list[float]] = [[] for _ in range(threads)]
    barrier = threading.Barrier(threads)

    def worker(n: int) -> None:
        mine = times[n]
        barrier.wait()
        for i in range(per_thread):
            t0 = time.perf_counter()
            tracker.log_llm(agent=f"worker-{n}", provider="openai", model="gpt-4o-mini",
                            task_type="build", task_description=f"step {i} of job {n}",
                            input_tokens=100 + n, output_tokens=7, duration_ms=i,
                            session_key=f"job-{n}", prompt="not kept")  # fmt: skip
            mine.append(time.perf_counter() - t0)
            if pause:
                time.sleep(pause)

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return sorted(t for per in times for t in per)


async def run(threads: int, per_thread: int, pause: float) -> dict:
    work = Path(tempfile.mkdtemp(prefix="podium-track-bench-"))
    repo = work / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (work / "claude" / "projects").mkdir(parents=True)
    env = dict(os.environ, PODIUM_DB=str(work / "podium.db"),
               CLAUDE_CONFIG_DIR=str(work / "claude"))  # fmt: skip
    env.pop("PODIUM_INBOX", None)
    client = PodiumClient()
    await client.launch(cwd=repo, env=env, stderr_path=work / "server.log")
    await client.initialize_podium(repo, {})
    inbox = work / "inbox"
    while not inbox.is_dir():
        await asyncio.sleep(0.01)
    tracker = Tracker(str(inbox))
    total = threads * per_thread
    started = time.perf_counter()
    took = await asyncio.to_thread(log_from_threads, tracker, threads, per_thread, pause)
    logged_s = time.perf_counter() - started
    tracker.flush(60)
    flushed = time.perf_counter()
    while (await client.request("podium/usageSummary", {}))["today"]["messages"] < total:
        await asyncio.sleep(0.01)
    counted_s = time.perf_counter() - flushed
    await client.close()
    with Store(work / "podium.db") as store:
        rows, keys = store.conn.execute(
            "SELECT COUNT(*), COUNT(DISTINCT key) FROM usage_records").fetchone()
    ms = [t * 1000 for t in took]
    return {
        "threads": threads, "perThread": per_thread, "pauseUs": round(pause * 1e6),
        "calls": total, "countedOnce": rows == keys == total, "dropped": tracker.dropped,
        "callMs": {"p50": round(statistics.median(ms), 4),
                   "p99": round(ms[int(total * 0.99)], 4),
                   "p999": round(ms[int(total * 0.999)], 4), "max": round(ms[-1], 4)},
        "callsOver1ms": sum(1 for m in ms if m > 1.0),
        "loggingSeconds": round(logged_s, 3),
        "countedSecondsAfterFlush": round(counted_s, 3),
        "python": sys.version.split()[0], "switchIntervalS": sys.getswitchinterval(),
    }  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--per-thread", type=int, default=2500)
    parser.add_argument("--pause-us", type=float, default=200.0)
    args = parser.parse_args()
    result = asyncio.run(run(args.threads, args.per_thread, args.pause_us / 1e6))
    print(json.dumps(result, indent=2))
    return 0 if result["countedOnce"] else 1


if __name__ == "__main__":
    sys.exit(main())
