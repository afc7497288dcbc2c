"""What the history sums (podium.store.rollups, schema v12) cost the ingest.

    .venv/bin/python bench/rollup_cost_bench.py [--rounds 9]

Cold: a first load of the corpus into an empty store (the bulk path: triggers dropped, sums
rebuilt at the end), timing the statement that rebuilds `history_buckets`. Incremental: two
copies of the loaded store, one with the triggers that keep `history_buckets` and one without;
each round appends ~1 % to a copy of the corpus (`gen_corpus.append_corpus`) and both stores
ingest it in this process (alternating which goes first), timed in CPU time of this thread and
wall clock. Medians of --rounds. Corpus: ${PODIUM_BENCH_CACHE:-~/.cache/podium-bench}/
corpus-300mb-1000f-s7 (bench/gen_corpus.py, seed 7), copied to a scratch dir first.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import gen_corpus  # noqa: E402
import peers  # noqa: E402
from podium.store import Store  # noqa: E402
from podium.store.rollups import REBUILD_HISTORY  # noqa: E402
from podium.usage.ingest import Ingestor  # noqa: E402

HISTORY_TRIGGERS = ("entries_history_insert", "entries_history_delete", "entries_history_update")


def rebuild_s(db: str) -> float:
    store = Store(db)
    started = time.perf_counter()
    with store.transaction() as conn:
        for sql in REBUILD_HISTORY.split(";"):
            if sql.strip():
                conn.execute(sql)
    took = time.perf_counter() - started
    store.close()
    return took


def timed_ingest(store: Store, corpus: Path) -> tuple[float, float, int]:
    wall, cpu = time.perf_counter(), time.thread_time()
    result = Ingestor(store, claude_config_dirs=[str(corpus)]).run()
    return time.thread_time() - cpu, time.perf_counter() - wall, result.entries_written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--cache", help="scratch dir (default $PODIUM_BENCH_CACHE or ~/.cache/podium-bench)")
    args = parser.parse_args(argv)
    source = peers.cache_dir(args.cache) / "corpus-300mb-1000f-s7"
    if gen_corpus.read_manifest(source) is None:
        gen_corpus.generate_corpus(source, 300, 1000, 7)
    with tempfile.TemporaryDirectory(dir=peers.cache_dir(args.cache)) as tmp:
        corpus = Path(tmp) / "corpus"
        shutil.copytree(source, corpus)
        with_db, without_db = f"{tmp}/with.db", f"{tmp}/without.db"
        store = Store(with_db)
        Ingestor(store, claude_config_dirs=[str(corpus)]).run()
        rows, buckets = (store.conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                         for t in ("entries", "history_buckets"))  # fmt: skip
        store.checkpoint("TRUNCATE")
        store.close()
        shutil.copy(with_db, without_db)
        cold = statistics.median(rebuild_s(with_db) for _ in range(5))
        without = Store(without_db)
        with without.transaction() as conn:
            for name in HISTORY_TRIGGERS:
                conn.execute(f"DROP TRIGGER {name}")
        with_ = Store(with_db)
        print(f"corpus {corpus.name}: {rows:,} entries, {buckets:,} history buckets; "
              f"rebuilding them (a first load's last step): {cold * 1000:.1f} ms (median of 5)")
        got: dict[str, list[tuple[float, float, int]]] = {"with": [], "without": []}
        for n in range(args.rounds):
            gen_corpus.append_corpus(corpus, 0.01)
            order = [("with", with_), ("without", without)]
            for label, s in order if n % 2 == 0 else order[::-1]:
                got[label].append(timed_ingest(s, corpus))
        print(f"+1 % ingest in-process, median of {args.rounds} rounds:")
        print("| store | CPU ms | wall ms | entries written |")
        print("|---|---:|---:|---:|")
        for label, runs in got.items():
            print(f"| {label} the history triggers | {statistics.median(r[0] for r in runs) * 1000:.1f} | "
                  f"{statistics.median(r[1] for r in runs) * 1000:.1f} | "
                  f"{statistics.median(r[2] for r in runs):.0f} |")  # fmt: skip
        extra = statistics.median(a[0] - b[0] for a, b in zip(got["with"], got["without"], strict=True))
        per_row = extra / max(statistics.median(r[2] for r in got["with"]), 1)
        print(f"added by the triggers: {extra * 1000:.1f} ms CPU per +1 % run "
              f"(median of the paired differences), {per_row * 1e6:.1f} µs per entry written")
        with_.close()
        without.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
