"""`podium fake-agent` as a real process: transcript lines, stream-json, files, signals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from agents_helpers import wait_for

from podium.usage.adapters.base import LogFile
from podium.usage.adapters.claude import ClaudeCodeAdapter, encode_cwd
from podium.usage.ingest import Ingestor


def run_fake(cwd: Path, claude_dir: Path, *args: str, env: dict | None = None,
             timeout: float = 30) -> subprocess.CompletedProcess:  # fmt: skip
    full_env = os.environ | {"CLAUDE_CONFIG_DIR": str(claude_dir)} | (env or {})
    full_env.pop("ANTHROPIC_API_KEY", None) if "ANTHROPIC_API_KEY" not in (env or {}) else None
    return subprocess.run(
        [sys.executable, "-m", "podium", "fake-agent", *args], cwd=cwd, env=full_env,
        capture_output=True, timeout=timeout, check=False,
    )  # fmt: skip


def popen_fake(cwd: Path, claude_dir: Path, *args: str) -> subprocess.Popen:
    env = os.environ | {"CLAUDE_CONFIG_DIR": str(claude_dir)}
    return subprocess.Popen([sys.executable, "-m", "podium", "fake-agent", *args], cwd=cwd,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip


def transcript(claude_dir: Path, cwd: Path, session: str) -> Path:
    return claude_dir / "projects" / encode_cwd(str(cwd)) / f"{session}.jsonl"


def test_turns_write_transcript_stream_json_and_files(tmp_path: Path, claude_dir: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    proc = run_fake(work, claude_dir, "--turns", "3", "--interval", "0.01", "--session-id",
                    "sess-1", "--seed", "1")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert events[0]["type"] == "system" and events[0]["subtype"] == "init"
    assert events[0]["session_id"] == "sess-1"
    assert events[0]["cwd"] == str(work)
    assert events[0]["apiKeySource"] == "none"
    assert events[0]["model"] == "claude-sonnet-4-5-20250929"
    assert events[-1]["type"] == "result" and events[-1]["num_turns"] == 3
    assert events[-1]["is_error"] is False
    assistants = [e for e in events if e["type"] == "assistant"]
    assert len(assistants) >= 6  # streaming: several lines per message

    path = transcript(claude_dir, work, "sess-1")
    lines = path.read_bytes().splitlines()
    adapter = ClaudeCodeAdapter([str(claude_dir)])
    log = LogFile(path, encode_cwd(str(work)))
    parsed = [adapter.parse_line(line, log, 0) for line in lines]
    entries = [e for e in parsed if e is not None]
    assert len(entries) > 3  # streaming copies share a key
    keys = {e.key for e in entries}
    assert len(keys) == 3
    assert all(e.session_id == "sess-1" and e.cwd == str(work) for e in entries)
    # files were created and edited in the cwd
    assert len(list((work / "fake_agent").glob("step_*.py"))) == 3
    assert (work / "FAKE_AGENT_NOTES.md").read_text().count("\n") == 3


def test_streaming_copies_dedupe_on_ingest_and_cost_about_a_cent(
    tmp_path: Path, claude_dir: Path, store
) -> None:
    work = tmp_path / "w"
    work.mkdir()
    assert run_fake(work, claude_dir, "--turns", "4", "--interval", "0", "--session-id", "s2",
                    "--seed", "2").returncode == 0  # fmt: skip
    result = Ingestor(store, claude_config_dirs=[str(claude_dir)]).run()
    assert result.sessions == {"s2"}
    assert result.cwds == {str(work)}
    count = store.conn.execute("SELECT count(*) FROM entries WHERE session_id = 's2'").fetchone()
    assert count[0] == 4
    from podium.usage.queries import totals

    t = totals(store, session_ids=["s2"])
    assert t.messages == 4
    assert 0.02 < t.cost_usd < 0.08  # about a cent a turn


def test_api_key_in_env_shows_in_init(tmp_path: Path, claude_dir: Path) -> None:
    proc = run_fake(tmp_path, claude_dir, "--turns", "1", "--interval", "0", "--no-edits",
                    env={"ANTHROPIC_API_KEY": "sk-test"})  # fmt: skip
    init = json.loads(proc.stdout.decode().splitlines()[0])
    assert init["apiKeySource"] == "ANTHROPIC_API_KEY"
    assert not (tmp_path / "FAKE_AGENT_NOTES.md").exists()


def test_limit_error_line(tmp_path: Path, claude_dir: Path) -> None:
    proc = run_fake(tmp_path, claude_dir, "--limit-error-after", "2", "--interval", "0",
                    "--session-id", "lim")  # fmt: skip
    assert proc.returncode == 1
    last = json.loads(proc.stdout.decode().splitlines()[-1])
    assert last["type"] == "result" and last["is_error"] is True
    lines = [json.loads(x) for x in transcript(claude_dir, tmp_path, "lim").read_text().splitlines()]
    err = [x for x in lines if x.get("isApiErrorMessage")]
    assert len(err) == 1
    text = err[0]["message"]["content"][0]["text"]
    prefix, reset = text.split("|")
    assert prefix == "Claude AI usage limit reached"
    assert int(reset) > time.time()


def test_sigterm_exits_cleanly_with_whole_lines(tmp_path: Path, claude_dir: Path) -> None:
    proc = popen_fake(tmp_path, claude_dir, "--interval", "0.05", "--session-id", "term")
    path = transcript(claude_dir, tmp_path, "term")
    wait_for(lambda: path.exists() and path.stat().st_size >= 3000, message="a few turns")
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    data = path.read_bytes()
    assert data.endswith(b"\n")
    for line in data.splitlines():
        json.loads(line)
    for line in out.splitlines():
        json.loads(line)


def test_wait_after_turns_prints_result_then_waits(tmp_path: Path, claude_dir: Path) -> None:
    proc = popen_fake(tmp_path, claude_dir, "--interval", "0", "--wait-after-turns", "2")
    try:
        assert proc.stdout is not None
        kinds = []
        while True:
            line = proc.stdout.readline()
            assert line, "fake agent ended before its result line"
            kinds.append(json.loads(line)["type"])
            if kinds[-1] == "result":
                break
        # still alive, waiting for the user: no exit (nor anything else) follows the result
        with pytest.raises(subprocess.TimeoutExpired):
            proc.wait(timeout=0.3)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    assert proc.returncode == 0
    assert proc.stdout.read() == b""


def test_term_delay_keeps_running_then_exits_cleanly(tmp_path: Path, claude_dir: Path) -> None:
    proc = popen_fake(tmp_path, claude_dir, "--interval", "0.05", "--term-delay", "0.5")
    try:
        assert proc.stdout is not None
        assert json.loads(proc.stdout.readline())["subtype"] == "init"  # handlers are set
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.send_signal(signal.SIGTERM)  # a second one (group + process) changes nothing
        proc.wait(timeout=20)
        assert time.monotonic() - sent >= 0.5
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 0


@pytest.mark.parametrize("bad", [["--turns", "x"], ["--interval"]])
def test_bad_arguments_are_reported(tmp_path: Path, claude_dir: Path, bad: list[str]) -> None:
    proc = run_fake(tmp_path, claude_dir, *bad)
    assert proc.returncode == 2
    assert b"usage:" in proc.stderr
