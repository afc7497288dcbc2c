"""Agents: spawn/pause/resume/stop/remove/list requests, and the agent cards of each tick.

Agent actions run on the action lane (git, process signals: a stop may wait seconds for a
process tree to end); actions on one agent run one after another, in arrival order, actions on
different agents at once. The card after an action, every usage query and the card diffing run
on the core lane. `podium/listAgents` answers from `listing`, the last cards the core lane
published, so it never waits for an action or a tick.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator, Callable
from typing import Any

from lsprotocol import types

from podium.agents.models import TERMINAL_STATUSES
from podium.errors import NotFound, PodiumError
from podium.limits.models import agent_limit
from podium.server import protocol as proto
from podium.server.features.base import Feature, Handler, Host
from podium.server.scheduler import FULL_SWEEP_S, POLL_EVERY_S, USAGE_REFRESH_S
from podium.server.state import AgentAction, Core, Tick, TickResult
from podium.settings import Settings
from podium.views.cards import render_card

log = logging.getLogger(__name__)


class _Turns:
    """One queue per agent: `async with turns.of(agent_id)` waits for the actions before it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def of(self, agent_id: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(agent_id) or (asyncio.Lock(), 0)
        self._locks[agent_id] = (lock, users + 1)
        try:
            async with lock:  # asyncio.Lock is fair: waiters get it in arrival order
                yield
        finally:
            lock, users = self._locks[agent_id]
            if users == 1:  # the last one out: unknown ids do not pile up
                del self._locks[agent_id]
            else:
                self._locks[agent_id] = (lock, users - 1)


class AgentsFeature(Feature):
    def __init__(self, host: Host) -> None:
        super().__init__(host)
        self.poll = host.scheduler.timer("agents.poll", POLL_EVERY_S)
        self.sweep = host.scheduler.timer("agents.sweep", FULL_SWEEP_S)
        self.refresh = host.scheduler.timer("agents.usage", USAGE_REFRESH_S)
        # core lane only
        self.usage: dict[str, Any] = {}
        self.cards: dict[str, proto.AgentCard] = {}  # the last card sent, per agent
        self.stop_reasons: dict[str, str] = {}
        # replaced whole on the core lane, only read on the loop (no lock: never mutated)
        self.listing: tuple[proto.AgentCard, ...] = ()
        # loop only
        self._turns = _Turns()
        # core lane: whether the last tick found this window read-only (another owns agents)
        self._read_only = False

    def handlers(self) -> dict[str, Handler]:
        return {
            proto.SPAWN_AGENT: self.spawn_agent,
            proto.PAUSE_AGENT: self.pause_agent,
            proto.RESUME_AGENT: self.resume_agent,
            proto.STOP_AGENT: self.stop_agent,
            proto.REMOVE_AGENT: self.remove_agent,
            proto.LIST_AGENTS: self.list_agents,
            proto.SEND_MESSAGE: self.send_message,
            proto.ANSWER_PERMISSION: self.answer_permission,
        }

    async def started(self, core: Core) -> None:
        if core.manager is not None:
            self.host.spawn_task(self._run_watchers(core), "podium-diff-watch")

    async def _run_watchers(self, core: Core) -> None:
        assert core.manager is not None
        try:
            await core.manager.run_watchers()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("diff watchers failed")
            self.host.log_message(f"diff watchers stopped: {exc}", types.MessageType.Error)

    # -- requests (loop) ------------------------------------------------------------------------
    async def spawn_agent(self, params: Any) -> proto.AgentCard:
        p = proto.parse_params(proto.SpawnAgentParams, params)
        core = await self.host.ready()
        kwargs: dict[str, Any] = {
            "task": p.task,
            "name": p.name,
            "base_ref": p.base_ref,
            "command": p.command,
            "env": p.env,
            "source": p.source,
            "limit_usd": p.limit_usd,
            "permission_mode": p.permission_mode,
        }
        if p.profile is not None:
            kwargs["profile"] = p.profile
        elif p.command is not None:
            kwargs["profile"] = "shell"
        agent = await self.host.lanes.actions.run(core.require_manager().spawn, **kwargs)
        return await self._answer(core, agent.id)

    async def _act(self, agent_id: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """`fn` on the action lane, after the actions on this agent that came before."""
        async with self._turns.of(agent_id):
            return await self.host.lanes.actions.run(fn, *args, **kwargs)

    async def _answer(
        self, core: Core, agent_id: str, before: Callable[[str], object] | None = None
    ) -> proto.AgentCard:
        """The card after an action (core lane), pushed and returned."""
        card = await self.host.lanes.core.run(self.fresh_card, core, agent_id, before)
        self.host.notify(proto.AGENT_CARD, proto.AgentCardNotification(card=card))
        self.host.wake()  # counts in the status bar may have changed
        return card

    async def pause_agent(self, params: Any) -> proto.AgentCard:
        p = proto.parse_params(proto.AgentIdParams, params)
        core = await self.host.ready()
        await self._act(p.agent_id, core.require_manager().pause, p.agent_id)
        return await self._answer(core, p.agent_id)

    async def resume_agent(self, params: Any) -> proto.AgentCard:
        p = proto.parse_params(proto.AgentIdParams, params)
        core = await self.host.ready()
        await self._act(p.agent_id, core.require_manager().resume, p.agent_id)

        def user_resumed(agent_id: str) -> None:  # limits leave it alone for this window
            if core.limits is not None:
                core.limits.user_resumed(agent_id)

        return await self._answer(core, p.agent_id, user_resumed)

    async def stop_agent(self, params: Any) -> proto.AgentCard:
        p = proto.parse_params(proto.AgentIdParams, params)
        core = await self.host.ready()
        await self._act(p.agent_id, core.require_manager().stop, p.agent_id)
        return await self._answer(core, p.agent_id, self._stopped_by_user)

    def _stopped_by_user(self, agent_id: str) -> None:
        self.stop_reasons.pop(agent_id, None)

    async def remove_agent(self, params: Any) -> proto.RemoveAgentResult:
        p = proto.parse_params(proto.RemoveAgentParams, params)
        core = await self.host.ready()
        manager = core.require_manager()
        await self._act(p.agent_id, manager.remove, p.agent_id, delete_branch=p.delete_branch,
                        force=p.force)  # fmt: skip
        if await self.host.lanes.core.run(self.forget, p.agent_id):  # else a tick told already
            self.host.notify(proto.AGENT_REMOVED, proto.AgentRemovedNotification(agent_id=p.agent_id))
        self.host.wake()
        return proto.RemoveAgentResult(removed=p.agent_id)

    async def send_message(self, params: Any) -> proto.SendMessageResult:
        """A follow-up to a session: sent now, or queued until its running turn ends."""
        p = proto.parse_params(proto.SendMessageParams, params)
        core = await self.host.ready()
        queued = await self._act(p.agent_id, core.require_manager().send_message, p.agent_id,
                                 p.text)  # fmt: skip
        await self._answer(core, p.agent_id)
        return proto.SendMessageResult(queued=queued)

    async def answer_permission(self, params: Any) -> proto.AnswerPermissionResult:
        p = proto.parse_params(proto.AnswerPermissionParams, params)
        core = await self.host.ready()
        answered = await self._act(p.agent_id, core.require_manager().answer_permission,
                                   p.agent_id, p.request_id, p.decision, p.scope)  # fmt: skip
        await self._answer(core, p.agent_id)
        return proto.AnswerPermissionResult(answered=answered)

    async def list_agents(self, params: Any) -> proto.ListAgentsResult:
        proto.parse_params(proto.EmptyParams, params)
        await self.host.ready()
        return proto.ListAgentsResult(agents=list(self.listing))

    # -- limit actions (loop → action lane) -----------------------------------------------------
    async def carry_out(self, action: AgentAction) -> None:
        manager = (await self.host.ready()).manager
        if manager is None or manager.read_only:  # the owning window's limits act, not ours
            return
        try:
            await self._act(action.agent_id, _limit_action, manager, action)
        except PodiumError as exc:
            self.host.log_message(f"limits: cannot {action.action} {action.agent_id}: {exc}",
                                  types.MessageType.Warning)  # fmt: skip

    def publish(self, result: TickResult) -> None:
        for card in result.cards:
            self.host.notify(proto.AGENT_CARD, proto.AgentCardNotification(card=card))
        for agent_id in result.removed:
            self.host.notify(proto.AGENT_REMOVED, proto.AgentRemovedNotification(agent_id=agent_id))
        for action in result.actions:
            self.host.spawn_task(self.carry_out(action), f"podium-limit-{action.action}")

    # -- the tick (core lane) -------------------------------------------------------------------
    def tick(self, t: Tick) -> None:
        """Poll agents, re-query the usage of those that changed, send the cards that differ.

        Incremental: polling, a full sweep of every card and a refresh of every agent's usage
        run at bounded rates; between them only agents that changed are looked at."""
        core, out = t.core, t.out
        poll = self.poll.take(t.mono, force=t.force)
        full = self.sweep.take(t.mono, force=t.force)
        refresh_all = self.refresh.take(t.mono, force=t.force)
        manager = core.manager
        changed: set[str] = set()
        agents: dict[str, Any] = {}
        if manager is not None:
            if t.ingested is not None and t.ingested.entries_written:
                changed |= set(manager.note_activity(t.ingested.sessions, t.ingested.cwds))
            if poll:
                changed |= set(manager.poll())
                self._note_ownership(manager, out.logs)
            changed |= core.take_changed()
            if full:
                agents = {a.id: a for a in manager.list()}
            else:
                for agent_id in changed:
                    with contextlib.suppress(NotFound):
                        agents[agent_id] = manager.get(agent_id)
        for agent_id, agent in agents.items():
            if refresh_all or agent_id in changed or agent_id not in self.usage:
                self.usage[agent_id] = self.agent_usage(core, agent)
        # send only what differs from the last payload sent
        for agent_id, agent in agents.items():
            card = self.card_for(core, agent)
            if t.force or self.cards.get(agent_id) != card:
                self.cards[agent_id] = card
                out.cards.append(card)
        if full:
            for agent_id in list(self.cards):
                if agent_id not in agents:
                    del self.cards[agent_id]
                    self.usage.pop(agent_id, None)
                    out.removed.append(agent_id)
        if out.cards or out.removed:
            self._publish_listing()
        t.agents = agents

    def _note_ownership(self, manager: Any, logs: list[str]) -> None:
        """Say once when this window shows another window's agents read-only, and when it
        takes them over."""
        read_only = manager.read_only
        if read_only != self._read_only:
            self._read_only = read_only
            logs.append(f"agents: {manager.ownership.error()}" if read_only else
                        "agents: this window now supervises the agents of this repo")  # fmt: skip

    def seed(self, core: Core) -> None:
        """The cards of the agents found at start-up, before the first tick (core lane)."""
        if core.manager is not None:
            for agent in core.manager.list():
                self.cards[agent.id] = self.card_for(core, agent)
        self._publish_listing()

    def _publish_listing(self) -> None:
        self.listing = tuple(sorted(self.cards.values(), key=lambda c: c.started_at))

    def note_stop_reason(self, agent_id: str, reason: str) -> None:
        """The card of an agent a limit stops says so (core lane)."""
        self.stop_reasons[agent_id] = reason

    def agent_usage(self, core: Core, agent: Any) -> Any:
        """The agent's usage (podium.domain.attribution), read on the core connection."""
        from podium.usage.queries import totals

        with core.store.lock:
            return totals(core.store, agents=[agent], prices=core.prices)

    def _limit_for(self, core: Core, agent: Any, usage: Any) -> Any:
        if core.limits is not None:
            try:
                return core.limits.agent_limit(agent, usage)
            except Exception:
                log.exception("agent_limit failed")
        return agent_limit(agent.limit_usd, core.settings.limits.agent_usd,
                           usage.cost_usd if usage else 0.0, core.settings.on_limit)  # fmt: skip

    def card_for(self, core: Core, agent: Any) -> proto.AgentCard:
        usage = self.usage.get(agent.id)
        if usage is None and core.manager is not None:
            usage = self.usage[agent.id] = self.agent_usage(core, agent)
        stopped_by_limit = str(agent.status) == "stopped" and agent.id in self.stop_reasons
        reason = self.stop_reasons[agent.id] if stopped_by_limit else None
        return render_card(agent, usage, agent.diff, self._limit_for(core, agent, usage),
                           status_reason=reason)  # fmt: skip

    def fresh_card(
        self, core: Core, agent_id: str, before: Callable[[str], object] | None = None
    ) -> proto.AgentCard:
        """The card after an action: re-read the agent and its usage, record it as sent."""
        manager = core.require_manager()
        if before is not None:
            before(agent_id)
        agent = manager.get(agent_id)
        self.usage[agent_id] = self.agent_usage(core, agent)
        card = self.card_for(core, agent)
        self.cards[agent_id] = card
        self._publish_listing()
        return card

    def forget(self, agent_id: str) -> bool:
        """A removed agent's state goes; False if a tick saw it gone (and said so) first."""
        self.usage.pop(agent_id, None)
        self.stop_reasons.pop(agent_id, None)
        known = self.cards.pop(agent_id, None) is not None
        self._publish_listing()
        return known

    def settings_changed(self, core: Core, old: Settings, new: Settings) -> list[str]:
        manager = core.manager
        if manager is not None:
            # read at the next spawn / shutdown: safe to swap live
            manager.profiles = dict(new.profiles)
            manager.source_overrides = dict(new.source_overrides)
            manager.keep_running = new.keep_agents_running
            manager.permission_mode = new.permission_mode
            manager.profile_permission_modes = dict(new.profile_permission_modes)
            if old.claude_config_dirs != new.claude_config_dirs:
                dirs = new.claude_config_dirs
                manager.claude_config_dir = dirs[0] if dirs else None
        if old.worktree_dir != new.worktree_dir:
            # running agents live in the old dir and its watcher; new ones would not be seen
            return ["settings: worktreeDir takes effect when the server restarts"]
        return []


def _limit_action(manager: Any, action: AgentAction) -> None:
    """Pause or stop for a limit, or continue a rate-limited session under the API key,
    unless the agent got there meanwhile (action lane)."""
    status = str(manager.get(action.agent_id).status)
    if status in TERMINAL_STATUSES:
        return
    if action.action == "pause" and status != "paused":
        manager.pause(action.agent_id, reason=action.reason)
    elif action.action == "stop":
        manager.stop(action.agent_id)
    elif action.action == "switchToApi" and status == "rateLimited" and action.key_env:
        # read now, handed to the new process only: never stored, never logged
        key = os.environ.get(action.key_env, "")
        if not key.strip():
            raise PodiumError(f"${action.key_env} is not set")
        manager.switch_to_api(action.agent_id, key)
