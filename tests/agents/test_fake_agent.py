"""`podium fake-agent` as a real process: transcript lines, stream-json, files, signals, and
the session surfaces (stdin messages, the permission hook, rate-limit events)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest
from agents_helpers import wait_for
from tests.claude_real.hook import ScriptedHook

from podium.agents.fake_agent import DEFAULT_MODEL
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
    # one line that says what was wrong and where the usage is (podium.cli.Parser)
    assert proc.stderr.count(b"\n") == 1 and b"podium help fake-agent" in proc.stderr


# -- the session surfaces (`--input-format stream-json`, hooks, limits) ---------------------------
class Session:
    """A fake agent in stream-json mode: messages in on stdin, events read by a thread."""

    def __init__(self, cwd: Path, claude_dir: Path, *args: str) -> None:
        env = os.environ | {"CLAUDE_CONFIG_DIR": str(claude_dir)}
        env.pop("ANTHROPIC_API_KEY", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "podium", "fake-agent", "--input-format", "stream-json",
             "--interval", "0", *args], cwd=cwd, env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        self.events: list[dict] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.events.append(json.loads(line))

    def send(self, text: str) -> None:
        assert self.proc.stdin is not None
        message = {"type": "user", "message": {"role": "user", "content": text}}
        self.proc.stdin.write((json.dumps(message) + "\n").encode())
        self.proc.stdin.flush()

    def of(self, kind: str, subtype: str | None = None) -> list[dict]:
        return [e for e in self.events
                if e["type"] == kind and (subtype is None or e.get("subtype") == subtype)]  # fmt: skip

    def wait_results(self, n: int, timeout: float = 30) -> list[dict]:
        return wait_for(lambda: len(self.of("result")) >= n and self.of("result"), timeout,
                        message=f"{n} result(s)")  # fmt: skip

    def close(self, timeout: float = 30) -> int:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        code = self.proc.wait(timeout)
        self.reader.join(10)
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture
def sessions():
    started: list[Session] = []

    def start(*args, **kw) -> Session:
        started.append(Session(*args, **kw))
        return started[-1]

    yield start
    for s in started:
        s.kill()


def test_session_takes_one_turn_per_message_and_stays_up(tmp_path: Path, claude_dir: Path,
                                                         sessions) -> None:  # fmt: skip
    s = sessions(tmp_path, claude_dir, "--session-id", "sess-s", "--steps", "2")
    with pytest.raises(subprocess.TimeoutExpired):
        s.proc.wait(timeout=0.5)
    assert s.events == []  # like the CLI: nothing until the first message
    s.send("Add a cart total")
    [first] = s.wait_results(1)
    assert first["num_turns"] == 1 and first["is_error"] is False
    assert first["result"] == "Wrote 2 files." and first["permission_denials"] == []
    assert s.proc.poll() is None  # still there for the next message
    s.send("Now the tests")
    second = s.wait_results(2)[1]
    assert second["num_turns"] == 2 and second["session_id"] == "sess-s"
    assert second["total_cost_usd"] > first["total_cost_usd"] > 0
    assert 0 < second["model_usage_since_last_result"][DEFAULT_MODEL]["costUSD"] < 0.1
    assert len(s.of("system", "init")) == 2  # one init per turn, as the CLI prints
    assert s.close() == 0  # end of input: exit 0
    assert sorted(p.name for p in (tmp_path / "fake_agent").iterdir()) == [
        "step_0001.py", "step_0002.py", "step_0003.py", "step_0004.py"]
    prompts = [json.loads(x)["message"]["content"] for x in
               transcript(claude_dir, tmp_path, "sess-s").read_text().splitlines()
               if json.loads(x).get("type") == "user"]  # fmt: skip
    assert "Add a cart total" in prompts and "Now the tests" in prompts


@pytest.mark.parametrize("behavior", ["allow", "deny"])
def test_default_mode_asks_the_permission_request_hook(tmp_path: Path, claude_dir: Path,
                                                       sessions, behavior: str) -> None:  # fmt: skip
    hook = ScriptedHook(tmp_path / "hook", {"permission_request": behavior,
                                            "reason": "denied by the user in Podium"},
                        event="PermissionRequest")  # fmt: skip
    work = tmp_path / "work"
    work.mkdir()
    s = sessions(work, claude_dir, "--settings", str(hook.settings), "--permission-mode",
                 "default", "--steps", "2")  # fmt: skip
    s.send("write it")
    [result] = s.wait_results(1)
    calls = hook.calls()
    payload = calls[0]["input"]
    assert payload["hook_event_name"] == "PermissionRequest" and payload["tool_name"] == "Write"
    assert payload["tool_input"]["file_path"] == str(work / "fake_agent" / "step_0001.py")
    assert "tool_use_id" not in payload and "permission_suggestions" in payload
    assert payload["permission_mode"] == "default" and payload["cwd"] == str(work)
    if behavior == "allow":
        assert len(calls) == 2  # asked before each Write
        assert (work / "fake_agent" / "step_0002.py").exists()
        assert s.of("system", "permission_denied") == []
    else:
        assert len(calls) == 1  # the turn ends at the deny, saying so
        assert not (work / "fake_agent").exists() and not (work / "FAKE_AGENT_NOTES.md").exists()
        [denied] = s.of("system", "permission_denied")
        assert denied["tool_name"] == "Write" and denied["decision_reason_type"] == "hook"
        assert denied["decision_reason"] == "denied by the user in Podium"
        assert result["result"] == ("I could not write fake_agent/step_0001.py: denied by the "
                                    "user in Podium")  # fmt: skip
        assert [d["tool_name"] for d in result["permission_denials"]] == ["Write"]
        [tool_result] = [b for e in s.of("user") for b in e["message"]["content"]]
        assert tool_result["is_error"] is True
    assert s.close() == 0


def test_a_blocking_hook_holds_the_agent_until_answered(tmp_path: Path, claude_dir: Path,
                                                        sessions) -> None:  # fmt: skip
    hook = ScriptedHook(tmp_path / "hook", {"block": True}, event="PermissionRequest")
    work = tmp_path / "work"
    work.mkdir()
    s = sessions(work, claude_dir, "--settings", str(hook.settings), "--permission-mode",
                 "default", "--steps", "1")  # fmt: skip
    s.send("write it")
    wait_for(hook.calls, message="the hook to be called")
    with pytest.raises(subprocess.TimeoutExpired):
        s.proc.wait(timeout=0.5)
    assert s.of("result") == [] and not (work / "fake_agent").exists()
    hook.release({"permission_request": "allow"})
    s.wait_results(1)
    assert (work / "fake_agent" / "step_0001.py").exists()
    # a SIGTERM while the hook blocks ends the hook too
    s.send("again")
    wait_for(lambda: len(hook.calls()) == 2, message="the second hook call")
    hook_pid = hook.calls()[1]["pid"]
    s.proc.send_signal(signal.SIGTERM)
    assert s.proc.wait(20) == 0
    wait_for(lambda: not psutil.pid_exists(hook_pid)
             or psutil.Process(hook_pid).status() == psutil.STATUS_ZOMBIE, message="hook gone")
    assert not (work / "fake_agent" / "step_0002.py").exists()


@pytest.mark.parametrize(("mode", "written"), [("default", False), ("acceptEdits", True),
                                               ("plan", False)])  # fmt: skip
def test_permission_modes_without_hooks(tmp_path: Path, claude_dir: Path, sessions, mode: str,
                                        written: bool) -> None:  # fmt: skip
    s = sessions(tmp_path, claude_dir, "--permission-mode", mode, "--steps", "1")
    s.send("write it")
    [result] = s.wait_results(1)
    assert (tmp_path / "fake_agent" / "step_0001.py").exists() == written
    if mode == "default":  # no hook to ask: denied, as the CLI does
        assert "haven't granted it yet" in s.of("system", "permission_denied")[0]["message"]
    if mode == "plan":
        assert result["result"] == "Here is the plan; nothing was changed."
    assert s.close() == 0


def test_podiums_event_hooks_see_the_turn(tmp_path: Path, claude_dir: Path, sessions) -> None:
    from podium.agents.hooks import HOOKS_FILE, install_hooks

    state = tmp_path / "state"
    state.mkdir()
    settings = install_hooks(state)
    s = sessions(tmp_path, claude_dir, "--settings", str(settings), "--steps", "1",
                 "--session-id", "hooked")  # fmt: skip
    s.send("a secret prompt")
    s.wait_results(1)
    assert s.close() == 0
    lines = [json.loads(x) for x in (state / HOOKS_FILE).read_text().splitlines()]
    assert [x["podium_event"] for x in lines] == ["UserPromptSubmit", "PreToolUse", "PostToolUse",
                                                  "Stop", "SessionEnd"]  # fmt: skip
    assert all(x["session_id"] == "hooked" for x in lines)
    assert "a secret prompt" not in (state / HOOKS_FILE).read_text()


def test_rate_limit_event_and_api_retries(tmp_path: Path, claude_dir: Path, sessions,
                                          store) -> None:  # fmt: skip
    s = sessions(tmp_path, claude_dir, "--rate-limit", "0.67,0.21", "--api-retries", "2",
                 "--retry-delay", "0.05", "--steps", "2", "--session-id", "limited")  # fmt: skip
    s.send("go")
    s.wait_results(1)
    s.send("again")
    s.wait_results(2)
    assert s.close() == 0
    kinds = [(e["type"], e.get("subtype")) for e in s.events]
    retries = s.of("system", "api_retry")
    assert [r["attempt"] for r in retries] == [1, 2]  # the first turn only
    assert all(r["error_status"] == 429 and r["error"] == "rate_limit" for r in retries)
    assert kinds.index(("system", "api_retry")) < kinds.index(("assistant", None))
    [event] = s.of("rate_limit_event")  # once: the figures did not change
    windows = event["rate_limit_info"]["unifiedWindows"]
    assert windows["five_hour"]["utilization"] == 0.67
    assert windows["seven_day"]["utilization"] == 0.21
    assert windows["five_hour"]["resetsAt"] > time.time() + 3600
    assert "resetsAt" not in event["rate_limit_info"]  # as the CLI: only inside the windows
    # the transcript's api_error lines are no usage: ingest counts the replies alone
    errors = [x for x in transcript(claude_dir, tmp_path, "limited").read_text().splitlines()
              if '"api_error"' in x]  # fmt: skip
    assert len(errors) == 2
    Ingestor(store, claude_config_dirs=[str(claude_dir)]).run()
    count = store.conn.execute("SELECT count(*) FROM entries WHERE session_id = 'limited'")
    assert count.fetchone()[0] == 6  # 2 turns x (2 writes + the closing reply)


def test_steps_zero_is_a_turn_without_end(tmp_path: Path, claude_dir: Path, sessions) -> None:
    s = sessions(tmp_path, claude_dir, "--steps", "0", "--interval", "0.02")
    s.send("keep going")
    wait_for(lambda: len(list((tmp_path / "fake_agent").glob("step_*.py"))) >= 5
             if (tmp_path / "fake_agent").exists() else False, message="five steps")  # fmt: skip
    s.proc.send_signal(signal.SIGTERM)
    assert s.proc.wait(20) == 0
    s.reader.join(10)
    assert s.of("result") == []


def test_resume_continues_the_session(tmp_path: Path, claude_dir: Path, sessions) -> None:
    s = sessions(tmp_path, claude_dir, "--session-id", "res", "--steps", "1")
    s.send("one")
    [first] = s.wait_results(1)
    assert s.close() == 0
    again = sessions(tmp_path, claude_dir, "--resume", "res", "--steps", "1")
    again.send("two")
    [second] = again.wait_results(1)
    assert again.close() == 0
    assert second["session_id"] == "res"
    assert second["total_cost_usd"] > first["total_cost_usd"]  # carried on, not from zero
    assert (tmp_path / "fake_agent" / "step_0002.py").exists()  # numbering goes on
    files = list((claude_dir / "projects" / encode_cwd(str(tmp_path))).glob("*.jsonl"))
    assert [f.name for f in files] == ["res.jsonl"]


@pytest.mark.parametrize(("args", "error"), [
    (["--settings", "/nonexistent/settings.json"], b"cannot read settings"),
    (["--rate-limit", "67,21"], b"fractions between 0 and 1"),
])  # fmt: skip
def test_bad_session_arguments_are_reported(tmp_path: Path, claude_dir: Path, args: list[str],
                                            error: bytes) -> None:  # fmt: skip
    proc = run_fake(tmp_path, claude_dir, "--input-format", "stream-json", *args)
    assert proc.returncode in (1, 2)
    assert error in proc.stderr
