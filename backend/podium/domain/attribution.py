"""Which usage is an agent's: the entries of its Claude session, or with a cwd inside its
worktree (the worktree itself or below it, not a sibling such as `alpha-2`).

One rule, in two forms that must agree: `touched` in Python (after an ingest: which agents saw
new entries) and `owned_sql` in SQL (totals, budgets, API spend). Paths use `/`: Podium runs on
POSIX and the stored cwds are POSIX paths.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing stays unimported: `podium statusline` reaches this via queries
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Protocol

    class AgentKeys(Protocol):
        """What attribution reads of an agent (agents.Agent has both)."""

        @property
        def claude_session_id(self) -> str | None: ...

        @property
        def worktree(self) -> str | None: ...


class Owner:
    """An agent's keys when only they were read (e.g. a row of the agents table)."""

    __slots__ = ("claude_session_id", "worktree")

    def __init__(self, claude_session_id: str | None, worktree: str | None) -> None:
        self.claude_session_id = claude_session_id
        self.worktree = worktree


def inside(path: str | None, directory: str | None) -> bool:
    """`path` is `directory` or lies below it."""
    if not path or not directory:
        return False
    directory = directory.rstrip("/")
    return path == directory or path.startswith(directory + "/")


def touched(agent: AgentKeys, session_ids: Iterable[str], cwds: Iterable[str]) -> bool:
    """Entries of these sessions or cwds include some of `agent`'s."""
    if agent.claude_session_id and agent.claude_session_id in set(session_ids):
        return True
    return any(inside(cwd, agent.worktree) for cwd in cwds)


def owner_keys(agents: Iterable[AgentKeys]) -> tuple[list[str], list[str]]:
    """(session ids, worktrees) of `agents`: what `owned_sql` matches."""
    agents = list(agents)
    sessions = [a.claude_session_id for a in agents if a.claude_session_id]
    worktrees = [a.worktree for a in agents if a.worktree]
    return sessions, worktrees


def owned_sql(session_ids: Iterable[str], worktrees: Iterable[str]) -> tuple[str, list[str]]:
    """An SQL condition over `entries` (session_id, cwd) true for the entries of these sessions
    or inside these directories, and its parameters; false (`0`) when there are none."""
    owners: list[str] = []
    params: list[str] = []
    sessions = [s for s in session_ids if s]
    if sessions:
        owners.append(f"session_id IN ({', '.join('?' * len(sessions))})")
        params.extend(sessions)
    for directory in worktrees:
        if not directory:
            continue
        directory = directory.rstrip("/")
        # a range keeps the index usable: "0" sorts right after "/"
        owners.append("(cwd = ? OR (cwd >= ? AND cwd < ?))")
        params.extend([directory, directory + "/", directory + "0"])
    return "(" + (" OR ".join(owners) if owners else "0") + ")", params
