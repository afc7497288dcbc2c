"""What a new agent is started with: its command line, environment and billing source, and
the record that describes it. Checked before git is touched, so a typo leaves nothing behind."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from podium.agents.events import EventSource
from podium.agents.models import Agent, AgentStatus
from podium.agents.process import resolve_executable
from podium.agents.profiles import command_for, redacted_argv
from podium.agents.record import AgentRecord
from podium.agents.source import detect_source
from podium.agents.spec import SpawnSpec
from podium.agents.workspace import Placement
from podium.redact import scrub


@dataclass(frozen=True, slots=True)
class LaunchPlan:
    argv: list[str]
    env: dict[str, str]
    claude_session_id: str | None
    #: the source the environment alone says, and the one the agent gets (override applied)
    env_source: str
    source: str
    source_override: str | None


def plan_launch(
    spec: SpawnSpec, profile: str, place: Placement, agent_id: str, session_id: str, *,
    user_profiles: dict[str, list[str]], fake_args: list[str] | None,
    claude_config_dir: str | None, source_override: str | None,
) -> LaunchPlan:  # fmt: skip
    """argv and environment of a new agent; AgentError when its executable is missing."""
    env = dict(os.environ)
    env.update(spec.env or {})
    env.pop("PODIUM_AGENT_ID", None)
    argv, claude_session_id = command_for(
        profile, spec.command, spec.task, session_id, place.state_dir,
        user_profiles=user_profiles, fake_args=fake_args,
    )  # fmt: skip
    resolve_executable(argv[0], env)
    env_source = detect_source(env)
    source = detect_source(env, override=source_override)
    if profile == "fake" and claude_config_dir and "CLAUDE_CONFIG_DIR" not in (spec.env or {}):
        env["CLAUDE_CONFIG_DIR"] = claude_config_dir
    env["PODIUM_AGENT_ID"] = agent_id
    env["PWD"] = str(place.worktree)  # an inherited PWD would name Podium's own cwd
    return LaunchPlan(argv=argv, env=env, claude_session_id=claude_session_id,
                      env_source=env_source, source=source, source_override=source_override)  # fmt: skip


def new_record(spec: SpawnSpec, profile: str, place: Placement, plan: LaunchPlan, *,
               agent_id: str, repo: str, base_commit: str) -> AgentRecord:  # fmt: skip
    """The record of an agent about to start (no process yet). Free text is scrubbed and
    the task never appears in the stored command line."""
    now = time.time()
    agent = Agent(
        id=agent_id, name=place.name, task=scrub(spec.task), status=AgentStatus.STARTING,
        status_since=now, status_reason=None, started_at=now, repo=repo,
        worktree=str(place.worktree), branch=place.branch, base_ref=spec.base_ref,
        base_commit=base_commit, profile=profile, command=redacted_argv(plan.argv, spec.task),
        pid=None, claude_session_id=plan.claude_session_id, source=plan.source, model=None,
        exit_code=None, limit_usd=float(spec.limit_usd) if spec.limit_usd else None,
        state_dir=str(place.state_dir),
    )  # fmt: skip
    return AgentRecord(agent=agent, events=EventSource(place.state_dir),
                       source_override=plan.source_override, env_source=plan.env_source,
                       last_activity=now)  # fmt: skip
