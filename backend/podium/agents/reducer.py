"""Gives the agent's events (`podium.agents.events`) their effect on its record: status,
session id, model, billing source, turns and their outcome, permission requests, the limits it
reports, Claude Code's own cost. Pure state changes: no I/O; called under the manager's lock."""

from __future__ import annotations

import time

from podium.agents.events import (
    EDIT_TOOLS,
    ApiRetry,
    AttentionNeeded,
    Event,
    HookEvent,
    MessageSeen,
    PermissionAnswered,
    PermissionAsked,
    RateLimitInfo,
    SessionInit,
    ToolUse,
    TurnActive,
    TurnResult,
    TurnStopped,
)
from podium.agents.models import TERMINAL_STATUSES, AgentStatus, PendingRequest
from podium.agents.profiles import SESSION_PROFILES
from podium.agents.record import AgentRecord
from podium.redact import scrub

USAGE_LIMIT_REASON = "usage limit reached"
RATE_LIMITED_REASON = "rate limited"
#: longest free text kept from an event as a status reason
_REASON_CHARS = 200
_SUMMARY_CHARS = 160
#: plan figures kept until the server takes them (a stuck server must not grow this forever)
_PLAN_UPDATES_KEPT = 16
#: answered request ids remembered, to say "already answered" rather than "unknown"
_ANSWERED_KEPT = 1000
#: the text of Claude Code's own usage-limit results (old and new wording)
_USAGE_LIMIT_TEXTS = ("usage limit reached", "you've hit your")


def apply(record: AgentRecord, event: Event, now: float) -> None:
    """Apply one event. Lines written just before a pause change no status."""
    agent = record.agent
    paused = agent.status == AgentStatus.PAUSED
    match event:
        case SessionInit(session_id=sid, model=model, api_key_source=key_source):
            if sid:
                agent.claude_session_id = sid
            if model:
                agent.model = model
            if key_source is not None:
                record.api_key_source = key_source
                record.refresh_source()
            record.turn_running = True  # every turn of a stream-json session starts with init
            record.mark_active(now)
        case MessageSeen(model=model, tools=tools, synthetic=synthetic):
            if model:
                agent.model = model
            record.turn_tools.extend(tools)
            if not (synthetic and agent.status == AgentStatus.RATE_LIMITED):
                record.mark_active(now)
        case TurnResult():
            _turn_ended(record, event, now, paused)
        case RateLimitInfo(windows=windows, limit_type=limit_type):
            record.plan_updates = [*record.plan_updates[-(_PLAN_UPDATES_KEPT - 1):], event]
            for window in windows:
                if window.resets_at:
                    record.resets[window.window] = window.resets_at
            record.rate_limit_type = limit_type or record.rate_limit_type
        case ApiRetry(error_status=429):
            if not paused and agent.status not in TERMINAL_STATUSES:
                record.set_status(AgentStatus.RATE_LIMITED, rate_limit_reason(record, now))
        case PermissionAsked() | PermissionAnswered():
            _apply_permission(record, event, now)
        case HookEvent():
            _apply_hook(record, event, now)


def replay(record: AgentRecord, events: list[Event], *, stopped: bool, now: float) -> None:
    """Re-attaching: apply what the agent said since it started (every process of its
    session wrote to the same files), keeping the stored status times where they still hold;
    a stopped process tree is `paused`. Plan figures replayed are old: they are not handed on."""
    agent = record.agent
    stored = (agent.status, agent.status_since, agent.status_reason)
    record.pending.clear()
    record.turn_tools.clear()
    record.turn_running = False
    agent.reported_cost_usd = None
    for event in events:
        apply(record, event, now)
    record.plan_updates.clear()
    if stopped:
        was_paused = stored[0] == AgentStatus.PAUSED
        agent.status = AgentStatus.PAUSED
        agent.status_since = stored[1] if was_paused else now
        agent.status_reason = stored[2] if was_paused else None
    elif agent.status == stored[0]:
        agent.status_since, agent.status_reason = stored[1], stored[2]
    record.last_activity = now


# -- turns -----------------------------------------------------------------------------------------
def _turn_ended(record: AgentRecord, event: TurnResult, now: float, paused: bool) -> None:
    agent = record.agent
    record.turn_running = False
    tools, record.turn_tools = record.turn_tools, []
    if event.turn_cost is not None:
        agent.reported_cost_usd = (agent.reported_cost_usd or 0.0) + event.turn_cost
    elif event.total_cost is not None:  # no per-turn figure: the process's running total
        agent.reported_cost_usd = max(agent.reported_cost_usd or 0.0, event.total_cost)
    agent.last_turn = turn_outcome(event, tools)
    if paused or agent.status in TERMINAL_STATUSES:
        return
    record.last_activity = now
    if event.is_error and _is_usage_limit(event):
        record.set_status(AgentStatus.RATE_LIMITED, _usage_limit_reason(record, event, now))
    elif event.is_error and event.api_error_status == 429:
        record.set_status(AgentStatus.RATE_LIMITED, rate_limit_reason(record, now))
    elif event.is_error and agent.profile not in SESSION_PROFILES:
        record.set_status(AgentStatus.ERROR, _error_reason(event.text))
    elif record.pending:  # an answer is still awaited (a turn cannot end so, but be safe)
        return
    else:  # a session lives on after a failed turn: it waits for the next message
        record.set_status(AgentStatus.WAITING, _error_reason(event.text) if event.is_error else None)


def turn_outcome(event: TurnResult, tools: list[ToolUse]) -> str:
    """One line on how a turn ended, from what it did (never the agent's own words)."""
    if event.is_error:
        return "error: " + _error_reason(event.text)
    denied_ids = {tool_use_id for _name, tool_use_id in event.denied if tool_use_id}
    denied = list(dict.fromkeys(name for name, _id in event.denied))
    done = [t for t in tools if t.tool_use_id not in denied_ids]
    files = {t.path for t in done if t.name in EDIT_TOOLS and t.path}
    commands = sum(1 for t in done if t.name == "Bash")
    parts = []
    if files:
        parts.append(f"wrote {len(files)} file{'s' if len(files) != 1 else ''}")
    if commands:
        parts.append(f"ran {commands} command{'s' if commands != 1 else ''}")
    if denied:
        parts.append("denied " + ", ".join(denied))
    return ", ".join(parts) if parts else "waiting for you"


# -- limits ----------------------------------------------------------------------------------------
def _is_usage_limit(event: TurnResult) -> bool:
    text = event.text.lower()
    return event.api_error == "usage_limit_reached" or any(t in text for t in _USAGE_LIMIT_TEXTS)


def _usage_limit_reason(record: AgentRecord, event: TurnResult, now: float) -> str:
    """The old text carries the reset (`…|<epoch>`); the new one leaves it to the
    rate_limit_event's rejected window."""
    if "|" in event.text:
        return usage_limit_reason(event.text, now)
    resets = record.resets.get(record.rate_limit_type or "five_hour")
    if resets and resets > now:
        return f"{USAGE_LIMIT_REASON}; resets {_clock(resets, now)}"
    return USAGE_LIMIT_REASON


def lift_expired_limit(record: AgentRecord, now: float) -> bool:
    """A session left `rateLimited` after its turn ended waits for a message once the
    limiting window has reset (a turn still retrying ends the state itself). True on change."""
    agent = record.agent
    if agent.status != AgentStatus.RATE_LIMITED or record.turn_running:
        return False
    resets = record.resets.get(record.rate_limit_type or "five_hour")
    if resets is None or now < resets:
        return False
    return record.set_status(AgentStatus.WAITING, None)


def rate_limit_reason(record: AgentRecord, now: float) -> str:
    """`rate limited; resets 14:05` (the last reported reset of the limiting window) or
    `rate limited; retrying`."""
    resets = record.resets.get(record.rate_limit_type or "five_hour")
    if resets and resets > now:
        return f"{RATE_LIMITED_REASON}; resets {_clock(resets, now)}"
    return f"{RATE_LIMITED_REASON}; retrying"


def usage_limit_reason(text: str, now: float | None = None) -> str:
    """`usage limit reached; resets 14:05` from Claude Code's `Claude AI usage limit
    reached|<epoch>` (the day too when the reset is not today, local time)."""
    _, _, tail = text.partition("|")
    try:
        resets = float(tail.strip().split()[0]) if tail.strip() else None
    except ValueError:
        resets = None
    if resets is None or not 0 < resets < 1e11:
        return USAGE_LIMIT_REASON
    return f"{USAGE_LIMIT_REASON}; resets {_clock(resets, now)}"


def _clock(at: float, now: float | None) -> str:
    local = time.localtime(at)
    same_day = time.localtime(time.time() if now is None else now)[:3] == local[:3]
    return time.strftime("%H:%M" if same_day else "%b %d %H:%M", local)


# -- hooks -----------------------------------------------------------------------------------------
def _apply_permission(record: AgentRecord, event: PermissionAsked | PermissionAnswered,
                      now: float) -> None:  # fmt: skip
    agent = record.agent
    if isinstance(event, PermissionAsked):
        if event.request_id in record.answered or event.request_id in record.pending:
            return
        summary = scrub(event.summary)[:_SUMMARY_CHARS]
        record.pending[event.request_id] = PendingRequest(
            request_id=event.request_id, tool=scrub(event.tool)[:64], summary=summary,
            since=event.at if 0 < event.at <= now + 60 else now,
        )  # fmt: skip
        if agent.status != AgentStatus.PAUSED and agent.status not in TERMINAL_STATUSES:
            record.set_status(AgentStatus.WAITING, pending_reason(record))
        return
    settle(record, [event.request_id], event.decision, now)


def settle(record: AgentRecord, request_ids: list[str], decision: str, now: float) -> None:
    """Requests answered (by Podium or, as its hook logged, by the hook): they no longer hold
    the agent; it works on once none is left."""
    was_pending = False
    for request_id in request_ids:
        was_pending |= record.pending.pop(request_id, None) is not None
        record.answered[request_id] = decision
    while len(record.answered) > _ANSWERED_KEPT:
        del record.answered[next(iter(record.answered))]
    if not was_pending or record.agent.status != AgentStatus.WAITING:
        return
    if record.pending:
        record.set_status(AgentStatus.WAITING, pending_reason(record))
    elif record.turn_running or record.agent.profile not in SESSION_PROFILES:
        record.last_activity = now
        record.set_status(AgentStatus.WORKING, None)
    else:  # its turn ended already (a hook line read after the turn's `result`)
        record.set_status(AgentStatus.WAITING, None)


def pending_reason(record: AgentRecord) -> str:
    """`asks to Write src/x.py` for the oldest pending request (+ how many more)."""
    first = next(iter(record.pending.values()))
    reason = f"asks to {first.tool} {first.summary}".rstrip()
    more = len(record.pending) - 1
    return f"{reason} (+{more} more)" if more else reason


def _apply_hook(record: AgentRecord, event: HookEvent, now: float) -> None:
    agent = record.agent
    if agent.status == AgentStatus.PAUSED:
        return
    if event.session_id and not agent.claude_session_id:
        agent.claude_session_id = event.session_id
    if agent.status in TERMINAL_STATUSES:
        return
    record.last_activity = now
    if record.pending:  # waiting on a person: tool hooks do not make it "working"
        return
    # a session's hook lines are read after its stdout: a tool hook of a turn that ended
    # already (its `result` read) must not bring it back to working
    session = agent.profile in SESSION_PROFILES
    match event:
        case TurnActive():
            if not session or record.turn_running:
                record.set_status(AgentStatus.WORKING, None)
        case TurnStopped():
            record.set_status(AgentStatus.WAITING, None)
        case AttentionNeeded(message=message):
            reason = scrub(message[:_REASON_CHARS]) if message else None
            record.set_status(AgentStatus.WAITING, reason or "needs your attention")


def _error_reason(text: str) -> str:
    if "usage limit reached" in text.lower():
        return usage_limit_reason(text)
    return scrub(text.strip()[:_REASON_CHARS]) if text.strip() else "the agent reported an error"
