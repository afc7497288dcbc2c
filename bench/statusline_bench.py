"""`podium statusline` latency with a warm store, as Claude Code runs it (a fresh process each time).

    python bench/statusline_bench.py [--size-mb 100] [--runs 40]

Builds a store from a generated corpus (`gen_corpus.py`, ~60 days of history) plus a session in
the last few hours (so today's spend and the active 5-hour block have real work to do), warms it,
then times `python -m podium statusline --db STORE < payload` end to end. A bare
`python -c pass` is timed the same way for the interpreter's share.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def timed(argv: list[str], stdin: bytes, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(argv, input=stdin, capture_output=True, check=False)
        out.append(time.perf_counter() - start)
        if proc.returncode != 0:
            raise SystemExit(f"{argv} failed: {proc.stderr.decode()}")
    return out


def summary(name: str, samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    p90 = ms[int(len(ms) * 0.9) - 1]
    return (f"| {name} | {statistics.median(ms):.1f} | {p90:.1f} | {ms[0]:.1f} | {ms[-1]:.1f} "
            f"| {len(ms)} |")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mb", type=float, default=100.0)
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()

    from podium.store import Store
    from podium.usage import synthetic as syn
    from podium.usage.adapters.claude import ClaudeCodeAdapter, encode_cwd
    from podium.usage.ingest import Ingestor

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "claude"
        subprocess.run([sys.executable, str(HERE / "gen_corpus.py"), str(root), "--size-mb",
                        str(args.size_mb)], check=True, capture_output=True)  # fmt: skip
        now_ms = int(time.time() * 1000)
        cwd = "/home/bench/recent"
        path = root / "projects" / encode_cwd(cwd) / "recent-session.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as fh:
            for i in range(300):  # one message a minute for the last 5 hours
                ts = now_ms - (300 - i) * 60_000
                for line in syn.assistant_lines("recent-session", cwd, ts,
                                                "claude-sonnet-4-5-20250929",
                                                syn.usage_dict(10, 400, 2000, 30_000)):  # fmt: skip
                    fh.write(syn.dumps(line))
        db = Path(tmp) / "podium.db"
        store = Store(db)
        Ingestor(store, [ClaudeCodeAdapter([str(root)])]).run()
        entries = store.conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0]
        store.close()
        payload = json.dumps({
            "session_id": "recent-session", "model": {"display_name": "Sonnet 4.5"},
            "cost": {"total_cost_usd": 3.21},
            "rate_limits": {"five_hour": {"used_percentage": 67,
                                          "resets_at": int(time.time()) + 3600}},
        }).encode()  # fmt: skip
        installed = [sys.executable, "-m", "podium.limits.statusline", "--db", str(db)]
        dispatcher = [sys.executable, "-m", "podium", "statusline", "--db", str(db)]
        timed(installed, payload, 3)  # warm the page cache and the store
        line = subprocess.run(installed, input=payload, capture_output=True).stdout.decode()
        base = timed([sys.executable, "-c", "pass"], b"", args.runs)
        runs = timed(installed, payload, args.runs)
        via_cli = timed(dispatcher, payload, args.runs)
        # a new entry before every call: the figures are recomputed (no cache hit)
        cold = []
        for i in range(args.runs):
            store = Store(db)
            with store.transaction() as conn:
                conn.execute("UPDATE entries SET ts = ? WHERE key = (SELECT key FROM entries "
                             "ORDER BY ts DESC LIMIT 1)", (now_ms + i,))  # fmt: skip
            store.close()
            cold += timed(installed, payload, 1)
    print(f"store: {entries:,} entries from a {args.size_mb:g} MB corpus + 300 recent messages")
    print(f"line: {line.strip()}")
    print("| command | median ms | p90 ms | min ms | max ms | runs |")
    print("|---|---:|---:|---:|---:|---:|")
    print(summary("`python -c pass` (interpreter only)", base))
    print(summary("installed command `python -m podium.limits.statusline`, nothing new", runs))
    print(summary("same, a new entry before each call (figures recomputed)", cold))
    print(summary("`podium statusline` via the CLI dispatcher, nothing new", via_cli))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
