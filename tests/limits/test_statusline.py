"""`podium statusline` as Claude Code runs it: a subprocess with JSON on stdin."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from podium.limits import LimitsEngine
from podium.limits.statusline import install, podium_command, uninstall
from podium.settings import Settings
from podium.store import Store

from .helpers import Feed, make_agent


def run_statusline(stdin: bytes, db: Path, *args: str, env: dict | None = None,
                   ) -> subprocess.CompletedProcess[bytes]:  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "podium", "statusline", "--db", str(db), *args],
        input=stdin, capture_output=True, timeout=30,
        env={**os.environ, **(env or {})},
    )  # fmt: skip


def test_end_to_end_records_67_and_prints_one_line(feed: Feed) -> None:
    now = time.time()
    agent = make_agent()
    feed.spend(0.25, session=agent.claude_session_id, cwd=agent.worktree, ts=now - 1800)
    feed.spend(0.25, session=agent.claude_session_id, cwd=agent.worktree, ts=now - 60)
    payload = {
        "session_id": "sess-1", "transcript_path": "/nowhere.jsonl", "cwd": "/w",
        "model": {"id": "claude-sonnet-4-5-20250929", "display_name": "Sonnet 4.5"},
        "workspace": {"current_dir": "/w", "project_dir": "/w"}, "version": "2.1.14",
        "cost": {"total_cost_usd": 1.234, "total_duration_ms": 1000},
        "rate_limits": {"five_hour": {"used_percentage": 67, "resets_at": int(now) + 3600},
                        "seven_day": {"used_percentage": int(now), "resets_at": int(now) + 9e4}},
    }  # fmt: skip
    proc = run_statusline(json.dumps(payload).encode(), feed.store.path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.decode().splitlines()
    assert len(lines) == 1
    line = lines[0]
    assert line.startswith("Sonnet 4.5 | session $1.23 | ")
    assert "today $0.50" in line or "today $0.25" in line  # $0.25 may fall on yesterday
    assert "block $0.50 (" in line and "m left)" in line
    assert "$1.03/h" in line  # $0.50 over 29 minutes
    assert line.endswith("Plan: 67%")
    rows = feed.store.conn.execute("SELECT source, window, used_pct FROM plan_snapshots").fetchall()
    assert rows == [("official", "five_hour", 67.0)]  # the epoch-as-percentage one is dropped
    status = LimitsEngine(feed.store, Settings()).plan_status()
    assert (status.five_hour.used_pct, status.five_hour.source) == (67.0, "official")


@pytest.mark.parametrize(
    "stdin",
    [b"", b"not json at all", b"\xff\xfe\x00garbage", b"[1, 2, 3]", b'{"model": 5, "cost": "x"}',
     b'{"rate_limits": {"five_hour": {"used_percentage": "lots"}}}', b"{" * 10000],
)
def test_garbage_stdin_still_prints_a_line_and_exits_0(tmp_path: Path, stdin: bytes) -> None:
    proc = run_statusline(stdin, tmp_path / "podium.db")
    assert proc.returncode == 0
    lines = proc.stdout.decode().splitlines()
    assert len(lines) == 1 and lines[0].strip()


def test_an_unusable_store_prints_the_minimal_line(tmp_path: Path) -> None:
    bad = tmp_path / "not-a-db"
    bad.write_bytes(b"this is not sqlite" * 100)
    payload = json.dumps({"model": {"display_name": "Opus 4.5"}}).encode()
    proc = run_statusline(payload, bad)
    assert proc.returncode == 0
    assert proc.stdout.decode().strip() == "Opus 4.5 | podium"


def test_a_locked_store_does_not_hang_claude_code(feed: Feed) -> None:
    # another writer holds the write lock for the whole run: the command must still answer
    blocker = Store(feed.store.path)
    blocker.conn.execute("BEGIN EXCLUSIVE")
    try:
        payload = {"rate_limits": {"five_hour": {"used_percentage": 10}}}
        started = time.monotonic()
        proc = run_statusline(json.dumps(payload).encode(), feed.store.path, "--timeout", "2")
        elapsed = time.monotonic() - started
    finally:
        blocker.conn.execute("ROLLBACK")
        blocker.close()
    assert proc.returncode == 0
    assert len(proc.stdout.decode().splitlines()) == 1
    assert elapsed < 25  # bounded by the deadline, not by SQLite's 30 s busy timeout


def test_a_stdin_that_never_closes_hits_the_deadline(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "podium", "statusline", "--db", str(tmp_path / "p.db"),
         "--timeout", "0.5"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        proc.stdin.write(b'{"model": {"display_name": "Haiku"}')  # never closed
        proc.stdin.flush()
        code = proc.wait(timeout=20)
        out = proc.stdout.read()
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdin.close()
    assert code == 0
    assert out.decode().strip() == "podium"


# -- --install ----------------------------------------------------------------------------------
def test_install_into_an_empty_config_dir(tmp_path: Path) -> None:
    message = install(tmp_path / "claude")
    settings = json.loads((tmp_path / "claude" / "settings.json").read_text())
    assert settings["statusLine"]["type"] == "command"
    assert settings["statusLine"]["command"] == podium_command()
    assert "installed" in message


def test_install_keeps_other_settings_and_is_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"model": "opus", "hooks": {"Stop": []}}))
    install(tmp_path)
    assert "updated" in install(tmp_path)
    settings = json.loads(path.read_text())
    assert settings["model"] == "opus" and settings["hooks"] == {"Stop": []}


def test_an_existing_statusline_is_refused_then_saved_and_restored(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    theirs = {"type": "command", "command": "npx ccstatusline"}
    path.write_text(json.dumps({"statusLine": theirs, "theme": "dark"}))
    with pytest.raises(SystemExit, match="--force"):
        install(tmp_path)
    assert json.loads(path.read_text())["statusLine"] == theirs  # untouched
    install(tmp_path, force=True)
    assert "podium" in json.loads(path.read_text())["statusLine"]["command"]
    saved = json.loads((tmp_path / "podium-statusline-previous.json").read_text())
    assert saved == {"statusLine": theirs}
    assert "restored" in uninstall(tmp_path)
    assert json.loads(path.read_text()) == {"statusLine": theirs, "theme": "dark"}


def test_uninstall_without_a_previous_entry_removes_ours_only(tmp_path: Path) -> None:
    install(tmp_path)
    uninstall(tmp_path)
    assert "statusLine" not in json.loads((tmp_path / "settings.json").read_text())
    assert "nothing changed" in uninstall(tmp_path)


def test_install_cli_uses_claude_config_dir_and_refuses_broken_json(tmp_path: Path) -> None:
    config = tmp_path / "cfg"
    config.mkdir()
    (config / "settings.json").write_text("{ broken")
    env = {"CLAUDE_CONFIG_DIR": str(config)}
    proc = run_statusline(b"", tmp_path / "p.db", "--install", env=env)
    assert proc.returncode == 1 and b"cannot read" in proc.stderr
    assert (config / "settings.json").read_text() == "{ broken"
    (config / "settings.json").unlink()
    proc = run_statusline(b"", tmp_path / "p.db", "--install", env=env)
    assert proc.returncode == 0, proc.stderr
    command = json.loads((config / "settings.json").read_text())["statusLine"]["command"]
    assert "statusline" in command and "--db" in command
    # the installed command really works as a statusLine command
    proc = subprocess.run(command, shell=True, input=b"{}", capture_output=True, timeout=30)
    assert proc.returncode == 0 and proc.stdout.strip()


def test_ingest_flag_reads_the_transcript_before_answering(tmp_path: Path) -> None:
    from podium.usage import synthetic as syn
    from podium.usage.adapters.claude import encode_cwd

    root = tmp_path / "elsewhere" / "claude"
    transcript = root / "projects" / encode_cwd("/w/p") / "sess-9.jsonl"
    transcript.parent.mkdir(parents=True)
    now_ms = int(time.time() * 1000)
    with open(transcript, "wb") as fh:
        for line in syn.assistant_lines("sess-9", "/w/p", now_ms - 1_000,
                                        "claude-haiku-4-5-20251001", syn.usage_dict(250_000, 0),
                                        streaming=False):  # fmt: skip
            fh.write(syn.dumps(line))
    payload = json.dumps({"session_id": "sess-9", "transcript_path": str(transcript)}).encode()
    db = tmp_path / "p.db"
    without = run_statusline(payload, db).stdout.decode()
    assert "today $0.00" in without
    with_ingest = run_statusline(payload, db, "--ingest").stdout.decode()
    assert "today $0.25" in with_ingest and "block $0.25" in with_ingest
    # a transcript path outside any projects/ dir is not read
    odd = tmp_path / "x.jsonl"
    odd.write_bytes(transcript.read_bytes())
    proc = run_statusline(json.dumps({"transcript_path": str(odd)}).encode(), tmp_path / "q.db",
                          "--ingest")  # fmt: skip
    assert proc.returncode == 0 and "today $0.00" in proc.stdout.decode()


def test_warm_cache_skips_pricing_and_new_entries_invalidate_it(feed: Feed) -> None:
    now = time.time()
    agent = make_agent()
    feed.spend(0.1, session=agent.claude_session_id, cwd=agent.worktree, ts=now - 120)
    probe = (
        "import sys, json; from podium.limits.statusline import build_line; "
        f"line = build_line({{}}, db={str(feed.store.path)!r}); "
        "print(json.dumps([line, 'podium.usage.pricing' in sys.modules]))"
    )

    def run() -> tuple[str, bool]:
        out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                             timeout=60, check=True).stdout  # fmt: skip
        line, priced = json.loads(out)
        return line, priced

    line, priced = run()
    assert "today $0.10" in line and priced  # computed (and cached)
    line, priced = run()
    assert "today $0.10" in line and not priced  # from the cache
    feed.spend(0.05, session=agent.claude_session_id, cwd=agent.worktree, ts=now - 60)
    line, priced = run()
    assert "today $0.15" in line and "block $0.15" in line and priced


@pytest.mark.parametrize("timeout", ["inf", "1e400", "nan", "-1", "1e12"])
def test_an_absurd_timeout_still_prints_a_line_and_exits_0(tmp_path: Path, timeout: str) -> None:
    # setitimer() raised OverflowError on inf / 1e400 before anything was printed
    payload = json.dumps({"model": {"display_name": "Opus 4.5"}}).encode()
    for argv in (["-m", "podium", "statusline"], ["-m", "podium.limits.statusline"]):
        proc = subprocess.run([sys.executable, *argv, "--db", str(tmp_path / "podium.db"),
                               "--timeout", timeout], input=payload, capture_output=True,
                              timeout=60)  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.decode().startswith("Opus 4.5 | ")
