"""The services the server's features share (`Core`), and the tick that runs their parts.

Threads (docs/architecture.md §Threads and locks): `Core.store` is the core SQLite connection,
used on the core lane only (ingest, queries, limits, checkpoints, every tick). The agent manager
has its own connection (`manager_store`); its actions (git, process signals) run on the action
lane, its cheap in-memory calls (`poll`, `note_activity`, `list`, `get`) on the core lane.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from podium.errors import PodiumError
from podium.protocol.models import AgentCard, Alert, StatusBar
from podium.server.scheduler import CHECKPOINT_IDLE_S, NEVER, Scheduler
from podium.settings import Settings
from podium.store import Store

if TYPE_CHECKING:
    from podium.agents import AgentManager
    from podium.limits import LimitsEngine
    from podium.usage.ingest import IngestResult

log = logging.getLogger(__name__)

#: insights scan 30 days of the store: kept this long while the store and settings stay
INSIGHTS_EVERY_S = 60.0


@dataclass
class AgentAction:
    """A limit's action on an agent, decided by the tick, carried out on the action lane."""

    agent_id: str
    action: str  # "pause" | "stop" | "switchToApi"
    reason: str
    #: switchToApi: the NAME of the server's environment variable holding the key
    key_env: str | None = None


@dataclass
class TickResult:
    """What one tick wants pushed; each feature publishes its own fields."""

    cards: list[AgentCard] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    actions: list[AgentAction] = field(default_factory=list)
    status: StatusBar | None = None
    logs: list[str] = field(default_factory=list)
    #: a forced tick (the first one): everything is sent, changed or not
    forced: bool = False
    #: the WAL checkpoint is due (run after the notifications left)
    checkpoint_due: bool = False
    #: monotonic time the next timer is due: the pump sleeps until then (or an event)
    next_at: float = NEVER


@dataclass
class Tick:
    """One tick's inputs and the facts its parts hand on to the later parts."""

    core: Core
    paths: set[str]
    force: bool
    now: float = field(default_factory=time.time)  # wall clock: data, day bounds
    mono: float = field(default_factory=time.monotonic)  # timers
    out: TickResult = field(default_factory=TickResult)
    #: the ingest of this tick (None when no file changed)
    ingested: IngestResult | None = None
    #: agents (id → snapshot) whose cards were looked at this tick
    agents: dict[str, Any] = field(default_factory=dict)


class TickPart(Protocol):
    def tick(self, t: Tick) -> None: ...


class Core:
    """Store, ingestor, prices, agent manager and limits engine, and the settings in force."""

    def __init__(
        self,
        store: Store,
        workspace: Path,
        settings: Settings,
        *,
        scheduler: Scheduler | None = None,
        manager_store: Store | None = None,
        on_agent_change: Callable[[Any], None] | None = None,
    ) -> None:
        # Two connections to the same file, one owner each: `store` is the core lane's; the
        # agent manager and its threads get `manager_store`.
        self.store = store
        self.manager_store = manager_store or store
        self.workspace = workspace
        self.settings = settings
        self.scheduler = scheduler or Scheduler()
        self.on_agent_change = on_agent_change
        self.manager: AgentManager | None = None
        self.manager_error: PodiumError | None = None
        self.limits: LimitsEngine | None = None
        self.limits_error: str | None = None
        from podium.usage.ingest import Ingestor
        from podium.usage.queries import default_prices

        self.prices = default_prices()
        self.ingestor = Ingestor(store, claude_config_dirs=settings.claude_config_dirs or None)
        self._changed: set[str] = set()
        self._changed_lock = threading.Lock()  # guards `_changed` only (any thread adds)
        self._checkpoint = self.scheduler.idle("store.checkpoint", CHECKPOINT_IDLE_S)
        self._insights: tuple[float, tuple[Settings, int], list[Any]] | None = None

    # -- construction ---------------------------------------------------------------------------
    def start_manager(self) -> None:
        """Create the AgentManager (git, re-attaches to running agents: the action lane)."""
        from podium.agents import AgentManager

        try:
            dirs = self.settings.claude_config_dirs
            claude_dir = dirs[0] if dirs else None
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
            self.manager.permission_mode = self.settings.permission_mode
            self.manager.profile_permission_modes = dict(self.settings.profile_permission_modes)
        except PodiumError as exc:
            self.manager_error = exc

    def start_limits(self) -> None:
        from podium.limits import LimitsEngine

        try:
            self.limits = LimitsEngine(self.store, self.settings, self.prices)
        except Exception as exc:  # keep serving without limits rather than not at all
            self.limits = None
            self.limits_error = f"limits engine unavailable: {exc}"

    def require_manager(self) -> AgentManager:
        if self.manager is None:
            raise self.manager_error or PodiumError("agent sessions are unavailable")
        return self.manager

    # -- agent changes (any thread) -------------------------------------------------------------
    def _agent_changed(self, agent: Any) -> None:
        with self._changed_lock:
            self._changed.add(agent.id)
        if self.on_agent_change is not None:
            self.on_agent_change(agent)

    def take_changed(self) -> set[str]:
        with self._changed_lock:
            changed, self._changed = self._changed, set()
        return changed

    # -- ingest and checkpoints (core lane) -----------------------------------------------------
    def ingest(self, paths: list[str] | None = None) -> IngestResult:
        """Read what was appended to `paths` (None: every log file, the history)."""
        with self.store.lock:
            result = self.ingestor.run(paths=paths)
        if result.files_read:
            self._checkpoint.touch(time.monotonic())
        return result

    def checkpoint_due(self, now: float) -> bool:
        """An ingest wrote, and nothing was ingested for CHECKPOINT_IDLE_S since: the moment to
        copy the WAL back (PASSIVE: waits for nobody)."""
        return self._checkpoint.due(now)

    def insights(self, now: float | None = None) -> list[Any]:
        """The last 30 days' insights (podium.usage.insights): a scan of the store, so computed
        again only when this connection wrote (ingest, logged records), the settings changed
        (budgets are in them) or a minute passed; shared by the usage summary's count and
        usageHistory."""
        from podium.usage.insights import insights

        now = time.time() if now is None else now
        key = (self.settings, self.store.conn.total_changes)
        cached = self._insights
        if cached is None or cached[1] != key or now - cached[0] >= INSIGHTS_EVERY_S:
            found = insights(self.store, now=now, settings_like=self.settings, prices=self.prices)
            cached = self._insights = (now, key, found)
        return cached[2]

    def checkpoint_if_idle(self, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        if not self.checkpoint_due(now):
            return False
        self._checkpoint.ran(now)
        try:
            self.store.checkpoint("PASSIVE")
        except Exception:  # a busy or failing checkpoint is retried after the next write
            log.exception("WAL checkpoint failed")
            return False
        return True

    # -- shutdown -------------------------------------------------------------------------------
    def close_manager(self) -> None:
        """Stop agents unless configured to outlive us (signals: the action lane)."""
        if self.manager is not None:
            try:
                self.manager.close()
            except Exception:
                log.exception("closing the agent manager failed")

    def close_store(self) -> None:
        """Flush the WAL into the database file (core lane). The connections stay open: the
        manager's diff threads may still be finishing a write, and closing a connection under
        a running statement can crash sqlite; the process is about to end anyway."""
        try:
            with self.store.lock:
                self.store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except Exception as exc:
            from podium.store.health import classify

            if (problem := classify(exc, self.store.path)) is None:
                log.exception("store checkpoint failed")
            else:  # (a full disk: the WAL stays, the next open replays it; nothing is lost)
                log.warning("store checkpoint at exit skipped: %s", problem.message)


def run_tick(core: Core, parts: Sequence[TickPart], paths: set[str], *, force: bool) -> TickResult:
    """Each feature's part of the tick, in order (core lane): ingest, agents, limits, status."""
    t = Tick(core=core, paths=paths, force=force)
    t.out.forced = force
    for part in parts:
        part.tick(t)
    t.out.checkpoint_due = core.checkpoint_due(t.mono)
    t.out.next_at = core.scheduler.next_at()
    return t.out
