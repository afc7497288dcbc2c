"""Log LLM and API calls from Python without waiting: `podium.track.log_llm(...)` and
`log_api(...)` (seed 003's `logLLM` / `logAPI`, in snake_case).

    from podium import track
    track.log_llm(agent="brunel", provider="openai", model="gpt-4o", task_type="build",
                  task_description="Building the dashboard", input_tokens=1200,
                  output_tokens=3400, duration_ms=8500, prompt=prompt, response=text)
    track.log_api(agent="scout", service="serpapi", endpoint="/search", status_code=200,
                  duration_ms=1200)

A call puts one small dict on a queue and returns (a few microseconds; it never takes a lock
another thread holds while doing I/O, and never waits for a write). A background thread
validates and redacts the records (podium.usage.records) and appends them as JSON lines to a
file of this process in the inbox folder, which `podium serve` (and any `podium` command that
ingests) reads incrementally. Queued records are written at exit (atexit) or on `flush()`.
`prompt` and `response` are accepted so call sites can pass them, and dropped on the spot:
they never reach the queue, the file or the store. Errors never reach the caller: a record that
cannot be written is counted in `dropped` and logged once.
"""

from __future__ import annotations

import _thread
import atexit
import itertools
import logging
import os
import queue
import socket
import threading
import time
import uuid
from typing import Any

log = logging.getLogger("podium.track")

FLUSH_EVERY_S = 0.2  # the writer wakes at least this often while records are queued
BATCH = 500  # records per write
MAX_QUEUED = 200_000  # beyond this (the writer cannot keep up or cannot write) records drop
EXIT_FLUSH_S = 5.0


class _Flush:
    """A marker on the queue: set once everything queued before it was written."""

    __slots__ = ("done",)

    def __init__(self) -> None:
        self.done = threading.Event()


class Tracker:
    """Queues records and writes them to `<inbox>/py-<host>-<pid>-<n>.jsonl` on its thread."""

    def __init__(self, inbox: str | None = None, *, agent: str | None = None) -> None:
        self.inbox = inbox
        self.agent = agent  # default `agent` of records that name none
        self.dropped = 0
        self.written = 0
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._queued = 0  # approximate (no lock on the caller's path)
        self._ids = itertools.count(1)
        self._prefix = uuid.uuid4().hex[:12]
        self._pid = os.getpid()
        self._thread: int | None = None  # the writer's thread id
        self._start_lock = threading.Lock()
        self._fd: int | None = None
        self._reopen = False
        self._warned = False
        atexit.register(self._flush_at_exit)

    # -- the caller's side (never blocks) -------------------------------------------------------
    def log_llm(self, *, model: str, agent: str | None = None, provider: str | None = None,
                task_type: str | None = None, task_description: str | None = None,
                input_tokens: int = 0, output_tokens: int = 0, cache_read_tokens: int = 0,
                cache_write_tokens: int = 0, duration_ms: int | None = None,
                session_key: str | None = None, status: str | None = None,
                error_message: str | None = None, cost_usd: float | None = None,
                cwd: str | None = None, timestamp: float | None = None,
                prompt: Any = None, response: Any = None) -> None:  # fmt: skip
        """Queue an LLM call. `prompt`/`response` are dropped here, unread."""
        del prompt, response  # never kept, not even on the queue
        self._put({
            "kind": "llm", "agent": agent or self.agent, "provider": provider, "model": model,
            "taskType": task_type, "taskDescription": task_description,
            "inputTokens": input_tokens, "outputTokens": output_tokens,
            "cacheReadTokens": cache_read_tokens, "cacheWriteTokens": cache_write_tokens,
            "durationMs": duration_ms, "sessionKey": session_key, "status": status,
            "errorMessage": error_message, "costUSD": cost_usd, "cwd": cwd,
        }, timestamp)  # fmt: skip

    def log_api(self, *, service: str, agent: str | None = None, endpoint: str | None = None,
                status_code: int | None = None, duration_ms: int | None = None,
                status: str | None = None, error_message: str | None = None,
                task_type: str | None = None, session_key: str | None = None,
                timestamp: float | None = None) -> None:  # fmt: skip
        """Queue an external API call (no tokens)."""
        self._put({
            "kind": "api", "agent": agent or self.agent, "service": service,
            "endpoint": endpoint, "statusCode": status_code, "durationMs": duration_ms,
            "status": status, "errorMessage": error_message, "taskType": task_type,
            "sessionKey": session_key,
        }, timestamp)  # fmt: skip

    def _put(self, record: dict[str, Any], timestamp: float | None) -> None:
        if self._queued >= MAX_QUEUED:
            self.dropped += 1
            return
        if self._thread is None or self._pid != os.getpid():
            self._start()
        record["id"] = f"{self._prefix}-{next(self._ids)}"
        record["ts"] = int((time.time() if timestamp is None else timestamp) * 1000)
        self._queued += 1
        self._queue.put(record)

    def flush(self, timeout: float | None = 10.0) -> bool:
        """Write everything queued so far; True when done within `timeout` seconds."""
        if self._thread is None or self._pid != os.getpid():  # nothing queued in this process
            return True
        marker = _Flush()
        self._queue.put(marker)
        return marker.done.wait(timeout)

    # -- the writer's side ----------------------------------------------------------------------
    def _start(self) -> None:
        with self._start_lock:
            if self._thread is not None and self._pid == os.getpid():
                return
            if self._pid != os.getpid():  # a forked child: its own file, queue and thread
                self._pid = os.getpid()
                self._prefix = uuid.uuid4().hex[:12]
                self._queue = queue.SimpleQueue()
                self._queued = 0
                self._fd = None
            # not threading.Thread: its start() waits until the new thread runs, which would
            # make the first call of a busy process wait for the scheduler
            self._thread = _thread.start_new_thread(self._run, ())

    def _run(self) -> None:
        pending: list[dict[str, Any]] = []
        markers: list[_Flush] = []
        while True:
            try:
                item = self._queue.get(timeout=FLUSH_EVERY_S) if not pending else \
                    self._queue.get_nowait()  # fmt: skip
            except queue.Empty:
                item = None
            if isinstance(item, _Flush):
                markers.append(item)
            elif item is not None:
                pending.append(item)
                if len(pending) < BATCH:
                    continue
            if pending:
                self._write(pending)
                pending = []
            for marker in markers:
                marker.done.set()
            markers = []

    def _write(self, raw: list[dict[str, Any]]) -> None:
        import orjson

        from podium.usage.records import RecordError, parse_record

        lines = []
        for item in raw:
            self._queued -= 1
            try:
                rec = parse_record({k: v for k, v in item.items() if v is not None},
                                   via="python")  # fmt: skip
            except RecordError as exc:
                self.dropped += 1
                self._warn(f"podium.track: record dropped: {exc.field}: {exc}")
                continue
            lines.append(orjson.dumps(_wire(rec)))
            time.sleep(0)  # let callers have the GIL between records (redaction is regex work)
        if not lines:
            return
        data = b"\n".join(lines) + b"\n"
        try:
            fd = self._open()
            view = memoryview(data)
            while view:  # one O_APPEND write per batch; a short write continues
                view = view[os.write(fd, view):]
            self.written += len(lines)
        except OSError as exc:
            self.dropped += len(lines)
            self._fd = None
            self._warn(f"podium.track: cannot write to the inbox: {exc}")

    def _flush_at_exit(self) -> None:
        self.flush(EXIT_FLUSH_S)

    def _open(self) -> int:
        if self._fd is not None and not self._reopen:
            # retention (podium.usage.inbox.prune) deleted the idle file: write a new one
            self._reopen = os.fstat(self._fd).st_nlink == 0
        if self._reopen and self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._reopen = False
        if self._fd is None:
            from podium.usage.inbox import default_inbox_dir

            directory = self.inbox or default_inbox_dir()
            os.makedirs(directory, mode=0o700, exist_ok=True)
            host = socket.gethostname().split(".")[0] or "host"
            path = os.path.join(directory, f"py-{host}-{os.getpid()}-{self._prefix}.jsonl")
            self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        return self._fd

    def _warn(self, message: str) -> None:
        if not self._warned:
            self._warned = True
            log.warning(message)


def _wire(rec: Any) -> dict[str, Any]:
    """A validated record back in the inbox's camelCase shape (redacted; no prompt text)."""
    out = {
        "id": rec.id, "ts": rec.ts, "kind": rec.kind, "via": "python", "agent": rec.agent,
        "provider": rec.provider, "model": rec.model, "taskType": rec.task_type,
        "taskDescription": rec.task_description, "sessionKey": rec.session_key,
        "status": rec.status, "errorMessage": rec.error_message, "durationMs": rec.duration_ms,
        "service": rec.service, "endpoint": rec.endpoint, "statusCode": rec.status_code,
        "costUSD": rec.cost_usd, "cwd": rec.cwd,
    }  # fmt: skip
    if rec.kind == "llm":
        out.update(inputTokens=rec.input, outputTokens=rec.output,
                   cacheReadTokens=rec.cache_read, cacheWriteTokens=rec.cache_write)  # fmt: skip
    return {k: v for k, v in out.items() if v is not None}


_default = Tracker()


def configure(inbox: str | None = None, *, agent: str | None = None) -> Tracker:
    """Set the inbox folder and the default agent name of the module-level functions."""
    _default.flush()
    _default.inbox = inbox
    _default.agent = agent
    _default._reopen = True  # the writer opens a file in the new folder
    return _default


log_llm = _default.log_llm
log_api = _default.log_api
flush = _default.flush


__all__ = ["Tracker", "configure", "flush", "log_api", "log_llm"]
