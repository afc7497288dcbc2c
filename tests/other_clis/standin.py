"""Stand-ins for the OpenAI Responses API (Codex CLI) and the Gemini API (Gemini CLI).

In-process HTTP servers on 127.0.0.1 (a free port). A test gives each one a `script`: a
function from the request received to the reply to send (a `Turn`), so the reply can depend on
what the CLI sent (a tool's output, a sub-agent's request). Every request is recorded.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.claude_real.standin import Request  # one request received (any API)


@dataclass(frozen=True)
class Tokens:
    """One reply's usage, in each API's own terms (`input` includes `cached` in both)."""

    input: int = 100
    output: int = 10
    cached: int = 0
    reasoning: int = 0  # OpenAI: part of output; Gemini: thoughtsTokenCount, on top of output
    tool: int = 0  # Gemini: toolUsePromptTokenCount


@dataclass(frozen=True)
class Turn:
    """One reply: text, or a function call (name, JSON arguments), with its usage."""

    text: str = "Done."
    call: tuple[str, dict[str, Any]] | None = None
    tokens: Tokens = field(default_factory=Tokens)
    headers: Mapping[str, str] = field(default_factory=dict)
    status: int = 200


Script = Callable[[Request], Turn]


class StandIn:
    """A scripted HTTP server; subclasses answer in their API's shape (`_answer`)."""

    name = "standin"

    def __init__(self, script: Script | None = None) -> None:
        self.script: Script = script or (lambda _request: Turn())
        self._lock = threading.Condition()
        self._requests: list[Request] = []
        self._server: ThreadingHTTPServer | None = None
        self._calls = 0

    def __enter__(self) -> StandIn:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                         name=f"{self.name}-standin", daemon=True).start()  # fmt: skip
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def requests(self) -> list[Request]:
        with self._lock:
            return list(self._requests)

    def model_requests(self) -> list[Request]:
        raise NotImplementedError

    def _record(self, request: Request) -> None:
        with self._lock:
            self._requests.append(request)
            self._lock.notify_all()

    def _next_id(self) -> int:
        with self._lock:
            self._calls += 1
            return self._calls

    def _answer(self, handler: BaseHTTPRequestHandler, request: Request) -> None:
        raise NotImplementedError


class OpenAIResponses(StandIn):
    """`POST /v1/responses` (stream: true) answered as the Responses API's SSE events; Codex's
    plan headers (`x-codex-primary-used-percent`…) ride on `headers` of a Turn."""

    name = "openai"

    def model_requests(self) -> list[Request]:
        return [r for r in self.requests if r.method == "POST" and r.path.endswith("/responses")]

    def _answer(self, handler: BaseHTTPRequestHandler, request: Request) -> None:
        if request.method != "POST" or not request.path.endswith("/responses"):
            _send_json(handler, 404, {"error": {"message": f"stand-in: no {request.path}"}})
            return
        turn = self.script(request)
        if turn.status != 200:
            _send_json(handler, turn.status, {"error": {"message": "stand-in error",
                                                        "type": "server_error"}}, turn.headers)  # fmt: skip
            return
        n = self._next_id()
        model = request.body.get("model", "gpt-standin") if isinstance(request.body, dict) else "?"
        _send_sse(handler, openai_events(turn, model, n), turn.headers, named=True)


def openai_events(turn: Turn, model: str, n: int) -> Iterator[tuple[str, dict[str, Any]]]:
    rid, item_id = f"resp_standin{n:04d}", f"item_standin{n:04d}"
    base = {"id": rid, "object": "response", "model": model, "output": []}
    yield "response.created", {"type": "response.created",
                               "response": base | {"status": "in_progress"}}  # fmt: skip
    if turn.call is not None:
        name, args = turn.call
        namespace, _, name = name.rpartition(".")  # "multi_agent_v1.spawn_agent"
        item = {"id": item_id, "type": "function_call", "status": "completed", "name": name,
                "arguments": json.dumps(args), "call_id": f"call_standin{n:04d}"}  # fmt: skip
        if namespace:
            item["namespace"] = namespace
        yield "response.output_item.added", {"type": "response.output_item.added",
                                             "output_index": 0, "item": item}  # fmt: skip
    else:
        item = {"id": item_id, "type": "message", "role": "assistant", "status": "completed",
                "content": [{"type": "output_text", "text": turn.text, "annotations": []}]}  # fmt: skip
        yield "response.output_item.added", {"type": "response.output_item.added",
                                             "output_index": 0,
                                             "item": item | {"status": "in_progress",
                                                             "content": []}}  # fmt: skip
        yield "response.output_text.delta", {"type": "response.output_text.delta",
                                             "item_id": item_id, "output_index": 0,
                                             "content_index": 0, "delta": turn.text}  # fmt: skip
    yield "response.output_item.done", {"type": "response.output_item.done",
                                        "output_index": 0, "item": item}  # fmt: skip
    t = turn.tokens
    usage = {"input_tokens": t.input, "input_tokens_details": {"cached_tokens": t.cached},
             "output_tokens": t.output,
             "output_tokens_details": {"reasoning_tokens": t.reasoning},
             "total_tokens": t.input + t.output}  # fmt: skip
    yield "response.completed", {"type": "response.completed",
                                 "response": base | {"status": "completed", "usage": usage}}  # fmt: skip


def codex_plan_headers(primary: float, secondary: float, *, primary_reset: int,
                       secondary_reset: int) -> dict[str, str]:  # fmt: skip
    """Codex's plan headers (what a ChatGPT-plan response carries): used % of the 5-hour
    (primary) and weekly (secondary) windows and their reset times (epoch s)."""
    return {
        "x-codex-primary-used-percent": repr(primary), "x-codex-primary-window-minutes": "300",
        "x-codex-primary-reset-at": str(primary_reset),
        "x-codex-secondary-used-percent": repr(secondary),
        "x-codex-secondary-window-minutes": "10080",
        "x-codex-secondary-reset-at": str(secondary_reset),
    }  # fmt: skip


class GeminiAPI(StandIn):
    """`POST /v1beta/models/<model>:generateContent` and `:streamGenerateContent` (SSE with
    `alt=sse`, else a JSON array), answered as the Gemini API's GenerateContentResponse."""

    name = "gemini"

    def model_requests(self) -> list[Request]:
        return [r for r in self.requests if r.method == "POST"
                and r.path.split("?")[0].rpartition(":")[2] in ("generateContent",
                                                                "streamGenerateContent")]  # fmt: skip

    def _answer(self, handler: BaseHTTPRequestHandler, request: Request) -> None:
        path = request.path.split("?")[0]
        if request.method != "POST" or ":" not in path:
            _send_json(handler, 404, {"error": {"code": 404, "message": f"stand-in: no {path}",
                                                "status": "NOT_FOUND"}})  # fmt: skip
            return
        model_part, _, method = path.rpartition(":")
        model = model_part.rsplit("/", 1)[-1]
        if method == "countTokens":
            _send_json(handler, 200, {"totalTokens": 10})
            return
        turn = self.script(request)
        if turn.status != 200:
            _send_json(handler, turn.status, {"error": {"code": turn.status,
                                                        "message": "stand-in error",
                                                        "status": "INTERNAL"}}, turn.headers)  # fmt: skip
            return
        n = self._next_id()
        reply = gemini_response(turn, model, n)
        if method == "streamGenerateContent":
            if "alt=sse" in request.path:
                _send_sse(handler, iter([("", reply)]), turn.headers, named=False)
            else:
                _send_json(handler, 200, [reply], turn.headers)
            return
        _send_json(handler, 200, reply, turn.headers)


def gemini_response(turn: Turn, model: str, n: int) -> dict[str, Any]:
    if turn.call is not None:
        name, args = turn.call
        parts = [{"functionCall": {"name": name, "args": args}}]
    else:
        parts = [{"text": turn.text}]
    t = turn.tokens
    usage = {"promptTokenCount": t.input, "candidatesTokenCount": t.output,
             "totalTokenCount": t.input + t.output + t.reasoning + t.tool}  # fmt: skip
    if t.cached:
        usage["cachedContentTokenCount"] = t.cached
    if t.reasoning:
        usage["thoughtsTokenCount"] = t.reasoning
    if t.tool:
        usage["toolUsePromptTokenCount"] = t.tool
    return {
        "candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP",
                        "index": 0}],
        "usageMetadata": usage,
        "modelVersion": model,
        "responseId": f"standin{n:04d}",
    }  # fmt: skip


def _send_json(handler: BaseHTTPRequestHandler, status: int, payload: Any,
               headers: Mapping[str, str] | None = None) -> None:  # fmt: skip
    data = json.dumps(payload).encode()
    handler.send_response(status)
    handler.send_header("content-type", "application/json")
    handler.send_header("content-length", str(len(data)))
    for key, value in (headers or {}).items():
        handler.send_header(key, value)
    handler.end_headers()
    handler.wfile.write(data)


def _send_sse(handler: BaseHTTPRequestHandler, events: Iterator[tuple[str, Any]],
              headers: Mapping[str, str], *, named: bool) -> None:  # fmt: skip
    handler.send_response(200)
    handler.send_header("content-type", "text/event-stream")
    handler.send_header("cache-control", "no-cache")
    handler.send_header("connection", "close")
    for key, value in headers.items():
        handler.send_header(key, value)
    handler.end_headers()
    for name, data in events:
        head = f"event: {name}\n" if named else ""
        handler.wfile.write(f"{head}data: {json.dumps(data)}\n\n".encode())
        handler.wfile.flush()
    handler.close_connection = True


def _handler_for(standin: StandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _handle(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode("utf-8", "replace")
            headers = {k.lower(): v for k, v in self.headers.items()}
            request = Request(self.command, self.path, headers, body, time.time())
            standin._record(request)
            standin._answer(self, request)

        do_POST = do_GET = _handle

    return Handler
