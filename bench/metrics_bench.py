"""Cost of a Prometheus scrape: `GET /metrics` latency with 50 agents.

    .venv/bin/python bench/metrics_bench.py [--agents 50] [--history 100000] [--scrapes 300]

Builds a temp git repo with N agents spawned by the real AgentManager (profile `shell`, a
sleeping process each), each with its own session transcript (`--per-agent` messages over the
last days), plus `--history` older entries outside any agent (other projects, 60 days), budgets
in force (agent, daily, monthly). Then serves /metrics with `MetricsService` on 127.0.0.1 and
times full HTTP requests:

- changed: before each scrape one new message lands in a random agent's transcript and is
  ingested (the store changed since the last scrape: the worst case), so the exposition's
  build thread works beside the scrapes;
- unchanged: the store as it is;
- cold: the first scrape after start (waits for the first build: everything summed once);
- fresh: from a change's commit until a build that sees it is done (from then on a scrape shows
  it): every 10th change of the changed run (changes coming faster than the builds' minimum
  gap), and 10 changes each after a quiet 1.5 s.

Wall-clock latency depends on what else the 2 cores run (the load average is printed); the CPU
time of one build (store read + text, `thread_time` in this thread, store changed each time,
and unchanged: the periodic refresh) is printed too, as the figure that does not.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from latency_bench import make_repo  # bench/ is on sys.path when run as a script
from podium.agents import AgentManager
from podium.metrics.config import MetricsConfig
from podium.metrics.prom import TextRenderer
from podium.metrics.reader import MetricsReader
from podium.metrics.service import MetricsService
from podium.settings import Limits, Settings
from podium.store import Store
from podium.usage.adapters.claude import encode_cwd
from podium.usage.ingest import Ingestor
from podium.usage.synthetic import assistant_lines, dumps, usage_dict

MODELS = ("claude-sonnet-4-5-20250929", "claude-opus-4-5-20251101", "claude-haiku-4-5-20251001")


def write_messages(claude: Path, cwd: str, session: str, count: int, start_ms: int,
                   span_ms: int, rng: random.Random) -> None:  # fmt: skip
    """`count` messages spread over [start, start + span); the file's mtime is the last one's,
    as if Claude Code had written it then."""
    path = claude / "projects" / encode_cwd(cwd) / f"{session}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    ts = start_ms
    with open(path, "ab") as fh:
        for i in range(count):
            ts = start_ms + (span_ms * i) // max(1, count)
            usage = usage_dict(rng.randint(1, 50), rng.randint(50, 2000),
                               rng.randint(0, 5000), rng.randint(1000, 60000))  # fmt: skip
            for line in assistant_lines(session, cwd, ts, rng.choice(MODELS), usage,
                                        streaming=False):  # fmt: skip
                fh.write(dumps(line))
    os.utime(path, (ts / 1000, ts / 1000))


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def scrape(url: str) -> float:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=30) as resp:
        resp.read()
    return (time.perf_counter() - started) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--per-agent", type=int, default=200, help="messages per agent")
    parser.add_argument("--history", type=int, default=100_000,
                        help="older entries outside any agent")  # fmt: skip
    parser.add_argument("--scrapes", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    now_ms = int(time.time() * 1000)
    with tempfile.TemporaryDirectory(prefix="podium-metrics-bench-") as tmp:
        base = Path(tmp)
        claude = base / "claude"
        (claude / "projects").mkdir(parents=True)
        repo = make_repo(base)
        store = Store(base / "podium.db")
        settings = Settings(limits=Limits(agentUSD=50.0, dailyUSD=200.0, monthlyUSD=2000.0))
        manager = AgentManager(store, repo, claude_config_dir=claude)
        try:
            agents = [manager.spawn("bench", name=f"agent-{i:02d}", profile="shell",
                                    command=["sleep", "3600"]) for i in range(args.agents)]  # fmt: skip
            for i, agent in enumerate(agents):
                write_messages(claude, agent.worktree, f"s-agent-{i}", args.per_agent,
                               now_ms - 3 * 86_400_000, 3 * 86_400_000, rng)  # fmt: skip
            projects = [f"/home/dev/src/project-{i}" for i in range(40)]
            sessions = max(1, args.history // 100)
            for s in range(sessions):
                write_messages(claude, rng.choice(projects), f"s-old-{s}", args.history // sessions,
                               now_ms - 60 * 86_400_000 + s * (59 * 86_400_000 // sessions),
                               3_600_000, rng)  # fmt: skip
            ingestor = Ingestor(store, claude_config_dirs=[str(claude)])
            result = ingestor.run()
            load_before = os.getloadavg()
            service = MetricsService(store.path, settings,
                                     MetricsConfig(listen=("127.0.0.1", 0), machine="bench"))  # fmt: skip
            service.start()
            try:
                url, exposition = service.url, service.exposition
                assert url is not None and exposition is not None
                cold = scrape(url)
                changed, fresh = [], []
                builds = exposition.builds
                for n in range(args.scrapes):
                    i = rng.randrange(len(agents))
                    write_messages(claude, agents[i].worktree, f"s-agent-{i}", 1,
                                   int(time.time() * 1000), 1, rng)  # fmt: skip
                    ingestor.run()
                    since = time.monotonic()
                    changed.append(scrape(url))
                    if n % 10 == 0:
                        assert exposition.wait_fresh(since, 30)
                        fresh.append((time.monotonic() - since) * 1000)
                builds = exposition.builds - builds
                quiet = []
                for _ in range(10):
                    time.sleep(1.5)  # no change for longer than the builds' minimum gap
                    i = rng.randrange(len(agents))
                    write_messages(claude, agents[i].worktree, f"s-agent-{i}", 1,
                                   int(time.time() * 1000), 1, rng)  # fmt: skip
                    ingestor.run()
                    since = time.monotonic()
                    assert exposition.wait_fresh(since, 30)
                    quiet.append((time.monotonic() - since) * 1000)
                unchanged = []
                for _ in range(args.scrapes):
                    time.sleep(0.001)
                    unchanged.append(scrape(url))
                with urllib.request.urlopen(url, timeout=30) as resp:
                    body = resp.read()
                series = sum(1 for line in body.splitlines() if line and not line.startswith(b"#"))
            finally:
                service.stop()
            load_after = os.getloadavg()
            cpu, cpu_same = [], []
            reader, renderer = MetricsReader(store.path, settings, machine="bench"), TextRenderer()
            try:
                renderer.render(reader.read())
                for _ in range(args.scrapes // 3):
                    i = rng.randrange(len(agents))
                    write_messages(claude, agents[i].worktree, f"s-agent-{i}", 1,
                                   int(time.time() * 1000), 1, rng)  # fmt: skip
                    ingestor.run()
                    for out in (cpu, cpu_same):  # changed, then the same store again
                        started = time.thread_time()
                        renderer.parts(reader.read())
                        out.append((time.thread_time() - started) * 1000)
            finally:
                reader.close()
        finally:
            manager.close()
            store.close()
    print(f"store: {result.entries_written:,} entries, {args.agents} agents, "
          f"{series} series, {len(body):,} bytes per scrape")  # fmt: skip
    print("load average (1/5/15 min): before " + " ".join(f"{x:.2f}" for x in load_before)
          + ", after " + " ".join(f"{x:.2f}" for x in load_after))  # fmt: skip
    print(f"cold first scrape: {cold:.1f} ms")
    for name, values in (("changed store", changed), ("unchanged store", unchanged),
                         ("fresh, stream", fresh), ("fresh, quiet", quiet),
                         ("CPU/build, chg", cpu),
                         ("CPU/build, same", cpu_same)):  # fmt: skip
        print(f"{name:16} p50 {statistics.median(values):6.1f} ms   p99 "
              f"{percentile(values, 99):6.1f} ms   max {max(values):6.1f} ms   (n={len(values)})")  # fmt: skip
    print(f"builds while the store changed {args.scrapes} times: {builds}")
    worst = max(percentile(changed, 99), percentile(unchanged, 99))
    print(f"target p99 <= 50 ms: {'met' if worst <= 50 else 'MISSED'} ({worst:.1f} ms)")
    return 0 if worst <= 50 else 1


if __name__ == "__main__":
    sys.exit(main())
