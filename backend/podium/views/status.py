"""State → the `podium/statusBar` payload (text, markdown tooltip, severity) of docs/protocol.md.

Text by auth mode (seed 004): subscription `Plan: 67%`; api `$2.47 today`; both
`Plan: 67% | API: $2.47`; proxy `Proxy: $1.20 today` (API-equivalent cost of everything routed
through the proxy today: a proxy such as ccflare spreads requests over several accounts, so no
single plan % applies). Agent counts come first when agents exist.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from podium.agents.models import TERMINAL_STATUSES
from podium.protocol.models import AgentCard, PendingRef, StatusBar
from podium.views.format import (
    format_agent_usage,
    format_duration_coarse,
    format_pct,
    format_usd,
)


@dataclass(frozen=True)
class PlanFigure:
    """The plan window shown in the status bar (mirrors limits.PlanWindow)."""

    window: str  # five_hour | seven_day
    used_pct: float
    source: str  # official | oauth | estimate
    observed_at: float  # epoch s
    stale: bool = False
    stale_reason: str | None = None


@dataclass(frozen=True)
class StatusInputs:
    mode: str
    cards: list[AgentCard] = field(default_factory=list)
    plan: PlanFigure | None = None
    api_today_usd: float = 0.0
    api_month_usd: float = 0.0
    today_usd: float = 0.0  # all usage today, API-equivalent (proxy mode)
    budget_pcts: list[float] = field(default_factory=list)  # daily/monthly/session, 0..100+
    #: why a plan figure could not be had (e.g. "oauth usage: HTTP 401 Unauthorized")
    plan_errors: list[str] = field(default_factory=list)
    warning_at: float = 0.8
    critical_at: float = 0.95
    now: float = 0.0  # epoch s
    #: models used today with no price and no figure of the CLI's own: the dollar figures
    #: lack their share, shown as `API: $2.47+` and named in the tooltip
    unpriced_models: list[str] = field(default_factory=list)
    #: other CLIs' own plans (label, figure), e.g. ("Codex", 42 % of its 5-hour window):
    #: shown after the mode's text in every mode, never mixed with Claude's plan
    cli_plans: list[tuple[str, PlanFigure]] = field(default_factory=list)


_WINDOW_LABEL = {"five_hour": "5-hour", "seven_day": "7-day"}


def cli_plans_text(state: StatusInputs) -> str:
    """` | Codex: 42%` for each other CLI's plan figure ('' when none)."""
    return "".join(f" | {label}: {'~' if fig.stale else ''}{format_pct(fig.used_pct)}"
                   for label, fig in state.cli_plans)  # fmt: skip


def plan_text(plan: PlanFigure | None) -> str:
    if plan is None:
        return "Plan: n/a"
    if plan.source == "estimate":  # never to be read as an official figure (formats.md §7)
        return f"Plan: ~{format_pct(plan.used_pct)} est"
    return f"Plan: {'~' if plan.stale else ''}{format_pct(plan.used_pct)}"


def usd_text(state: StatusInputs, value: float) -> str:
    """A dollar figure, with `+` when some of the usage behind it has no price."""
    return format_usd(value) + ("+" if state.unpriced_models else "")


def mode_text(state: StatusInputs) -> str:
    if state.mode == "api":
        return f"{usd_text(state, state.api_today_usd)} today"
    if state.mode == "both":
        return f"{plan_text(state.plan)} | API: {usd_text(state, state.api_today_usd)}"
    if state.mode == "proxy":
        return f"Proxy: {usd_text(state, state.today_usd)} today"
    return plan_text(state.plan)


def agent_counts_text(cards: list[AgentCard]) -> str:
    """`3 agents | ⚠ 2 pending | 1 waiting | 1 paused` over the agents still alive; '' when
    none is (agents that ended keep their cards, for history and diff stats, but are not
    counted as running). Permission requests first: someone has to answer them."""
    live = [c for c in cards if c.status not in TERMINAL_STATUSES]
    if not live:
        return ""
    parts = [f"{len(live)} agent{'s' if len(live) != 1 else ''}"]
    pending = sum(len(c.pending) for c in live)
    waiting = sum(1 for c in live if c.status == "waiting" and not c.pending)
    limited = sum(1 for c in live if c.status == "rateLimited")
    paused = sum(1 for c in live if c.status == "paused")
    if pending:
        parts.append(f"⚠ {pending} pending")
    if waiting:
        parts.append(f"{waiting} waiting")
    if limited:
        parts.append(f"{limited} rate limited")
    if paused:
        parts.append(f"{paused} paused")
    return " | ".join(parts)


def oldest_pending(cards: list[AgentCard]) -> PendingRef | None:
    """The permission request waiting longest over the live agents' cards."""
    oldest: tuple[int, str, str] | None = None
    for card in cards:
        if card.status in TERMINAL_STATUSES:
            continue
        for request in card.pending:
            key = (request.since, card.agent_id, request.request_id)
            if oldest is None or key < oldest:
                oldest = key
    return None if oldest is None else PendingRef(agent_id=oldest[1], request_id=oldest[2])


def severity_of(state: StatusInputs) -> str:
    pcts = list(state.budget_pcts)
    if state.plan is not None and state.mode in ("subscription", "both"):
        pcts.append(state.plan.used_pct)
    pcts.extend(fig.used_pct for _label, fig in state.cli_plans)
    pcts.extend(card.limit.used_pct for card in state.cards if card.limit is not None)
    if any(c.status == "error" for c in state.cards) or any(p >= 100.0 for p in pcts):
        return "error"
    paused_by_limit = any(
        c.status in ("paused", "stopped") and "limit" in (c.status_reason or "")
        for c in state.cards
    )
    if paused_by_limit or any(p >= 100.0 * state.warning_at for p in pcts):
        return "warning"
    if any(c.pending or c.status == "rateLimited" for c in state.cards):
        return "warning"  # someone has to answer, or an agent is held by a rate limit
    return "ok"


def _md_cell(text: str) -> str:
    """Keep user text (agent names) from breaking the markdown table."""
    return text.replace("|", "\\|").replace("\n", " ")


def tooltip_text(state: StatusInputs) -> str:
    lines: list[str] = []
    if state.mode in ("subscription", "both"):
        plan = state.plan
        if plan is None:
            lines.append("**Plan** no figure yet")
        else:
            age = format_duration_coarse(state.now - plan.observed_at) if state.now else "?"
            label = "estimate" if plan.source == "estimate" else f"{plan.source}, {age} ago"
            line = (
                f"**Plan** {format_pct(plan.used_pct)} of the "
                f"{_WINDOW_LABEL.get(plan.window, plan.window)} window ({label})"
            )
            if plan.stale:
                line += f" — stale: {_md_cell(plan.stale_reason or 'old figure')}"
            lines.append(line)
        for error in state.plan_errors:
            lines.append(f"⚠ {_md_cell(error)}")
    for label, fig in state.cli_plans:
        age = format_duration_coarse(state.now - fig.observed_at) if state.now else "?"
        line = (f"**{_md_cell(label)}** {format_pct(fig.used_pct)} of its "
                f"{_WINDOW_LABEL.get(fig.window, fig.window)} window ({fig.source}, {age} ago)")
        if fig.stale:
            line += f" — stale: {_md_cell(fig.stale_reason or 'old figure')}"
        lines.append(line)
    if state.mode in ("api", "both"):
        lines.append(
            f"**API** {format_usd(state.api_today_usd)} today, "
            f"{format_usd(state.api_month_usd)} this month"
        )
    if state.mode == "proxy":
        lines.append(
            f"**Proxy** {format_usd(state.today_usd)} today (API-equivalent cost of all usage)"
        )
    if state.unpriced_models and state.mode in ("api", "both", "proxy"):
        names = ", ".join(_md_cell(m) for m in state.unpriced_models)
        lines.append(f"⚠ no price for {names}: its usage is not in these figures "
                     "(`podium prices update`)")  # fmt: skip
    if state.cards:
        lines.append("")
        lines.append("| Agent | Status | For | Changes | Usage |")
        lines.append("|---|---|---|---|---|")
        for card in state.cards:
            since = card.status_since / 1000.0
            status: str = card.status
            if card.status_reason and status in ("paused", "stopped", "error", "rateLimited",
                                                 "waiting"):
                status += f" ({_md_cell(card.status_reason)})"
            lines.append(
                f"| {_md_cell(card.name)} | {status} | "
                f"{format_duration_coarse(state.now - since) if since else '-'} | "
                f"+{card.diff.added} −{card.diff.removed} | "
                f"{format_agent_usage(card.source, card.usage)} |"
            )
    else:
        lines.append("")
        lines.append("No agents.")
    return "\n".join(lines)


def render_status_bar(state: StatusInputs) -> StatusBar:
    """The `podium/statusBar` payload; cards are listed oldest first."""
    counts = agent_counts_text(state.cards)
    text = mode_text(state) + cli_plans_text(state)
    if counts:
        text = f"{counts} | {text}"
    return StatusBar(
        text=text, tooltip=tooltip_text(state), severity=severity_of(state), mode=state.mode,
        oldest_pending=oldest_pending(state.cards),
    )
