"""Language server latency: a transcript line's write → the `podium/agentCard` at the client.

    .venv/bin/python bench/latency_bench.py --agents 50 --rate 2 --seconds 30

Starts `podium serve` (stdio) in a temp git repo with a temp CLAUDE_CONFIG_DIR and PODIUM_DB,
spawns N agents through the server (profile `shell`, a sleeping process each, so the server
supervises N real process trees), then one writer thread appends `rate` assistant lines per
second to each agent's transcript (in `projects/<encoded worktree>/`, as Claude Code would),
spread evenly in time. Every line is one new message, so the card's `usage.messages` counts the
lines the server has seen; the latency of line m is the arrival time of the first card with
messages >= m minus the time the line was written. Also reports the server process's CPU (its
own, not the agents') and RSS over the measured window.
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
import uuid
from pathlib import Path

import psutil

from podium.server.client import PodiumClient
from podium.usage.adapters.claude import encode_cwd
from podium.usage.synthetic import assistant_lines, dumps, usage_dict

MODEL = "claude-sonnet-4-5-20250929"


def make_repo(base: Path) -> Path:
    repo = base / "repo"
    repo.mkdir()
    git = ["git", "-c", "user.email=b@podium.invalid", "-c", "user.name=bench",
           "-c", "commit.gpgsign=false"]  # fmt: skip
    subprocess.run([*git, "init", "-q", "-b", "main"], cwd=repo, check=True)
    (repo / "README.md").write_text("bench\n")
    subprocess.run([*git, "add", "-A"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "init"], cwd=repo, check=True)
    return repo


class Writer(threading.Thread):
    """Appends lines on a fixed schedule and records when each was written."""

    def __init__(self, targets: list[tuple[str, Path, str]], rate: float, seconds: float) -> None:
        super().__init__(daemon=True)
        self.targets = targets  # (agent id, transcript path, cwd)
        self.rate = rate
        self.seconds = seconds
        self.writes: dict[str, list[float]] = {t[0]: [] for t in targets}
        self.start_at = 0.0

    def run(self) -> None:
        n = len(self.targets)
        period = 1.0 / self.rate
        self.start_at = time.time() + 0.2
        files = {aid: open(path, "ab", buffering=0) for aid, path, _ in self.targets}  # noqa: SIM115
        sessions = {aid: str(uuid.uuid4()) for aid, _, _ in self.targets}
        schedule = sorted(
            (self.start_at + k * period + i * period / n, i)
            for k in range(int(self.seconds * self.rate))
            for i in range(n)
        )
        for at, i in schedule:
            delay = at - time.time()
            if delay > 0:
                time.sleep(delay)
            aid, _path, cwd = self.targets[i]
            now_ms = int(time.time() * 1000)
            line = assistant_lines(sessions[aid], cwd, now_ms, MODEL,
                                   usage_dict(3, 40, 0, 1000), streaming=False)[0]  # fmt: skip
            data = dumps(line) + b"\n"
            written = time.time()
            files[aid].write(data)
            self.writes[aid].append(written)
        for fh in files.values():
            fh.close()


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, round(q / 100 * (len(values) - 1)))]


async def bench(args: argparse.Namespace) -> dict:
    base = Path(tempfile.mkdtemp(prefix="podium-latency-"))
    repo = make_repo(base)
    claude = base / "claude"
    (claude / "projects").mkdir(parents=True)
    env = dict(os.environ, CLAUDE_CONFIG_DIR=str(claude), PODIUM_DB=str(base / "podium.db"))
    client = PodiumClient()
    await client.launch(cwd=repo, env=env, stderr_path=base / "server.log")
    await client.initialize_podium(repo, {"authMode": "both"})
    server = psutil.Process(client.process.pid)  # type: ignore[union-attr]

    targets: list[tuple[str, Path, str]] = []
    for _ in range(args.agents):
        card = await client.request("podium/spawnAgent", {
            "task": "bench", "profile": "shell", "command": ["sleep", "100000"]})  # fmt: skip
        project = claude / "projects" / encode_cwd(card["worktree"])
        project.mkdir(parents=True, exist_ok=True)
        path = project / f"{uuid.uuid4()}.jsonl"
        path.touch()
        targets.append((card["agentId"], path, card["worktree"]))
    await asyncio.sleep(2.0)  # let watchers settle after the spawns

    writer = Writer(targets, args.rate, args.warmup + args.seconds)
    writer.start()
    await asyncio.sleep(args.warmup + 0.2)
    cpu0 = server.cpu_times()
    t0 = time.monotonic()
    rss: list[int] = []
    while writer.is_alive():
        rss.append(server.memory_info().rss)
        await asyncio.sleep(0.5)
    cpu1 = server.cpu_times()
    elapsed = time.monotonic() - t0
    await asyncio.sleep(1.0)  # late notifications

    measured_from = writer.start_at + args.warmup
    seen: dict[str, list[tuple[float, int]]] = {aid: [] for aid, _, _ in targets}
    for received, card in client.cards:
        if card["agentId"] in seen:
            seen[card["agentId"]].append((received, card["usage"]["messages"]))
    latencies: list[float] = []
    missing = 0
    for aid, writes in writer.writes.items():
        cards = seen[aid]
        j = 0
        for m, written in enumerate(writes, start=1):
            while j < len(cards) and cards[j][1] < m:
                j += 1
            if j == len(cards):
                missing += 1
                continue
            if written >= measured_from:
                latencies.append((cards[j][0] - written) * 1000)
    status_count = sum(1 for t, _ in client.status_bars if t >= measured_from)
    cpu = (cpu1.user + cpu1.system - cpu0.user - cpu0.system) / elapsed * 100
    code = await client.close()
    result = {
        "agents": args.agents,
        "lines_per_s": args.agents * args.rate,
        "measured_s": round(elapsed, 1),
        "lines_measured": len(latencies),
        "lines_missing": missing,
        "p50_ms": round(pct(latencies, 50), 1),
        "p90_ms": round(pct(latencies, 90), 1),
        "p99_ms": round(pct(latencies, 99), 1),
        "max_ms": round(max(latencies), 1) if latencies else None,
        "mean_ms": round(statistics.fmean(latencies), 1) if latencies else None,
        "server_cpu_pct_of_one_core": round(cpu, 1),
        "server_rss_mb_max": round(max(rss) / 2**20, 1) if rss else None,
        "status_bars_per_s": round(status_count / max(elapsed, 1e-9), 1),
        "server_exit_code": code,
    }
    if not args.keep:
        subprocess.run(["rm", "-rf", str(base)], check=False)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--rate", type=float, default=2.0, help="lines per second per agent")
    parser.add_argument("--seconds", type=float, default=30.0, help="measured duration")
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--keep", action="store_true", help="keep the temp dir")
    parser.add_argument("--json", action="store_true", help="print JSON only")
    args = parser.parse_args()
    result = asyncio.run(bench(args))
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>28}: {value}")
    ok = result["p99_ms"] <= 100 and result["server_cpu_pct_of_one_core"] <= 25
    print(f"target p99 <= 100 ms and CPU <= 25%: {'met' if ok else 'NOT met'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
