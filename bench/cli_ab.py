"""A/B of the report CLI after a 1 % append: this checkout vs another one, with ccusage, interleaved.

    .venv/bin/python bench/cli_ab.py --base /path/to/other/checkout [--rounds 15]

Each round appends ~1 % to a copy of the bench corpus (`gen_corpus.append_corpus`), then runs
`podium report daily --json --breakdown -z UTC` from each checkout (each on its own store, both
caught up with the corpus first) and `ccusage claude daily --json --offline --breakdown -z UTC`,
in alternating order. Reports the median wall time and CPU time (user + sys of the child) of
each and the ratios to ccusage. Both checkouts run on this venv's interpreter and libraries;
the base gets this checkout's compiled scanner when it has none (its C source must match).
On a shared machine the CPU figures move less than the wall ones.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import gen_corpus
import peers

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="another checkout of Podium (its root)")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--corpus", help="corpus to copy (default: the bench corpus in the cache)")
    args = parser.parse_args()
    cache = peers.cache_dir()
    source = Path(args.corpus) if args.corpus else cache / "corpus-300mb-1000f-s7"
    if not source.is_dir():
        print(f"no corpus at {source}: run bench/run_usage_bench.py once first", file=sys.stderr)
        return 2
    cc = peers.ensure_ccusage(cache)
    work = cache / "work-cli-ab"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(source, work / "corpus")
    base = Path(args.base).resolve() / "backend"
    mine = ROOT / "backend"
    scanner = next((mine / "podium" / "usage").glob("_scan*.so"), None)
    if scanner and not list((base / "podium" / "usage").glob("_scan*.so")):
        shutil.copy(scanner, base / "podium" / "usage")
    import compileall

    for tree in (base, mine):
        compileall.compile_dir(str(tree / "podium"), quiet=1)
    env = dict(os.environ, CLAUDE_CONFIG_DIR=str(work / "corpus"), HOME=str(work / "home"))
    env.pop("PODIUM_DB", None)
    (work / "home").mkdir()
    trees = {"base": base, "this": mine}

    def run(argv: list[str], extra: dict[str, str] | None = None) -> tuple[float, float]:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run(argv, env={**env, **(extra or {})}, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)  # fmt: skip
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode != 0:
            raise SystemExit(f"{argv[:4]} failed: {done.stderr}")
        return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)

    def podium(name: str) -> tuple[float, float]:
        return run([sys.executable, "-m", "podium", "report", "daily", "--json", "--breakdown",
                    "-z", "UTC", "--db", str(work / f"{name}.db")],
                   {"PYTHONPATH": str(trees[name])})  # fmt: skip

    for name in trees:
        podium(name)  # catch up with the corpus
    times: dict[str, list[tuple[float, float]]] = {"base": [], "this": [], "ccusage": []}
    for i in range(args.rounds):
        gen_corpus.append_corpus(work / "corpus", 0.01)
        order = ["base", "this", "ccusage"] if i % 2 == 0 else ["ccusage", "this", "base"]
        for name in order:
            if name == "ccusage":
                if cc is not None:
                    times[name].append(run([*cc.argv, "claude", "daily", "--json", "--offline",
                                            "--breakdown", "-z", "UTC"]))  # fmt: skip
            else:
                times[name].append(podium(name))
    print(f"{args.rounds} rounds, load average {os.getloadavg()[0]:.1f} at the end")
    print("| run | wall s (median) | CPU s (median) | wall ÷ ccusage | CPU ÷ ccusage |")
    print("|---|---:|---:|---:|---:|")
    ref = times["ccusage"]
    for name, label in (("base", "podium report daily, base"), ("this", "podium report daily, "
                        "this checkout"), ("ccusage", f"ccusage {cc.version if cc else '-'}")):  # fmt: skip
        if not times[name]:
            continue
        wall = statistics.median(t[0] for t in times[name])
        cpu = statistics.median(t[1] for t in times[name])
        ratios = ("", "")
        if ref:
            ratios = (f"{wall / statistics.median(t[0] for t in ref):.3f}",
                      f"{cpu / statistics.median(t[1] for t in ref):.3f}")  # fmt: skip
        print(f"| {label} | {wall:.3f} | {cpu:.3f} | {ratios[0]} | {ratios[1]} |")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
