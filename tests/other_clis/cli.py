"""Run the real Codex CLI and Gemini CLI offline against the stand-ins, with scripted
conversations whose every model call has its own token counts (so a test can tell them apart).

Codex (`codex exec --json`): a custom provider in `$CODEX_HOME/config.toml` points at the
stand-in (OPENAI_BASE_URL alone is ignored). The script: the parent runs a shell command, spawns
a sub-agent with its history (`fork_context`), waits for it and answers; the sub-agent answers
at once. Every reply carries the ChatGPT plan headers (42.5 % of the 5-hour window, 12 % of the
week), which Codex logs as `rate_limits`.

Gemini (`gemini -p --output-format json`): GEMINI_API_KEY + GOOGLE_GEMINI_BASE_URL and the
`gemini-api-key` auth type in settings.json. The script: the router's JSON-mode call gets a
complexity score; the main model lists the directory, then answers.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .standin import GeminiAPI, OpenAIResponses, Request, Tokens, Turn, codex_plan_headers

CODEX_MODEL = "gpt-5.1-codex"
#: the Codex parent's calls, in order, and the sub-agent's one call
CODEX_PARENT = [
    Tokens(input=1000, cached=0, output=40, reasoning=10),
    Tokens(input=1100, cached=900, output=50, reasoning=20),
    Tokens(input=1200, cached=1000, output=20),
    Tokens(input=1300, cached=1100, output=15),
]
CODEX_CHILD = Tokens(input=500, cached=100, output=30, reasoning=5)
PLAN_PRIMARY, PLAN_SECONDARY = 42.5, 12.0

GEMINI_ROUTER = Tokens(input=300, output=20)
GEMINI_MAIN = [Tokens(input=1000, cached=200, output=50, reasoning=30, tool=7),
               Tokens(input=1500, cached=900, output=40)]  # fmt: skip

_KEEP_ENV = ("PATH", "LANG", "LC_ALL", "TMPDIR", "TZ", "USER", "LOGNAME", "SHELL")


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    requests: list[Request]

    def json_lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stdout.splitlines() if line.startswith("{")]


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: os.environ[k] for k in _KEEP_ENV if k in os.environ}
    env.update(HOME=str(home), **extra)
    return env


# -- Codex ---------------------------------------------------------------------------------------
def codex_script(now: float | None = None):
    reset = int(now or time.time())
    headers = codex_plan_headers(PLAN_PRIMARY, PLAN_SECONDARY, primary_reset=reset + 3600,
                                 secondary_reset=reset + 3 * 86400)  # fmt: skip

    def script(request: Request) -> Turn:
        body = request.body if isinstance(request.body, dict) else {}
        meta = json.loads(request.headers.get("x-codex-turn-metadata") or "{}")
        if meta.get("thread_id") and meta.get("thread_id") != meta.get("session_id"):
            return Turn(text="The readme is fine.", tokens=CODEX_CHILD, headers=headers)
        outputs = [i for i in body.get("input", []) if i.get("type") == "function_call_output"]
        step = len(outputs)
        if step == 0:
            return Turn(call=("exec_command", {"cmd": "echo hi"}), tokens=CODEX_PARENT[0],
                        headers=headers)  # fmt: skip
        if step == 1:
            return Turn(call=("multi_agent_v1.spawn_agent",
                              {"message": "check the readme", "fork_context": True}),
                        tokens=CODEX_PARENT[1], headers=headers)  # fmt: skip
        if step == 2:
            agent = json.loads(outputs[-1].get("output") or "{}").get("agent_id", "")
            return Turn(call=("multi_agent_v1.wait_agent",
                              {"targets": [agent], "timeout_ms": 30000}),
                        tokens=CODEX_PARENT[2], headers=headers)  # fmt: skip
        return Turn(text="All done.", tokens=CODEX_PARENT[3], headers=headers)

    return script


def run_codex(binary: Path, home: Path, cwd: Path, task: str = "do the task",
              timeout: float = 180.0) -> Run:  # fmt: skip
    codex_home = home / ".codex"
    codex_home.mkdir(parents=True, exist_ok=True)
    with OpenAIResponses(codex_script()) as standin:
        (codex_home / "config.toml").write_text(
            f'model = "{CODEX_MODEL}"\nmodel_provider = "standin"\n\n'
            '[model_providers.standin]\nname = "standin"\n'
            f'base_url = "{standin.url}/v1"\nenv_key = "OPENAI_API_KEY"\nwire_api = "responses"\n'
        )
        done = subprocess.run(
            [str(binary), "exec", "--json", "--skip-git-repo-check", task], cwd=cwd,
            env=_env(home, CODEX_HOME=str(codex_home), OPENAI_API_KEY="sk-standin"),
            capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        return Run(done.returncode, done.stdout, done.stderr, standin.model_requests())


def codex_rollouts(home: Path) -> list[Path]:
    return sorted((home / ".codex" / "sessions").rglob("rollout-*.jsonl"))


# -- Gemini --------------------------------------------------------------------------------------
def gemini_script(request: Request) -> Turn:
    body = request.body if isinstance(request.body, dict) else {}
    if (body.get("generationConfig") or {}).get("responseMimeType") == "application/json":
        answer = {"complexity_reasoning": "A simple read.", "complexity_score": 10}
        return Turn(text=json.dumps(answer), tokens=GEMINI_ROUTER)
    answered = any("functionResponse" in part for content in body.get("contents", [])
                   for part in content.get("parts", []))  # fmt: skip
    if not answered:
        return Turn(call=("list_directory", {"dir_path": "."}), tokens=GEMINI_MAIN[0])
    return Turn(text="The folder is empty.", tokens=GEMINI_MAIN[1])


def run_gemini(binary: Path, home: Path, cwd: Path, task: str = "list the files",
               timeout: float = 180.0) -> Run:  # fmt: skip
    settings = home / ".gemini" / "settings.json"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text(json.dumps({"security": {"auth": {"selectedType": "gemini-api-key"}}}))
    with GeminiAPI(gemini_script) as standin:
        done = subprocess.run(
            [str(binary), "-p", task, "--output-format", "json", "--approval-mode", "yolo"],
            cwd=cwd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
            env=_env(home, GEMINI_API_KEY="standin-key", GOOGLE_GEMINI_BASE_URL=standin.url,
                     GEMINI_CLI_TRUST_WORKSPACE="true"),
        )  # fmt: skip
        return Run(done.returncode, done.stdout, done.stderr, standin.model_requests())


def gemini_chats(home: Path) -> list[Path]:
    return sorted((home / ".gemini" / "tmp").glob("*/chats/**/*.jsonl"))
