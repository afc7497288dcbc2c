"""The `codex` and `gemini` profiles spawn the real CLIs in an agent's worktree (offline, against
the stand-ins); their usage belongs to the agent by cwd, and the task never enters the stored
command line."""

from __future__ import annotations

import json
from pathlib import Path

from tests.agents.agents_helpers import wait_for

from podium.agents import AgentManager
from podium.agents.profiles import command_for, redacted_argv
from podium.store import Store
from podium.usage.adapters import CodexAdapter, GeminiAdapter
from podium.usage.ingest import Ingestor

from .standin import GeminiAPI, OpenAIResponses, Tokens, Turn

TASK = "-v write a haiku"  # a task starting with `-` must stay the task


def test_argv_and_the_stored_command(tmp_path: Path) -> None:
    codex, _ = command_for("codex", None, TASK, "s", tmp_path, user_profiles={})
    assert codex == ["codex", "exec", "--json", "--sandbox", "workspace-write", "--", TASK]
    gemini, _ = command_for("gemini", None, TASK, "s", tmp_path, user_profiles={})
    assert gemini[-1] == f"--prompt={TASK}"
    assert redacted_argv(gemini, TASK)[-1] == "--prompt=<task>"
    assert TASK not in " ".join(redacted_argv(codex, TASK))


def run_agent(store: Store, repo: Path, profile: str, binary: Path, env: dict) -> tuple:
    manager = AgentManager(store, repo)
    try:
        agent = manager.spawn(TASK, profile=profile, command=[str(binary)], env=env)
        ended = wait_for(lambda: manager.poll() is not None and
                         str(manager.get(agent.id).status) in ("exited", "error", "stopped")
                         and manager.get(agent.id), timeout=120, message=f"{profile} to end")  # fmt: skip
        return agent, ended, manager
    except BaseException:
        manager.close()
        raise


def test_codex_profile(codex_bin: Path, git_repo: Path, tmp_path: Path, store: Store) -> None:
    home = tmp_path / "codex"
    home.mkdir()
    tokens = Tokens(input=2100, cached=600, output=90, reasoning=30)
    with OpenAIResponses(lambda _r: Turn(text="Done.", tokens=tokens)) as standin:
        (home / "config.toml").write_text(
            'model = "gpt-5.1-codex"\nmodel_provider = "standin"\n[model_providers.standin]\n'
            f'name = "standin"\nbase_url = "{standin.url}/v1"\nenv_key = "OPENAI_API_KEY"\n'
            'wire_api = "responses"\n')
        agent, ended, manager = run_agent(store, git_repo, "codex", codex_bin,
                                          {"CODEX_HOME": str(home), "OPENAI_API_KEY": "sk-x"})  # fmt: skip
        try:
            assert ended.exit_code == 0
            task = standin.model_requests()[0].body["input"][-1]["content"][0]["text"]
            assert task == TASK
            Ingestor(store, [CodexAdapter([str(home)])]).run()
            usage = manager.usage(agent.id)  # by cwd: the rollout's cwd is the worktree
            assert (usage.input, usage.cache_read, usage.output) == (1500, 600, 90)
            assert TASK not in json.dumps(ended.command)
        finally:
            manager.close()


def test_gemini_profile(gemini_bin: Path, git_repo: Path, tmp_path: Path, store: Store) -> None:
    home = tmp_path / "gemini-home"
    (home / ".gemini").mkdir(parents=True)
    (home / ".gemini" / "settings.json").write_text(
        json.dumps({"security": {"auth": {"selectedType": "gemini-api-key"}}}))
    tokens = Tokens(input=1800, cached=300, output=60, reasoning=12)

    def script(request):
        config = (request.body or {}).get("generationConfig") or {}
        if config.get("responseMimeType") == "application/json":  # the router
            return Turn(text=json.dumps({"complexity_reasoning": "x", "complexity_score": 10}))
        return Turn(text="Done.", tokens=tokens)

    with GeminiAPI(script) as standin:
        env = {"GEMINI_CLI_HOME": str(home), "GEMINI_API_KEY": "k",
               "GOOGLE_GEMINI_BASE_URL": standin.url, "GEMINI_CLI_TRUST_WORKSPACE": "true"}  # fmt: skip
        agent, ended, manager = run_agent(store, git_repo, "gemini", gemini_bin, env)
        try:
            assert ended.exit_code == 0
            Ingestor(store, [GeminiAdapter([str(home)])]).run()
            usage = manager.usage(agent.id)
            assert (usage.input, usage.cache_read, usage.output) == (1500, 300, 72)
        finally:
            manager.close()
