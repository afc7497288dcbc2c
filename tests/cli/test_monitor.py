"""`podium monitor`: `--once` against a known store, and the live view in a real terminal (tmux:
send-keys, capture-pane), following new usage, a resize and Ctrl+C."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from podium.usage.pricing import PriceTable

from .helpers import write_session

SONNET = "claude-sonnet-4-5-20250929"
OPUS = "claude-opus-4-1-20250805"
PER_ENTRY = dict(inp=200, out=1000, cache_create=1000, cache_read=5000)
TOKENS = 7200  # per entry


def _cost(model: str) -> float:
    return PriceTable.load_bundled().cost_of(model, 200, 1000, 1000, 5000)


def _today_utc(minutes_ago: float) -> bool:
    moment = datetime.fromtimestamp(time.time() - minutes_ago * 60, UTC)
    return moment.date() == datetime.now(UTC).date()


def _usd(value: float) -> str:
    return f"${value:,.2f}"


def test_once_prints_one_frame_of_a_known_store(cli):
    root = cli.logs()
    sonnet_ago, opus_ago = [30, 20, 3], [2, 1]
    write_session(root, minutes_ago=sonnet_ago, model=SONNET, **PER_ENTRY)
    write_session(root, minutes_ago=opus_ago, model=OPUS, project="-work-api",
                  session="5e55a0b1-0b05-4c0d-9a11-0a00000000cc", **PER_ENTRY)  # fmt: skip
    n_sonnet = sum(map(_today_utc, sonnet_ago))
    n_opus = sum(map(_today_utc, opus_ago))
    today_cost = n_sonnet * _cost(SONNET) + n_opus * _cost(OPUS)
    # limits: the day's spend crosses the daily one; the month's sits at 90 % of its limit
    daily_limit = today_cost / 2
    config = cli.tmp / "podium.toml"
    config.write_text(f"[limits]\ndaily_usd = {daily_limit}\n"
                      f"monthly_usd = {(today_cost / 0.9) if n_sonnet + n_opus == 5 else 1000}\n")  # fmt: skip
    got = cli("--config", str(config), "monitor", "--once", env={"COLUMNS": "100"}, check=True)
    frame = got.out
    assert frame.startswith("PODIUM LIVE MONITOR")
    assert max(len(line) for line in frame.splitlines()) <= 100
    assert "Etc/UTC" in frame or "UTC" in frame
    assert re.search(rf"Total tokens\s+{TOKENS * (n_sonnet + n_opus):,}\b", frame)
    assert re.search(rf"Cost\s+{re.escape(_usd(today_cost))}", frame)
    assert re.search(rf"sonnet-4-5\s+{TOKENS * n_sonnet:,}\s+{re.escape(_usd(n_sonnet * _cost(SONNET)))}", frame)
    assert re.search(rf"opus-4-1\s+{TOKENS * n_opus:,}", frame)
    assert re.search(r"Daily\s+EXCEEDED", frame)
    if n_sonnet + n_opus == 5:  # (not in the first minutes after midnight UTC)
        assert re.search(r"Monthly\s+WARNING", frame)
    assert "Active block" in frame and "left" in frame and "Burn rate" in frame
    assert re.search(r"Plan 5-hour window\s+\d+%\s+estimate vs max5 limits", frame)
    recent = frame[frame.index("Recent usage"):]
    assert len(re.findall(r"\d\d:\d\d:\d\d\s+(?:sonnet-4-5|opus-4-1)\s+7,200", recent)) == 5
    assert "Ctrl+C" not in frame and not got.err
    # the seed's use: a script greps a frame for the budget state
    grep = subprocess.run(f"{shlex.quote(sys.executable)} -m podium --config {config} monitor "
                          "--once | grep -c EXCEEDED", shell=True, env={**cli.env},
                          capture_output=True, text=True)  # fmt: skip
    assert grep.stdout.strip() == "1"


def test_once_on_an_empty_store_and_plain_output(cli):
    cli.logs()
    frame = cli("monitor", "--once", "--no-ingest", check=True).out
    assert "Total tokens" in frame and "no usage yet" in frame and "(no limit)" in frame
    assert "\x1b[" not in frame  # piped: no colour
    bad = cli("monitor", "--once", "--interval", "0")
    assert bad.code == 2 and "--interval" in bad.err


def test_budgets_without_limits_show_their_figures_whole_side_by_side(cli):
    # the hint used to sit in the grid's first column and widen it until the figures beside it
    # were cut to "$0.00 (…" in the side-by-side layout (120 columns and more)
    cli.logs()
    for width in (120, 140, 200):
        frame = cli("monitor", "--once", "--no-ingest", env={"COLUMNS": str(width)},
                    check=True).out  # fmt: skip
        assert frame.count("$0.00 (no limit)") == 2, frame
        assert "PODIUM_DAILY_BUDGET_USD" in frame
        assert max(len(line) for line in frame.splitlines()) <= width


# -- a real terminal ---------------------------------------------------------------------------------
class Tmux:
    def __init__(self, socket: str) -> None:
        self.base = ["tmux", "-L", socket, "-f", "/dev/null"]

    def __call__(self, *args: str) -> str:
        return subprocess.run([*self.base, *args], capture_output=True, text=True,
                              check=True).stdout  # fmt: skip

    def screen(self, history: bool = False) -> str:
        return self("capture-pane", "-p", "-t", "mon", *(["-S", "-"] if history else []))

    def wait(self, what: str, check, deadline: float = 30.0, history: bool = False) -> str:
        end = time.monotonic() + deadline
        screen = ""
        while time.monotonic() < end:
            screen = self.screen(history)
            if check(screen):
                return screen
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}; the pane shows:\n{screen}")


@pytest.fixture(scope="session")
def tmux_installed() -> str | None:
    """tmux, installed with apt-get when missing and allowed (a setup step; the test skips with
    the reason when apt cannot reach its mirror)."""
    if shutil.which("tmux"):
        return None
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return "tmux is not installed and apt-get cannot run here"
    for step in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "tmux"]):
        try:
            done = subprocess.run(step, capture_output=True, text=True, timeout=300,
                                  env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})  # fmt: skip
        except subprocess.TimeoutExpired:
            return f"{' '.join(step)} timed out"
        if done.returncode != 0:
            return f"{' '.join(step)} failed: {done.stderr.strip()[-200:]}"
    return None if shutil.which("tmux") else "tmux is still missing after apt-get install"


@pytest.fixture
def tmux(tmux_installed):
    if tmux_installed:
        pytest.skip(tmux_installed)
    t = Tmux(f"podium-test-{uuid.uuid4().hex[:8]}")
    yield t
    subprocess.run([*t.base, "kill-server"], capture_output=True)


def test_live_monitor_in_a_real_terminal(cli, tmux):
    root = cli.logs()
    write_session(root, minutes_ago=[10, 5], model=SONNET, **PER_ENTRY)
    config = cli.tmp / "podium.toml"
    config.write_text("[limits]\ndaily_usd = 0.01\n[monitor]\ninterval = 0.5\n")
    env = {**cli.env, "TERM": "xterm-256color"}
    env.pop("COLUMNS", None)
    command = " ".join([*(f"{k}={shlex.quote(v)}" for k, v in env.items()),
                        shlex.quote(sys.executable), "-m", "podium", "--config",
                        shlex.quote(str(config)), "monitor"])  # fmt: skip
    # the exit status lands in a file: tmux may leave the exited monitor unreaped (a zombie
    # with no status to show) for a while after its pane is marked dead. (bash, not sh: after
    # a Ctrl+C that its child handled and exited from, bash goes on; dash dies of the SIGINT)
    status_file = cli.tmp / "monitor.status"
    shell = f"env -i {command}; echo $? > {shlex.quote(str(status_file))}"
    tmux("start-server", ";", "set-option", "-g", "remain-on-exit", "on", ";", "set-option",
         "-g", "default-size", "100x60", ";", "new-session",
         "-d", "-s", "mon", "-x", "100", "-y", "60", "bash -c " + shlex.quote(shell))
    first = tmux.wait("the first frame", lambda s: "PODIUM LIVE MONITOR" in s and "Ctrl+C" in s)
    assert re.search(r"Daily\s+EXCEEDED", first)
    assert re.search(rf"Total tokens\s+{2 * TOKENS:,}", first) or not _today_utc(10)
    assert max(len(line.rstrip()) for line in first.splitlines()) <= 100
    # new usage appears at the next refresh (the monitor ingests it itself)
    write_session(root, minutes_ago=[0], model=OPUS, **PER_ENTRY,
                  session="5e55a0b1-0b05-4c0d-9a11-0a00000000dd")  # fmt: skip
    tmux.wait("the new entry", lambda s: "opus-4-1" in s)
    # wider: the panels go side by side
    tmux("resize-window", "-t", "mon", "-x", "160", "-y", "50")
    side = tmux.wait("the wide layout", lambda s: any("Today" in line and "Budgets" in line
                                                      for line in s.splitlines()))  # fmt: skip
    assert max(len(line.rstrip()) for line in side.splitlines()) > 100
    tmux("resize-window", "-t", "mon", "-x", "70", "-y", "60")
    narrow = tmux.wait("the narrow layout", lambda s: not any(
        "Today" in line and "Budgets" in line for line in s.splitlines()) and "Today" in s)  # fmt: skip
    assert max(len(line.rstrip()) for line in narrow.splitlines()) <= 70
    tmux("send-keys", "-t", "mon", "C-c")
    end = time.monotonic() + 15
    while not status_file.exists() and time.monotonic() < end:
        time.sleep(0.1)
    assert status_file.exists(), tmux.screen()
    assert status_file.read_text().strip() == "0", tmux.screen()  # a clean exit, not SIGINT's
    assert "Traceback" not in tmux.screen()


def test_monitor_leaves_the_store_to_another_writer(cli):
    """While another process holds the store's write lock, a frame still comes (from what the
    store has), and says that the other process keeps it fresh."""
    import sqlite3

    root = cli.logs()
    write_session(root, minutes_ago=[3], model=SONNET, **PER_ENTRY)
    cli("ingest", check=True)
    write_session(root, minutes_ago=[1], model=OPUS, **PER_ENTRY,
                  session="5e55a0b1-0b05-4c0d-9a11-0a00000000ee")  # fmt: skip
    holder = sqlite3.connect(cli.db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # as a server mid-commit
    try:
        got = cli("monitor", "--once", env={"COLUMNS": "120"}, check=True, timeout=60)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert "another Podium process is writing the store" in got.out
    assert "sonnet-4-5" in got.out and "opus-4-1" not in got.out
    assert os.path.exists(cli.db)
    assert isinstance(Path(cli.db), Path)


def test_once_shows_agents_and_their_states(cli):
    import sqlite3

    cli.logs()
    cli("ingest", check=True)  # creates the store
    now = time.time()
    with sqlite3.connect(cli.db) as conn:
        for i, (name, status, ago) in enumerate([("alpha", "working", 65), ("bravo", "paused", 600),
                                                 ("charlie", "working", 5), ("gone", "stopped", 9)]):  # fmt: skip
            conn.execute(
                "INSERT INTO agents (id, name, repo, worktree, branch, profile, state_dir, status, "
                "status_since, started_at, removed) VALUES (?, ?, '/r', '/w', 'b', 'claude', '/s', "
                "?, ?, ?, ?)", (f"a{i}", name, status, now - ago, now - 3600, int(name == "gone")))  # fmt: skip
    frame = cli("monitor", "--once", "--no-ingest", env={"COLUMNS": "100"}, check=True).out
    assert re.search(r"States\s+2 working, 1 paused", frame)
    assert re.search(r"alpha\s+working 1m", frame) and re.search(r"bravo\s+paused 10m", frame)
    assert "gone" not in frame  # removed agents are not shown


@pytest.mark.parametrize("no_color", [False, True])
def test_report_in_a_real_terminal(cli, tmux, no_color):
    """On a terminal: rich's table, as wide as the pane allows, coloured unless NO_COLOR."""
    env = {**cli.env, "TERM": "xterm-256color", **({"NO_COLOR": "1"} if no_color else {})}
    command = " ".join([*(f"{k}={shlex.quote(v)}" for k, v in env.items()),
                        shlex.quote(sys.executable), "-m", "podium", "report", "daily", "-z",
                        "UTC"])  # fmt: skip
    tmux("start-server", ";", "set-option", "-g", "remain-on-exit", "on", ";", "set-option",
         "-g", "default-size", "80x100", ";", "new-session", "-d", "-s", "mon", "env -i " + command)
    # (with its scrollback: the pane may start smaller than its final size)
    screen = tmux.wait("the table", lambda s: "Total" in s and "╰" in s, history=True)
    lines = [line.rstrip() for line in screen.splitlines() if line.strip()]
    assert lines[0].startswith("Claude Code usage, daily (UTC)")
    assert max(len(line) for line in lines) <= 80 and "╭" in screen and "$7.66" in screen
    coloured = tmux("capture-pane", "-p", "-e", "-S", "-", "-t", "mon")
    colour = re.compile(r"\x1b\[(?:\d+;)*(?:3[0-8]|9[0-7])[;m]")  # a foreground colour (not bold)
    assert bool(colour.search(coloured)) != no_color
