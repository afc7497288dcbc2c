"""How fast the usage lines of a corpus can be read: the native scanner vs the Python floor.

    .venv/bin/python bench/scan_bench.py [CORPUS_DIR]   # default: the 300 MB bench corpus
    .venv/bin/python bench/scan_bench.py --ingest      # + cold ingest, one thread vs prefetch

Times, on one thread, (1) `ClaudeCodeAdapter.scan_native` over every file (read, find, validate,
build row tuples) and (2) the fastest plain-Python equivalent: read each file, find the
needle lines with bytes.find, `orjson.loads` each. Median of --repeat runs. `--ingest`
also times whole cold ingests into empty stores in this process, alternating: everything on
this thread, the prefetch thread with the rows written at the end, the rows written while it
parses ahead, and the same with two prefetch threads.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import orjson

from podium.usage.adapters.claude import ClaudeCodeAdapter

clock = time.perf_counter  # --cpu: time.process_time


def native(adapter: ClaudeCodeAdapter, logs: list) -> int:
    rows = 0
    for log in logs:
        fd = os.open(log.name, os.O_RDONLY)
        try:
            items, *_ = adapter.scan_native(fd, 0, 1 << 62, 64 << 20, 4 << 20, 1, log)
        finally:
            os.close(fd)
        rows += len(items)
    return rows


def python_floor(adapter: ClaudeCodeAdapter, logs: list) -> int:
    rows = 0
    needle = adapter.needle
    for log in logs:
        with open(log.name, "rb") as fh:
            buf = fh.read()
        i = buf.find(needle)
        while i >= 0:
            start = buf.rfind(b"\n", 0, i) + 1
            end = buf.find(b"\n", i)
            orjson.loads(buf[start:end])
            rows += 1
            i = buf.find(needle, end)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(os.environ.get("PODIUM_BENCH_CACHE", "~/.cache/podium-bench")).expanduser()
    parser.add_argument("corpus", nargs="?", default=str(default / "corpus-300mb-1000f-s7"))
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--ingest", action="store_true", help="also time cold ingests")
    parser.add_argument("--cpu", action="store_true",
                        help="CPU time of this process (all its threads) instead of wall time: "
                        "steadier on a busy machine")  # fmt: skip
    args = parser.parse_args()
    global clock
    clock = time.process_time if args.cpu else time.perf_counter
    adapter = ClaudeCodeAdapter([args.corpus])
    if adapter.scan_native is None:
        raise SystemExit("the native scanner is not built (pip install -e . with a C compiler)")
    logs = list(adapter.discover())
    size = sum(os.path.getsize(log.name) for log in logs)
    print(f"{len(logs)} files, {size / 1e6:.1f} MB")
    for name, fn in (("native scan", native), ("python read+find+orjson", python_floor)):
        times, rows = [], 0
        for _ in range(args.repeat):
            t = clock()
            rows = fn(adapter, logs)
            times.append(clock() - t)
        runs = ", ".join(f"{t:.3f}" for t in times)
        print(f"{name}: median {statistics.median(times):.3f} s ({runs}); {rows} lines")
    if args.ingest:
        cold_ingests(args.corpus, args.repeat)


def cold_ingests(corpus: str, repeat: int) -> None:
    """Whole cold ingests into empty stores, in this process, the variants alternating."""
    import tempfile

    from podium.store import Store
    from podium.usage import ingest

    default_flush, default_threads = ingest.BULK_FLUSH_BYTES, ingest.PREFETCH_THREADS
    mb = default_flush >> 20
    variants = {  # label: (workers, bytes between a first load's writes, prefetch threads)
        "one thread, rows written at the end": (1, 1 << 62, 1),
        "prefetch thread, rows written at the end": (2, 1 << 62, 1),
        f"prefetch thread, rows written every {mb} MB": (2, default_flush, 1),
        f"two prefetch threads, rows written every {mb} MB": (2, default_flush, 2),
    }
    times: dict[str, list[float]] = {label: [] for label in variants}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for i in range(repeat):
                for n, (label, (workers, flush, threads)) in enumerate(variants.items()):
                    ingest.BULK_FLUSH_BYTES, ingest.PREFETCH_THREADS = flush, threads
                    store = Store(os.path.join(tmp, f"{i}-{n}.db"))
                    t = clock()
                    ingest.Ingestor(store, claude_config_dirs=[corpus], workers=workers).run()
                    times[label].append(clock() - t)
                    store.close()
    finally:
        ingest.BULK_FLUSH_BYTES, ingest.PREFETCH_THREADS = default_flush, default_threads
    print(f"(the default here: {default_threads} prefetch thread(s) on {os.cpu_count()} cores)")
    for label, runs in times.items():
        listed = ", ".join(f"{t:.3f}" for t in runs)
        print(f"cold ingest, {label}: median {statistics.median(runs):.3f} s ({listed})")


if __name__ == "__main__":
    main()
