"""Record the tests/fixtures/claude_real/ transcripts with the real Claude Code CLI.

    .venv/bin/python -m tests.claude_real.make_fixtures [OUT_DIR]

Two scripted sessions against the stand-in API (see SCENARIOS), each a long-lived
`--input-format stream-json` process with two user turns and `--permission-mode acceptEdits`
(so the scripted `Write` runs without a permission hook):
- `opus-5-5-api-key`: ANTHROPIC_API_KEY, default model claude-opus-5-5;
- `sonnet-5-5-oauth`: CLAUDE_CODE_OAUTH_TOKEN, default model claude-sonnet-5-5, rate-limit
  headers 0.67 / 0.21 on every reply and one HTTP 429 before the first reply.
For each it writes `projects/<encoded cwd>/<session>.jsonl` (the CLI's own transcript: the
folder works as a CLAUDE_CONFIG_DIR), `stream.jsonl` (every stream-json stdout line),
`results.jsonl` (just the `result` lines) and `scenario.json` (the stand-in's script).

Claude Code's own prompt text (system prompt, tool descriptions, reminders in `attachment` and
`api-request*` lines) is replaced by a marker; every line, key and short value stays verbatim.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .cli import INTERACTIVE_ARGS, ClaudeProcess
from .env import offline_env
from .install import CLAUDE_VERSION, install_claude
from .standin import StandIn, Usage, ratelimit_headers

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = ROOT / "tests" / "fixtures" / "claude_real"
RUN_DIR = Path("/tmp/podium-claude-fixtures")  # fixed so the recorded cwd is stable

# Line types whose string values carry Claude Code's own prompt text.
PROMPT_LINE_TYPES = {"attachment", "api-request", "api-request-shape", "api-request-blob"}
# Ids, hashes (64 hex), paths, names and dates stay; prose (anything with whitespace beyond a
# few words) and multi-line text go.
MAX_KEPT_CHARS = 64
MAX_KEPT_PROSE = 24


SCENARIOS: dict[str, dict[str, Any]] = {
    "opus-5-5-api-key": {
        "auth": "api_key",
        "model": "claude-opus-5-5",
        "session_id": "5e55a0b1-0b05-4c0d-9a11-0a0000000001",
        "turns": [
            ("Create hello.txt saying hello.", [
                ("write", "hello.txt", "hello\n", "I will create the file.",
                 Usage(input_tokens=3120, output_tokens=152, cache_read=14800,
                       cache_5m=4200, cache_1h=1800)),
                ("text", "Created hello.txt.",
                 Usage(input_tokens=410, output_tokens=38, cache_read=21900, cache_5m=260)),
            ]),
            ("Thanks.", [
                ("text", "You are welcome.",
                 Usage(input_tokens=620, output_tokens=71, cache_read=22160, cache_1h=540)),
            ]),
        ],
    },
    "sonnet-5-5-oauth": {
        "auth": "oauth",
        "model": "claude-sonnet-5-5",
        "session_id": "5e55a0b1-0b05-4c0d-9a11-0a0000000002",
        "ratelimit": (0.67, 0.21),
        "turns": [
            ("Create notes.md with a title.", [
                ("429",),
                ("write", "notes.md", "# Notes\n", "Creating the notes file.",
                 Usage(input_tokens=2870, output_tokens=133, cache_read=0,
                       cache_5m=0, cache_1h=19650)),
                ("text", "Created notes.md.",
                 Usage(input_tokens=380, output_tokens=29, cache_read=19650, cache_1h=310)),
            ]),
            ("Thanks.", [
                ("text", "Glad to help.",
                 Usage(input_tokens=540, output_tokens=64, cache_read=19960, cache_5m=120,
                       cache_1h=400)),
            ]),
        ],
    },
}  # fmt: skip


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def _script(standin: StandIn, work: Path, replies: list[tuple[Any, ...]]) -> None:
    for reply in replies:
        if reply[0] == "429":
            standin.error(429)
        elif reply[0] == "write":
            _, name, content, text, usage = reply
            standin.write(str(work / name), content, text=text, usage=usage)
        else:
            _, text, usage = reply
            standin.text(text, usage=usage)


def scrub_prompt_text(value: Any) -> Any:
    """`value` with every prose, long or multi-line string replaced by a marker (its length)."""
    if isinstance(value, dict):
        return {k: scrub_prompt_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub_prompt_text(v) for v in value]
    if isinstance(value, str) and (
        len(value) > MAX_KEPT_CHARS
        or "\n" in value
        or (len(value) > MAX_KEPT_PROSE and any(c.isspace() for c in value))
    ):
        return f"<Claude Code prompt text removed: {len(value)} chars>"
    return value


def scrub_transcript_line(line: str) -> str:
    record = json.loads(line)
    if record.get("type") not in PROMPT_LINE_TYPES:
        return line
    return json.dumps(scrub_prompt_text(record), ensure_ascii=False, separators=(",", ":"))


def record(name: str, scenario: dict[str, Any], claude: Path, out: Path,
           extra_args: list[str] | tuple[str, ...] = ()) -> None:
    run = RUN_DIR / name
    shutil.rmtree(run, ignore_errors=True)
    work = run / "work"
    work.mkdir(parents=True)
    _git(work, "init", "-q", "-b", f"podium/{name}")
    home = run / "home"
    target = out / name
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    with StandIn(scenario.get("id_prefix", "standin")) as standin:
        if "ratelimit" in scenario:
            standin.default_headers.update(ratelimit_headers(*scenario["ratelimit"]))
        env = offline_env(standin.url, home, auth=scenario["auth"])
        args = [*INTERACTIVE_ARGS, "--permission-mode", "acceptEdits",
                "--session-id", scenario["session_id"], *extra_args]  # fmt: skip
        with ClaudeProcess(claude, args, cwd=work, env=env, stderr_path=run / "stderr") as proc:
            for prompt, replies in scenario["turns"]:
                _script(standin, work, replies)
                proc.send(prompt)
                result = proc.wait_result(timeout=120)
                assert result["subtype"] == "success" and not result["is_error"], result
                assert standin.pending() == 0, "the CLI did not consume every scripted reply"
            assert proc.close() == 0
            events = proc.events
    models = {e["message"]["model"] for e in events if e.get("type") == "assistant"}
    assert models == {scenario["model"]}, models
    with open(target / "stream.jsonl", "w") as f:
        f.writelines(json.dumps(e, ensure_ascii=False, separators=(",", ":")) + "\n"
                     for e in events)  # fmt: skip
    with open(target / "results.jsonl", "w") as f:
        f.writelines(json.dumps(e, ensure_ascii=False, separators=(",", ":")) + "\n"
                     for e in events if e.get("type") == "result")  # fmt: skip
    for transcript in (home / ".claude" / "projects").glob("*/*.jsonl"):
        dest = target / "projects" / transcript.parent.name / transcript.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        with open(transcript) as src, open(dest, "w") as dst:
            dst.writelines(scrub_transcript_line(line.rstrip("\n")) + "\n"
                           for line in src if line.strip())  # fmt: skip
    (target / "scenario.json").write_text(json.dumps(_describe(scenario), indent=2) + "\n")


def _describe(scenario: dict[str, Any]) -> dict[str, Any]:
    turns = []
    for prompt, replies in scenario["turns"]:
        script = []
        for reply in replies:
            if reply[0] == "429":
                script.append({"http": 429, "error": "rate_limit_error"})
            elif reply[0] == "write":
                script.append({"tool_use": "Write", "file": reply[1], "text": reply[3],
                               "usage": asdict(reply[4])})  # fmt: skip
            else:
                script.append({"text": reply[1], "usage": asdict(reply[2])})
        turns.append({"user": prompt, "replies": script})
    described = {k: v for k, v in scenario.items() if k != "turns"}
    return {"claude_code": CLAUDE_VERSION, **described, "turns": turns}


def main(argv: list[str]) -> None:
    out = Path(argv[0]).resolve() if argv else DEFAULT_OUT
    claude = install_claude()
    for name, scenario in SCENARIOS.items():
        record(name, scenario, claude, out)
        print(f"recorded {out / name}")


if __name__ == "__main__":
    main(sys.argv[1:])
