"""How low the two missed ratios of issue 2 can go on this machine, measured in one run.

    .venv/bin/python bench/floor.py [--repeat N] [--corpus DIR]

The usage benchmark (`run_usage_bench.py`) compares wall times with ccusage. This script
measures, interleaved with ccusage on the same corpus, the parts no implementation of Podium's
design can skip, and prints the lower bounds they imply:

- cold: Podium's whole CPU time (user + sys, from `wait4`) for ingest + daily report, divided
  by the CPUs there are, is the wall time it would take with perfect parallelism; reading the
  corpus alone (one process, `readinto` a reused buffer) is the kernel's copy cost.
- +1 %: a fresh interpreter (`python -c pass`) and one that imports what `podium report`
  needs (store, ingest, reports, pricing) are the start-up floor of the CLI, before it reads a
  byte of log or touches the store.

The +1 % figures need no appended corpus: start-up does not depend on it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import peers
from run_usage_bench import podium_env, prepare_corpus, warm_page_cache

READ_ALL = r"""
import os, sys
buf = bytearray(4 << 20)
view = memoryview(buf)
total = 0
for dirpath, _, names in os.walk(sys.argv[1]):
    for name in names:
        if name.endswith(".jsonl"):
            with open(os.path.join(dirpath, name), "rb", buffering=0) as fh:
                while n := fh.readinto(view):
                    total += n
print(total)
"""

IMPORTS = (
    "import podium.cli, podium.usage.cli_report, podium.usage.reports, "
    "podium.usage.ingest, podium.usage.pricing, podium.store"
)


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds: user + sys of the child and its threads)."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read() if proc.stderr else b""
    if proc.returncode != 0:
        raise SystemExit(f"{argv[:4]} exited {proc.returncode}: {err.decode()[-500:]}")
    return wall, usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument(
        "--corpus", default=None, help="corpus dir (default: the bench's 300 MB one)"
    )
    args = parser.parse_args()
    cache = peers.cache_dir()
    corpus = Path(args.corpus) if args.corpus else cache / "corpus-300mb-1000f-s7"
    if args.corpus is None:
        prepare_corpus(corpus, 300, 1000, 7, 0.0)
    warm_page_cache(corpus)
    cc = peers.ensure_ccusage(cache)
    env = podium_env(corpus)
    py = sys.executable
    cpus = os.cpu_count() or 1
    runs: dict[str, list[tuple[float, float]]] = {}

    def record(label: str, argv: list[str]) -> None:
        runs.setdefault(label, []).append(timed(argv, env))

    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "floor.db")
        for _ in range(args.repeat):  # interleaved, so machine noise hits every row alike
            if cc is not None:
                record("ccusage daily (cold; it keeps no store)",
                       [*cc.argv, "claude", "daily", "--json", "--offline", "--breakdown",
                        "-z", "UTC"])  # fmt: skip
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(db + suffix):
                    os.unlink(db + suffix)
            record("podium report daily, empty store",
                   [py, "-m", "podium", "report", "daily", "--json", "--breakdown",
                    "--timezone", "UTC", "--db", db])  # fmt: skip
            record("read every corpus byte (Python, no parsing)", [py, "-c", READ_ALL, str(corpus)])
            record("python -c pass", [py, "-c", "pass"])
            record("python: import what `podium report` needs", [py, "-c", IMPORTS])

    def med(label: str, i: int) -> float:
        return statistics.median(r[i] for r in runs[label])

    print(f"corpus {corpus}; {cpus} CPUs; medians of {args.repeat} interleaved runs\n")
    print("| run | wall s | CPU s (user + sys) |")
    print("|---|---:|---:|")
    for label in runs:
        print(f"| {label} | {med(label, 0):.3f} | {med(label, 1):.3f} |")
    if cc is None:
        print("\nccusage unavailable: no ratios")
        return
    ccusage = med("ccusage daily (cold; it keeps no store)", 0)
    cold_cpu = med("podium report daily, empty store", 1)
    start = med("python -c pass", 0)
    imports = med("python: import what `podium report` needs", 0)
    print()
    print(f"cold target 0.5 x ccusage = {0.5 * ccusage:.3f} s; Podium's CPU / {cpus} CPUs = "
          f"{cold_cpu / cpus:.3f} s (perfect parallelism, no serial part), "
          f"= {cold_cpu / cpus / ccusage:.2f} x ccusage")  # fmt: skip
    read_cpu = med("read every corpus byte (Python, no parsing)", 1)
    print(
        f"  reading the corpus alone costs {read_cpu:.3f} CPU s "
        f"({read_cpu / cold_cpu:.0%} of Podium's)"
    )
    print(
        f"+1 % target 0.1 x ccusage = {0.1 * ccusage:.3f} s; interpreter start {start:.3f} s "
        f"+ imports -> {imports:.3f} s = {imports / ccusage:.2f} x ccusage before any work"
    )


if __name__ == "__main__":
    main()
