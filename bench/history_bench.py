"""`podium/usageHistory` on a large history: 90 days ending at the corpus's last day, each
grouping by day (and by agent per hour over the last 7 days), timed in-process as the server
answers it (median of --repeat calls after one warm-up).

    .venv/bin/python bench/history_bench.py [--size-mb 1000] [--files 3333] [--repeat 7]

The corpus (bench/gen_corpus.py, seed 7) and its store live in ${PODIUM_BENCH_CACHE:-
~/.cache/podium-bench}. The store also gets one agent per project directory (its worktree is
that cwd, so every entry is attributed), an official plan figure per window every 5 minutes
of the 60 days and a status change per agent every 15 minutes (~150,000), so the agent
grouping, the agent table (with its time working vs waiting) and the plan series have real
work.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import gen_corpus  # noqa: E402
import peers  # noqa: E402
from podium.store import Store  # noqa: E402
from podium.usage.history import usage_history  # noqa: E402
from podium.usage.ingest import Ingestor  # noqa: E402

TARGET_MS = 100.0
UNTIL = "2025-11-27"  # the corpus ends at 2025-11-28T00:00Z


def prepare(cache: Path, size_mb: float, files: int, seed: int) -> Store:
    corpus = cache / f"corpus-{size_mb:g}mb-{files}f-s{seed}"
    manifest = gen_corpus.read_manifest(corpus)
    if manifest is None or manifest.appends or len(manifest.files) != files:
        started = time.perf_counter()
        gen_corpus.generate_corpus(corpus, size_mb, files, seed)
        print(f"generated {corpus} in {time.perf_counter() - started:.1f}s")
    db_path = cache / "work" / f"history-{size_mb:g}mb-{files}f-s{seed}.db"
    fresh = not db_path.exists()
    store = Store(db_path)
    if fresh:
        started = time.perf_counter()
        Ingestor(store, claude_config_dirs=[str(corpus)]).run()
        seed_agents_and_plan(store)
        print(f"ingested + seeded {db_path} in {time.perf_counter() - started:.1f}s")
    if store.conn.execute("SELECT COUNT(*) FROM agent_statuses").fetchone()[0] < STATUS_CHANGES:
        started = time.perf_counter()
        seed_statuses(store)
        print(f"seeded status changes in {time.perf_counter() - started:.1f}s")
    return store


#: every agent changes status every 15 minutes of the 60 days (what the agent table reads)
STATUS_STEP_S = 900
STATUS_CHANGES = 100_000
_CYCLE = ("working", "waiting", "working", "idle", "working", "waiting", "paused", "working")


def seed_statuses(store: Store) -> None:
    """A status change per agent every STATUS_STEP_S, written the way the manager writes them
    (the agents row, whose triggers keep agent_statuses)."""
    lo, hi = store.conn.execute("SELECT MIN(ts), MAX(ts) FROM entries").fetchone()
    agents = [r[0] for r in store.conn.execute("SELECT id FROM agents ORDER BY id")]
    with store.transaction() as conn:
        for n, at in enumerate(range(lo // 1000, hi // 1000, STATUS_STEP_S)):
            conn.executemany("UPDATE agents SET status = ?, status_since = ? WHERE id = ?",
                             [(_CYCLE[(n + k) % len(_CYCLE)], float(at + k), aid)
                              for k, aid in enumerate(agents)])  # fmt: skip


def seed_agents_and_plan(store: Store) -> None:
    cwds = [r[0] for r in store.conn.execute("SELECT DISTINCT cwd FROM entries WHERE cwd IS NOT NULL")]
    lo, hi = store.conn.execute("SELECT MIN(ts), MAX(ts) FROM entries").fetchone()
    with store.transaction() as conn:
        for n, cwd in enumerate(cwds):
            conn.execute(
                "INSERT INTO agents(id, name, task, repo, worktree, branch, profile, state_dir, "
                "source, status, status_since, started_at, extra_json) "
                "VALUES (?, ?, 'bench', '/bench', ?, ?, 'claude', '/bench', ?, 'exited', ?, ?, ?)",
                (f"ag-{n}", f"agent-{n}", cwd, f"podium/agent-{n}", ("subscription", "api")[n % 2],
                 lo / 1000, lo / 1000, json.dumps({"diff": [n * 10, n, 1]})))  # fmt: skip
        rows = [(t / 1000, "official", w, (t // 300_000) % 100, None, None)
                for t in range(lo, hi, 300_000) for w in ("five_hour", "seven_day")]  # fmt: skip
        conn.executemany("INSERT INTO plan_snapshots(ts, source, window, used_pct, resets_at, "
                         "session_id) VALUES (?, ?, ?, ?, ?, ?)", rows)  # fmt: skip


def timed(store: Store, repeat: int, **kwargs) -> tuple[float, list[float], dict]:
    result = usage_history(store, **kwargs)  # warm-up: page cache, price lookups
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = usage_history(store, **kwargs)
        runs.append((time.perf_counter() - started) * 1000)
    return statistics.median(runs), runs, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, default=1000.0)
    parser.add_argument("--files", type=int, default=3333)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--cache", help="scratch dir (default $PODIUM_BENCH_CACHE or ~/.cache/podium-bench)")
    args = parser.parse_args(argv)
    cache = peers.cache_dir(args.cache)
    (cache / "work").mkdir(parents=True, exist_ok=True)
    store = prepare(cache, args.size_mb, args.files, args.seed)
    entries = store.conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0]
    size = Path(store.path).stat().st_size
    print(f"store: {entries:,} entries, {size / 1e6:.1f} MB; 90 days to {UNTIL}, tz UTC and "
          f"Europe/Paris; median of {args.repeat}")  # fmt: skip
    cases = [({"group_by": g, "bucket": "day", "since": "2025-08-30", "until": UNTIL, "tz": tz}, g)
             for g in ("model", "project", "agent", "source") for tz in ("UTC", "Europe/Paris")]
    cases.append(({"group_by": "agent", "bucket": "hour", "since": "2025-11-21", "until": UNTIL,
                   "tz": "Europe/Paris"}, "agent, by hour, 7 days"))  # fmt: skip
    worst = 0.0
    print("| groupBy | tz | median ms | runs ms | series cells | agents | plan points |")
    print("|---|---|---:|---|---:|---:|---:|")
    for kwargs, label in cases:
        median, runs, result = timed(store, args.repeat, **kwargs)
        worst = max(worst, median)
        print(f"| {label} | {kwargs['tz']} | {median:.1f} | "
              f"{', '.join(f'{r:.0f}' for r in runs)} | {len(result['series'])} | "
              f"{len(result['agents'])} | {len(result['plan'])} |")  # fmt: skip
    verdict = "met" if worst <= TARGET_MS else "MISSED"
    print(f"worst median {worst:.1f} ms vs target {TARGET_MS:.0f} ms: {verdict}")
    return 0 if worst <= TARGET_MS else 1


if __name__ == "__main__":
    raise SystemExit(main())
