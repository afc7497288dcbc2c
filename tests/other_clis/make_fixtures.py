"""Record tests/fixtures/codex_real/ and tests/fixtures/gemini_real/ with the real CLIs.

    .venv/bin/python -m tests.other_clis.make_fixtures [OUT_DIR]

Runs the scripted conversations of tests/other_clis/cli.py once each (Codex CLI 0.169.0:
a parent thread that runs a command, spawns a sub-agent with its history, waits for it and
answers; Gemini CLI 0.61.0: a routed session that lists the folder, then answers) in fixed
folders under /tmp (so the recorded cwd is stable), and copies what each CLI wrote:
`codex_real/sessions/…/rollout-*.jsonl` (a CODEX_HOME) and `codex_real/exec.jsonl` (its
`--json` stdout); `gemini_real/.gemini/tmp/<project>/…` (a GEMINI_CLI_HOME) and
`gemini_real/output.json` (its `--output-format json` stdout, with the CLI's own token stats).

The CLIs' own prompt text (system prompts, instructions, tool descriptions, the session
context) is replaced by a marker: any string with a space that is longer than 48 characters.
Ids, paths, models, timestamps, token counts and every key stay verbatim, line by line.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

from .cli import codex_rollouts, gemini_chats, run_codex, run_gemini
from .install import CODEX, GEMINI, install

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = ROOT / "tests" / "fixtures"
RUN_DIR = Path("/tmp/podium-other-clis-fixtures")
MARKER = "[text removed]"
MAX_KEPT_PROSE = 48


def scrub_text(value: Any) -> Any:
    if isinstance(value, str):
        return MARKER if (" " in value or "\n" in value) and len(value) > MAX_KEPT_PROSE else value
    if isinstance(value, list):
        return [scrub_text(v) for v in value]
    if isinstance(value, dict):
        return {k: scrub_text(v) for k, v in value.items()}
    return value


def copy_jsonl(source: Path, target: Path) -> None:
    """Line by line, compact as both CLIs write (prompt text replaced)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(scrub_text(json.loads(line)), ensure_ascii=False,
                        separators=(",", ":")) for line in source.read_text().splitlines()
             if line.strip()]  # fmt: skip
    target.write_text("\n".join(lines) + "\n")


def _run(name: str, run, binary: Path, out: Path) -> tuple[Path, Path, str]:
    """Run one CLI's scripted conversation in fixed folders; (its home, the fixture dir to
    fill (emptied), its stdout)."""
    base = RUN_DIR / name
    shutil.rmtree(base, ignore_errors=True)
    home, work = base / "home", base / "work"
    work.mkdir(parents=True)
    done = run(binary, home, work)
    if done.returncode != 0:
        raise SystemExit(f"{name} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    target = out / f"{name}_real"
    shutil.rmtree(target, ignore_errors=True)
    return home, target, done.stdout


def record_codex(out: Path) -> None:
    home, target, stdout = _run("codex", run_codex, install(CODEX), out)
    sessions = home / ".codex" / "sessions"
    for rollout in codex_rollouts(home):
        copy_jsonl(rollout, target / "sessions" / rollout.relative_to(sessions))
    (target / "exec.jsonl").write_text(stdout)


def record_gemini(out: Path) -> None:
    home, target, stdout = _run("gemini", run_gemini, install(GEMINI), out)
    tmp = home / ".gemini" / "tmp"
    for chat in gemini_chats(home):
        copy_jsonl(chat, target / ".gemini" / "tmp" / chat.relative_to(tmp))
    for marker in tmp.glob("*/.project_root"):
        dest = target / ".gemini" / "tmp" / marker.relative_to(tmp)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(marker, dest)
    (target / "output.json").write_text(stdout)


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else DEFAULT_OUT
    record_codex(out)
    record_gemini(out)
    print(f"wrote {out / 'codex_real'} and {out / 'gemini_real'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
