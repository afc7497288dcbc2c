"""A store with known history, written the real way: Claude Code transcripts ingested by the
Ingestor (or by `podium serve`), agents rows through AgentsRepo, plan figures through
`plans.record_snapshots`. Shared by the history and insights tests."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from podium.limits import plans
from podium.store import Store
from podium.store.agents_repo import AgentsRepo
from podium.usage import synthetic as syn
from podium.usage.adapters.claude import encode_cwd
from podium.usage.ingest import Ingestor

SONNET = "claude-sonnet-4-5-20250929"
OPUS = "claude-opus-4-5-20251101"


def ms(text: str) -> int:
    """`2026-03-28T23:30` (UTC) → epoch ms."""
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


def write_session(claude_dir: Path, cwd: str, session: str,
                  requests: list[tuple[int, str, tuple[int, int, int, int]]]) -> Path:  # fmt: skip
    """One transcript: a user line and an assistant message per (ts ms, model, (input, output,
    cache write, cache read))."""
    path = claude_dir / "projects" / encode_cwd(cwd) / f"{session}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("ab") as fh:
        for ts, model, (i, o, cw, cr) in requests:
            fh.write(syn.dumps(syn.user_line(session, cwd, ts - 1000, "go")))
            for line in syn.assistant_lines(session, cwd, ts, model,
                                            syn.usage_dict(i, o, cw, cr), streaming=False):  # fmt: skip
                fh.write(syn.dumps(line))
    return path


def add_agent(store: Store, agent_id: str, name: str, *, worktree: str, session: str | None,
              task: str = "a task", source: str = "subscription", diff: tuple[int, int] = (0, 0),
              started_at: float, ended_at: float | None = None, status: str = "exited",
              repo: str = "/seed/repo", model: str | None = None) -> None:  # fmt: skip
    row: dict[str, Any] = {
        "id": agent_id, "name": name, "task": task, "repo": repo, "worktree": worktree,
        "branch": f"podium/{name}", "base_ref": "main", "base_commit": "0" * 40,
        "profile": "claude", "state_dir": f"/seed/state/{agent_id}", "started_at": started_at,
        "pid_create_time": None, "source_override": None, "claude_session_id": session,
        "pid": None, "source": source, "model": model, "status": status,
        "status_since": ended_at or started_at, "status_reason": None, "exit_code": 0,
        "ended_at": ended_at, "limit_usd": None, "command": ["claude"],
        "extra": {"diff": [diff[0], diff[1], 1]},
    }  # fmt: skip
    AgentsRepo(store).insert(row)


def set_status(store: Store, agent_id: str, status: str, at: float, *, repo: str = "/seed/repo",
               reason: str | None = None) -> None:
    """A status change the way the manager persists it: the agent's row through AgentsRepo
    (whose triggers write the status history)."""
    rows = AgentsRepo(store)
    (row,) = [r for r in rows.load(repo) if r["id"] == agent_id]
    row.update(status=status, status_since=at, status_reason=reason)
    rows.update(agent_id, row)


def add_plan(store: Store, window: str, used_pct: float, at_ms: int, source: str = "official") -> None:
    fig = plans.Figure(window, used_pct, at_ms / 1000 + 3600)
    assert plans.record_snapshots(store, source, [fig], now=at_ms / 1000) == 1


def ingest(store: Store, claude_dir: Path) -> None:
    result = Ingestor(store, claude_config_dirs=[str(claude_dir)]).run()
    assert not result.errors, result.errors


def dump(obj: Any) -> str:
    return json.dumps(obj, indent=1, sort_keys=True)
