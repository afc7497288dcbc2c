"""`podium statusline`: Claude Code's statusLine command (formats.md §5).

Claude Code runs it on every refresh with a JSON payload on stdin and shows the first stdout line:

    Sonnet 4.5 | session $0.42 | today $3.10 | block $2.05 (2h13m left) | $1.20/h | Plan: 67%

It records the payload's official `rate_limits` figures in the store (`plan_snapshots`, bogus
values dropped), reads today's and the active block's spend from the store, and prints. It never
hangs Claude Code: no network, a short SQLite busy timeout, and a hard deadline after which a
minimal line is printed and the process exits 0; any error also prints a minimal line and exits 0.
It imports neither pydantic nor pygls.

`podium statusline --install` writes `statusLine` into Claude Code's settings.json (the first
`CLAUDE_CONFIG_DIR` root, else `~/.claude`). An existing statusLine command that is not Podium's
is kept: install refuses unless `--force`, which saves the old entry in
`podium-statusline-previous.json` next to settings.json; `--uninstall` puts it back.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import threading
import time
from types import SimpleNamespace

# typing (~5 ms), argparse (~8 ms) and pathlib (~4 ms) stay unimported on the hot path; here
# they only annotate (installation imports pathlib when it runs)
TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from pathlib import Path
    from typing import Any

DEADLINE_S = 0.8
MAX_DEADLINE_S = 60.0
MAX_STDIN = 1 << 20
BUSY_TIMEOUT_MS = 150
PREVIOUS_FILE = "podium-statusline-previous.json"
MARKER = "podium"  # a statusLine command containing "podium" and "statusline" is ours


class _Deadline(Exception):
    pass


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", help="the Podium store (default: $PODIUM_DB or the user data dir)")
    parser.add_argument("--plan", default=None,
                        help="plan for the estimate when no official figure: pro|max5|max20|team|custom")  # fmt: skip
    parser.add_argument("--ingest", action="store_true",
                        help="first read the new lines of the payload's transcript into the "
                        "store (for use without a running Podium server)")  # fmt: skip
    parser.add_argument("--timeout", type=float, default=DEADLINE_S,
                        help=f"hard deadline in seconds (default {DEADLINE_S})")  # fmt: skip
    group = parser.add_argument_group("installation")
    group.add_argument("--install", action="store_true",
                       help="add this command to Claude Code's settings.json")  # fmt: skip
    group.add_argument("--uninstall", action="store_true",
                       help="remove it (restoring a statusLine saved by --install --force)")  # fmt: skip
    group.add_argument("--force", action="store_true",
                       help="with --install: replace an existing statusLine (it is saved)")  # fmt: skip
    group.add_argument("--config-dir",
                       help="Claude Code config dir (default: $CLAUDE_CONFIG_DIR or ~/.claude)")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    if args.install or args.uninstall:
        return _run_install(args)
    return render_and_exit(args)


# -- the status line --------------------------------------------------------------------------------
def render_and_exit(args: argparse.Namespace) -> int:
    state: dict[str, Any] = {"minimal": "podium"}
    printed = threading.Event()
    out_lock = threading.Lock()

    def emit(line: str) -> None:
        with out_lock:
            if printed.is_set():
                return
            printed.set()
            try:
                sys.stdout.write(line.replace("\n", " ")[:400] + "\n")
                sys.stdout.flush()
            except (OSError, ValueError):
                pass

    def on_deadline(*_: object) -> None:
        emit(state["minimal"])
        # the main thread may be blocked in C (SQLite, a read): leave without waiting for it
        os._exit(0)

    timeout = float(args.timeout or DEADLINE_S)
    # setitimer and Timer overflow on inf / huge values; NaN compares false everywhere
    timeout = min(max(0.05, timeout), MAX_DEADLINE_S) if timeout == timeout else DEADLINE_S
    use_alarm = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    watchdog: threading.Timer | None = None
    if use_alarm:

        def alarm(*_: object) -> None:
            raise _Deadline

        signal.signal(signal.SIGALRM, alarm)
        signal.setitimer(signal.ITIMER_REAL, timeout)
    # a thread backs the alarm up: a signal handler cannot run while SQLite holds the GIL-less
    # C call, but os._exit from a thread always can
    watchdog = threading.Timer(timeout + 0.25, on_deadline)
    watchdog.daemon = True
    watchdog.start()
    try:
        payload = _read_payload()
        state["minimal"] = _minimal_line(payload)
        emit(build_line(payload, db=args.db, plan=args.plan, ingest=args.ingest))
    except _Deadline:
        emit(state["minimal"])
    except Exception:
        emit(state["minimal"])
    finally:
        if use_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
        watchdog.cancel()
    return 0


def _read_payload() -> dict[str, Any]:
    try:
        raw = sys.stdin.buffer.read(MAX_STDIN) if sys.stdin is not None else b""
    except (OSError, ValueError):
        return {}
    try:
        payload = json.loads(raw.decode("utf-8", errors="replace")) if raw.strip() else {}
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}


def _get(obj: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _model_name(payload: dict[str, Any]) -> str | None:
    name = _get(payload, "model", "display_name") or _get(payload, "model", "id")
    if isinstance(name, str) and name.strip():
        return "".join(ch for ch in name.strip() if ch.isprintable())[:40]
    return None


def _minimal_line(payload: dict[str, Any]) -> str:
    model = _model_name(payload)
    return f"{model} | podium" if model else "podium"


def _money(value: float) -> str:
    return f"${value:,.2f}"


def _duration(minutes: float) -> str:
    minutes = max(0, round(minutes))
    hours, mins = divmod(minutes, 60)
    return f"{hours}h{mins:02d}m" if hours else f"{mins}m"


def build_line(payload: dict[str, Any], *, db: str | None = None, plan: str | None = None,
               now: float | None = None, ingest: bool = False) -> str:  # fmt: skip
    """Record the payload's official figures and render the line (also used by tests)."""
    from podium.limits import plans
    from podium.store import Store

    now = time.time() if now is None else now
    parts: list[str] = []
    model = _model_name(payload)
    if model:
        parts.append(model)
    session_cost = _get(payload, "cost", "total_cost_usd")
    if isinstance(session_cost, int | float) and not isinstance(session_cost, bool) and (
        0 <= session_cost < 1e9
    ):
        parts.append(f"session {_money(float(session_cost))}")

    figures = plans.sanitize_rate_limits(payload.get("rate_limits"), now)
    session_id = payload.get("session_id") if isinstance(payload.get("session_id"), str) else None
    store = Store(db) if db else Store()
    try:
        store.conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        # a busy writer must not cost the user their status line
        with contextlib.suppress(Exception):
            plans.record_snapshots(store, "official", figures, session_id=session_id, now=now)
        if ingest:
            with contextlib.suppress(Exception):
                _ingest_transcript(store, payload.get("transcript_path"))
        store_figures = _figures(store, now)
        parts.extend(_store_parts(store_figures, now))
        parts.append(_plan_part(store, figures, store_figures, plan, now))
    finally:
        store.close()
    return " | ".join(parts)


def _ingest_transcript(store: Any, transcript: Any) -> None:
    """Read the new lines of `<root>/projects/<dir>/<session>.jsonl` (incremental, as always)."""
    if not isinstance(transcript, str) or not transcript.endswith(".jsonl"):
        return
    path = os.path.normpath(os.path.expanduser(transcript))
    parts = path.split(os.sep)
    if "projects" not in parts[:-1] or not os.path.isfile(path):
        return
    index = len(parts) - 1 - parts[::-1].index("projects")
    root = os.sep.join(parts[:index]) or os.sep
    from podium.usage.adapters.claude import ClaudeCodeAdapter
    from podium.usage.ingest import Ingestor

    Ingestor(store, [ClaudeCodeAdapter([root])]).run(paths=[path])


CACHE_META_KEY = "statusline.cache"
CACHE_MAX_S = 60.0


def _figures(store: Any, now: float) -> dict[str, Any]:
    """Today's cost and the active block's figures. Cached in the store's meta table, keyed on
    the newest entry, the local day and the price table override, for at most a minute: when
    nothing was ingested since the last call, no pricing code is even imported (~15 ms a
    process)."""
    from podium.domain.periods import day_bounds
    from podium.limits import plans

    day_start, day_end, _ = day_bounds(now, None)  # the same "today" as the status bar
    newest = store.conn.execute("SELECT MAX(ts) FROM entries").fetchone()[0]
    key = [newest, day_start, os.environ.get("PODIUM_PRICES", "")]
    raw = store.get_meta(CACHE_META_KEY)
    if raw:
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            cached = json.loads(raw)
            # an upsert that raises a total without a newer timestamp is caught within a minute
            if cached.get("key") == key and 0 <= now - float(cached.get("at", 0)) < CACHE_MAX_S:
                return cached["figures"]
    from podium.usage.queries import totals

    figures: dict[str, Any] = {
        "today": totals(store, since_ms=day_start, until_ms=day_end).cost_usd,
        "block": None,
    }
    block = plans.active_block(store, int(now * 1000))
    if block is not None:
        usage = totals(store, since_ms=block.start_ms, until_ms=block.end_ms)
        figures["block"] = {
            "start": block.start_ms, "end": block.end_ms, "first": block.first_ms,
            "last": block.last_ms, "cost": usage.cost_usd, "input": usage.input,
            "output": usage.output, "messages": usage.messages,
        }  # fmt: skip
    # a busy writer only costs the cache
    with contextlib.suppress(Exception), store.transaction():
        store.set_meta(CACHE_META_KEY, json.dumps({"key": key, "at": now, "figures": figures}))
    return figures


def _active(block: dict[str, Any] | None, now_ms: int) -> dict[str, Any] | None:
    """The cached block if it is still active at `now` (blocks only expire as time passes)."""
    if block is None or now_ms >= block["end"] or now_ms - block["last"] >= 5 * 3600 * 1000:
        return None
    return block


def _store_parts(figures: dict[str, Any], now: float) -> list[str]:
    out = [f"today {_money(figures['today'])}"]
    now_ms = int(now * 1000)
    block = _active(figures.get("block"), now_ms)
    if block is not None:
        left = (block["end"] - now_ms) / 60_000
        out.append(f"block {_money(block['cost'])} ({_duration(left)} left)")
        span_min = (block["last"] - block["first"]) / 60_000
        if span_min > 0:
            out.append(f"{_money(block['cost'] / span_min * 60)}/h")
    return out


def _plan_part(store: Any, figures: list[Any], store_figures: dict[str, Any], plan: str | None,
               now: float) -> str:  # fmt: skip
    from podium.limits import plans

    fresh = {f.window: f for f in figures}
    fig = fresh.get("five_hour") or fresh.get("seven_day")
    if fig is not None:
        return f"Plan: {fig.used_pct:.0f}%"
    for window in ("five_hour", "seven_day"):
        recorded = plans.best_recorded(store, window, now, agents_working=False)
        if recorded is not None:
            prefix = "~" if recorded.stale else ""
            return f"Plan: {prefix}{recorded.used_pct:.0f}%"
    # no official figure anywhere: the store estimate, labelled as one
    block = _active(store_figures.get("block"), int(now * 1000))
    if block is None:
        return "Plan: n/a"
    overrides = None
    if plan is None:  # podium.toml / $PODIUM_PLAN, when they name one
        plan = _configured_plan()
    if plan is None:  # the plan the server was told about (LimitsEngine publishes it)
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            published = json.loads(store.get_meta("limits.plan") or "{}")
            plan, overrides = published.get("plan"), published.get("planLimits")
    from podium.domain.plan_estimate import estimate_pct

    table = plans.plan_limits(plan or "max5", overrides)
    pct = estimate_pct(table, block["input"] + block["output"], block["cost"], block["messages"])
    return f"Plan: ~{pct:.0f}% est"


def _configured_plan() -> str | None:
    try:
        from podium import config_file

        cfg = config_file.load()
    except Exception:  # a broken config file never costs Claude Code its status line
        return None
    return cfg.get("plan") if cfg.source("plan") != "default" else None


# -- installation ---------------------------------------------------------------------------------
def claude_config_dir(explicit: str | None = None) -> Path:
    from pathlib import Path

    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get("CLAUDE_CONFIG_DIR", "").strip()
    if env:
        return Path(env.split(",")[0].strip()).expanduser()
    return Path.home() / ".claude"


def podium_command(db: str | None = None, *, ingest: bool = False) -> str:
    """The command Claude Code runs: this interpreter (so the venv need not be on PATH) running
    this module directly, which skips the `podium` dispatcher and argparse (~10 ms a call)."""
    import shlex
    from pathlib import Path

    argv = [sys.executable, "-m", "podium.limits.statusline"]
    if db:
        argv += ["--db", str(Path(db).expanduser().resolve())]
    if ingest:
        argv.append("--ingest")
    return shlex.join(argv)


def is_podium_command(entry: Any) -> bool:
    command = entry.get("command") if isinstance(entry, dict) else None
    return isinstance(command, str) and MARKER in command and "statusline" in command


def _load_settings(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError) as exc:
        raise SystemExit(f"podium statusline: cannot read {path}: {exc}; nothing changed") from None
    if not isinstance(data, dict):
        raise SystemExit(f"podium statusline: {path} is not a JSON object; nothing changed")
    return data


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".podium-tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def install(config_dir: Path, *, force: bool = False, db: str | None = None,
            ingest: bool = False) -> str:
    """Add Podium's statusLine to `<config_dir>/settings.json`. Returns what was done.
    Raises SystemExit (with the reason) when another statusLine is set and not `force`."""
    settings_path = config_dir / "settings.json"
    data = _load_settings(settings_path)
    current = data.get("statusLine")
    entry = {"type": "command", "command": podium_command(db, ingest=ingest), "padding": 0}
    if current and not is_podium_command(current):
        if not force:
            raise SystemExit(
                f"podium statusline: {settings_path} already has a statusLine "
                f"({json.dumps(current)}); rerun with --force to replace it (it will be saved in "
                f"{config_dir / PREVIOUS_FILE} and restored by --uninstall)"
            )
        _write_json(config_dir / PREVIOUS_FILE, {"statusLine": current})
    done = "updated" if current and is_podium_command(current) else "installed"
    data["statusLine"] = entry
    _write_json(settings_path, data)
    return f"{done} statusLine in {settings_path}: {entry['command']}"


def uninstall(config_dir: Path) -> str:
    settings_path = config_dir / "settings.json"
    data = _load_settings(settings_path)
    if not is_podium_command(data.get("statusLine")):
        return f"no Podium statusLine in {settings_path}; nothing changed"
    previous_path = config_dir / PREVIOUS_FILE
    previous = _load_settings(previous_path).get("statusLine") if previous_path.exists() else None
    if previous:
        data["statusLine"] = previous
        message = f"restored the previous statusLine in {settings_path}"
    else:
        data.pop("statusLine", None)
        message = f"removed the Podium statusLine from {settings_path}"
    _write_json(settings_path, data)
    if previous_path.exists():
        previous_path.unlink()
    return message


def _run_install(args: argparse.Namespace) -> int:
    config_dir = claude_config_dir(args.config_dir)
    try:
        if args.uninstall:
            print(uninstall(config_dir))
        else:
            print(install(config_dir, force=args.force, db=args.db, ingest=args.ingest))
    except SystemExit as exc:
        print(str(exc), file=sys.stderr)
        return 1
    return 0


# -- `python -m podium.limits.statusline`: the fast entry point the installer writes -------------
def _fast_args(argv: list[str]) -> SimpleNamespace | None:
    """The render options without argparse; None when anything else is asked (then argparse
    parses, e.g. for --install or --help)."""
    values: dict[str, Any] = {"db": None, "plan": None, "timeout": DEADLINE_S, "ingest": False,
                              "install": False, "uninstall": False}  # fmt: skip
    i = 0
    while i < len(argv):
        arg = argv[i]
        key, _, inline = arg.partition("=")
        if key in ("--db", "--plan", "--timeout"):
            if inline:
                value = inline
            elif i + 1 < len(argv):
                i += 1
                value = argv[i]
            else:
                return None
            try:
                values[key[2:]] = float(value) if key == "--timeout" else value
            except ValueError:
                return None
        elif arg == "--ingest":
            values["ingest"] = True
        else:
            return None
        i += 1
    return SimpleNamespace(**values)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args: Any = _fast_args(argv)
    if args is None:
        import argparse

        parser = argparse.ArgumentParser(prog="podium statusline", description=__doc__,
                                         formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
        configure(parser)
        args = parser.parse_args(argv)
    return run(args)


if __name__ == "__main__":
    raise SystemExit(main())
