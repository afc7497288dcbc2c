"""Podium's side of the permission bridge (the hook is `permission_hook`): answer a pending
request, allow a tool for an agent, deny what is pending when an agent stops. Which Podium
process serves the hooks (`owner.json`: when it is gone they deny) is written by the owner of
the repository's agents (`ownership`).

Every file is written atomically (tmp + rename) so a hook never reads half an answer.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any, Literal

from podium.agents import reducer
from podium.agents.keeper import write_json_0600
from podium.agents.permission_hook import (
    ALLOW_FILE,
    ANSWERS_DIR,
    BY_RULE,
    BY_STOP,
    BY_USER,
    allowed_tools,
)
from podium.agents.record import AgentRecord
from podium.agents.registry import AgentRegistry
from podium.errors import InvalidInput, NotFound

Decision = Literal["allow", "deny"]
DENIED_BY_USER = "denied by the user in Podium"
DENIED_BY_STOP = "the agent was stopped in Podium"


def write_json_atomic(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_0600(path, obj)


def write_answer(state_dir: str, request_id: str, decision: Decision, message: str | None,
                 by: str) -> None:  # fmt: skip
    answer = {"decision": decision, "by": by}
    if message:
        answer["message"] = message
    write_json_atomic(Path(state_dir) / ANSWERS_DIR / f"{request_id}.json", answer)


def allow_tool(state_dir: str, tool: str) -> None:
    """Add `tool` to the agent's allow list (its hook then answers `allow` by itself)."""
    tools = allowed_tools(state_dir) | {tool}
    write_json_atomic(Path(state_dir) / ALLOW_FILE, {"tools": sorted(tools)})


def deny_pending(record: AgentRecord, registry: AgentRegistry, *, message: str = DENIED_BY_STOP,
                 by: str = BY_STOP) -> None:  # fmt: skip
    """Answer every pending request with deny (the agent's `op_lock` held)."""
    with registry.lock:
        pending = list(record.pending)
    for request_id in pending:
        with contextlib.suppress(OSError):
            write_answer(record.agent.state_dir, request_id, "deny", message, by)
    with registry.lock:
        reducer.settle(record, pending, "deny", time.time())


class Permissions:
    def __init__(self, registry: AgentRegistry, state_root: Path) -> None:
        self.registry = registry
        self.state_root = state_root

    # -- answering ----------------------------------------------------------------------------
    def answer(self, agent_id: str, request_id: str, decision: str, scope: str = "once") -> str:
        """Answer one pending request. `scope` "agent" with allow: allow that tool for this
        agent from now on (its other pending requests for the tool are allowed too)."""
        if decision not in ("allow", "deny"):
            raise InvalidInput("decision: must be 'allow' or 'deny'", field="decision")
        if scope not in ("once", "agent"):
            raise InvalidInput("scope: must be 'once' or 'agent'", field="scope")
        verdict: Decision = "allow" if decision == "allow" else "deny"  # checked above
        registry = self.registry
        record = registry.get(agent_id)
        with registry.operation(record):
            with registry.lock:
                request = record.pending.get(request_id) if isinstance(request_id, str) else None
                prior = record.answered.get(request_id) if isinstance(request_id, str) else None
                name = record.agent.name
            if request is None:
                if prior is not None:
                    raise NotFound(f"permission request {request_id!r} of agent {name} was "
                                   f"already answered ({prior})", field="requestId")  # fmt: skip
                raise NotFound(f"agent {name} has no pending permission request {request_id!r}",
                               field="requestId")  # fmt: skip
            state_dir = record.agent.state_dir
            answered = [request_id]
            if scope == "agent" and decision == "allow":
                allow_tool(state_dir, request.tool)
                with registry.lock:
                    answered += [rid for rid, p in record.pending.items()
                                 if p.tool == request.tool and rid != request_id]  # fmt: skip
            message = DENIED_BY_USER if decision == "deny" else None
            for rid in answered:
                write_answer(state_dir, rid, verdict, message,
                             BY_RULE if rid != request_id else BY_USER)
            with registry.lock:
                reducer.settle(record, answered, decision, time.time())
            registry.persist(record)
        registry.notify([record])
        return request_id
