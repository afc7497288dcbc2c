"""Usage belongs to an agent by session id or by cwd inside its worktree."""

from __future__ import annotations

import time
from pathlib import Path

from podium.agents import AgentManager
from podium.usage import synthetic as syn
from podium.usage.adapters.claude import encode_cwd
from podium.usage.ingest import Ingestor


def write_session(claude_dir: Path, cwd: str, session: str, turns: int, output: int) -> None:
    project = claude_dir / "projects" / encode_cwd(cwd)
    project.mkdir(parents=True, exist_ok=True)
    now = int(time.time() * 1000)
    with open(project / f"{session}.jsonl", "ab") as fh:
        for i in range(turns):
            usage = syn.usage_dict(10, output, 100, 1000)
            for line in syn.assistant_lines(session, cwd, now + i, "claude-sonnet-4-5-20250929",
                                            usage):  # fmt: skip
                fh.write(syn.dumps(line))


def test_attribution_by_session_and_by_cwd(store, git_repo: Path, claude_dir: Path) -> None:
    m = AgentManager(store, git_repo, claude_config_dir=claude_dir)
    try:
        agent = m.spawn("t", profile="shell", command=["sleep", "60"])
        sibling = agent.worktree + "-2"  # a sibling directory sharing the prefix
        write_session(claude_dir, str(git_repo), agent.claude_session_id or "none", 0, 1)
        write_session(claude_dir, agent.worktree + "/src", "sub-session", 2, 100)
        write_session(claude_dir, sibling, "sibling-session", 3, 1000)
        write_session(claude_dir, str(git_repo), "main-session", 4, 10_000)
        result = Ingestor(store, claude_config_dirs=[str(claude_dir)]).run()
        assert m.note_activity(result.sessions, result.cwds) == [agent.id]
        usage = m.usage(agent.id)
        assert usage.messages == 2 and usage.output == 200
        assert usage.input == 20 and usage.cache_create == 200 and usage.cache_read == 2000
        assert usage.cost_usd > 0
        assert usage.models == ["claude-sonnet-4-5-20250929"]
    finally:
        m.close()


def test_attribution_by_session_id_outside_the_worktree(
    store, git_repo: Path, claude_dir: Path
) -> None:
    m = AgentManager(store, git_repo, claude_config_dir=claude_dir)
    try:
        agent = m.spawn("t", fake_args=["--interval", "5"])
        assert agent.claude_session_id
        # e.g. the agent cd'ed elsewhere: its session id still ties the entries to it
        write_session(claude_dir, "/elsewhere", agent.claude_session_id, 2, 50)
        Ingestor(store, claude_config_dirs=[str(claude_dir)]).run()
        assert m.usage(agent.id).output >= 100
    finally:
        m.close()
