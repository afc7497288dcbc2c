"""`podium fake-agent`: behaves like headless Claude Code (`claude -p … --output-format
stream-json --verbose`) in its working directory, without calling any API.

Each turn it appends realistic transcript lines (streamed copies included) to
`$CLAUDE_CONFIG_DIR/projects/<encoded-cwd>/<session>.jsonl`, prints stream-json on stdout,
and edits/creates files in its cwd so diff stats grow. At the default pace (a turn every 0.5 s,
about a cent a turn) budgets are reachable in seconds. Imports stay minimal: it must start fast.

Two ways to run:
- default (`--input-format text`): autonomous, one turn (one API call with a `Write`) every
  `--interval` seconds from the `--task`, until `--turns`, a signal or a scripted end.
- `--input-format stream-json`: a session like `claude -p --input-format stream-json`. Nothing is
  printed until a user message arrives on stdin (`{"type":"user","message":{"role":"user",
  "content":…}}`, one a line); each message is one turn (`system/init`, `--steps` API calls with a
  `Write` each, a closing text, `result`); the process stays up for the next message and exits 0
  at end of input.

Like the CLI it runs the command hooks of `--settings FILE` (`fake_hooks`): before each `Write`,
`PreToolUse` and, where `--permission-mode` asks (`default`), the blocking `PermissionRequest`
hook; a deny means no edit, a `system/permission_denied` event, and (in a session) a turn that
ends saying so. Without `--permission-mode` it edits freely, as it always did. `--rate-limit
0.67,0.21` emits a subscription's `rate_limit_event`; `--api-retries N` emits N
`system/api_retry` 429s before a turn's first reply.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import random
import signal
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from podium.agents.fake_stream import fractions

DEFAULT_MODEL = "claude-sonnet-4-5-20250929"
DEFAULT_INTERVAL = 0.5
DEFAULT_TASK = "Improve the code."
EDIT_FILE = "FAKE_AGENT_NOTES.md"
NEW_FILES_DIR = "fake_agent"
PERMISSION_MODES = ("default", "acceptEdits", "plan", "bypassPermissions", "auto", "manual",
                    "dontAsk")  # fmt: skip
def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--task", default=None,
                        help=f"the prompt of the first turn (text input: default {DEFAULT_TASK!r}; "
                             "stream-json input: a first turn before stdin's messages)")  # fmt: skip
    parser.add_argument("--session-id", default=None, help="session id (default: a new UUID)")
    parser.add_argument("--resume", default=None, metavar="SESSION_ID",
                        help="continue this session (its transcript and total cost)")  # fmt: skip
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
    # -- the session surfaces of `claude -p` --------------------------------------------------
    parser.add_argument("--input-format", choices=["text", "stream-json"], default="text")
    parser.add_argument("--output-format", choices=["stream-json"], default="stream-json",
                        help="accepted for the CLI's argv; stream-json is all it prints")  # fmt: skip
    parser.add_argument("-p", "--print", action="store_true", help="accepted, always on")
    parser.add_argument("--verbose", action="store_true", help="accepted, always on")
    parser.add_argument("--settings", default=None, metavar="FILE",
                        help="Claude Code settings whose command hooks are run like the CLI")  # fmt: skip
    parser.add_argument("--permission-mode", choices=PERMISSION_MODES, default=None,
                        help="`default` asks for each Write through the PermissionRequest hook; "
                             "unset: edit freely (the fake's old behaviour)")  # fmt: skip
    parser.add_argument("--steps", type=int, default=3, metavar="N",
                        help="stream-json input: API calls (each with a Write) per turn; 0: "
                             "no end (a turn that runs until stopped, like the autonomous mode)")  # fmt: skip
    parser.add_argument("--rate-limit", type=fractions, default=None, metavar="FIVE,SEVEN",
                        help="emit a rate_limit_event with these utilisations (e.g. 0.67,0.21) "
                             "after the first reply, as a subscription session does")  # fmt: skip
    parser.add_argument("--api-retries", type=int, default=0, metavar="N",
                        help="emit N system/api_retry 429 events before a turn's first reply")  # fmt: skip
    parser.add_argument("--api-retry-turn", type=int, default=1, metavar="K",
                        help="the turn that gets the --api-retries (default 1)")  # fmt: skip
    parser.add_argument("--retry-delay", type=float, default=1.0, metavar="S",
                        help="seconds between two api_retry events (default 1)")  # fmt: skip


class _Interrupted(Exception):
    """SIGTERM/SIGINT arrived while waiting (a sleep, stdin, a hook)."""


class _Signals:
    """Stop cleanly: a signal during a wait interrupts it; during a write it waits for the
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

    @contextlib.contextmanager
    def blocking(self) -> Iterator[None]:
        """A wait that a signal may cut short (raising _Interrupted)."""
        if self.stop:
            raise _Interrupted
        self.sleeping = True
        try:
            yield
        finally:
            self.sleeping = False
        if self.stop:
            raise _Interrupted

    def sleep(self, seconds: float | None) -> None:
        """Sleep `seconds` (None: until a signal)."""
        with self.blocking():
            if seconds is not None:
                time.sleep(seconds)
            else:
                while True:  # wait forever (for the user, who never comes)
                    time.sleep(3600)

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
    def __init__(self, args: argparse.Namespace, signals: _Signals) -> None:
        from podium.agents.fake_hooks import HookRunner, load_hooks
        from podium.agents.fake_stream import last_step, restore
        from podium.usage.adapters.claude import encode_cwd

        self.args = args
        self.signals = signals
        self.cwd = os.getcwd()
        self.session_id = args.resume or args.session_id or str(uuid.uuid4())
        self.model = args.model
        self.rng = random.Random(args.seed)
        project_dir = _config_dir() / "projects" / encode_cwd(self.cwd)
        project_dir.mkdir(parents=True, exist_ok=True)
        self.transcript_path = project_dir / f"{self.session_id}.jsonl"
        self.parent: str | None = None
        self.cost = 0.0
        if args.resume:
            self.cost, self.parent = restore(self.transcript_path)
        # Append mode, unbuffered: every line reaches the file whole, as Claude Code writes it.
        self.transcript = open(self.transcript_path, "ab", buffering=0)  # noqa: SIM115
        self.turns = 0
        self.steps = last_step(self.cwd, NEW_FILES_DIR)
        self.turn_cost = 0.0
        self.denials: list[dict] = []
        self.rate_limit_sent = False
        self.totals = {"input_tokens": 0, "output_tokens": 0,
                       "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}  # fmt: skip
        self.started = time.time()
        hooks = load_hooks(args.settings) if args.settings else []
        self.hooks = HookRunner(hooks, session_id=self.session_id,
                                transcript_path=str(self.transcript_path), cwd=self.cwd,
                                permission_mode=args.permission_mode,
                                blocking=signals.blocking)  # fmt: skip

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

    def _event(self, kind: str, subtype: str | None = None, **fields: Any) -> None:
        head = {"type": kind} | ({"subtype": subtype} if subtype else {})
        self._emit(head | fields | {"session_id": self.session_id, "uuid": str(uuid.uuid4())})

    # -- turns ----------------------------------------------------------------------------------
    def init(self) -> None:
        self._emit({
            "type": "system", "subtype": "init", "session_id": self.session_id,
            "cwd": self.cwd, "model": self.model, "apiKeySource": _api_key_source(),
            "tools": ["Read", "Edit", "Write", "Bash"],
            "permissionMode": self.args.permission_mode or "default",
            "claude_code_version": "2.1.14", "podium_fake": True,
        })  # fmt: skip

    def turn(self) -> None:
        """Autonomous mode: one API call with a Write (the task is the first turn's prompt)."""
        from podium.usage import synthetic as syn

        self.turns += 1
        if self.turns == 1:
            user = syn.user_line(self.session_id, self.cwd, self._now_ms(),
                                 self.text_task(), parent=self.parent)  # fmt: skip
            self._log(user)
            self.parent = user["uuid"]
        self._api_retries()
        self.call_write()

    def text_task(self) -> str:
        """The first turn's prompt in text mode: `--task`, else $PODIUM_TASK (how Podium hands
        over the task: argv is world-readable in /proc)."""
        return self.args.task or os.environ.get("PODIUM_TASK") or DEFAULT_TASK

    def session_turn(self, text: str) -> None:
        """Session mode: one user message → `--steps` writes (fewer after a deny) and a reply."""
        from podium.usage import synthetic as syn

        self.turns += 1
        self.turn_cost, self.denials = 0.0, []
        self.init()  # the CLI prints its init per turn
        self.hooks.run("UserPromptSubmit", prompt=text)
        user = syn.user_line(self.session_id, self.cwd, self._now_ms(), text, parent=self.parent)
        self._log(user)
        self.parent = user["uuid"]
        self._api_retries()
        wrote: list[str] = []
        denied: str | None = None
        steps = itertools.count() if self.args.steps <= 0 else range(self.args.steps)
        for i in steps:
            if i:
                self.signals.sleep(max(0.0, self.args.interval))
            outcome = self.call_write()
            if outcome is None:
                continue  # plan mode: nothing to write
            allowed, path, message = outcome
            if not allowed:
                denied = f"I could not write {path}: {message}"
                break
            wrote.append(path)
        if denied:
            reply = denied
        elif wrote:
            reply = f"Wrote {len(wrote)} file{'s' if len(wrote) != 1 else ''}."
        else:
            reply = "Here is the plan; nothing was changed."
        self._assistant([{"type": "text", "text": reply}], output=40)
        self.hooks.run("Stop", stop_hook_active=False)
        self.result(text=reply)

    def _usage(self, output: int) -> dict:
        from podium.usage import synthetic as syn

        # ~$0.01 a step at Sonnet prices: 1k cache write + 10k cache read + ~200 output.
        jitter = self.rng.uniform(0.9, 1.1)
        return syn.usage_dict(
            input_tokens=8 + self.rng.randint(0, 4), output_tokens=int(output * jitter),
            cache_create=int(1000 * jitter), cache_read=10_000 + 500 * self.steps,
        )  # fmt: skip

    def _assistant(self, blocks: list[dict], output: int = 200) -> None:
        """One API reply: its transcript lines and stream events, its cost."""
        from podium.agents.fake_stream import cost
        from podium.usage import synthetic as syn

        usage = self._usage(output)
        lines = syn.assistant_lines(self.session_id, self.cwd, self._now_ms(), self.model, usage,
                                    blocks=blocks, parent=self.parent)  # fmt: skip
        for line in lines:
            self._log(line)
            self._emit({"type": "assistant", "message": line["message"],
                        "parent_tool_use_id": None, "session_id": self.session_id})  # fmt: skip
        self.parent = lines[-1]["uuid"]
        for key in self.totals:
            self.totals[key] += int(usage.get(key, 0))
        self.cost += cost(usage)
        self.turn_cost += cost(usage)
        self._rate_limit_event()

    def call_write(self) -> tuple[bool, str, str | None] | None:
        """One API call that writes the next step's file, asking first where the permission
        mode says so: (allowed, path, deny message); None in plan mode (text only)."""
        self.steps += 1
        if self.args.permission_mode == "plan":
            self._assistant([{"type": "text", "text": f"Step {self.steps}: I would write a file."}])
            return None
        from podium.usage import synthetic as syn

        path = f"{NEW_FILES_DIR}/step_{self.steps:04d}.py"
        full = os.path.join(self.cwd, path)
        content = (f'"""Step {self.steps} of the fake agent."""\n\n\n'
                   f"def step_{self.steps}() -> int:\n    return {self.steps}\n")  # fmt: skip
        tool_id = syn.new_id("toolu_01")
        tool_input = {"file_path": full, "content": content}
        self._assistant([
            {"type": "text", "text": f"Working on step {self.steps}."},
            {"type": "tool_use", "id": tool_id, "name": "Write", "input": tool_input},
        ])  # fmt: skip
        verdict = self.hooks.check_tool("Write", tool_input, tool_id)
        if verdict.allowed:
            if not self.args.no_edits:
                self._edit_files(path, content)
            answer = f"File created successfully at: {full}"
            self.hooks.run("PostToolUse", "Write", tool_name="Write", tool_input=tool_input,
                           tool_response={"filePath": full, "success": True},
                           tool_use_id=tool_id)  # fmt: skip
        else:
            answer = verdict.message or "denied"
            denied = {"tool_name": "Write", "tool_use_id": tool_id, "message": answer}
            if verdict.reason_type:
                denied |= {"decision_reason_type": verdict.reason_type, "decision_reason": answer}
            self._event("system", "permission_denied", **denied)
            self.denials.append({"tool_name": "Write", "tool_use_id": tool_id,
                                 "tool_input": tool_input})  # fmt: skip
        user = syn.user_line(self.session_id, self.cwd, self._now_ms(), "", parent=self.parent,
                             tool_result=answer)  # fmt: skip
        result_block = user["message"]["content"][0]
        result_block["tool_use_id"] = tool_id
        if not verdict.allowed:
            result_block["is_error"] = True
        self._log(user)
        self._emit({"type": "user", "message": user["message"], "parent_tool_use_id": None,
                    "session_id": self.session_id})  # fmt: skip
        self.parent = user["uuid"]
        return verdict.allowed, path, verdict.message

    def _edit_files(self, new_path: str, content: str) -> None:
        """Create one file and grow another, per step."""
        new_file = Path(self.cwd) / new_path
        new_file.parent.mkdir(parents=True, exist_ok=True)
        new_file.write_text(content)
        notes = Path(self.cwd) / EDIT_FILE
        with open(notes, "a", encoding="utf-8") as fh:
            fh.write(f"- turn {self.turns}: wrote {new_path}\n")

    def _rate_limit_event(self) -> None:
        """A subscription's figures, once per process after its first reply (the CLI sends one
        when they change)."""
        if self.args.rate_limit is None or self.rate_limit_sent:
            return
        self.rate_limit_sent = True
        from podium.agents.fake_stream import rate_limit_info

        five, seven = self.args.rate_limit
        self._event("rate_limit_event", rate_limit_info=rate_limit_info(five, seven, int(time.time())))

    def _api_retries(self) -> None:
        """`--api-retries` 429s before this turn's first reply, `--retry-delay` apart."""
        from podium.agents.fake_stream import api_error_line
        from podium.usage import synthetic as syn

        if self.turns != self.args.api_retry_turn:
            return
        delay_ms = int(self.args.retry_delay * 1000)
        for attempt in range(1, self.args.api_retries + 1):
            self._event("system", "api_retry", attempt=attempt, max_retries=10,
                        retry_delay_ms=delay_ms, error_status=429, error="rate_limit")  # fmt: skip
            common = {"parentUuid": self.parent, "timestamp": syn.iso(self._now_ms()),
                      "cwd": self.cwd, "sessionId": self.session_id,
                      "version": syn.CLAUDE_VERSION}  # fmt: skip
            self._log(api_error_line(common, syn.new_id("req_011C"), attempt, delay_ms))
            self.signals.sleep(max(0.0, self.args.retry_delay))

    def result(self, *, is_error: bool = False, text: str = "Done.") -> None:
        model_usage = {self.model: {"costUSD": round(self.cost, 6)}}
        self._emit({
            "type": "result", "subtype": "error_during_execution" if is_error else "success",
            "is_error": is_error, "num_turns": self.turns, "result": text,
            "session_id": self.session_id, "total_cost_usd": round(self.cost, 6),
            "duration_ms": int((time.time() - self.started) * 1000), "usage": dict(self.totals),
            "modelUsage": model_usage, "permission_denials": list(self.denials),
            "model_usage_since_last_result": {self.model: {"costUSD": round(self.turn_cost, 6)}},
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

    def cost_state(self) -> None:
        """The CLI's closing `cost-state` line (a `--resume` carries the total on)."""
        self._log({"type": "cost-state", "sessionId": self.session_id,
                   "totalCostUSD": float(self.cost),
                   "modelUsage": {self.model: {"costUSD": float(self.cost)}}})  # fmt: skip

    def close(self) -> None:
        self.transcript.close()


def _run_autonomous(args: argparse.Namespace, agent: FakeAgent, signals: _Signals) -> int:
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


def _run_session(args: argparse.Namespace, agent: FakeAgent, signals: _Signals) -> int:
    from podium.agents.fake_stream import message_text

    try:
        if args.task is not None:
            agent.session_turn(args.task)
        while not (args.turns and agent.turns >= args.turns):
            with signals.blocking():
                line = sys.stdin.buffer.readline()
            if not line:
                agent.hooks.run("SessionEnd", reason="other")
                return 0  # end of input: the CLI exits 0 after its last turn
            text = message_text(line)
            if text is None:
                print("fake-agent: ignored a stdin line that is not a user message",
                      file=sys.stderr)  # fmt: skip
                continue
            if args.limit_error_after and agent.turns >= args.limit_error_after:
                agent.limit_error()
                return 1
            agent.session_turn(text)
        return 0
    finally:
        agent.cost_state()


def run(args: argparse.Namespace) -> int:
    from podium.agents.fake_hooks import SettingsError

    signals = _Signals(args.term_delay)
    try:
        agent = FakeAgent(args, signals)
    except SettingsError as exc:
        print(f"fake-agent: {exc}", file=sys.stderr)
        return 1
    session = args.input_format == "stream-json"
    try:
        return (_run_session if session else _run_autonomous)(args, agent, signals)
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
