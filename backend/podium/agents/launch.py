"""What a new agent is started with: its command line, environment and billing source, and
the record that describes it. Checked before git is touched, so a typo leaves nothing behind."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from podium.agents.events import EventSource
from podium.agents.models import Agent, AgentStatus
from podium.agents.process import resolve_executable
from podium.agents.profiles import (
    DEFAULT_PERMISSION_MODE,
    SESSION_PROFILES,
    command_for,
    redacted_argv,
)
from podium.agents.record import AgentRecord
from podium.agents.source import detect_source
from podium.agents.spec import SpawnSpec
from podium.agents.workspace import Placement
from podium.redact import scrub

#: every agent finds its task in this environment variable (only its own user can read a
#: process's environment; anyone can read its argv)
TASK_ENV = "PODIUM_TASK"


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
    permission_mode: str = DEFAULT_PERMISSION_MODE,
) -> LaunchPlan:  # fmt: skip
    """argv and environment of a new agent; AgentError when its executable is missing."""
    argv, claude_session_id = command_for(
        profile, spec.command, spec.task, session_id, place.state_dir,
        user_profiles=user_profiles, fake_args=fake_args, permission_mode=permission_mode,
    )  # fmt: skip
    env = _environment(spec.env or {}, profile, place.worktree, agent_id, claude_config_dir)
    if profile not in SESSION_PROFILES:  # a session gets it as its first message (stdin)
        env[TASK_ENV] = spec.task  # the task reaches the agent here, never through argv
    return _plan(argv, env, claude_session_id, source_override)


def plan_resume(
    agent: Agent, base_command: list[str] | None, launch_env: dict[str, str], *,
    user_profiles: dict[str, list[str]], source_override: str | None, drop: tuple[str, ...] = (),
) -> LaunchPlan:  # fmt: skip
    """argv and environment that continue an ended session (`--resume`) in its worktree:
    the spawn's environment entries (`launch_env`), without the variables in `drop`."""
    assert agent.claude_session_id
    argv, _ = command_for(
        agent.profile, base_command, "", agent.claude_session_id, Path(agent.state_dir),
        user_profiles=user_profiles, permission_mode=agent.permission_mode or DEFAULT_PERMISSION_MODE,
        resume=True,
    )  # fmt: skip
    env = _environment(launch_env, agent.profile, Path(agent.worktree), agent.id, None)
    for key in drop:  # e.g. the OAuth token when switching to an API key
        env.pop(key, None)
    return _plan(argv, env, agent.claude_session_id, source_override)


def _environment(spawn_env: dict[str, str], profile: str, worktree: Path, agent_id: str,
                 claude_config_dir: str | None) -> dict[str, str]:  # fmt: skip
    env = dict(os.environ)
    env.update(spawn_env)
    env.pop("PODIUM_AGENT_ID", None)
    env.pop(TASK_ENV, None)  # a Podium running inside an agent has one of its own
    if profile == "fake" and claude_config_dir and "CLAUDE_CONFIG_DIR" not in spawn_env:
        env["CLAUDE_CONFIG_DIR"] = claude_config_dir
    env["PODIUM_AGENT_ID"] = agent_id
    env["PWD"] = str(worktree)  # an inherited PWD would name Podium's own cwd
    return env


def _plan(argv: list[str], env: dict[str, str], claude_session_id: str | None,
          source_override: str | None) -> LaunchPlan:  # fmt: skip
    resolve_executable(argv[0], env)
    return LaunchPlan(argv=argv, env=env, claude_session_id=claude_session_id,
                      env_source=detect_source(env),
                      source=detect_source(env, override=source_override),
                      source_override=source_override)  # fmt: skip


def new_record(spec: SpawnSpec, profile: str, place: Placement, plan: LaunchPlan, *,
               agent_id: str, repo: str, base_commit: str,
               permission_mode: str | None = None) -> AgentRecord:  # fmt: skip
    """The record of an agent about to start (no process yet). Free text is scrubbed and
    the task never appears in the stored command line. A session keeps its spawn
    environment in memory only (it may hold keys), for a later `--resume`."""
    now = time.time()
    agent = Agent(
        id=agent_id, name=place.name, task=scrub(spec.task), status=AgentStatus.STARTING,
        status_since=now, status_reason=None, started_at=now, repo=repo,
        worktree=str(place.worktree), branch=place.branch, base_ref=spec.base_ref,
        base_commit=base_commit, profile=profile, command=redacted_argv(plan.argv, spec.task),
        pid=None, claude_session_id=plan.claude_session_id, source=plan.source, model=None,
        exit_code=None, limit_usd=float(spec.limit_usd) if spec.limit_usd else None,
        state_dir=str(place.state_dir), permission_mode=permission_mode,
    )  # fmt: skip
    record = AgentRecord(agent=agent, events=EventSource(place.state_dir),
                         source_override=plan.source_override, env_source=plan.env_source,
                         last_activity=now)  # fmt: skip
    if profile in SESSION_PROFILES:
        record.launch_env = dict(spec.env or {})
        record.extra["base_command"] = list(spec.command) if spec.command else None
    return record
