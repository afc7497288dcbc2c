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
    from typing import Any, Protocol

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


class OwnerIndex:
    """The one agent an entry belongs to, for per-agent breakdowns (metrics labels, history,
    insights, export): the agent of its session id, else the agent whose worktree holds its cwd
    (the deepest, when one worktree lies inside another). Resolved once per distinct cwd.

    `agents` are (value, session id, worktree) triples; `owner` returns the value or None.
    `case_sql` is the same rule as an SQL CASE over `entries` for exports."""

    def __init__(self, agents: Iterable[tuple[Any, str | None, str | None]]) -> None:
        agents = list(agents)
        self.by_session: dict[str, Any] = {}
        for value, session, _worktree in agents:
            if session:
                self.by_session.setdefault(session, value)
        self.worktrees = sorted(((w.rstrip("/"), v) for v, _s, w in agents if w),
                                key=lambda item: -len(item[0]))  # fmt: skip
        self._by_cwd: dict[str | None, Any] = {}

    def owner(self, session: str | None, cwd: str | None) -> Any:
        if session and session in self.by_session:
            return self.by_session[session]
        try:
            return self._by_cwd[cwd]
        except KeyError:
            pass
        found = None
        if cwd:
            for worktree, value in self.worktrees:
                if inside(cwd, worktree):
                    found = value
                    break
        self._by_cwd[cwd] = found
        return found

    def case_sql(self) -> tuple[str, list[Any]]:
        """`CASE … END` naming each entry's owner value ('' for none), and its parameters."""
        parts: list[str] = []
        params: list[Any] = []
        for session, value in self.by_session.items():
            parts.append("WHEN session_id = ? THEN ?")
            params.extend([session, value])
        for worktree, value in self.worktrees:
            # a range keeps the index usable: "0" sorts right after "/"
            parts.append("WHEN cwd = ? OR (cwd >= ? AND cwd < ?) THEN ?")
            params.extend([worktree, worktree + "/", worktree + "0", value])
        if not parts:
            return "''", []
        return "CASE " + " ".join(parts) + " ELSE '' END", params
