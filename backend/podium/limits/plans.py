"""Plan windows: official snapshots (statusLine, OAuth), staleness, and the store estimate.

Kept free of heavy imports (no typing, dataclasses or pricing at import time): `podium
statusline` loads this module on every Claude Code refresh, in a fresh process.
"""

from __future__ import annotations

import math
import time
from collections import namedtuple
from collections.abc import Iterable, Mapping
from datetime import datetime

from podium.store import Store

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (~5 ms)
if TYPE_CHECKING:
    from typing import Any

    from podium.limits.models import PlanWindow

WINDOWS: tuple[str, ...] = ("five_hour", "seven_day")

WINDOW_SECONDS: dict[str, float] = {"five_hour": 5 * 3600.0, "seven_day": 7 * 86400.0}
WINDOW_LABEL: dict[str, str] = {"five_hour": "5-hour", "seven_day": "7-day"}
#: a figure older than this while agents work no longer says how close the plan is
WORKING_MAX_AGE_S = 600.0
#: the same figure is recorded again only after this long (Claude Code refreshes often)
SNAPSHOT_REPEAT_S = 60.0
SOURCE_RANK: dict[str, int] = {"official": 0, "oauth": 1, "estimate": 2}

BLOCK_MS = 5 * 3600 * 1000
HOUR_MS = 3600 * 1000

# Per 5-hour window, claude-monitor's defaults (formats.md §7): estimates, not published by
# Anthropic. Tokens are input + output only. `team` has no public figure: Pro's are used.
# `weekly*` keys have no defaults; set them in settings.planLimits to get a 7-day estimate.
PLAN_DEFAULTS: dict[str, dict[str, float]] = {
    "pro": {"tokens": 19_000, "costUSD": 18.0, "messages": 250},
    "max5": {"tokens": 88_000, "costUSD": 35.0, "messages": 1_000},
    "max20": {"tokens": 220_000, "costUSD": 140.0, "messages": 2_000},
    "team": {"tokens": 19_000, "costUSD": 18.0, "messages": 250},
    "custom": {"tokens": 88_000, "costUSD": 35.0, "messages": 1_000},
}
PLAN_KEYS = ("tokens", "costUSD", "messages", "weeklyTokens", "weeklyCostUSD", "weeklyMessages")


def plan_limits(plan: str, overrides: Mapping[str, Any] | None = None) -> dict[str, float]:
    """The plan table row for `plan`, with `settings.planLimits[plan]` applied. Invalid override
    values (not a positive number) are ignored; 0 removes a limit."""
    row = dict(PLAN_DEFAULTS.get(plan, PLAN_DEFAULTS["custom"]))
    user = (overrides or {}).get(plan)
    if isinstance(user, Mapping):
        for key in PLAN_KEYS:
            value = user.get(key)
            if isinstance(value, bool) or not isinstance(value, int | float):
                continue
            if not math.isfinite(value) or value < 0:
                continue
            if value == 0:
                row.pop(key, None)
            else:
                row[key] = float(value)
    return row


# -- official figures ---------------------------------------------------------------------------
#: one sanitised plan figure: window name, used % (0–100), reset time (epoch s) or None
Figure = namedtuple("Figure", ["window", "used_pct", "resets_at"])


def _finite_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if not isinstance(value, int | float):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def sanitize_rate_limits(
    rate_limits: Any, now: float | None = None, *, scale: float = 1.0
) -> list[Figure]:
    """Plan figures from a statusLine `rate_limits` object (or the OAuth response).

    Known bogus values are treated as absent (formats.md §5): a used % above 101 (the epoch
    bug), negative or NaN, and a `resets_at` already past. `scale` multiplies the value first
    (100 for the OAuth endpoint when it reports fractions).
    """
    now = time.time() if now is None else now
    if not isinstance(rate_limits, Mapping):
        return []
    out: list[Figure] = []
    for window in WINDOWS:
        raw = rate_limits.get(window)
        if not isinstance(raw, Mapping):
            continue
        pct = _finite_number(raw.get("used_percentage", raw.get("utilization")))
        if pct is None:
            continue
        pct *= scale
        if pct < 0 or pct > 101:
            continue
        resets_at = _parse_reset(raw.get("resets_at"))
        if resets_at is not None and resets_at <= now:
            continue
        if resets_at is not None and resets_at > now + WINDOW_SECONDS[window] + 3600:
            resets_at = None  # a reset further away than the window is long: not trustworthy
        out.append(Figure(window, min(pct, 100.0), resets_at))
    return out


def _parse_reset(value: Any) -> float | None:
    """Unix seconds (or ms, or an ISO 8601 string as the OAuth endpoint sends) → epoch s."""
    if isinstance(value, str) and not value.strip().replace(".", "", 1).isdigit():
        try:
            return datetime.fromisoformat(value.strip().replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    number = _finite_number(value)
    if number is None or number <= 0:
        return None
    return number / 1000.0 if number > 1e11 else number


def record_snapshots(
    store: Store,
    source: str,
    figures: Iterable[Figure],
    *,
    session_id: str | None = None,
    now: float | None = None,
) -> int:
    """Store figures in `plan_snapshots`; an unchanged figure seen again within
    SNAPSHOT_REPEAT_S is not stored twice. Returns the rows written."""
    now = time.time() if now is None else now
    figures = list(figures)
    if not figures:
        return 0
    written = 0
    with store.transaction() as conn:
        for fig in figures:
            last = conn.execute(
                "SELECT ts, used_pct, resets_at FROM plan_snapshots "
                "WHERE window = ? AND source = ? ORDER BY ts DESC LIMIT 1",
                (fig.window, source),
            ).fetchone()
            if last is not None:
                same = abs(last[1] - fig.used_pct) < 1e-9 and (
                    (last[2] is None and fig.resets_at is None)
                    or (last[2] is not None and fig.resets_at is not None
                        and abs(last[2] - fig.resets_at) < 1.0)
                )  # fmt: skip
                if same and 0 <= now - last[0] < SNAPSHOT_REPEAT_S:
                    continue
            conn.execute(
                "INSERT INTO plan_snapshots(ts, source, window, used_pct, resets_at, session_id) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (now, source, fig.window, fig.used_pct, fig.resets_at, session_id),
            )
            written += 1
    return written


def latest_snapshot(store: Store, window: str, source: str) -> PlanWindow | None:
    from podium.limits.models import PlanWindow

    row = store.conn.execute(
        "SELECT ts, used_pct, resets_at FROM plan_snapshots "
        "WHERE window = ? AND source = ? ORDER BY ts DESC LIMIT 1",
        (window, source),
    ).fetchone()
    if row is None:
        return None
    return PlanWindow(window, float(row[1]), source, float(row[0]), row[2], False, None)


def stale_reason(fig: PlanWindow, now: float, agents_working: bool) -> str | None:
    """Why a recorded figure no longer describes the window, or None if it still does."""
    age = max(0.0, now - fig.observed_at)
    label = WINDOW_LABEL.get(fig.window, fig.window)
    if fig.resets_at is not None and now >= fig.resets_at:
        when = datetime.fromtimestamp(fig.resets_at).strftime("%H:%M")
        return f"{fig.source} figure predates the {label} window reset at {when}"
    if fig.resets_at is None and age > WINDOW_SECONDS.get(fig.window, 5 * 3600.0):
        return f"{fig.source} figure is {format_age(age)} old, older than the {label} window"
    if agents_working and age > WORKING_MAX_AGE_S:
        return f"{fig.source} figure is {format_age(age)} old while agents work"
    return None


def best_recorded(
    store: Store, window: str, now: float, agents_working: bool
) -> PlanWindow | None:
    """The best recorded (official, then oauth) figure: a fresh one by source rank, else the
    newest stale one (shown as `~67%`). A figure whose window has reset since is absent
    (formats.md §5: past `resets_at`), so the estimate takes over rather than a known-wrong %."""
    found: list[PlanWindow] = []
    for source in ("official", "oauth"):
        fig = latest_snapshot(store, window, source)
        if fig is None or (fig.resets_at is not None and now >= fig.resets_at):
            continue
        reason = stale_reason(fig, now, agents_working)
        fig.stale, fig.stale_reason = reason is not None, reason
        found.append(fig)
    fresh = [f for f in found if not f.stale]
    if fresh:
        return min(fresh, key=lambda f: SOURCE_RANK[f.source])
    return max(found, key=lambda f: f.observed_at) if found else None


def format_age(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 90:
        return f"{int(seconds)} s"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


# -- the store estimate ---------------------------------------------------------------------------
#: the active 5-hour block (ccusage rules, formats.md §7), times in ms
Block = namedtuple("Block", ["start_ms", "end_ms", "first_ms", "last_ms"])


def active_block(store: Store, now_ms: int, lookback_ms: int = 48 * HOUR_MS) -> Block | None:
    """The 5-hour block `now` falls in, or None when no block is active.

    Blocks chain: a block starts at its first entry floored to the UTC hour and ends 5 h later;
    the next starts at the first entry past that end (or after a gap of more than 5 h). The chain
    is replayed from the last gap > 5 h within `lookback_ms` (from the lookback start if there
    is none, which only matters after two days of uninterrupted use)."""
    rows = store.conn.execute(
        "SELECT DISTINCT ts FROM entries WHERE ts >= ? AND ts <= ? ORDER BY ts",
        (now_ms - lookback_ms, now_ms),
    ).fetchall()
    if not rows:
        return None
    stamps = [r[0] for r in rows]
    start_idx = 0
    for i in range(len(stamps) - 1, 0, -1):
        if stamps[i] - stamps[i - 1] > BLOCK_MS:
            start_idx = i
            break
    block_start = block_end = first = last = None
    for ts in stamps[start_idx:]:
        # strictly past the end, as ccusage and `podium report blocks`: an entry at exactly
        # start + 5 h still belongs to the block
        if block_start is None or ts - block_start > BLOCK_MS or (
            last is not None and ts - last > BLOCK_MS
        ):
            block_start = ts - ts % HOUR_MS
            block_end = block_start + BLOCK_MS
            first = ts
        last = ts
    assert block_start is not None and block_end is not None and first is not None
    if now_ms >= block_end or last is None or now_ms - last >= BLOCK_MS:
        return None
    return Block(block_start, block_end, first, last)
