"""Supervision of the agents' process trees: pause, resume and stop them, reap the ones that
ended, apply what they say (events → `reducer`), notice idleness, re-attach after a restart.

Process calls (signals, waits, the pause wait, terminate) run under the agent's `op_lock`
only; the registry's lock is taken for the state change that follows, never around them.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable

from podium.agents import reducer
from podium.agents.events import Event, TurnResult
from podium.agents.keeper_link import Ended, read_exit
from podium.agents.models import TERMINAL_STATUSES, Agent, AgentStatus
from podium.agents.permissions import deny_pending
from podium.agents.process import PODIUM_GONE_REASON, ProcessHandle, exit_reason
from podium.agents.record import AgentRecord
from podium.agents.registry import AgentRegistry
from podium.domain.attribution import touched
from podium.errors import AgentError
from podium.redact import scrub
from podium.usage.reported import ReportedCost, record_reported_cost

log = logging.getLogger(__name__)

#: how long a pause waits for every process of the tree to be stopped
PAUSE_WAIT_S = 3.0


class Supervisor:
    def __init__(self, registry: AgentRegistry, *, stop_grace: float, idle_after: float,
                 keep_running: bool = False) -> None:  # fmt: skip
        self.registry = registry
        self.lock = registry.lock
        self.stop_grace = stop_grace
        self.idle_after = idle_after
        #: called by `poll` for each live agent after its events (its `op_lock` held): sends a
        #: queued message once a turn ended (`Sessions.flush`); True when it did something
        self.after_events: Callable[[AgentRecord], bool] | None = None
        #: agents outlive this Podium (their keepers are told; see `set_keep_running`)
        self.keep_running = keep_running

    def set_keep_running(self, keep: bool) -> None:
        self.keep_running = keep
        for record in self.registry.records():
            handle = record.handle
            if handle is not None and not record.removed:
                with record.op_lock:
                    handle.set_mode(keep)

    # -- control ------------------------------------------------------------------------------
    def pause(self, agent_id: str, reason: str | None) -> Agent:
        record = self.registry.get(agent_id)
        with self.registry.operation(record):
            with self.lock:
                if record.agent.status == AgentStatus.PAUSED:
                    return record.snapshot()
            handle = self._running_handle(record, "pause")
            handle.pause(wait=PAUSE_WAIT_S)
            with self.lock:
                record.resume_status = record.agent.status
                record.set_status(AgentStatus.PAUSED, scrub(reason) if reason else None)
            self.registry.persist(record)
        self.registry.notify([record])
        return self.registry.snapshot(record)

    def resume(self, agent_id: str) -> Agent:
        record = self.registry.get(agent_id)
        with self.registry.operation(record):
            handle = self._running_handle(record, "resume")
            with self.lock:
                if record.agent.status != AgentStatus.PAUSED:
                    return record.snapshot()
            handle.resume()
            with self.lock:
                back = record.resume_status
                if back in (AgentStatus.PAUSED, AgentStatus.STARTING) or back in TERMINAL_STATUSES:
                    back = AgentStatus.WORKING
                record.last_activity = time.time()
                if record.pending:  # answers given while paused were not read yet
                    record.set_status(AgentStatus.WAITING, reducer.pending_reason(record))
                else:
                    record.set_status(back, None)
            self.registry.persist(record)
        self.registry.notify([record])
        return self.registry.snapshot(record)

    def stop(self, agent_id: str) -> Agent:
        record = self.registry.get(agent_id)
        with self.registry.operation(record):
            was_running = self.stop_locked(record)
        if was_running:
            self.registry.notify([record])
        return self.registry.snapshot(record)

    def stop_locked(self, record: AgentRecord) -> bool:
        """Terminate the agent's tree (its `op_lock` held); True when it was running."""
        handle = record.handle
        if handle is None or handle.finished or not handle.poll():
            if handle is not None:
                handle.terminate(self.stop_grace)  # what it left in its process group
            with self.lock:
                record.finish()
            self.registry.persist(record)
            return False
        deny_pending(record, self.registry)  # the hooks may read it before the TERM lands
        code = handle.terminate(self.stop_grace)
        self.drain(record)
        with self.lock:
            record.agent.exit_code = code
            record.agent.ended_at = time.time()
            record.set_status(AgentStatus.STOPPED, "stopped by the user")
        self.registry.persist(record)
        return True

    def _running_handle(self, record: AgentRecord, action: str) -> ProcessHandle:
        handle = record.handle
        if handle is None or handle.finished or not handle.poll():
            with self.lock:
                if handle is not None and handle.finished:
                    record.finish()
                status = record.agent.status.value
            self.registry.persist(record)
            raise AgentError(f"cannot {action} agent {record.agent.name}: it is not running "
                             f"({status})", field="agentId")  # fmt: skip
        return handle

    def drain(self, record: AgentRecord) -> None:
        """Apply the agent's new events (its `op_lock` held)."""
        events = record.events.read()
        if events:
            now = time.time()
            with self.lock:
                for event in events:
                    reducer.apply(record, event, now)
            self._keep_reported_costs(events)

    def _keep_reported_costs(self, events: list[Event]) -> None:
        """Claude Code's own running cost of each session, kept in the store next to
        Podium's figure (`podium.usage.reported`; the largest figure per session wins)."""
        for event in events:
            if not isinstance(event, TurnResult) or event.total_cost is None:
                continue
            if not event.session_id:
                continue
            try:
                cost = ReportedCost(event.session_id, event.total_cost, dict(event.model_costs),
                                    "result")  # fmt: skip
                record_reported_cost(self.registry.rows.store, cost)
            except (ValueError, sqlite3.Error) as exc:  # an absurd figure or a busy store
                log.warning("Claude Code's reported cost not kept: %s", exc)

    # -- ownership ----------------------------------------------------------------------------
    def keep_ownership(self, now: float) -> list[str]:
        """From the poll: the owner's heartbeat; a read-only manager re-reads the rows (every
        CHECK_S) and takes over once the owner is gone. Returns the agents that changed."""
        registry = self.registry
        ownership = registry.ownership
        if ownership is None:
            return []
        state = ownership.keep(now, registry.take_over)
        if state == "acquired":
            return [record.id for record in registry.records()]
        if state == "lost":  # another Podium took the agents over: leave them to it
            for record in registry.records():
                with record.op_lock:
                    if record.handle is not None:
                        record.handle.detach()
                        record.handle = None
            return []
        if state == "due":
            changed = registry.refresh()
            registry.notify(changed)
            return [record.id for record in changed]
        return []

    # -- watching -----------------------------------------------------------------------------
    def note_activity(self, session_ids: set[str], cwds: set[str]) -> list[str]:
        """After an ingest: agents whose session or worktree saw new entries are active."""
        if (not session_ids and not cwds) or not self.registry.owns:
            return []  # a read-only manager shows what the owner decides
        now = time.time()
        matched: list[str] = []
        changed: list[AgentRecord] = []
        with self.lock:
            for record in self.registry.records_locked():
                agent = record.agent
                if not touched(agent, session_ids, cwds):
                    continue
                matched.append(agent.id)
                if agent.status in (AgentStatus.STARTING, AgentStatus.IDLE):
                    record.last_activity = now
                    record.set_status(AgentStatus.WORKING, None)
                    changed.append(record)
                elif agent.status == AgentStatus.WORKING:
                    record.last_activity = now
        for record in changed:
            self.registry.persist(record)
        self.registry.notify(changed)
        return matched

    def poll(self) -> list[str]:
        """Reap ended processes, apply new events, detect idleness. An agent with an
        operation under way is skipped: that operation reports it."""
        changed: list[AgentRecord] = []
        for record in self.registry.records():
            if not record.op_lock.acquire(blocking=False):
                continue
            try:
                if self._poll_one(record):
                    changed.append(record)
            finally:
                record.op_lock.release()
        self.registry.notify(changed)
        return [record.id for record in changed]

    def _poll_one(self, record: AgentRecord) -> bool:
        """True when what a card shows changed."""
        handle = record.handle
        if record.removed or handle is None or handle.finished:
            return False
        alive = handle.poll()
        events = record.events.read()
        now = time.time()
        with self.lock:
            before = _card_state(record)
            for event in events:
                reducer.apply(record, event, now)
            if not alive:
                record.finish()
            elif reducer.lift_expired_limit(record, now):
                pass
            elif (record.agent.status == AgentStatus.WORKING
                  and now - record.last_activity > self.idle_after):  # fmt: skip
                record.set_status(AgentStatus.IDLE, None)
        if alive and self.after_events is not None:
            self.after_events(record)
        with self.lock:
            after = _card_state(record)
        self.registry.persist(record)
        self._keep_reported_costs(events)
        return after != before

    def reattach(self) -> list[Agent]:
        """Re-attach to agents still running from an earlier Podium (same pid *and* create
        time); mark the others exited. Returns the re-attached ones."""
        with self.lock:
            candidates = [r for r in self.registry.records_locked()
                          if r.handle is None and r.agent.status not in TERMINAL_STATUSES]  # fmt: skip
        attached: list[AgentRecord] = []
        ended: list[AgentRecord] = []
        for record in candidates:
            with record.op_lock:
                if record.removed or record.handle is not None:
                    continue
                agent = record.agent
                pid, create_time = agent.pid, record.pid_create_time
                handle = (ProcessHandle.attach(pid, create_time, state_dir=agent.state_dir,
                                               agent_id=agent.id, keep_running=self.keep_running)
                          if pid and create_time is not None else None)  # fmt: skip
                if handle is None or handle.finished:
                    how = read_exit(agent.state_dir, pid) if pid else None
                    with self.lock:
                        record.handle = handle  # what the agent left still runs: stop ends it
                        _ended_while_away(record, how)
                    ended.append(record)
                else:
                    stopped = handle.is_stopped()
                    record.events.rewind()
                    events = record.events.read()
                    with self.lock:
                        record.handle = handle
                        reducer.replay(record, events, stopped=stopped, now=time.time())
                    attached.append(record)
                self.registry.persist(record)
        self.registry.notify(ended + attached)
        return [self.registry.snapshot(record) for record in attached]


def _card_state(record: AgentRecord) -> tuple:
    """What of the record an agent card shows, for "did it change" (lock held)."""
    a = record.agent
    return (a.status, a.status_reason, a.model, a.source, a.claude_session_id,
            tuple(record.pending), a.last_turn, a.reported_cost_usd)  # fmt: skip


def _ended_while_away(record: AgentRecord, how: Ended | None) -> None:
    """The agent ended while no Podium supervised it; its keeper's `exit.json` says how, when
    it ran under one (registry lock held)."""
    agent = record.agent
    now = time.time()
    # when it ended, if its keeper said so: its time in the last status ends there, not now
    at = how.at if how is not None and how.at is not None else None
    at = min(max(at, agent.status_since), now) if at is not None else None
    agent.ended_at = agent.ended_at or at or now
    if how is None:
        record.set_status(AgentStatus.EXITED, "process ended while Podium was not running")
    else:
        agent.exit_code = how.code
        if how.cause == "podium-gone":
            record.set_status(AgentStatus.STOPPED, PODIUM_GONE_REASON)
        else:
            why = exit_reason(how.code) or "exited"
            record.set_status(AgentStatus.EXITED, f"{why} while Podium was not running")
    if at is not None:
        agent.status_since = at
