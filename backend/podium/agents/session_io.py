"""The stdin of a long-lived headless Claude Code session (`--input-format stream-json`).

The child's stdin is a FIFO in the agent's state dir, opened read-write for it: the child holds
a write end itself, so it never sees end-of-file when Podium exits or restarts, and any Podium
process (a restarted one too) sends a message by opening the FIFO by its path. A message is one
JSON line `{"type":"user","message":{"role":"user","content":TEXT}}`; its text is never stored.
"""

from __future__ import annotations

import errno
import json
import os
import select
import stat
import time
from pathlib import Path

from podium.errors import AgentError

FIFO_FILE = "stdin.fifo"
#: how long a write may wait for the session to read (a paused session is never written to)
WRITE_TIMEOUT_S = 10.0


def ensure_fifo(state_dir: str | Path) -> Path:
    """The agent's stdin FIFO (0600), created when missing or not a FIFO."""
    path = Path(state_dir) / FIFO_FILE
    try:
        if stat.S_ISFIFO(os.lstat(path).st_mode):
            return path
        path.unlink()
    except FileNotFoundError:
        pass
    os.mkfifo(path, 0o600)
    return path


def user_message(text: str) -> bytes:
    """One stdin line of `--input-format stream-json`."""
    obj = {"type": "user", "message": {"role": "user", "content": text}}
    return (json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


def send(path: str | Path, text: str, *, timeout: float = WRITE_TIMEOUT_S) -> None:
    """Write one message to the session's FIFO; AgentError when nobody reads it (the session
    ended) or it is not read within `timeout` seconds."""
    data = user_message(text)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno in (errno.ENXIO, errno.ENOENT):
            raise AgentError("the agent's session is not reading messages (it ended?)",
                             field="agentId") from None  # fmt: skip
        raise AgentError(f"cannot reach the agent's session: {exc.strerror or exc}",
                         field="agentId") from None  # fmt: skip
    try:
        view = memoryview(data)
        deadline = time.monotonic() + timeout
        while view:
            try:
                written = os.write(fd, view)
            except BlockingIOError:
                written = 0
            except BrokenPipeError:
                raise AgentError("the agent's session ended while a message was sent",
                                 field="agentId") from None  # fmt: skip
            view = view[written:]
            if view:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AgentError("the agent's session did not read the message in time",
                                     field="agentId")  # fmt: skip
                select.select([], [fd], [], min(left, 0.5))
    finally:
        os.close(fd)
