"""The server's core state, driven from ONE worker thread (`Core.run_tick` and the agent actions).

Everything here is synchronous and blocking (SQLite, git, process signals); `PodiumServer` calls
it through a single-thread executor so store access is serialised and the event loop never
blocks. The result of a tick is a plain `TickResult` the server turns into notifications.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from podium.errors import InvalidInput, NotFound, PodiumError
from podium.limits.periods import day_bounds, month_bounds
from podium.settings import Settings
from podium.store import Store
from podium.views.cards import fallback_agent_limit, render_card
from podium.views.status import PlanFigure, StatusBar, StatusInputs, render_status_bar

log = logging.getLogger(__name__)

#: how often figures that need queries (plan window, API spend) are recomputed at most / at least
STATUS_FIGURES_MIN_S = 0.5
STATUS_FIGURES_MAX_S = 2.0
#: limits are evaluated after every ingest that wrote entries and at least this often
LIMITS_EVERY_S = 1.0
LIMITS_AFTER_INGEST_S = 0.3
#: agent polling (reap exits, stream-json/hook events) and a full sweep of every card
POLL_EVERY_S = 0.2
FULL_SWEEP_S = 1.0
#: the status bar is re-rendered at least this often (time in state in the tooltip)
STATUS_EVERY_S = 1.0
STATUS_RENDER_MIN_S = 0.1
#: safety net: every agent's usage is re-queried this often even without activity
USAGE_REFRESH_S = 5.0

#: the WAL is checkpointed once nothing was ingested for this long (off the commit path)
CHECKPOINT_IDLE_S = 1.0

ALERT_LEVEL = {"warning": "warning", "critical": "critical", "exceeded": "critical"}


@dataclass
class TickResult:
    cards: list[dict[str, Any]] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    status: StatusBar | None = None
    logs: list[str] = field(default_factory=list)
    #: a status bar is due but was not rendered yet (rate limit): tick again soon
    status_deferred: bool = False


def local_midnight(now: float) -> float:
    """Start of the local day, as the limits engine bounds its daily budget (DST-exact)."""
    return day_bounds(now, None)[0] / 1000


def local_month_start(now: float) -> float:
    return month_bounds(now, None)[0] / 1000


class Core:
    """Store, ingestor, agent manager and limits engine behind one thread."""

    def __init__(
        self,
        store: Store,
        workspace: Path,
        settings: Settings,
        *,
        manager_store: Store | None = None,
        on_agent_change: Callable[[Any], None] | None = None,
    ) -> None:
        # Two connections to the same file: `store` is used only from the core thread (ingest,
        # queries, limits); the agent manager and its threads get `manager_store`. Sharing one
        # would need one lock around both, and the manager takes its own lock before the
        # store's while we would take them the other way round (a deadlock).
        self.store = store
        self.manager_store = manager_store or store
        self.workspace = workspace
        self.settings = settings
        self.on_agent_change = on_agent_change
        self.manager: Any | None = None
        self.manager_error: PodiumError | None = None
        self.limits: Any | None = None
        self.limits_error: str | None = None
        from podium.usage.ingest import Ingestor
        from podium.usage.queries import default_prices

        self.prices = default_prices()
        self.ingestor = Ingestor(store, claude_config_dirs=settings.claude_config_dirs or None)
        self.usage: dict[str, Any] = {}
        self.sent_cards: dict[str, dict[str, Any]] = {}
        self.stop_reasons: dict[str, str] = {}
        self._usage_limit_seen: set[tuple[str, str]] = set()
        self._changed: set[str] = set()
        self._changed_lock = threading.Lock()
        self._figures: dict[str, Any] = {}
        self._figures_at = 0.0
        self._limits_at = 0.0
        self._usage_at = 0.0
        self._poll_at = 0.0
        self._limits_due = False
        self._status_dirty = False
        self._full_at = 0.0
        self._status_at = 0.0
        self._ingested_since_figures = False
        self._wrote_at = 0.0  # monotonic time of the last ingest that wrote
        self._checkpointed_at = 0.0

    # -- construction ---------------------------------------------------------------------------
    def start_manager(self) -> None:
        """Create the AgentManager (re-attaches to running agents); remember why if we can't."""
        try:
            from podium.agents import AgentManager

            claude_dir = (self.settings.claude_config_dirs or [None])[0]
            self.manager = AgentManager(
                self.manager_store,
                self.workspace,
                worktree_dir=self.settings.worktree_dir,
                claude_config_dir=claude_dir,
                profiles=dict(self.settings.profiles) or None,
                keep_running=self.settings.keep_agents_running,
                on_change=self._agent_changed,
            )
            self.manager.source_overrides = dict(self.settings.source_overrides)
        except PodiumError as exc:
            self.manager_error = exc
        except ImportError as exc:  # the agents package is not there yet
            self.manager_error = PodiumError(f"agent sessions are unavailable: {exc}")

    def start_limits(self) -> None:
        try:
            from podium.limits import LimitsEngine

            self.limits = LimitsEngine(self.store, self.settings, self.prices)
        except Exception as exc:  # keep serving without limits rather than not at all
            self.limits = None
            self.limits_error = f"limits engine unavailable: {exc}"

    def update_settings(self, settings: Settings) -> list[str]:
        notes: list[str] = []
        old = self.settings
        self.settings = settings
        if self.limits is not None:
            self.limits.update_settings(settings)
        manager = self.manager
        if manager is not None:
            # read at the next spawn / shutdown: safe to swap live
            manager.profiles = dict(settings.profiles)
            manager.source_overrides = dict(settings.source_overrides)
            manager.keep_running = settings.keep_agents_running
        if old.claude_config_dirs != settings.claude_config_dirs:
            from podium.usage.adapters import default_adapters

            # the server re-tails the new roots (PodiumServer); their history is read now
            dirs = settings.claude_config_dirs or None
            self.ingestor.adapters = default_adapters(dirs)
            if manager is not None:
                manager.claude_config_dir = dirs[0] if dirs else None
            try:
                self.ingest_history()
            except Exception as exc:  # the store stays as it was; the next tick retries files
                notes.append(f"settings: reading the new log roots failed: {exc}")
        if old.worktree_dir != settings.worktree_dir:
            # running agents live in the old dir and its watcher; new ones would not be seen
            notes.append("settings: worktreeDir takes effect when the server restarts")
        # recompute everything on the next tick; only what actually changed is sent
        self._figures_at = 0.0
        self._limits_at = 0.0
        self._full_at = 0.0
        self._status_at = 0.0
        return notes

    # -- agent changes (any thread) ---------------------------------------------------------------
    def _agent_changed(self, agent: Any) -> None:
        with self._changed_lock:
            self._changed.add(agent.id)
        if self.on_agent_change is not None:
            self.on_agent_change(agent)

    def _take_changed(self) -> set[str]:
        with self._changed_lock:
            changed, self._changed = self._changed, set()
        return changed

    def require_manager(self) -> Any:
        if self.manager is None:
            raise self.manager_error or PodiumError("agent sessions are unavailable")
        return self.manager

    # -- history ----------------------------------------------------------------------------------
    def ingest_history(self) -> Any:
        with self.store.lock:
            result = self.ingestor.run()
        if result.files_read:
            self._wrote_at = time.monotonic()
        self._ingested_since_figures = True
        return result

    # -- the plan's usage limit -----------------------------------------------------------------------
    def _usage_limit_alert(self, agent: Any, now: float, out: TickResult) -> None:
        """An agent stopped by the plan's usage limit (Claude Code's `usage limit reached`
        result) is alerted once per agent and reset time, across restarts."""
        from podium.agents.manager import USAGE_LIMIT_REASON

        reason = agent.status_reason or ""
        if str(agent.status) != "error" or not reason.startswith(USAGE_LIMIT_REASON):
            return
        seen = (agent.id, reason)
        if seen in self._usage_limit_seen:  # every sweep sees the agent again: no store trip
            return
        self._usage_limit_seen.add(seen)
        message = f"agent {agent.name} hit the plan's {reason}"
        first = True
        if self.limits is not None:  # the alerts table remembers it across restarts
            try:
                with self.store.lock:
                    first = self.limits.record_once("critical", "usage_limit", agent.id, reason,
                                                    message, agent.id, now)  # fmt: skip
            except Exception:
                log.exception("recording the usage-limit alert failed")
        if first:
            out.alerts.append({
                "level": "critical", "message": message, "agentId": agent.id,
                "scope": "usage_limit", "scopeKey": agent.id, "action": None,
                "used": None, "limit": None, "pct": None,
            })  # fmt: skip

    # -- WAL checkpoints --------------------------------------------------------------------------
    def checkpoint_due(self, now: float) -> bool:
        """An ingest wrote since the last checkpoint and nothing was ingested for
        CHECKPOINT_IDLE_S: the moment to copy the WAL back (PASSIVE: waits for nobody)."""
        return self._wrote_at > self._checkpointed_at and now - self._wrote_at >= CHECKPOINT_IDLE_S

    def checkpoint_if_idle(self) -> bool:
        now = time.monotonic()
        if not self.checkpoint_due(now):
            return False
        self._checkpointed_at = now
        try:
            self.store.checkpoint("PASSIVE")
        except Exception:  # a busy or failing checkpoint is retried after the next write
            log.exception("WAL checkpoint failed")
            return False
        return True

    # -- cards ----------------------------------------------------------------------------------
    def _limit_for(self, agent: Any, usage: Any) -> Any:
        if self.limits is not None:
            try:
                return self.limits.agent_limit(agent, usage)
            except Exception:
                log.exception("agent_limit failed")
        limit = agent.limit_usd or self.settings.limits.agent_usd
        return fallback_agent_limit(limit, usage.cost_usd if usage else 0.0, self.settings.on_limit)

    def agent_usage(self, agent: Any) -> Any:
        """The agent's usage: entries of its Claude session or with a cwd inside its worktree
        (the attribution rule of AgentManager.usage), read on the core connection."""
        from podium.usage.queries import totals

        sessions = [agent.claude_session_id] if agent.claude_session_id else []
        with self.store.lock:
            return totals(self.store, session_ids=sessions, cwd_prefixes=[agent.worktree],
                          prices=self.prices)  # fmt: skip

    def card_for(self, agent: Any) -> dict[str, Any]:
        usage = self.usage.get(agent.id)
        if usage is None and self.manager is not None:
            usage = self.usage[agent.id] = self.agent_usage(agent)
        card = render_card(agent, usage, getattr(agent, "diff", None), self._limit_for(agent, usage))
        stopped_by_limit = card["status"] == "stopped" and agent.id in self.stop_reasons
        if stopped_by_limit:
            card["statusReason"] = self.stop_reasons[agent.id]
        return card

    def fresh_card(self, agent_id: str) -> dict[str, Any]:
        """The card after an action: re-read the agent and its usage, record it as sent."""
        manager = self.require_manager()
        agent = manager.get(agent_id)
        self.usage[agent_id] = self.agent_usage(agent)
        card = self.card_for(agent)
        self.sent_cards[agent_id] = card
        return card

    def all_cards(self) -> list[dict[str, Any]]:
        if self.manager is None:
            return []
        return [self.card_for(a) for a in self.manager.list()]

    # -- actions ----------------------------------------------------------------------------------
    def spawn(self, **kwargs: Any) -> dict[str, Any]:
        agent = self.require_manager().spawn(**kwargs)
        return self.fresh_card(agent.id)

    def pause(self, agent_id: str) -> dict[str, Any]:
        self.require_manager().pause(agent_id)
        return self.fresh_card(agent_id)

    def resume(self, agent_id: str) -> dict[str, Any]:
        manager = self.require_manager()
        manager.resume(agent_id)
        if self.limits is not None:
            self.limits.user_resumed(agent_id)
        return self.fresh_card(agent_id)

    def stop(self, agent_id: str) -> dict[str, Any]:
        self.require_manager().stop(agent_id)
        self.stop_reasons.pop(agent_id, None)
        return self.fresh_card(agent_id)

    def remove(self, agent_id: str, *, delete_branch: bool, force: bool) -> str:
        self.require_manager().remove(agent_id, delete_branch=delete_branch, force=force)
        self.usage.pop(agent_id, None)
        self.sent_cards.pop(agent_id, None)
        self.stop_reasons.pop(agent_id, None)
        return agent_id

    def export(self, options: dict[str, Any]) -> dict[str, Any]:
        try:
            from podium.export import export_usage
        except ImportError as exc:
            raise PodiumError(f"export is unavailable: {exc}") from None
        with self.store.lock:
            return export_usage(self.store, options, workspace=self.workspace)

    # -- the tick ---------------------------------------------------------------------------------
    def run_tick(self, paths: set[str], *, force: bool = False) -> TickResult:
        """Ingest changed log files, poll agents, evaluate limits; return what to push.

        Incremental: only agents that changed get their usage re-queried and card re-rendered;
        polling, limit evaluation and a full sweep of every card run at bounded rates.
        """
        out = TickResult()
        now = time.time()
        manager = self.manager
        changed: set[str] = set()
        if paths:
            with self.store.lock:
                res = self.ingestor.run(paths=sorted(paths))
            if res.files_read:
                self._wrote_at = time.monotonic()
            if res.entries_written:
                self._ingested_since_figures = True
                self._limits_due = True  # evaluated within LIMITS_AFTER_INGEST_S + one tick
                if manager is not None:
                    changed |= set(manager.note_activity(res.sessions, res.cwds))
        agents: dict[str, Any] = {}
        full = force or now - self._full_at >= FULL_SWEEP_S
        if manager is not None:
            if force or now - self._poll_at >= POLL_EVERY_S:
                self._poll_at = now
                changed |= set(manager.poll())
            changed |= self._take_changed()
            if full:
                self._full_at = now
                agents = {a.id: a for a in manager.list()}
            else:
                for agent_id in changed:
                    with contextlib.suppress(NotFound):
                        agents[agent_id] = manager.get(agent_id)
        refresh_all = force or now - self._usage_at >= USAGE_REFRESH_S
        if refresh_all:
            self._usage_at = now
        for agent_id in agents:
            if refresh_all or agent_id in changed or agent_id not in self.usage:
                self.usage[agent_id] = self.agent_usage(agents[agent_id])
        # limits, after usage is fresh: act within a fraction of a second of the crossing line
        since_limits = now - self._limits_at
        if (
            self.limits is not None
            and manager is not None
            and (force or since_limits >= LIMITS_EVERY_S
                 or (self._limits_due and since_limits >= LIMITS_AFTER_INGEST_S))
        ):  # fmt: skip
            self._limits_at = now
            self._limits_due = False
            acted = self._evaluate_limits(manager.list(), now, out)
            for agent_id in acted:
                with contextlib.suppress(NotFound):
                    agents[agent_id] = manager.get(agent_id)
        for agent in agents.values():
            self._usage_limit_alert(agent, now, out)
        # cards: send only what differs from the last payload sent
        for agent_id, agent in agents.items():
            card = self.card_for(agent)
            if force or self.sent_cards.get(agent_id) != card:
                self.sent_cards[agent_id] = card
                out.cards.append(card)
        if full:
            for agent_id in list(self.sent_cards):
                if agent_id not in agents:
                    del self.sent_cards[agent_id]
                    self.usage.pop(agent_id, None)
                    out.removed.append(agent_id)
        if out.cards or out.removed:
            self._status_dirty = True
        due = (
            self._status_dirty
            or now - self._status_at >= STATUS_EVERY_S
            or (self._ingested_since_figures and now - self._figures_at >= STATUS_FIGURES_MIN_S)
        )
        if force or (due and now - self._status_at >= STATUS_RENDER_MIN_S):
            # rendered at most as often as it may be sent (10/s): the rest would be thrown away
            self._status_at = now
            self._status_dirty = False
            out.status = self._status_bar(now, force=force)
        out.status_deferred = due and out.status is None
        return out

    def _evaluate_limits(self, agents: list[Any], now: float, out: TickResult) -> set[str]:
        assert self.limits is not None
        try:
            with self.store.lock:
                events = self.limits.evaluate(agents, dict(self.usage), now=now)
        except Exception as exc:
            log.exception("limits evaluate failed")
            out.logs.append(f"limits: evaluation failed: {exc}")
            return set()
        acted: set[str] = set()
        for event in events:
            action = event.action
            done = None
            if action in ("pause", "stop") and event.agent_id and self.manager is not None:
                try:
                    agent = self.manager.get(event.agent_id)
                    live = str(agent.status) not in ("stopped", "exited", "error")
                    if action == "pause" and live and str(agent.status) != "paused":
                        self.manager.pause(event.agent_id, reason=f"paused by limit: {event.message}")
                        done = "pause"
                    elif action == "stop" and live:
                        self.stop_reasons[event.agent_id] = f"stopped by limit: {event.message}"
                        self.manager.stop(event.agent_id)
                        done = "stop"
                    if done is not None:
                        acted.add(event.agent_id)
                except PodiumError as exc:
                    out.logs.append(f"limits: cannot {action} {event.agent_id}: {exc}")
            elif action == "warn":
                done = "warn"
            if getattr(event, "alert", True):
                out.alerts.append(
                    {
                        "level": ALERT_LEVEL.get(event.level, "warning"),
                        "message": event.message,
                        "agentId": event.agent_id,
                        "scope": event.scope,
                        "scopeKey": event.scope_key,
                        "action": done or action,
                        "used": round(float(event.used), 6),
                        "limit": float(event.limit),
                        "pct": round(float(event.pct), 2),
                    }
                )
        return acted

    # -- status bar -------------------------------------------------------------------------------
    def _refresh_figures(self, now: float, agents_working: bool) -> None:
        from podium.usage.queries import totals

        figures: dict[str, Any] = {}
        midnight_ms = int(local_midnight(now) * 1000)
        with self.store.lock:
            today = totals(self.store, since_ms=midnight_ms, prices=self.prices)
            figures["today"] = today
            if self.settings.limits.monthly_usd:  # the monthly budget counts all usage too
                month_ms = int(local_month_start(now) * 1000)
                figures["month_all"] = totals(self.store, since_ms=month_ms,
                                              prices=self.prices).cost_usd  # fmt: skip
            plan = None
            if self.limits is not None:
                try:
                    plan = self.limits.plan_status(now=now, agents_working=agents_working)
                    figures["api"] = self.limits.api_spend(now=now)
                except Exception:
                    log.exception("plan_status/api_spend failed")
            if "api" not in figures:
                figures["api"] = self._api_spend_fallback(now, today.cost_usd)
        figures["plan_status"] = plan
        self._figures = figures

    def _api_spend_fallback(self, now: float, today_all: float) -> tuple[float, float]:
        """Without the limits engine: API spend = api-source agents' usage (all in api mode)."""
        from podium.usage.queries import totals

        month_ms = int(local_month_start(now) * 1000)
        midnight_ms = int(local_midnight(now) * 1000)
        if self.settings.auth_mode == "api":
            month = totals(self.store, since_ms=month_ms, prices=self.prices).cost_usd
            return today_all, month
        api_agents = [a for a in (self.manager.list() if self.manager else []) if a.source == "api"]
        if not api_agents:
            return 0.0, 0.0
        sessions = [a.claude_session_id for a in api_agents if a.claude_session_id]
        cwds = [a.worktree for a in api_agents]
        day = totals(self.store, since_ms=midnight_ms, session_ids=sessions, cwd_prefixes=cwds,
                     prices=self.prices).cost_usd  # fmt: skip
        month = totals(self.store, since_ms=month_ms, session_ids=sessions, cwd_prefixes=cwds,
                       prices=self.prices).cost_usd  # fmt: skip
        return day, month

    def status_inputs(self, now: float, cards: list[dict[str, Any]]) -> StatusInputs:
        plan_status = self._figures.get("plan_status")
        headline = None
        if plan_status is not None:
            window = plan_status.five_hour or plan_status.seven_day
            if window is not None:
                headline = PlanFigure(
                    window=window.window, used_pct=window.used_pct, source=window.source,
                    observed_at=window.observed_at, stale=window.stale,
                    stale_reason=window.stale_reason,
                )  # fmt: skip
        api_today, api_month = self._figures.get("api", (0.0, 0.0))
        today = self._figures.get("today")
        limits = self.settings.limits
        # the daily and monthly budgets count all usage (docs/limits.md), as the limits engine
        # that acts on them does, not only the API-billed part
        budget_pcts = []
        if limits.daily_usd:
            today_all = today.cost_usd if today is not None else 0.0
            budget_pcts.append(100.0 * today_all / limits.daily_usd)
        if limits.monthly_usd:
            budget_pcts.append(100.0 * self._figures.get("month_all", 0.0) / limits.monthly_usd)
        return StatusInputs(
            mode=self.settings.auth_mode,
            cards=cards,
            plan=headline,
            api_today_usd=api_today,
            api_month_usd=api_month,
            today_usd=today.cost_usd if today is not None else 0.0,
            budget_pcts=budget_pcts,
            plan_errors=list(plan_status.errors) if plan_status is not None else [],
            warning_at=self.settings.warning_at,
            critical_at=self.settings.critical_at,
            now=now,
            unpriced_models=list(today.unpriced_models) if today is not None else [],
        )

    def _status_bar(self, now: float, *, force: bool) -> StatusBar:
        age = now - self._figures_at
        if (
            force
            or not self._figures
            or age >= STATUS_FIGURES_MAX_S
            or (self._ingested_since_figures and age >= STATUS_FIGURES_MIN_S)
        ):
            working = any(c.get("status") == "working" for c in self.sent_cards.values())
            self._refresh_figures(now, working)
            self._figures_at = now
            self._ingested_since_figures = False
        cards = sorted(self.sent_cards.values(), key=lambda c: (c.get("startedAt") or 0))
        return render_status_bar(self.status_inputs(now, cards))

    def usage_summary(self) -> dict[str, Any]:
        from podium.views.cards import usage_payload

        now = time.time()
        working = any(c.get("status") == "working" for c in self.sent_cards.values())
        self._refresh_figures(now, working)
        self._figures_at = now
        plan_status = self._figures.get("plan_status")
        api_today, api_month = self._figures["api"]
        cards = self.all_cards()
        limits = self.settings.limits
        return {
            "mode": self.settings.auth_mode,
            "generatedAt": int(now * 1000),
            "plan": _plan_dict(plan_status) if plan_status is not None else None,
            "api": {"todayUSD": round(api_today, 6), "monthUSD": round(api_month, 6)},
            "today": usage_payload(self._figures.get("today")),
            "limits": {
                "agentUSD": limits.agent_usd, "sessionUSD": limits.session_usd,
                "dailyUSD": limits.daily_usd, "monthlyUSD": limits.monthly_usd,
                "agentTokens": limits.agent_tokens, "sessionTokens": limits.session_tokens,
                "dailyTokens": limits.daily_tokens, "monthlyTokens": limits.monthly_tokens,
                "onLimit": self.settings.on_limit,
            },
            "agents": [
                {k: c[k] for k in ("agentId", "name", "status", "source", "usage", "limit")}
                for c in cards
            ],
        }

    # -- shutdown ---------------------------------------------------------------------------------
    def close(self) -> None:
        """Stop agents (unless configured to outlive us), flush and close the store."""
        if self.manager is not None:
            try:
                self.manager.close()
            except Exception:
                log.exception("closing the agent manager failed")
        try:
            with self.store.lock:
                self.store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except Exception:
            log.exception("store checkpoint failed")
        # The connections are not closed here: the manager's diff threads may still be
        # finishing a write, and closing a connection under a running statement can crash
        # sqlite; the process is about to end and committed data is already on disk.


def _plan_dict(plan_status: Any) -> dict[str, Any]:
    if hasattr(plan_status, "as_dict"):
        return plan_status.as_dict()

    def window(w: Any) -> dict[str, Any] | None:
        if w is None:
            return None
        return {
            "usedPct": round(w.used_pct, 2), "source": w.source,
            "observedAt": int(w.observed_at * 1000),
            "resetsAt": int(w.resets_at * 1000) if w.resets_at is not None else None,
            "stale": w.stale, "staleReason": w.stale_reason,
        }  # fmt: skip

    return {
        "plan": plan_status.plan,
        "fiveHour": window(plan_status.five_hour),
        "sevenDay": window(plan_status.seven_day),
        "burnUSDPerHour": plan_status.burn_usd_per_hour,
        "tokensPerMin": plan_status.tokens_per_min,
        "projectedUSDAtWindowEnd": plan_status.projected_usd_at_window_end,
        "minutesToLimit": plan_status.minutes_to_limit,
    }


def check_agent_id(agent_id: str) -> str:
    if not agent_id:
        raise InvalidInput("agentId must not be empty", field="agentId")
    return agent_id
