"""SQL of the `owners` table: which Podium process supervises a repository's agents (see
`podium.agents.ownership`). One row per repository, taken in one write transaction."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import astuple, dataclass

from podium.store.db import Store

_COLUMNS = "repo, pid, create_time, host, token, since, heartbeat"


@dataclass(frozen=True, slots=True)
class OwnerRow:
    repo: str
    pid: int
    create_time: float
    host: str
    token: str
    since: float
    heartbeat: float


class OwnersRepo:
    def __init__(self, store: Store) -> None:
        self.store = store

    def get(self, repo: str) -> OwnerRow | None:
        with self.store.lock:
            row = self.store.conn.execute(
                f"SELECT {_COLUMNS} FROM owners WHERE repo = ?", (repo,)
            ).fetchone()
        return OwnerRow(*row) if row else None

    def claim(self, me: OwnerRow, is_stale: Callable[[OwnerRow], bool]) -> OwnerRow:
        """Take the repository for `me` unless a live owner holds it; returns the owner after
        the attempt (`me` when taken). Checked and written in one write transaction, so two
        processes claiming at once never both win."""
        with self.store.transaction() as conn:
            row = conn.execute(f"SELECT {_COLUMNS} FROM owners WHERE repo = ?",
                               (me.repo,)).fetchone()  # fmt: skip
            current = OwnerRow(*row) if row else None
            if current is not None and current.token != me.token and not is_stale(current):
                return current
            conn.execute(f"INSERT OR REPLACE INTO owners({_COLUMNS}) VALUES (?,?,?,?,?,?,?)",
                         astuple(me))  # fmt: skip
            return me

    def heartbeat(self, repo: str, token: str, now: float) -> bool:
        """Refresh the owner's heartbeat; False when `token` no longer owns the repository."""
        with self.store.transaction() as conn:
            cursor = conn.execute("UPDATE owners SET heartbeat = ? WHERE repo = ? AND token = ?",
                                  (now, repo, token))  # fmt: skip
            return cursor.rowcount == 1

    def release(self, repo: str, token: str) -> None:
        with self.store.transaction() as conn:
            conn.execute("DELETE FROM owners WHERE repo = ? AND token = ?", (repo, token))
