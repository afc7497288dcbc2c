"""Seeds a usage history with known values for the history panel's tests (the e2e in
code-server and test/record-history.mjs): Claude Code transcripts of two projects over the last
40 days under CLAUDE_DIR/projects, and official plan figures in the store DB.

    python seed_history.py CLAUDE_DIR DB ROOT [--tz ZONE] [--now EPOCH_S]

ROOT is where the projects' working directories are said to be. Prints what was seeded as JSON:
`entries` (day, model, project, cwd, costUSD, tokens) and `plan` (window, ts ms, usedPct).
Every entry carries a logged `costUSD`, so its cost is exactly that whatever the price table.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from zoneinfo import ZoneInfo

#: (days before today, project, model, input, output, cache write, cache read, costUSD)
ENTRIES = [
    (2, "shop-api", "claude-sonnet-4-5-20250929", 200_000, 40_000, 0, 0, 1.25),
    (10, "shop-api", "claude-sonnet-4-5-20250929", 1_500_000, 100_000, 0, 0, 2.50),
    (40, "shop-api", "claude-sonnet-4-5-20250929", 300_000, 20_000, 0, 0, 4.00),
    (2, "shop-web", "claude-opus-4-1-20250805", 10_000, 20_000, 50_000, 400_000, 0.75),
    (20, "shop-web", "claude-opus-4-1-20250805", 20_000, 30_000, 80_000, 900_000, 3.00),
]
#: (days before today, local hour, window, used %)
PLAN = [
    (10, 12, "five_hour", 88.0),
    (2, 10, "five_hour", 42.0),
    (2, 10, "seven_day", 31.0),
    (2, 14, "five_hour", 58.0),
]


def encoded(path: str) -> str:
    """Claude Code's project directory name for a working directory."""
    return "".join(ch if ch.isalnum() else "-" for ch in path)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("claude_dir")
    parser.add_argument("db")
    parser.add_argument("root")
    parser.add_argument("--tz", help="IANA zone of the days (default: the machine's)")
    parser.add_argument("--now", type=float, help="epoch seconds (default: now)")
    args = parser.parse_args()
    zone = ZoneInfo(args.tz) if args.tz else None
    now = args.now if args.now is not None else time.time()
    today = datetime.fromtimestamp(now, zone).date() if zone else date.fromtimestamp(now)

    def at(days_before: int, hour: int) -> float:
        day = today - timedelta(days=days_before)
        if zone:
            return datetime.combine(day, clock(hour), zone).timestamp()
        return time.mktime((day.year, day.month, day.day, hour, 0, 0, 0, 0, -1))

    seeded = []
    for n, (before, project, model, i, o, cw, cr, cost) in enumerate(ENTRIES):
        cwd = os.path.join(args.root, project)
        folder = os.path.join(args.claude_dir, "projects", encoded(cwd))
        os.makedirs(folder, exist_ok=True)
        ts = at(before, 12)
        stamp = datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        line = {
            "parentUuid": None, "isSidechain": False, "userType": "external", "cwd": cwd,
            "sessionId": f"seed-{project}", "version": "1.0.30", "gitBranch": "main",
            "type": "assistant", "uuid": f"seed-uuid-{n}", "timestamp": stamp,
            "requestId": f"req_seed_{n}", "costUSD": cost,
            "message": {
                "id": f"msg_seed_{n}", "type": "message", "role": "assistant", "model": model,
                "content": [{"type": "text", "text": "seeded"}], "stop_reason": "end_turn",
                "usage": {"input_tokens": i, "output_tokens": o,
                          "cache_creation_input_tokens": cw, "cache_read_input_tokens": cr},
            },
        }
        with open(os.path.join(folder, f"seed-{project}.jsonl"), "a", encoding="utf-8") as f:
            f.write(json.dumps(line) + "\n")
        seeded.append({"day": (today - timedelta(days=before)).isoformat(), "model": model,
                       "project": encoded(cwd), "cwd": cwd, "costUSD": cost,
                       "tokens": {"input": i, "output": o, "cacheWrite": cw, "cacheRead": cr}})

    from podium.limits.plans import Figure, record_snapshots
    from podium.store import Store

    store = Store(args.db)
    plan = []
    try:
        for before, hour, window, pct in sorted(PLAN, key=lambda p: at(p[0], p[1])):
            ts = at(before, hour)
            record_snapshots(store, "official", [Figure(window, pct, ts + 3600)], now=ts)
            plan.append({"window": window, "ts": int(ts * 1000), "usedPct": pct})
    finally:
        store.close()
    print(json.dumps({"today": today.isoformat(), "entries": seeded, "plan": plan}))


if __name__ == "__main__":
    main()
