"""`podium monitor`: a live terminal view of spend, budgets, the plan window and agents.

Every `--interval` seconds (2 by default) it reads the new log lines into the store (unless
another process, e.g. `podium serve`, is writing it: then that process keeps it fresh) and
redraws. The frame is laid out for the terminal's width at each redraw, so it follows resizes;
Ctrl+C leaves cleanly. `--once` prints one frame and exits (for scripts:
`podium monitor --once | grep EXCEEDED`).
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from podium.cli_ui.monitor_data import Frame, gather
from podium.cli_ui.table import short_model, tokens, usd
from podium.views.format import format_duration

if TYPE_CHECKING:  # rich is imported lazily, only for a terminal
    from rich.console import Group, RenderableType
    from rich.table import Table

STATUS_STYLE = {"OK": "green", "WARNING": "yellow", "EXCEEDED": "bold red"}
AGENT_STYLE = {"working": "green", "waiting": "yellow", "paused": "magenta", "error": "red",
               "idle": "dim", "starting": "cyan"}  # fmt: skip
BUSY_MS = 250  # how long an ingest waits for another writer before leaving it the work


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--interval", type=float, default=None, metavar="SECONDS",
                        help="refresh every SECONDS (default 2, or monitor.interval)")  # fmt: skip
    parser.add_argument("--once", action="store_true", help="print one frame and exit")
    parser.add_argument("--db", help="store path (default: $PODIUM_DB or the user data dir)")
    parser.add_argument("-z", "--timezone", help="IANA zone of 'today' (default: local)")
    parser.add_argument("--no-ingest", action="store_true",
                        help="only read the store (another process keeps it fresh)")  # fmt: skip
    color = parser.add_mutually_exclusive_group()
    color.add_argument("--color", dest="color", action="store_const", const=True, default=None)
    color.add_argument("--no-color", dest="color", action="store_const", const=False)


def run(args: argparse.Namespace) -> int:
    from podium import config_file
    from podium.cli_ui import term
    from podium.usage.cli_common import open_store

    cfg = getattr(args, "config", None) or config_file.load()
    interval = args.interval if args.interval is not None else cfg.get("monitor.interval")
    if not 0.1 <= interval <= 3600:
        from podium.errors import InvalidInput

        raise InvalidInput(f"--interval must be from 0.1 to 3600 seconds, got {interval}")
    settings = cfg.settings()
    tz_name = args.timezone or cfg.get("timezone")
    started = time.time()
    out = term.detect(color=args.color)
    with open_store(args) as store:
        store.conn.execute(f"PRAGMA busy_timeout = {BUSY_MS}")

        def frame() -> Frame:
            note = "" if args.no_ingest else _ingest(store, settings)
            return gather(store, settings, started=started, tz_name=tz_name, ingest_note=note)

        if args.once:
            _print_frame(frame(), out)
            return 0
        if not out.tty:  # a log file (`podium monitor > monitor.log &`): a frame per interval
            return _log(frame, interval, out)
        return _live(frame, interval, out)


def _ingest(store: Any, settings: Any) -> str:
    from podium.usage.ingest import Ingestor

    try:
        result = Ingestor(store, claude_config_dirs=settings.claude_config_dirs or None).run()
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            return "another Podium process is writing the store; its figures show"
        raise
    return f"{len(result.errors)} log file(s) could not be read" if result.errors else ""


def _print_frame(frame: Frame, out: Any) -> None:
    from podium.cli_ui.table import console

    out = out.with_width(out.width or 100)
    console(out).print(render(frame, out.width))
    sys.stdout.flush()


def _log(frame_fn: Callable[[], Frame], interval: float, out: Any) -> int:
    try:
        while True:
            _print_frame(frame_fn(), out)
            print()
            time.sleep(interval)
    except KeyboardInterrupt:
        return 0


def _live(frame_fn: Callable[[], Frame], interval: float, out: Any) -> int:
    from rich.live import Live

    from podium.cli_ui.table import console

    con = console(out.with_width(None))  # rich asks the terminal its size at every refresh
    current = [frame_fn()]

    class _View:
        """Laid out again at every refresh, at the terminal's width of that moment."""

        def __rich__(self) -> Group:
            return render(current[0], con.size.width, live=True)

    try:
        with Live(_View(), console=con, screen=True, refresh_per_second=4,
                  redirect_stderr=False) as live:  # fmt: skip
            next_at = time.monotonic() + interval
            while True:
                time.sleep(max(0.0, next_at - time.monotonic()))
                next_at = time.monotonic() + interval
                current[0] = frame_fn()
                live.refresh()
    except KeyboardInterrupt:
        return 0


# -- the frame -------------------------------------------------------------------------------------
def render(f: Frame, width: int, live: bool = False) -> Group:
    """The frame as rich renderables: panels side by side on a wide terminal, stacked else."""
    from rich.columns import Columns
    from rich.console import Group
    from rich.panel import Panel
    from rich.rule import Rule
    from rich.text import Text

    stamp = datetime.fromtimestamp(f.now).astimezone().strftime("%H:%M:%S")
    title = Text.assemble(("PODIUM LIVE MONITOR", "bold"), f"  ·  updated {stamp}",
                          f"  ·  up {format_duration(f.now - f.started)}", f"  ·  {f.timezone}",
                          ("  ·  Ctrl+C to exit" if live else "", "dim"))  # fmt: skip
    panels = [
        Panel(_usage(f), title="Today", title_align="left"),
        Panel(_budgets(f), title="Budgets", title_align="left"),
        Panel(_plan(f), title="Plan and 5-hour block", title_align="left"),
        Panel(_agents(f), title="Agents", title_align="left"),
        Panel(_recent(f), title="Recent usage", title_align="left"),
    ]
    body = Columns(panels, width=(width - 4) // 2, expand=True) if width >= 120 else Group(*panels)
    note = [Text(f.ingest_note, style="dim")] if f.ingest_note else []
    return Group(title, *note, Rule(style="dim"), body)


def _grid() -> Table:
    from rich.table import Table

    grid = Table.grid(padding=(0, 2))
    grid.add_column(no_wrap=True)
    grid.add_column(justify="right", no_wrap=True)
    return grid


def _usage(f: Frame) -> RenderableType:
    from rich.console import Group
    from rich.table import Table

    grid = _grid()
    t = f.tokens
    total = sum(t.values())
    grid.add_row("Total tokens", tokens(total))
    grid.add_row("Input", tokens(t["input"]))
    grid.add_row("Output", tokens(t["output"]))
    grid.add_row("Cache (create + read)", f"{tokens(t['cache_create'])} + {tokens(t['cache_read'])}")
    grid.add_row("Cost", usd(f.cost))
    grid.add_row("Cache savings", usd(f.cache_savings))
    if f.latest_session:
        s = f.latest_session
        grid.add_row("Latest session", f"{s['id'][:8]} · {format_duration(s['last'] - s['first'])}"
                     f" · {s['messages']} msgs")  # fmt: skip
    if not f.models:
        return grid
    models = Table(box=None, padding=(0, 1), show_edge=False, header_style="bold")
    models.add_column("Model")
    models.add_column("Tokens", justify="right")
    models.add_column("Cost", justify="right")
    for m in sorted(f.models, key=lambda m: -m["cost"]):
        models.add_row(short_model(m["name"]), tokens(m["tokens"]), usd(m["cost"]))
    return Group(grid, "", models)


def _budgets(f: Frame) -> RenderableType:
    from rich.console import Group
    from rich.text import Text

    grid = _grid()
    any_limit = False
    for b in f.budgets:
        name = b.scope.capitalize()
        if b.limit is None:
            grid.add_row(name, f"{usd(b.used)} (no limit)")
            continue
        any_limit = True
        grid.add_row(Text(name, style="bold"), Text(b.status, style=STATUS_STYLE[b.status]))
        grid.add_row("  Used / limit", f"{usd(b.used)} / {usd(b.limit)} "
                     f"({100 * b.used / b.limit:.0f}%)")  # fmt: skip
        grid.add_row("  Remaining", usd(b.remaining or 0.0) if b.used < b.limit else "$0.00")
        grid.add_row("  Projection", usd(b.projection))
    if not any_limit:
        # below the grid, not in its first column: as a row it widened that column until the
        # figures beside it were cut ("$0.00 (…" even at 140 columns)
        return Group(grid, Text("set limits.daily_usd / monthly_usd in podium.toml or "
                                "PODIUM_DAILY_BUDGET_USD", style="dim"))  # fmt: skip
    return grid


def _plan(f: Frame) -> Table:
    from rich.text import Text

    grid = _grid()
    plan = f.plan
    for window, label in (("five_hour", "5-hour window"), ("seven_day", "7-day window")):
        fig = plan["windows"].get(window)
        if fig is None:
            continue
        source = {"official": "official (Claude Code)", "oauth": "official (OAuth)",
                  "estimate": f"estimate vs {plan['plan']} limits"}.get(fig["source"], fig["source"])  # fmt: skip
        text = f"{fig['pct']:.0f}%  {source}" + (" (stale)" if fig["stale"] else "")
        grid.add_row(f"Plan {label}", text)
    for err in plan["errors"]:
        grid.add_row("Plan", Text(err, style="red"))
    b = f.block
    if b is None:
        grid.add_row("Active block", "none (no usage in the last 5 h)")
        return grid
    start = datetime.fromtimestamp(b["start"]).astimezone().strftime("%H:%M")
    end = datetime.fromtimestamp(b["end"]).astimezone().strftime("%H:%M")
    grid.add_row("Active block", f"{start}–{end}, {format_duration(b['end'] - f.now)} left")
    grid.add_row("Block spend", f"{usd(b['cost'])} · {tokens(b['tokens'])} tokens")
    grid.add_row("Burn rate", f"{usd(b['burn_usd_h'])}/h · {b['tokens_min']:,.0f} tokens/min")
    if b["projected_usd"] is not None:
        grid.add_row("Projected at block end", usd(b["projected_usd"]))
    minutes = b["minutes_to_limit"]
    grid.add_row("Time to limit", "—" if minutes is None else
                 "reached" if minutes <= 0 else format_duration(minutes * 60))  # fmt: skip
    return grid


def _agents(f: Frame) -> Table:
    from collections import Counter

    from rich.text import Text

    grid = _grid()
    if not f.agents:
        grid.add_row(Text("no agents (podium agents spawn … or the editor starts them)",
                          style="dim"), "")  # fmt: skip
        return grid
    counts = Counter(a["status"] for a in f.agents)
    grid.add_row("States", ", ".join(f"{n} {s}" for s, n in counts.most_common()))
    for a in f.agents[-8:]:
        grid.add_row(a["name"], Text(f"{a['status']} {format_duration(f.now - a['since'])}",
                                     style=AGENT_STYLE.get(a["status"], "")))  # fmt: skip
    return grid


def _recent(f: Frame) -> RenderableType:
    from rich.table import Table
    from rich.text import Text

    if not f.recent:
        return Text("no usage yet", style="dim")
    table = Table(box=None, padding=(0, 1), show_edge=False, header_style="bold")
    for name, right in (("Time", False), ("Model", False), ("Tokens", True), ("Cost", True)):
        table.add_column(name, justify="right" if right else "left", no_wrap=True)
    for e in f.recent:
        moment = datetime.fromtimestamp(e["ts"]).astimezone()
        today = moment.date() == datetime.fromtimestamp(f.now).astimezone().date()
        when = moment.strftime("%H:%M:%S" if today else "%Y-%m-%d %H:%M")
        table.add_row(when, short_model(e["model"]), tokens(e["tokens"]), usd(e["cost"]))
    return table
