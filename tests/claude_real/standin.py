"""A stand-in for the Anthropic Messages API that the real Claude Code CLI talks to in tests.

In-process (a ThreadingHTTPServer on 127.0.0.1 with a free port), scripted per test: each
`POST /v1/messages` takes the next queued reply (a text `end_turn`, a `tool_use`, or an HTTP
error such as a 429) and answers it as server-sent events in the order the CLI expects
(message_start → content blocks → message_delta → message_stop). When the queue is empty the
default reply is a short text `end_turn`. Every request is recorded (path, headers, JSON body)
so tests can assert on what the CLI sent, e.g. a `tool_result` carrying a hook's deny reason.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DEFAULT_TEXT = "Done."


@dataclass(frozen=True)
class Usage:
    """Token counts of one reply. `cache_5m + cache_1h` is `cache_creation_input_tokens`."""

    input_tokens: int = 10
    output_tokens: int = 5
    cache_read: int = 0
    cache_5m: int = 0
    cache_1h: int = 0

    def start_usage(self) -> dict[str, Any]:
        """The `usage` of `message_start` (output_tokens there is the running count: 1)."""
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": 1,
            "cache_creation_input_tokens": self.cache_5m + self.cache_1h,
            "cache_read_input_tokens": self.cache_read,
            "cache_creation": {
                "ephemeral_5m_input_tokens": self.cache_5m,
                "ephemeral_1h_input_tokens": self.cache_1h,
            },
            "service_tier": "standard",
        }

    def delta_usage(self) -> dict[str, Any]:
        """The cumulative `usage` of `message_delta` (the final figures)."""
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cache_creation_input_tokens": self.cache_5m + self.cache_1h,
            "cache_read_input_tokens": self.cache_read,
        }


@dataclass(frozen=True)
class Reply:
    """One scripted answer. `status != 200` answers an error body instead of a stream."""

    blocks: tuple[dict[str, Any], ...] = ()
    stop_reason: str = "end_turn"
    usage: Usage = field(default_factory=Usage)
    headers: Mapping[str, str] = field(default_factory=dict)
    status: int = 200
    error_type: str = ""
    error_message: str = ""


@dataclass(frozen=True)
class Request:
    """One request the stand-in received."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    at: float

    @property
    def messages(self) -> list[dict[str, Any]]:
        return self.body.get("messages", []) if isinstance(self.body, dict) else []

    def tool_results(self) -> list[dict[str, Any]]:
        """Every `tool_result` block in the request's messages (oldest first)."""
        out = []
        for message in self.messages:
            content = message.get("content")
            if isinstance(content, list):
                out.extend(b for b in content if b.get("type") == "tool_result")
        return out


def ratelimit_headers(
    five_hour: float,
    seven_day: float,
    *,
    five_hour_reset: int | None = None,
    seven_day_reset: int | None = None,
    five_hour_status: str = "allowed_warning",
    seven_day_status: str = "allowed",
    status: str = "allowed",
    claim: str = "five_hour",
) -> dict[str, str]:
    """The unified rate-limit headers a subscription response carries (reference §4)."""
    now = int(time.time())
    p = "anthropic-ratelimit-unified-"
    return {
        f"{p}status": status,
        f"{p}representative-claim": claim,
        f"{p}5h-utilization": repr(five_hour),
        f"{p}5h-reset": str(five_hour_reset if five_hour_reset is not None else now + 3600),
        f"{p}5h-status": five_hour_status,
        f"{p}7d-utilization": repr(seven_day),
        f"{p}7d-reset": str(seven_day_reset if seven_day_reset is not None else now + 86400 * 3),
        f"{p}7d-status": seven_day_status,
    }


class StandIn:
    """The scriptable Messages API. Use as a context manager or call start()/stop()."""

    def __init__(self, id_prefix: str = "standin") -> None:
        #: message and request ids are `msg_<prefix>NNNN` / `req_<prefix>NNNN`: recordings
        #: meant to be read together need distinct prefixes (real ids are globally unique)
        self.id_prefix = id_prefix
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._queue: deque[Reply] = deque()
        self._requests: list[Request] = []
        self._ids = itertools.count(1)
        self.default_headers: dict[str, str] = {}
        self.default_usage = Usage()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> StandIn:
        handler = _handler_for(self)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="claude-standin",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> StandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "stand-in not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # -- scripting ---------------------------------------------------------------------------
    def enqueue(self, reply: Reply) -> StandIn:
        with self._lock:
            self._queue.append(reply)
        return self

    def text(self, text: str = DEFAULT_TEXT, *, usage: Usage | None = None,
             headers: Mapping[str, str] | None = None) -> StandIn:  # fmt: skip
        """Queue a text reply that ends the turn."""
        block = {"type": "text", "text": text}
        return self.enqueue(Reply((block,), "end_turn", usage or self.default_usage,
                                  dict(headers or {})))  # fmt: skip

    def tool_use(self, name: str, tool_input: Mapping[str, Any], *, tool_id: str | None = None,
                 text: str | None = None, usage: Usage | None = None,
                 headers: Mapping[str, str] | None = None) -> StandIn:  # fmt: skip
        """Queue a reply asking to run one tool (optionally after a line of text)."""
        block = {
            "type": "tool_use",
            "id": tool_id or f"toolu_standin{next(self._ids):04d}",
            "name": name,
            "input": dict(tool_input),
        }
        blocks = ({"type": "text", "text": text}, block) if text else (block,)
        return self.enqueue(Reply(blocks, "tool_use", usage or self.default_usage,
                                  dict(headers or {})))  # fmt: skip

    def write(self, file_path: str, content: str, **kwargs: Any) -> StandIn:
        return self.tool_use("Write", {"file_path": file_path, "content": content}, **kwargs)

    def bash(self, command: str, description: str = "Run a command", **kwargs: Any) -> StandIn:
        return self.tool_use("Bash", {"command": command, "description": description}, **kwargs)

    def error(self, status: int = 429, *, count: int = 1, error_type: str = "rate_limit_error",
              message: str = "Number of requests has exceeded your rate limit.",
              headers: Mapping[str, str] | None = None) -> StandIn:  # fmt: skip
        """Queue `count` HTTP error answers (default: 429 rate_limit_error)."""
        for _ in range(count):
            self.enqueue(Reply(status=status, error_type=error_type, error_message=message,
                               headers=dict(headers or {})))  # fmt: skip
        return self

    def pending(self) -> int:
        """Replies still queued."""
        with self._lock:
            return len(self._queue)

    # -- what was received -------------------------------------------------------------------
    @property
    def requests(self) -> list[Request]:
        with self._lock:
            return list(self._requests)

    def messages_requests(self) -> list[Request]:
        return [r for r in self.requests if r.path.startswith("/v1/messages")]

    def wait_for(self, predicate: Callable[[list[Request]], bool], timeout: float = 30.0,
                 message: str = "requests") -> list[Request]:  # fmt: skip
        """Block until `predicate(requests)` holds; AssertionError after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate(list(self._requests)):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"stand-in: timed out after {timeout}s waiting for "
                                         f"{message}; got {len(self._requests)} requests")  # fmt: skip
                self._changed.wait(left)
            return list(self._requests)

    # -- serving (called from the handler threads) ------------------------------------------
    def _record(self, request: Request) -> None:
        with self._changed:
            self._requests.append(request)
            self._changed.notify_all()

    def _next_reply(self) -> Reply:
        with self._lock:
            if self._queue:
                return self._queue.popleft()
        return Reply(({"type": "text", "text": DEFAULT_TEXT},), "end_turn", self.default_usage)

    def _message_id(self) -> tuple[str, str]:
        n = next(self._ids)
        return f"msg_{self.id_prefix}{n:04d}", f"req_{self.id_prefix}{n:04d}"


def sse_events(reply: Reply, model: str, message_id: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """The (event name, data) pairs of one streamed reply, in the Messages API order."""
    yield "message_start", {
        "type": "message_start",
        "message": {
            "id": message_id, "type": "message", "role": "assistant", "model": model,
            "content": [], "stop_reason": None, "stop_sequence": None,
            "usage": reply.usage.start_usage(),
        },
    }  # fmt: skip
    for index, block in enumerate(reply.blocks):
        if block["type"] == "text":
            start = {"type": "text", "text": ""}
            delta = {"type": "text_delta", "text": block["text"]}
        else:
            start = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
            delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
        yield "content_block_start", {"type": "content_block_start", "index": index,
                                      "content_block": start}  # fmt: skip
        yield "content_block_delta", {"type": "content_block_delta", "index": index,
                                      "delta": delta}  # fmt: skip
        yield "content_block_stop", {"type": "content_block_stop", "index": index}
    yield (
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": reply.stop_reason, "stop_sequence": None},
            "usage": reply.usage.delta_usage(),
        },
    )
    yield "message_stop", {"type": "message_stop"}


def _handler_for(standin: StandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet test output
            pass

        def _read_body(self) -> Any:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                return json.loads(raw) if raw else None
            except ValueError:
                return raw.decode("utf-8", "replace")

        def _record(self, body: Any) -> None:
            headers = {k.lower(): v for k, v in self.headers.items()}
            standin._record(Request(self.command, self.path, headers, body, time.time()))

        def _send_json(self, status: int, payload: Any, headers: Mapping[str, str]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            body = self._read_body()
            self._record(body)
            if not self.path.startswith("/v1/messages") or "count_tokens" in self.path:
                self._send_json(
                    404,
                    {
                        "type": "error",
                        "error": {
                            "type": "not_found_error",
                            "message": f"stand-in: no {self.path}",
                        },
                    },
                    {},
                )
                return
            reply = standin._next_reply()
            message_id, request_id = standin._message_id()
            if reply.status != 200:
                # default_headers (e.g. rate-limit headers) stay off errors: a subscription 429
                # carrying unified rate-limit headers is a usage limit to the CLI, not a retry.
                headers = {"request-id": request_id, **reply.headers}
                self._send_json(
                    reply.status,
                    {
                        "type": "error",
                        "error": {"type": reply.error_type, "message": reply.error_message},
                    },
                    headers,
                )
                return
            headers = {"request-id": request_id, **standin.default_headers, **reply.headers}
            model = body.get("model", "claude-standin") if isinstance(body, dict) else "?"
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("cache-control", "no-cache")
            self.send_header("connection", "close")
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            for name, data in sse_events(reply, model, message_id):
                self.wfile.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())
                self.wfile.flush()
            self.close_connection = True

        def do_GET(self) -> None:
            self._record(None)
            self._send_json(
                404,
                {
                    "type": "error",
                    "error": {"type": "not_found_error", "message": f"stand-in: no {self.path}"},
                },
                {},
            )

        do_HEAD = do_GET

    return Handler
