"""Gives the agent's events (`podium.agents.events`) their effect on its record: status,
session id, model, billing source. Pure state changes: no I/O; called under the manager's
lock."""

from __future__ import annotations

import time

from podium.agents.events import (
    AttentionNeeded,
    Event,
    HookEvent,
    MessageSeen,
    SessionInit,
    TurnActive,
    TurnResult,
    TurnStopped,
)
from podium.agents.models import TERMINAL_STATUSES, AgentStatus
from podium.agents.record import AgentRecord
from podium.redact import scrub

USAGE_LIMIT_REASON = "usage limit reached"
#: longest free text kept from an event as a status reason
_REASON_CHARS = 200


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
            record.mark_active(now)
        case MessageSeen(model=model):
            if model:
                agent.model = model
            record.mark_active(now)
        case TurnResult(is_error=is_error, text=text):
            if paused:
                return
            if is_error:
                record.set_status(AgentStatus.ERROR, _error_reason(text))
            else:
                record.set_status(AgentStatus.WAITING, None)
            record.last_activity = now
        case HookEvent():
            _apply_hook(record, event, now)


def replay(record: AgentRecord, events: list[Event], *, stopped: bool, now: float) -> None:
    """Re-attaching: apply what the agent said since it started, keeping the stored status
    times where they still hold; a stopped process tree is `paused`."""
    agent = record.agent
    stored = (agent.status, agent.status_since, agent.status_reason)
    for event in events:
        apply(record, event, now)
    if stopped:
        was_paused = stored[0] == AgentStatus.PAUSED
        agent.status = AgentStatus.PAUSED
        agent.status_since = stored[1] if was_paused else now
        agent.status_reason = stored[2] if was_paused else None
    elif agent.status == stored[0]:
        agent.status_since, agent.status_reason = stored[1], stored[2]
    record.last_activity = now


def _apply_hook(record: AgentRecord, event: HookEvent, now: float) -> None:
    agent = record.agent
    if agent.status == AgentStatus.PAUSED:
        return
    if event.session_id and not agent.claude_session_id:
        agent.claude_session_id = event.session_id
    if agent.status in TERMINAL_STATUSES:
        return
    record.last_activity = now
    match event:
        case TurnActive():
            record.set_status(AgentStatus.WORKING, None)
        case TurnStopped():
            record.set_status(AgentStatus.WAITING, None)
        case AttentionNeeded(message=message):
            reason = scrub(message[:_REASON_CHARS]) if message else None
            record.set_status(AgentStatus.WAITING, reason or "needs your attention")


def _error_reason(text: str) -> str:
    if "usage limit reached" in text.lower():
        return usage_limit_reason(text)
    return scrub(text.strip()[:_REASON_CHARS]) if text else "the agent reported an error"


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
    at = time.localtime(resets)
    same_day = time.localtime(time.time() if now is None else now)[:3] == at[:3]
    when = time.strftime("%H:%M" if same_day else "%b %d %H:%M", at)
    return f"{USAGE_LIMIT_REASON}; resets {when}"
