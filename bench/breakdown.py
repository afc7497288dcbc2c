"""Where Podium's time goes: a cold ingest by SQL statement, and a +1 % `podium report` by phase.

    .venv/bin/python bench/breakdown.py [CORPUS_DIR] [--repeat N]

Cold: ingests the corpus into an empty store in this process, timing every SQL statement
(grouped by its first words) and the serial tail after the last file was read. +1 %: copies
the corpus to a scratch dir, ingests it, then per round appends ~1 % (`gen_corpus.append_corpus`)
and runs a fresh interpreter that does what `podium report daily --json` does, timing each
phase (imports, open, ingest, report, JSON, close) and the WAL pages the ingest wrote. Medians
of --repeat rounds. Scratch space: `${PODIUM_BENCH_CACHE:-~/.cache/podium-bench}/work`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import gen_corpus
from podium.store import Store
from podium.usage import ingest

PHASES = r"""
import time; t0 = time.perf_counter()
import json, os, sys
from podium.store import Store
from podium.usage import reports
from podium.usage.ingest import Ingestor
t1 = time.perf_counter()
db = sys.argv[1]
store = Store(db); t2 = time.perf_counter()
result = Ingestor(store).run(); t3 = time.perf_counter()
wal = os.path.getsize(db + "-wal") if os.path.exists(db + "-wal") else 0
data = reports.daily(reports.ReportQuery(store, timezone="UTC"), breakdown=True)
t4 = time.perf_counter()
out = json.dumps(data, indent=2); t5 = time.perf_counter()
store.close(); t6 = time.perf_counter()
print(json.dumps({"imports": t1 - t0, "open": t2 - t1, "ingest": t3 - t2, "report": t4 - t3,
                  "json": t5 - t4, "close": t6 - t5, "rows": result.entries_written,
                  "walPages": wal // 4096}))
"""


class _TimedConn:
    """The store's connection with every statement timed (for the cold breakdown)."""

    def __init__(self, conn: Any, times: dict[str, float]) -> None:
        self._conn, self._times = conn, times

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)

    def _timed(self, fn: Any, sql: str, *args: Any) -> Any:
        t = time.perf_counter()
        try:
            return fn(sql, *args)
        finally:
            words = " ".join(sql.split()[:3])
            self._times[words] = self._times.get(words, 0.0) + time.perf_counter() - t

    def execute(self, sql: str, *args: Any) -> Any:
        return self._timed(self._conn.execute, sql, *args)

    def executemany(self, sql: str, *args: Any) -> Any:
        return self._timed(self._conn.executemany, sql, *args)


def cold(corpus: str, repeat: int) -> None:
    runs: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(repeat):
            store = Store(os.path.join(tmp, f"{i}.db"))
            times: dict[str, float] = {}
            store.conn = _TimedConn(store.conn, times)  # type: ignore[assignment]
            ingestor = ingest.Ingestor(store, claude_config_dirs=[corpus])
            flushes: list[float] = []
            flush = ingestor._flush

            def timed_flush(*args: Any, _flush: Any = flush, _marks: list = flushes) -> Any:
                _marks.append(time.perf_counter())
                return _flush(*args)

            ingestor._flush = timed_flush  # type: ignore[method-assign]
            t = time.perf_counter()
            ingestor.run()
            end = time.perf_counter()
            times["(total)"] = end - t
            times["(tail after the last file)"] = end - flushes[-1]
            times["(store MB)"] = os.path.getsize(store.path) / 1e6
            store.conn = store.conn._conn  # type: ignore[attr-defined]
            store.close()
            runs.append(times)
    print(f"cold ingest of {corpus}, median of {repeat} (seconds unless stated):")
    keys = sorted(runs[0], key=lambda k: -statistics.median(r.get(k, 0.0) for r in runs))
    for key in keys:
        values = [r.get(key, 0.0) for r in runs]
        if statistics.median(values) >= 0.001 or key.startswith("("):
            print(f"  {statistics.median(values):8.3f}  {key}")


def incremental(corpus: str, repeat: int, work: Path) -> None:
    copy = work / "breakdown-corpus"
    db = work / "breakdown.db"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(corpus, copy)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    env = dict(os.environ, CLAUDE_CONFIG_DIR=str(copy))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    store = Store(db)
    ingest.Ingestor(store, claude_config_dirs=[str(copy)]).run()
    store.close()
    rounds = []
    for _ in range(repeat):
        gen_corpus.append_corpus(copy, 0.01)
        out = subprocess.run([sys.executable, "-c", PHASES, str(db)], env=env, check=True,
                             capture_output=True, text=True).stdout  # fmt: skip
        rounds.append(json.loads(out))
    print(f"+1 % `report daily --json` in a fresh interpreter, median of {repeat}:")
    for key in ("imports", "open", "ingest", "report", "json", "close"):
        print(f"  {1000 * statistics.median(r[key] for r in rounds):7.1f} ms  {key}")
    print(f"  {statistics.median(r['rows'] for r in rounds):7.0f}     rows written")
    print(f"  {statistics.median(r['walPages'] for r in rounds):7.0f}     WAL pages after the ingest")
    shutil.rmtree(copy, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cache = Path(os.environ.get("PODIUM_BENCH_CACHE", "~/.cache/podium-bench")).expanduser()
    parser.add_argument("corpus", nargs="?", default=str(cache / "corpus-300mb-1000f-s7"))
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    work = cache / "work"
    work.mkdir(parents=True, exist_ok=True)
    cold(args.corpus, args.repeat)
    incremental(args.corpus, args.repeat, work)


if __name__ == "__main__":
    main()
