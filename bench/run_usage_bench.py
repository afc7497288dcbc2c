"""Usage-engine benchmark: Podium vs ccusage (and claude-monitor) on the same corpus, same run.

    .venv/bin/python bench/run_usage_bench.py                 # 300 MB / 1,000 files (make bench)
    .venv/bin/python bench/run_usage_bench.py --quick         # ~30 MB / 100 files
    .venv/bin/python bench/run_usage_bench.py --rss-gb 1      # also: peak RSS at 1 GB of history

Phases (every process timed by wall clock; peak RSS from `wait4`'s rusage of that child):
1. cold: `podium report daily --json --breakdown --timezone UTC` on an empty store (one
   process: it ingests everything, then reports), and separately `podium ingest` followed by
   that report as two processes, vs `ccusage claude daily --json --offline --breakdown -z UTC`, vs claude-monitor's
   daily view (full history; timed until its table is printed).
2. accuracy: every token field of every day×model row equal, cost within 0.5%.
3. incremental: append ~1% (new lines to existing files + a few new files), then
   `podium report daily …` (which ingests the new bytes first) vs ccusage again; accuracy again.
4. optional `--rss-gb N`: a corpus of N GB; cold ingest + report peak RSS.

The corpus and peers live outside the repo in `${PODIUM_BENCH_CACHE:-~/.cache/podium-bench}`;
results go to `bench/results/usage-<time>.json` (git-ignored) and a markdown table to stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))

import gen_corpus  # noqa: E402
import peers  # noqa: E402

TOKEN_FIELDS = ("inputTokens", "outputTokens", "cacheCreationTokens", "cacheReadTokens")
COST_TOLERANCE = 0.005
TARGET_COLD = 0.5
TARGET_INCREMENTAL = 0.1
TARGET_RSS_MB = 150


@dataclass
class Run:
    """One child process: wall seconds, peak RSS in MB, exit status, stdout (if kept)."""

    label: str
    seconds: float
    rss_mb: float
    status: int
    stdout: bytes = field(default=b"", repr=False)


def run_child(label: str, argv: list[str], env: dict[str, str], *, keep_stdout: bool = True,
              until: bytes | None = None, timeout: float = 1800) -> Run:  # fmt: skip
    """Run `argv`, timing it and reading its own peak RSS from `wait4`. With `until`, the
    clock stops when that marker appears on stdout and the child is then interrupted (for
    claude-monitor's table view, which waits for Ctrl+C after printing)."""
    with tempfile.TemporaryFile() as out_file, tempfile.TemporaryFile() as err_file:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE if until else out_file,
                                stderr=err_file, env=env)  # fmt: skip
        seconds = None
        if until is not None:
            assert proc.stdout is not None
            for line in proc.stdout:
                if until in line:
                    seconds = time.perf_counter() - started
                    proc.send_signal(signal.SIGINT)
                    break
        # Reap with wait4 (not Popen.wait) to get this child's own rusage; ru_maxrss is KiB.
        _, status, usage = os.wait4(proc.pid, 0)
        if seconds is None:
            seconds = time.perf_counter() - started
        proc.returncode = code = os.waitstatus_to_exitcode(status)
        if proc.stdout is not None:
            proc.stdout.close()
        out_file.seek(0)
        out = out_file.read() if keep_stdout else b""
        err_file.seek(0)
        err = err_file.read()
    rss = usage.ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)
    run = Run(label, seconds, rss, code, out)
    if code != 0 and not (until is not None and code == -signal.SIGINT):
        tail = err.decode(errors="replace").strip()[-800:]
        print(f"  ! {label} exited {code}: {tail}", file=sys.stderr)
    return run


# ---------------------------------------------------------------- commands


def podium_env(corpus: Path) -> dict[str, str]:
    """The children's environment. Podium's modules are byte-compiled first, as `pip install`
    does for users: an editable install under PYTHONDONTWRITEBYTECODE would otherwise compile
    every module in every timed run."""
    import compileall

    import podium

    compileall.compile_dir(os.path.dirname(podium.__file__), quiet=1)
    env = dict(os.environ, CLAUDE_CONFIG_DIR=str(corpus))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("PODIUM_DB", None)
    return env


def podium_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "podium", *args]


def podium_cold(db: Path, env: dict[str, str]) -> tuple[Run, Run]:
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    ingest = run_child("podium ingest", podium_argv("ingest", "--db", str(db)), env)
    report = podium_report(db, env)
    return ingest, report


def podium_cold_one_process(db: Path, env: dict[str, str]) -> Run:
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    run = podium_report(db, env)
    run.label = "podium report daily (empty store)"
    return run


def podium_report(db: Path, env: dict[str, str]) -> Run:
    return run_child("podium report daily",
                     podium_argv("report", "daily", "--json", "--breakdown", "--timezone", "UTC",
                                 "--db", str(db)), env)  # fmt: skip


def ccusage_daily(peer: peers.Peer, env: dict[str, str]) -> Run:
    argv = [*peer.argv, "claude", "daily", "--json", "--offline", "--breakdown", "-z", "UTC"]
    return run_child("ccusage daily", argv, env)


def monitor_daily(peer: peers.Peer, corpus: Path, env: dict[str, str]) -> Run:
    # `--once` only snapshots the last 192 h; the daily table view reads the whole history
    # and then waits for Ctrl+C, so the clock stops when its table is out.
    argv = [*peer.argv, "--view", "daily", "--data-paths", str(corpus), "--timezone", "UTC",
            "--no-header", "--no-emoji"]  # fmt: skip
    return run_child("claude-monitor daily", argv, env, until=b"Press Ctrl+C", keep_stdout=False)


class InProcess:
    """A long-lived Podium process, as `podium serve` is: modules imported and the store open
    once; each `round()` ingests what is new and builds the daily report, timed inside the
    process (so without interpreter start-up and imports)."""

    def __init__(self, db: Path, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--inproc-worker", str(db)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True, bufsize=1,
        )  # fmt: skip

    def round(self) -> dict[str, float]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("in-process worker died")
        return json.loads(line)

    def close(self) -> float:
        """Stops the worker; returns its peak RSS in MB."""
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        _, _, usage = os.wait4(self.proc.pid, 0)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        return usage.ru_maxrss / 1024


def inproc_worker(db: str) -> int:
    from podium.store import Store
    from podium.store.db import SERVER_AUTOCHECKPOINT
    from podium.usage import reports
    from podium.usage.ingest import Ingestor

    # as `podium serve` opens it: commits leave the WAL alone, the idle server checkpoints
    store = Store(db, autocheckpoint=SERVER_AUTOCHECKPOINT)
    ingestor = Ingestor(store)
    for _ in sys.stdin:
        t0 = time.perf_counter()
        result = ingestor.run()
        t1 = time.perf_counter()
        query = reports.ReportQuery(store, timezone="UTC")
        data = reports.daily(query, breakdown=True)
        t2 = time.perf_counter()
        store.checkpoint("PASSIVE")  # what the server does once ingest is idle (timed apart)
        t3 = time.perf_counter()
        print(json.dumps({"ingest": t1 - t0, "report": t2 - t1, "total": t2 - t0,
                          "checkpoint": t3 - t2, "bytes": result.bytes_read,
                          "days": len(data["daily"])}), flush=True)  # fmt: skip
    store.close()
    return 0


# ---------------------------------------------------------------- accuracy


def compare_daily(podium: dict[str, Any], ccusage: dict[str, Any],
                  cost_tolerance: float = COST_TOLERANCE) -> list[str]:  # fmt: skip
    """Differences between two ccusage-shaped daily+breakdown reports: every token field of
    every day×model row must be equal, every cost within `cost_tolerance` (relative)."""

    def rows(report: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
        out = {}
        for day in report.get("daily", []):
            for mb in day.get("modelBreakdowns", []):
                out[(day["date"], mb["modelName"])] = mb
        return out

    mine, theirs = rows(podium), rows(ccusage)
    problems: list[str] = []
    for key in sorted(set(mine) | set(theirs)):
        a, b = mine.get(key), theirs.get(key)
        if a is None or b is None:
            problems.append(f"{key[0]} {key[1]}: only in {'ccusage' if a is None else 'podium'}")
            continue
        for name in TOKEN_FIELDS:
            if a[name] != b[name]:
                problems.append(f"{key[0]} {key[1]} {name}: podium {a[name]} ccusage {b[name]} "
                                f"(diff {a[name] - b[name]:+d})")  # fmt: skip
        if not _close(a["cost"], b["cost"], cost_tolerance):
            problems.append(f"{key[0]} {key[1]} cost: podium {a['cost']:.6f} "
                            f"ccusage {b['cost']:.6f}")  # fmt: skip
    ta, tb = podium.get("totals", {}), ccusage.get("totals", {})
    for name in TOKEN_FIELDS:
        if ta.get(name) != tb.get(name):
            problems.append(f"totals {name}: podium {ta.get(name)} ccusage {tb.get(name)}")
    if not _close(ta.get("totalCost", 0.0), tb.get("totalCost", 0.0), cost_tolerance):
        problems.append(f"totals cost: podium {ta.get('totalCost')} ccusage {tb.get('totalCost')}")
    return problems


def _close(a: float, b: float, tolerance: float) -> bool:
    return abs(a - b) <= max(1e-6, tolerance * max(abs(a), abs(b)))


def _rows(report: dict[str, Any]) -> int:
    return sum(len(d.get("modelBreakdowns", [])) for d in report.get("daily", []))


def accuracy(podium: Run, cc: Run | None) -> dict[str, Any]:
    if cc is None or cc.status != 0 or podium.status != 0:
        return {"compared": False}
    p, c = json.loads(podium.stdout), json.loads(cc.stdout)
    problems = compare_daily(p, c)
    return {"compared": True, "rows": _rows(c), "podiumRows": _rows(p), "mismatches": len(problems),
            "examples": problems[:30], "podiumTotals": p.get("totals"),
            "ccusageTotals": c.get("totals")}  # fmt: skip


# ---------------------------------------------------------------- orchestration


def corpus_bytes(root: Path) -> tuple[int, int]:
    files = list((root / "projects").rglob("*.jsonl"))
    return len(files), sum(f.stat().st_size for f in files)


def prepare_corpus(root: Path, size_mb: float, files: int, seed: int,
                   long_context_share: float) -> None:  # fmt: skip
    """Reuse `root` if it holds exactly this corpus, never appended to; else regenerate."""
    m = gen_corpus.read_manifest(root)
    if (m is not None and m.appends == 0 and m.seed == seed and m.size_mb == size_mb
            and len(m.files) == files):  # fmt: skip
        print(f"reusing corpus {root}")
        return
    shutil.rmtree(root, ignore_errors=True)
    started = time.perf_counter()
    gen_corpus.generate_corpus(root, size_mb, files, seed, long_context_share=long_context_share)
    print(f"generated {root} in {time.perf_counter() - started:.1f}s")


def warm_page_cache(root: Path) -> None:
    """Read every file once so that no tool pays for the first disk read."""
    for path in (root / "projects").rglob("*.jsonl"):
        with open(path, "rb") as fh:
            while fh.read(1 << 24):
                pass


def median_run(runs: list[Run]) -> Run:
    ordered = sorted(runs, key=lambda r: r.seconds)
    return ordered[len(ordered) // 2]


def summarize(runs: list[Run]) -> dict[str, Any]:
    return {"seconds": [round(r.seconds, 3) for r in runs],
            "median": round(statistics.median(r.seconds for r in runs), 3),
            "peakRssMb": round(max(r.rss_mb for r in runs), 1),
            "status": [r.status for r in runs]}  # fmt: skip


def bench(args: argparse.Namespace) -> dict[str, Any]:
    cache = peers.cache_dir(args.cache)
    corpus = Path(args.corpus) if args.corpus else (
        cache / f"corpus-{args.size_mb:g}mb-{args.files}f-s{args.seed}")  # fmt: skip
    work = cache / "work"
    work.mkdir(parents=True, exist_ok=True)
    db = work / "bench.db"
    cc = None if args.no_ccusage else peers.ensure_ccusage(cache)
    cm = None if args.no_monitor else peers.ensure_claude_monitor(cache)
    prepare_corpus(corpus, args.size_mb, args.files, args.seed, args.long_context_share)
    n_files, n_bytes = corpus_bytes(corpus)
    print(f"corpus: {n_files} files, {n_bytes / 1e6:.1f} MB at {corpus}")
    env = podium_env(corpus)
    monitor_env = dict(env, HOME=str(work / "monitor-home"), COLUMNS="220")
    Path(monitor_env["HOME"]).mkdir(exist_ok=True)
    warm_page_cache(corpus)
    results: dict[str, Any] = {
        "command": " ".join([Path(sys.executable).name, "bench/run_usage_bench.py",
                             *sys.argv[1:]]),
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version()},
        "corpus": {"files": n_files, "bytes": n_bytes, "seed": args.seed,
                   "longContextShare": args.long_context_share},
        "peers": {p.name: p.version for p in (cc, cm) if p is not None},
    }  # fmt: skip

    # 1. cold
    print(f"cold runs ×{args.repeat} …")
    ingests, reports, totals, ones, ccs, cms = [], [], [], [], [], []
    for _ in range(args.repeat):
        ones.append(podium_cold_one_process(work / "bench-one.db", env))
        ingest, report = podium_cold(db, env)
        ingests.append(ingest)
        reports.append(report)
        totals.append(Run("podium ingest+report", ingest.seconds + report.seconds,
                          max(ingest.rss_mb, report.rss_mb), ingest.status or report.status))
        if cc is not None:
            ccs.append(ccusage_daily(cc, env))
    if cm is not None:
        for _ in range(max(1, args.repeat // 2)):
            cms.append(monitor_daily(cm, corpus, monitor_env))
    cold = {"podiumOneProcess": summarize(ones), "podiumIngest": summarize(ingests),
            "podiumReport": summarize(reports), "podiumTotal": summarize(totals)}  # fmt: skip
    if ccs:
        cold["ccusage"] = summarize(ccs)
        cc_median = cold["ccusage"]["median"]
        cold["ratio"] = round(cold["podiumOneProcess"]["median"] / cc_median, 3)
        cold["ratioTwoProcesses"] = round(cold["podiumTotal"]["median"] / cc_median, 3)
    if cms:
        cold["claudeMonitor"] = summarize(cms)
    results["cold"] = cold
    results["accuracyCold"] = accuracy(reports[-1], ccs[-1] if ccs else None)
    if args.profile:
        results["profile"] = profile_ingest(db, env, work)

    # 2. incremental: append 1%, podium report (ingests the new bytes) vs ccusage
    print(f"incremental runs ×{args.repeat} (append {args.append_fraction:.0%} each) …")
    incs, inc_ccs, appended, rounds = [], [], [], []
    server_db = work / "inproc.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(server_db) + suffix).unlink(missing_ok=True)
    shutil.copyfile(db, server_db)  # the CLI's store, as the cold phase left it
    server = InProcess(server_db, env)
    server.round()  # catch up with what the CLI ingested: nothing new, warms the process
    for _ in range(args.repeat):
        appended.append(gen_corpus.append_corpus(corpus, args.append_fraction))
        incs.append(podium_report(db, env))
        rounds.append(server.round())
        if cc is not None:
            inc_ccs.append(ccusage_daily(cc, env))
    server_rss = server.close()
    inc: dict[str, Any] = {"appendedBytes": appended, "podiumReport": summarize(incs)}
    inc["podiumInProcess"] = {
        "seconds": [round(r["total"], 4) for r in rounds],
        "median": round(statistics.median(r["total"] for r in rounds), 4),
        "ingestMedian": round(statistics.median(r["ingest"] for r in rounds), 4),
        "reportMedian": round(statistics.median(r["report"] for r in rounds), 4),
        "idleCheckpoints": [round(r["checkpoint"], 4) for r in rounds],
        "idleCheckpointMedian": round(statistics.median(r["checkpoint"] for r in rounds), 4),
        "peakRssMb": round(server_rss, 1), "status": [0] * len(rounds),
    }  # fmt: skip
    if inc_ccs:
        inc["ccusage"] = summarize(inc_ccs)
        inc["ratio"] = round(inc["podiumReport"]["median"] / inc["ccusage"]["median"], 3)
        inc["ratioInProcess"] = round(inc["podiumInProcess"]["median"]
                                      / inc["ccusage"]["median"], 4)  # fmt: skip
    results["incremental"] = inc
    results["accuracyIncremental"] = accuracy(incs[-1], inc_ccs[-1] if inc_ccs else None)
    if cm is not None:
        results["incremental"]["claudeMonitor"] = summarize([monitor_daily(cm, corpus,
                                                                           monitor_env)])

    # 3. peak RSS at N GB
    if args.rss_gb:
        results["rss"] = rss_at(args, cache, cc)
    return results


def rss_at(args: argparse.Namespace, cache: Path, cc: peers.Peer | None) -> dict[str, Any]:
    size_mb = args.rss_gb * 1000
    files = int(args.files * size_mb / args.size_mb)
    corpus = cache / f"corpus-{size_mb:g}mb-{files}f-s{args.seed}"
    prepare_corpus(corpus, size_mb, files, args.seed, 0.0)
    n_files, n_bytes = corpus_bytes(corpus)
    print(f"RSS corpus: {n_files} files, {n_bytes / 1e9:.2f} GB")
    env = podium_env(corpus)
    warm_page_cache(corpus)
    db = cache / "work" / "rss.db"
    ingest, report = podium_cold(db, env)
    out: dict[str, Any] = {"files": n_files, "bytes": n_bytes,
                           "podiumIngest": summarize([ingest]),
                           "podiumReport": summarize([report])}  # fmt: skip
    if cc is not None:
        ccrun = ccusage_daily(cc, env)
        out["ccusage"] = summarize([ccrun])
        out["accuracy"] = accuracy(report, ccrun)
    return out


def profile_ingest(db: Path, env: dict[str, str], work: Path) -> dict[str, Any]:
    """cProfile one cold `podium ingest`; the top functions by cumulative and own time."""
    import pstats

    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    prof = work / "ingest.prof"
    argv = [sys.executable, "-m", "cProfile", "-o", str(prof), "-m", "podium", "ingest",
            "--db", str(db)]  # fmt: skip
    run_child("podium ingest (cProfile)", argv, env)
    stats = pstats.Stats(str(prof))
    top: dict[str, list[str]] = {}
    for key in ("cumulative", "tottime"):
        stats.sort_stats(key)
        rows = []
        for func in stats.fcn_list[:25]:  # type: ignore[attr-defined]
            _, nc, tt, ct, _ = stats.stats[func]  # type: ignore[attr-defined]
            rows.append(f"{ct:8.3f}s cum {tt:8.3f}s own {nc:>9} calls  "
                        f"{Path(func[0]).name}:{func[1]}({func[2]})")  # fmt: skip
        top[key] = rows
    return top


# ---------------------------------------------------------------- report


def _fmt_s(seconds: float) -> str:
    return f"{seconds:.3f}" if seconds < 0.1 else f"{seconds:.2f}"


def verdict(value: float | None, target: float, *, below: bool = True) -> str:
    if value is None:
        return "n/a"
    ok = value <= target if below else value >= target
    return "met" if ok else "**missed**"


def markdown(results: dict[str, Any]) -> str:
    c = results["corpus"]
    cold, inc = results["cold"], results["incremental"]
    lines = [
        f"Corpus: {c['files']} files, {c['bytes'] / 1e6:.1f} MB (seed {c['seed']}); "
        f"{results['machine']['cpus']} CPUs; peers: "
        + (", ".join(f"{k} {v}" for k, v in results["peers"].items()) or "none"),
        "",
        "| phase | tool | wall s (median) | runs | peak RSS MB |",
        "|---|---|---:|---|---:|",
    ]

    def row(phase: str, tool: str, s: dict[str, Any] | None) -> None:
        if s:
            runs = ", ".join(_fmt_s(x) for x in s["seconds"])
            lines.append(f"| {phase} | {tool} | {_fmt_s(s['median'])} | {runs} | "
                         f"{s['peakRssMb']:.0f} |")  # fmt: skip

    row("cold", "**podium report daily, empty store** (ingest + report, one process)",
        cold["podiumOneProcess"])
    row("cold", "podium ingest (process 1 of 2)", cold["podiumIngest"])
    row("cold", "podium report daily (process 2 of 2)", cold["podiumReport"])
    row("cold", "podium ingest + report as two processes", cold["podiumTotal"])
    row("cold", "ccusage daily", cold.get("ccusage"))
    row("cold", "claude-monitor daily view", cold.get("claudeMonitor"))
    row("+1%", "**podium report daily** (ingests new bytes)", inc["podiumReport"])
    row("+1%", "podium in-process ingest + daily (as `podium serve`)", inc.get("podiumInProcess"))
    inproc = inc.get("podiumInProcess")
    if inproc and "idleCheckpoints" in inproc:
        row("+1%", "…its idle WAL checkpoint afterwards (off the clock, as the server does)",
            {"seconds": inproc["idleCheckpoints"], "median": inproc["idleCheckpointMedian"],
             "peakRssMb": inproc["peakRssMb"]})  # fmt: skip
    row("+1%", "ccusage daily", inc.get("ccusage"))
    row("+1%", "claude-monitor daily view", inc.get("claudeMonitor"))
    rss = results.get("rss")
    if rss:
        gb = f"{rss['bytes'] / 1e9:.2f} GB"
        row(gb, "podium ingest", rss["podiumIngest"])
        row(gb, "podium report daily", rss["podiumReport"])
        row(gb, "ccusage daily", rss.get("ccusage"))
    lines += ["", "| target | value | verdict |", "|---|---:|---|"]
    ratio = cold.get("ratio")
    lines.append(f"| cold ingest + report ≤ {TARGET_COLD}× ccusage (one process) | "
                 f"{'n/a' if ratio is None else f'{ratio:.2f}×'} | {verdict(ratio, TARGET_COLD)} |")
    ratio = cold.get("ratioTwoProcesses")
    if ratio is not None:
        lines.append(f"| same, as two processes | {ratio:.2f}× | {verdict(ratio, TARGET_COLD)} |")
    ratio = inc.get("ratio")
    lines.append(f"| report after +1% ≤ {TARGET_INCREMENTAL}× ccusage | "
                 f"{'n/a' if ratio is None else f'{ratio:.3f}×'} | "
                 f"{verdict(ratio, TARGET_INCREMENTAL)} |")  # fmt: skip
    ratio = inc.get("ratioInProcess")
    if ratio is not None:
        lines.append(f"| same, in a running Podium process (no start-up) | {ratio:.3f}× | "
                     f"{verdict(ratio, TARGET_INCREMENTAL)} |")  # fmt: skip
    if rss:
        peak = max(rss["podiumIngest"]["peakRssMb"], rss["podiumReport"]["peakRssMb"])
        lines.append(f"| peak RSS ≤ {TARGET_RSS_MB} MB at {rss['bytes'] / 1e9:.2f} GB | "
                     f"{peak:.0f} MB | {verdict(peak, TARGET_RSS_MB)} |")  # fmt: skip
    for name in ("accuracyCold", "accuracyIncremental"):
        acc = results.get(name, {})
        if acc.get("compared"):
            lines.append(f"| {name}: day×model rows equal (tokens), cost ±0.5% | "
                         f"{acc['rows'] - min(acc['rows'], acc['mismatches'])}/{acc['rows']} rows, "
                         f"{acc['mismatches']} mismatches | "
                         f"{'met' if acc['mismatches'] == 0 else '**missed**'} |")  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Podium usage engine vs ccusage/claude-monitor")
    parser.add_argument("--size-mb", type=float, default=300.0)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="~30 MB / 100 files")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (median)")
    parser.add_argument("--append-fraction", type=float, default=0.01)
    parser.add_argument("--long-context-share", type=float, default=0.0)
    parser.add_argument("--rss-gb", type=float, default=0.0,
                        help="also measure peak RSS on a corpus of this many GB")
    parser.add_argument("--corpus", help="corpus dir (default: in the cache dir)")
    parser.add_argument("--cache", help="scratch dir (default: $PODIUM_BENCH_CACHE or "
                        "~/.cache/podium-bench)")  # fmt: skip
    parser.add_argument("--no-ccusage", action="store_true")
    parser.add_argument("--no-monitor", action="store_true")
    parser.add_argument("--profile", action="store_true", help="cProfile a cold podium ingest")
    parser.add_argument("--inproc-worker", metavar="DB", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.inproc_worker:
        return inproc_worker(args.inproc_worker)
    if args.quick:
        args.size_mb, args.files = 30.0, 100
    results = bench(args)
    out_dir = BENCH_DIR / "results"
    out_dir.mkdir(exist_ok=True)
    out = out_dir / f"usage-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(results, indent=2))
    print()
    print(markdown(results))
    for name in ("accuracyCold", "accuracyIncremental"):
        acc = results.get(name, {})
        if acc.get("mismatches"):
            print(f"\n{name}: {acc['mismatches']} mismatches, first ones:")
            for line in acc["examples"][:15]:
                print("  " + line)
    if "profile" in results:
        print("\ncold `podium ingest` under cProfile, by own time:")
        print("\n".join("  " + r for r in results["profile"]["tottime"][:15]))
    print(f"\nresults: {out.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
