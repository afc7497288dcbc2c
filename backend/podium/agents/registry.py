"""`AgentRegistry`: the in-memory map of agent records and its lock, plus the two ways state
leaves it: the agent's row in the store and the `on_change` listener.

The rule (docs/architecture.md, "Threads and locks"): `lock` guards only the map and the
records' fields. It is held for short in-memory work and never across a process call, a git
call, a SQLite write or a listener. What touches one agent's process, worktree or event files
runs under that agent's `op_lock` (`operation`), which other agents never wait for.

Ownership (`podium.agents.ownership`): only the manager that owns the repository's agents
writes their rows or operates on them; a read-only one re-reads the rows (`refresh`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from podium.agents.models import Agent
from podium.agents.record import AgentRecord
from podium.errors import NotFound
from podium.store.agents_repo import AgentsRepo

if TYPE_CHECKING:
    from podium.agents.ownership import Ownership

log = logging.getLogger(__name__)


def _not_found(agent_id: object) -> NotFound:
    return NotFound(f"unknown agent id {agent_id!r}", field="agentId")


class AgentRegistry:
    def __init__(self, rows: AgentsRepo, on_change: Callable[[Agent], None] | None) -> None:
        self.rows = rows
        self.on_change = on_change
        self.lock = threading.Lock()
        self._records: dict[str, AgentRecord] = {}
        self.repo = ""
        #: None: this registry owns its agents unconditionally (no store lock)
        self.ownership: Ownership | None = None
        #: what a manager does when it takes the agents over (re-attach), see `require_owner`
        self.take_over: Callable[[], None] = lambda: None

    # -- ownership -------------------------------------------------------------------------------
    @property
    def owns(self) -> bool:
        return self.ownership is None or self.ownership.owns

    def require_owner(self) -> None:
        """Return when this manager may control the agents (taking them over if their owner is
        gone); NotOwner when another Podium process owns them."""
        ownership = self.ownership
        if ownership is not None and not ownership.ensure(self.take_over):
            raise ownership.error()

    # -- the map ---------------------------------------------------------------------------------
    def load(self, repo: str) -> None:
        """The repository's stored agents (at start, before anything else runs)."""
        self.repo = repo
        for row in self.rows.load(repo):
            record = AgentRecord.from_row(row)
            record.saved_row = record.row()
            self._records[record.id] = record

    def refresh(self) -> list[AgentRecord]:
        """Re-read the agents' rows (a read-only manager, or one taking over): new agents
        appear, changed ones are updated in place (their `op_lock` stays), removed ones go.
        Returns the records that changed."""
        rows = self.rows.load(self.repo)
        changed: list[AgentRecord] = []
        with self.lock:
            seen = set()
            for row in rows:
                fresh = AgentRecord.from_row(row)
                fresh.saved_row = fresh.row()
                seen.add(fresh.id)
                record = self._records.get(fresh.id)
                if record is None:
                    self._records[fresh.id] = fresh
                    changed.append(fresh)
                elif record.handle is None and record.saved_row != fresh.saved_row:
                    _adopt(record, fresh)
                    changed.append(record)
            for agent_id in [i for i in self._records if i not in seen]:
                self._records.pop(agent_id).removed = True
        return changed

    def add(self, record: AgentRecord) -> None:
        """A new agent: its row is inserted, then it is visible."""
        record.saved_row = record.row()
        self.rows.insert(record.saved_row)
        with self.lock:
            self._records[record.id] = record

    def drop(self, record: AgentRecord, at: float) -> None:
        """A removed agent: its row is flagged, it disappears from the map."""
        self.rows.mark_removed(record.id, at)
        with self.lock:
            record.removed = True
            self._records.pop(record.id, None)

    def get(self, agent_id: str) -> AgentRecord:
        """The record of `agent_id`; NotFound when there is none."""
        with self.lock:
            record = self.find_locked(agent_id)
        if record is None:
            raise _not_found(agent_id)
        return record

    def find_locked(self, agent_id: str) -> AgentRecord | None:
        """The record of `agent_id` or None (`lock` held)."""
        return self._records.get(agent_id) if isinstance(agent_id, str) else None

    def records(self) -> list[AgentRecord]:
        with self.lock:
            return list(self._records.values())

    def records_locked(self) -> list[AgentRecord]:
        return list(self._records.values())

    def snapshot(self, record: AgentRecord) -> Agent:
        with self.lock:
            return record.snapshot()

    def snapshots(self) -> list[Agent]:
        with self.lock:
            return [record.snapshot() for record in self._records.values()]

    def worktrees(self) -> dict[str, str]:
        with self.lock:
            return {aid: record.agent.worktree for aid, record in self._records.items()}

    # -- one agent at a time ---------------------------------------------------------------------
    @contextlib.contextmanager
    def operation(self, record: AgentRecord) -> Iterator[None]:
        """This agent's operations one at a time (other agents' are not held up)."""
        self.require_owner()
        with record.op_lock:
            if record.removed:  # removed while this operation waited
                raise _not_found(record.id)
            yield

    # -- ways out ----------------------------------------------------------------------------------
    def persist(self, record: AgentRecord) -> None:
        """Write the record's row if it changed: outside `lock`, never an older snapshot over
        a newer one. Only the owner writes rows."""
        if self.ownership is not None and not self.ownership.claimed:
            return
        with self.lock:
            row = record.row()
            record.snapshots += 1
            seq = record.snapshots
        with record.save_lock:
            if seq <= record.saved:
                return  # a newer snapshot is already written
            record.saved = seq
            if row == record.saved_row:
                return
            self.rows.update(record.id, row)
            record.saved_row = row

    def notify(self, records: list[AgentRecord]) -> None:
        """Hand each changed agent's snapshot to the listener (no lock held)."""
        callback = self.on_change
        if callback is None:
            return
        seen: set[str] = set()
        for record in records:
            if record.id in seen:
                continue
            seen.add(record.id)
            snapshot = self.snapshot(record)
            try:
                callback(snapshot)
            except Exception:  # a broken listener must not break supervision
                log.exception("on_change listener failed")


#: what a record keeps when `refresh` updates it from its row
_KEPT = frozenset({"op_lock", "save_lock", "snapshots", "saved", "handle", "removed"})


def _adopt(record: AgentRecord, fresh: AgentRecord) -> None:
    """`record` takes `fresh`'s state (from its row), keeping its locks (lock held)."""
    for f in dataclasses.fields(AgentRecord):
        if f.name not in _KEPT:
            setattr(record, f.name, getattr(fresh, f.name))
