"""Drive one real `claude` process and read its stream-json output, event by event.

`ClaudeProcess` starts the CLI with stdin/stdout pipes; a reader thread parses every stdout
line as it arrives, so tests wait for a specific event with a deadline (never a fixed sleep).
With `--input-format stream-json` the process reads user messages from stdin: `send()` writes
one, `close()` ends stdin (the CLI then exits after its current turn).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

Event = dict[str, Any]

STREAM_ARGS = ("-p", "--output-format", "stream-json", "--verbose")
INTERACTIVE_ARGS = (*STREAM_ARGS, "--input-format", "stream-json")


def user_message(text: str) -> str:
    """One stdin line for `--input-format stream-json`."""
    return json.dumps({"type": "user", "message": {"role": "user", "content": text}})


def is_event(type_: str, subtype: str | None = None) -> Callable[[Event], bool]:
    def match(event: Event) -> bool:
        return event.get("type") == type_ and (subtype is None or event.get("subtype") == subtype)

    return match


class ClaudeProcess:
    """One running CLI. `events` holds every parsed stdout line so far (non-JSON lines are kept
    as {"type": "<non-json>", "line": ...}); `cursor` marks how far `wait_for` has consumed."""

    def __init__(self, binary: Path, args: Sequence[str], *, cwd: Path, env: dict[str, str],
                 stderr_path: Path | None = None) -> None:  # fmt: skip
        self.args = [str(binary), *args]
        self.events: list[Event] = []
        self.cursor = 0
        self._changed = threading.Condition()
        self._stderr = open(stderr_path or os.devnull, "w")  # noqa: SIM115 (closed in close())
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            self.args, cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self._stderr, text=True, bufsize=1, start_new_session=True,
        )  # fmt: skip
        self._reader = threading.Thread(target=self._read, name="claude-stdout", daemon=True)
        self._reader.start()
        if "--input-format" not in args:  # a task argument: the CLI waits 3 s for piped stdin
            self.proc.stdin.close()  # type: ignore[union-attr]

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            line = line.strip()
            if not line:
                continue
            try:
                event = json.loads(line)
            except ValueError:
                event = {"type": "<non-json>", "line": line}
            with self._changed:
                self.events.append(event)
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    @property
    def finished(self) -> bool:
        return not self._reader.is_alive()

    def send(self, text: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(user_message(text) + "\n")
        self.proc.stdin.flush()

    def wait_for(self, predicate: Callable[[Event], bool], timeout: float = 30.0,
                 what: str = "event") -> Event:  # fmt: skip
        """The first event after `cursor` matching `predicate`; advances `cursor` past it."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                while self.cursor < len(self.events):
                    event = self.events[self.cursor]
                    self.cursor += 1
                    if predicate(event):
                        return event
                if self.finished:
                    raise AssertionError(f"claude exited (rc={self.proc.poll()}) before {what}; "
                                         f"events: {self.summary()}")  # fmt: skip
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out after {timeout}s waiting for {what}; "
                                         f"events: {self.summary()}")  # fmt: skip
                self._changed.wait(left)

    def wait_result(self, timeout: float = 30.0) -> Event:
        return self.wait_for(is_event("result"), timeout, "a result event")

    def seen(self, predicate: Callable[[Event], bool]) -> list[Event]:
        with self._changed:
            return [e for e in self.events if predicate(e)]

    def summary(self) -> str:
        with self._changed:
            return ", ".join(f"{e.get('type')}/{e.get('subtype', '')}" for e in self.events[-30:])

    def close(self, timeout: float = 30.0) -> int:
        """Close stdin and wait for a clean exit; the process group is killed on the deadline."""
        if self.proc.stdin and not self.proc.stdin.closed:
            with contextlib.suppress(BrokenPipeError):
                self.proc.stdin.close()
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise
        finally:
            self._reader.join(5)
            self._stderr.close()

    def kill(self) -> None:
        """Kill the CLI's whole process group (it runs hooks and tools as children)."""
        # the group outlives its leader while a hook or tool child still runs
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self._reader.join(5)
        if not self._stderr.closed:
            self._stderr.close()

    def __enter__(self) -> ClaudeProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.kill()
