"""A real store fed by real (fake) Claude Code transcripts, and agent snapshots."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from podium.agents.models import Agent, AgentStatus
from podium.store import Store
from podium.usage import synthetic as syn
from podium.usage.adapters.claude import ClaudeCodeAdapter, encode_cwd
from podium.usage.ingest import Ingestor
from podium.usage.queries import UsageTotals, totals

#: a fixed "now" (2026-11-23T02:13:20Z); tests pass it explicitly, so the clock never matters
NOW = 1_795_400_000.0
HAIKU = "claude-haiku-4-5-20251001"  # $1 per million input tokens: 10,000 input = $0.01


class Feed:
    """Writes transcript lines the way Claude Code does and ingests them into the store."""

    def __init__(self, root: Path, store: Store) -> None:
        self.root = root
        self.store = store
        self.ingestor = Ingestor(store, [ClaudeCodeAdapter([str(root)])])

    def spend(self, usd: float, *, session: str, cwd: str, ts: float, model: str = HAIKU) -> None:
        """One streamed assistant message costing `usd` (Haiku input tokens only)."""
        tokens = round(usd * 1_000_000)
        path = self.root / "projects" / encode_cwd(cwd) / f"{session}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = syn.assistant_lines(session, cwd, int(ts * 1000), model,
                                    syn.usage_dict(tokens, 0), streaming=False)  # fmt: skip
        with open(path, "ab") as fh:
            for line in lines:
                fh.write(syn.dumps(line))
        self.ingestor.run()

    def usage_of(self, agent: Agent) -> UsageTotals:
        return totals(self.store, agents=[agent])


@pytest.fixture
def feed(tmp_path: Path) -> Iterator[Feed]:
    root = tmp_path / "claude"
    (root / "projects").mkdir(parents=True)
    store = Store(tmp_path / "podium.db")
    yield Feed(root, store)
    store.close()


def make_agent(agent_id: str = "ag-1", name: str = "alpha", *, status: str = "working",
               session: str | None = None, worktree: str = "/work/repo/.podium/worktrees/alpha",
               limit_usd: float | None = None, source: str = "subscription") -> Agent:  # fmt: skip
    return Agent(
        id=agent_id, name=name, task="t", status=AgentStatus(status), status_since=time.time(),
        status_reason=None, started_at=NOW - 3600, repo="/work/repo", worktree=worktree,
        branch=f"podium/{name}", base_ref="HEAD", base_commit="0" * 40, profile="fake",
        command=["fake"], pid=None, claude_session_id=session or f"sess-{agent_id}",
        source=source, model=None, exit_code=None, limit_usd=limit_usd, state_dir="/tmp/x",
    )  # fmt: skip


def insert_agent_row(store: Store, agent: Agent, source: str | None = None) -> None:
    """The agents table row the agent manager would write (for attribution queries)."""
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO agents(id, name, task, repo, worktree, branch, profile, state_dir, "
            "claude_session_id, source, status, status_since, started_at, limit_usd) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (agent.id, agent.name, agent.task, agent.repo, agent.worktree, agent.branch,
             agent.profile, agent.state_dir, agent.claude_session_id, source or agent.source,
             str(agent.status), agent.status_since, agent.started_at, agent.limit_usd),
        )  # fmt: skip
