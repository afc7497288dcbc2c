"""`podium fake-agent`: behaves like headless Claude Code (`claude -p … --output-format
stream-json --verbose`) in its working directory, without calling any API.

Each turn it appends realistic transcript lines (streamed copies included) to
`$CLAUDE_CONFIG_DIR/projects/<encoded-cwd>/<session>.jsonl`, prints stream-json on stdout,
and edits/creates files in its cwd so diff stats grow. At the default pace (a turn every 0.5 s,
about a cent a turn) budgets are reachable in seconds. Imports stay minimal: it must start fast.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import sys
import time
import uuid
from pathlib import Path
from typing import Any

DEFAULT_MODEL = "claude-sonnet-4-5-20250929"
DEFAULT_INTERVAL = 0.5
EDIT_FILE = "FAKE_AGENT_NOTES.md"
NEW_FILES_DIR = "fake_agent"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--task", default="Improve the code.", help="the prompt of the first turn")
    parser.add_argument("--session-id", default=None, help="session id (default: a new UUID)")
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--interval", type=float, default=DEFAULT_INTERVAL,
                        help="seconds between turns (default 0.5)")  # fmt: skip
    parser.add_argument("--turns", type=int, default=0, help="exit after N turns (0 = never)")
    parser.add_argument("--limit-error-after", type=int, default=0, metavar="K",
                        help="after K turns write a usage-limit error line and exit 1")  # fmt: skip
    parser.add_argument("--wait-after-turns", type=int, default=0, metavar="K",
                        help="after K turns print a result line and wait (needs the user)")  # fmt: skip
    parser.add_argument("--no-edits", action="store_true", help="do not touch files in the cwd")
    parser.add_argument("--term-delay", type=float, default=0.0, metavar="S",
                        help="on SIGTERM keep running S seconds before exiting (a slow "
                             "shutdown; further SIGTERMs are ignored)")  # fmt: skip
    parser.add_argument("--seed", type=int, default=None, help="random seed (token jitter)")


class _Interrupted(Exception):
    """SIGTERM/SIGINT arrived while sleeping between turns."""


class _Signals:
    """Stop cleanly: a signal during a sleep interrupts it; during a write it waits for the
    line to be complete (a real agent never leaves half a line because of us)."""

    def __init__(self, term_delay: float = 0.0) -> None:
        self.stop = False
        self.sleeping = False
        self.term_delay = max(0.0, term_delay)
        self.stop_at: float | None = None
        signal.signal(signal.SIGTERM, self._handle)
        signal.signal(signal.SIGINT, self._handle)

    def _handle(self, signum: int, frame: Any) -> None:
        self.stop = True
        if self.stop_at is None:
            self.stop_at = time.monotonic() + self.term_delay
        # A second TERM (a supervisor signalling both the group and the process) could land
        # after the interpreter has restored default handlers at exit: ignore it.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if self.sleeping:
            raise _Interrupted

    def sleep(self, seconds: float | None) -> None:
        """Sleep `seconds` (None: until a signal)."""
        if self.stop:
            raise _Interrupted
        self.sleeping = True
        try:
            if seconds is not None:
                time.sleep(seconds)
            else:
                while True:  # wait forever (for the user, who never comes)
                    time.sleep(3600)
        finally:
            self.sleeping = False
        if self.stop:
            raise _Interrupted


    def linger(self) -> None:
        """Wind down slowly: return `term_delay` seconds after the first signal."""
        while self.stop_at is not None and (left := self.stop_at - time.monotonic()) > 0:
            time.sleep(left)


def _config_dir() -> Path:
    env = os.environ.get("CLAUDE_CONFIG_DIR", "").strip()
    if env:
        return Path(env.split(",")[0].strip()).expanduser()
    return Path.home() / ".claude"


def _api_key_source() -> str:
    return "ANTHROPIC_API_KEY" if os.environ.get("ANTHROPIC_API_KEY") else "none"


class FakeAgent:
    def __init__(self, args: argparse.Namespace) -> None:
        from podium.usage.adapters.claude import encode_cwd

        self.args = args
        self.cwd = os.getcwd()
        self.session_id = args.session_id or str(uuid.uuid4())
        self.model = args.model
        self.rng = random.Random(args.seed)
        project_dir = _config_dir() / "projects" / encode_cwd(self.cwd)
        project_dir.mkdir(parents=True, exist_ok=True)
        self.transcript_path = project_dir / f"{self.session_id}.jsonl"
        # Append mode, unbuffered: every line reaches the file whole, as Claude Code writes it.
        self.transcript = open(self.transcript_path, "ab", buffering=0)  # noqa: SIM115
        self.parent: str | None = None
        self.turns = 0
        self.cost = 0.0
        self.totals = {"input_tokens": 0, "output_tokens": 0,
                       "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}  # fmt: skip
        self.started = time.time()

    # -- output -------------------------------------------------------------------------------
    def _log(self, line: dict) -> None:
        from podium.usage.synthetic import dumps

        self.transcript.write(dumps(line))

    def _emit(self, obj: dict) -> None:
        from podium.usage.synthetic import dumps

        sys.stdout.buffer.write(dumps(obj))
        sys.stdout.buffer.flush()

    def _now_ms(self) -> int:
        return int(time.time() * 1000)

    # -- one turn -------------------------------------------------------------------------------
    def init(self) -> None:
        self._emit({
            "type": "system", "subtype": "init", "session_id": self.session_id,
            "cwd": self.cwd, "model": self.model, "apiKeySource": _api_key_source(),
            "tools": ["Read", "Edit", "Write", "Bash"], "permissionMode": "default",
            "claude_code_version": "2.1.14", "podium_fake": True,
        })  # fmt: skip

    def turn(self) -> None:
        from podium.usage import synthetic as syn

        self.turns += 1
        if self.turns == 1:
            user = syn.user_line(self.session_id, self.cwd, self._now_ms(), self.args.task,
                                 parent=self.parent)  # fmt: skip
        else:
            user = syn.user_line(self.session_id, self.cwd, self._now_ms(), "",
                                 parent=self.parent, tool_result="ok")  # fmt: skip
        self._log(user)
        self.parent = user["uuid"]
        # ~$0.01 a turn at Sonnet prices: 1k cache write + 10k cache read + ~200 output.
        jitter = self.rng.uniform(0.9, 1.1)
        usage = syn.usage_dict(
            input_tokens=8 + self.rng.randint(0, 4),
            output_tokens=int(200 * jitter),
            cache_create=int(1000 * jitter),
            cache_read=10_000 + 500 * self.turns,
        )
        path = f"{NEW_FILES_DIR}/step_{self.turns:04d}.py"
        blocks = [
            {"type": "text", "text": f"Working on step {self.turns}."},
            {"type": "tool_use", "id": syn.new_id("toolu_01"), "name": "Write",
             "input": {"file_path": os.path.join(self.cwd, path)}},
        ]  # fmt: skip
        lines = syn.assistant_lines(self.session_id, self.cwd, self._now_ms(), self.model, usage,
                                    blocks=blocks, parent=self.parent)  # fmt: skip
        for line in lines:
            self._log(line)
            self._emit({"type": "assistant", "message": line["message"],
                        "parent_tool_use_id": None, "session_id": self.session_id})  # fmt: skip
        self.parent = lines[-1]["uuid"]
        for key in self.totals:
            self.totals[key] += int(usage.get(key, 0))
        self.cost += (usage["input_tokens"] * 3 + usage["output_tokens"] * 15
                      + usage["cache_creation_input_tokens"] * 3.75
                      + usage["cache_read_input_tokens"] * 0.3) / 1e6  # fmt: skip
        if not self.args.no_edits:
            self._edit_files(path)

    def _edit_files(self, new_path: str) -> None:
        """Create one file and grow (and sometimes rewrite a line of) another, per turn."""
        new_file = Path(self.cwd) / new_path
        new_file.parent.mkdir(parents=True, exist_ok=True)
        new_file.write_text(
            f'"""Step {self.turns} of the fake agent."""\n\n\n'
            f"def step_{self.turns}() -> int:\n    return {self.turns}\n"
        )
        notes = Path(self.cwd) / EDIT_FILE
        with open(notes, "a", encoding="utf-8") as fh:
            fh.write(f"- turn {self.turns}: wrote {new_path}\n")

    def result(self, *, is_error: bool = False, text: str = "Done.") -> None:
        self._emit({
            "type": "result", "subtype": "error_during_execution" if is_error else "success",
            "is_error": is_error, "num_turns": self.turns, "result": text,
            "session_id": self.session_id, "total_cost_usd": round(self.cost, 6),
            "duration_ms": int((time.time() - self.started) * 1000), "usage": dict(self.totals),
        })  # fmt: skip

    def limit_error(self) -> None:
        from podium.usage import synthetic as syn

        reset = int(time.time()) + 3600
        line = syn.limit_error_line(self.session_id, self.cwd, self._now_ms(), reset)
        line["parentUuid"] = self.parent
        self._log(line)
        self._emit({"type": "assistant", "message": line["message"],
                    "parent_tool_use_id": None, "session_id": self.session_id})  # fmt: skip
        self.result(is_error=True, text=f"Claude AI usage limit reached|{reset}")

    def close(self) -> None:
        self.transcript.close()


def run(args: argparse.Namespace) -> int:
    signals = _Signals(args.term_delay)
    agent = FakeAgent(args)
    try:
        agent.init()
        while True:
            if args.turns and agent.turns >= args.turns:
                agent.result()
                return 0
            if args.limit_error_after and agent.turns >= args.limit_error_after:
                agent.limit_error()
                return 1
            if args.wait_after_turns and agent.turns >= args.wait_after_turns:
                agent.result()
                signals.sleep(None)  # until SIGTERM
            agent.turn()
            signals.sleep(max(0.0, args.interval))
    except _Interrupted:
        signals.linger()
        return 0
    except BrokenPipeError:
        return 0
    finally:
        agent.close()


def main() -> int:  # `python -m podium.agents.fake_agent`
    parser = argparse.ArgumentParser(prog="podium fake-agent")
    configure(parser)
    return run(parser.parse_args())


if __name__ == "__main__":
    raise SystemExit(main())
