"""Agent state from the process, stream-json, hooks and ingest activity; source detection."""

from __future__ import annotations

import json
import os
import sys
import textwrap
from pathlib import Path

import pytest
from agents_helpers import wait_for

from podium.agents import AgentManager, AgentStatus


@pytest.fixture
def manager(store, git_repo: Path, claude_dir: Path):
    m = AgentManager(store, git_repo, claude_config_dir=claude_dir, idle_after=0.5)
    yield m
    m.close()


def status_after_poll(manager: AgentManager, agent_id: str) -> AgentStatus:
    manager.poll()
    return manager.get(agent_id).status


def test_result_line_means_waiting(manager: AgentManager) -> None:
    agent = manager.spawn("t", fake_args=["--interval", "0.05", "--wait-after-turns", "2"])
    wait_for(lambda: status_after_poll(manager, agent.id) == AgentStatus.WAITING,
             message="waiting")  # fmt: skip
    got = manager.get(agent.id)
    assert got.status_since >= got.started_at
    assert got.pid and got.exit_code is None


def test_exit_after_turns_records_exit_code(manager: AgentManager) -> None:
    agent = manager.spawn("t", fake_args=["--interval", "0.01", "--turns", "2"])
    wait_for(lambda: status_after_poll(manager, agent.id) == AgentStatus.EXITED,
             message="exited")  # fmt: skip
    got = manager.get(agent.id)
    assert got.exit_code == 0 and got.status_reason is None
    with pytest.raises(Exception, match="not running"):
        manager.resume(agent.id)


def test_usage_limit_error_is_an_error_state(manager: AgentManager) -> None:
    agent = manager.spawn("t", fake_args=["--interval", "0.01", "--limit-error-after", "1"])

    def ended() -> bool:
        manager.poll()
        return manager.get(agent.id).exit_code is not None

    wait_for(ended, message="agent to end")
    got = manager.get(agent.id)
    assert got.status == AgentStatus.ERROR
    assert got.status_reason.startswith("usage limit reached; resets ")
    assert got.exit_code == 1


def test_activity_marks_working_then_idle(manager: AgentManager) -> None:
    agent = manager.spawn("t", profile="shell", command=["sleep", "30"])
    assert manager.get(agent.id).status == AgentStatus.STARTING
    # an ingest saw an entry whose cwd is inside the worktree
    matched = manager.note_activity(set(), {os.path.join(agent.worktree, "src")})
    assert matched == [agent.id]
    assert manager.get(agent.id).status == AgentStatus.WORKING
    assert manager.note_activity({"other-session"}, {agent.worktree + "-2"}) == []
    wait_for(lambda: status_after_poll(manager, agent.id) == AgentStatus.IDLE, message="idle")


def test_note_activity_matches_session_ids(manager: AgentManager) -> None:
    agent = manager.spawn("t", fake_args=["--interval", "5"])
    assert manager.note_activity({agent.claude_session_id}, set()) == [agent.id]
    assert manager.get(agent.id).status == AgentStatus.WORKING


FAKE_CLAUDE = textwrap.dedent("""\
    import json, subprocess, sys, time
    args = sys.argv[1:]
    open(sys.argv[0] + ".argv", "w").write(json.dumps(args))
    opt = lambda name: args[args.index(name) + 1]
    session = opt("--session-id")
    hooks = json.load(open(opt("--settings")))["hooks"]
    def hook(event, **extra):
        payload = {"session_id": session, "transcript_path": "/x.jsonl", "cwd": ".",
                   "hook_event_name": event, **extra}
        for group in hooks[event]:
            for h in group["hooks"]:
                subprocess.run(h["command"], shell=True, input=json.dumps(payload).encode(),
                               check=True)
    def out(obj):
        sys.stdout.write(json.dumps(obj) + "\\n"); sys.stdout.flush()
    message = json.loads(sys.stdin.readline())  # the task: the first message on stdin
    open(sys.argv[0] + ".stdin", "w").write(json.dumps(message))
    out({"type": "system", "subtype": "init", "session_id": session, "model": "claude-opus-4-5",
         "cwd": ".", "apiKeySource": "none"})
    hook("UserPromptSubmit", prompt=message["message"]["content"])
    hook("Stop")
    time.sleep(60)  # alive, waiting for the user
""")


def test_claude_profile_command_line_and_hooks(manager: AgentManager, tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    claude = bin_dir / "claude"
    claude.write_text(f"#!{sys.executable}\n" + FAKE_CLAUDE)
    claude.chmod(0o755)
    env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    env.update({"ANTHROPIC_API_KEY": "", "ANTHROPIC_BASE_URL": ""})
    # a task that looks like an option ("-c" would continue another session) stays the prompt
    agent = manager.spawn("-c secret task text", profile="claude", env=env)
    argv = json.loads(wait_for(lambda: (bin_dir / "claude.argv").exists()
                               and (bin_dir / "claude.argv").read_text()))  # fmt: skip
    assert argv[0] == "-p"
    assert not any("secret task text" in a for a in argv)  # never in the process list
    assert argv[argv.index("--session-id") + 1] == agent.claude_session_id
    assert argv[argv.index("--input-format") + 1] == "stream-json"
    assert argv[argv.index("--output-format") + 1] == "stream-json"
    assert argv[argv.index("--permission-mode") + 1] == "default"
    assert "--verbose" in argv
    settings = Path(argv[argv.index("--settings") + 1])
    assert settings.parent == Path(agent.state_dir)
    assert "PermissionRequest" in json.loads(settings.read_text())["hooks"]
    assert not any("secret task text" in a for a in agent.command)
    # the task is the first user message on the session's stdin
    message = json.loads(wait_for(lambda: (bin_dir / "claude.stdin").exists()
                                  and (bin_dir / "claude.stdin").read_text()))  # fmt: skip
    assert message == {"type": "user",
                       "message": {"role": "user", "content": "-c secret task text"}}

    wait_for(lambda: status_after_poll(manager, agent.id) == AgentStatus.WAITING,
             message="Stop hook → waiting")  # fmt: skip
    got = manager.get(agent.id)
    assert got.model == "claude-opus-4-5"
    assert got.source == "subscription"
    hook_lines = (Path(agent.state_dir) / "hooks.jsonl").read_text()
    assert "UserPromptSubmit" in hook_lines and "Stop" in hook_lines
    assert "secret task text" not in hook_lines  # prompt text is never kept


@pytest.mark.parametrize(
    ("env", "override", "expected"),
    [
        ({"ANTHROPIC_API_KEY": "sk-ant-test"}, None, "api"),
        ({"ANTHROPIC_BASE_URL": "http://127.0.0.1:9"}, None, "proxy"),
        ({"ANTHROPIC_API_KEY": "sk-ant-test"}, "subscription", "subscription"),
        ({"ANTHROPIC_API_KEY": ""}, None, "subscription"),
    ],
)
def test_source_on_spawn(manager: AgentManager, env, override, expected) -> None:
    env = {"ANTHROPIC_API_KEY": "", "ANTHROPIC_BASE_URL": ""} | env
    agent = manager.spawn("t", env=env, source=override, fake_args=["--turns", "1"])
    assert agent.source == expected

    def init_read() -> bool:
        manager.poll()
        return manager.get(agent.id).model is not None

    wait_for(init_read, message="init line")  # apiKeySource seen: the source must not change
    assert manager.get(agent.id).source == expected


def test_env_is_passed_through(manager: AgentManager, claude_dir: Path) -> None:
    script = "import os; open('env.json','w').write(__import__('json').dumps(dict(os.environ)))"
    agent = manager.spawn("t", profile="shell", command=[sys.executable, "-c", script],
                          env={"PODIUM_TEST_VAR": "x y"})  # fmt: skip
    path = Path(agent.worktree) / "env.json"
    env = json.loads(wait_for(lambda: path.exists() and path.read_text()))
    assert env["PODIUM_TEST_VAR"] == "x y"
    assert env["PODIUM_AGENT_ID"] == agent.id
    assert env["PATH"] == os.environ["PATH"]
    assert os.path.realpath(env.get("PWD", agent.worktree)) == os.path.realpath(agent.worktree)
    # the fake profile gets the configured Claude config dir
    fake = manager.spawn("t", fake_args=["--turns", "1", "--interval", "0"])
    wait_for(lambda: list((claude_dir / "projects").glob(f"*/{fake.claude_session_id}.jsonl")),
             message="fake transcript in the configured dir")  # fmt: skip
