"""LSP framing for `podium serve`: bounded, strict JSON-RPC 2.0, never fatal (docs/protocol.md
§Transport).

pygls' `run_async` reads a frame's `Content-Length` in one call (a huge length allocates it and
the server dies of MemoryError), drops a body that does not parse without an answer (the client
waits for ever), and structures every nested JSON object as if it were a message. This loop

- caps header lines, header blocks and frames (`MAX_FRAME_BYTES`); an oversized body is skipped
  in chunks, never held, so the next frame is read as usual;
- answers `-32700` (id null) for a body that is not UTF-8 JSON and for a header block that is
  not `Name: value` lines with one `Content-Length`; a block with one usable `Content-Length`
  is still followed by its body (a stray line before a frame loses nothing), otherwise
  reading resumes after the block's blank line;
- checks the JSON-RPC 2.0 envelope before pygls sees it and answers `-32600` for a bad one
  (a batch, `jsonrpc` other than "2.0", a method that is not a string, an id that is not an
  integer or a string);
- keeps reading whatever one message raised: only `exit` (SystemExit) or the end of the input
  stream ends it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from podium.redact import clip

log = logging.getLogger(__name__)

#: the largest message body accepted (docs/protocol.md §Transport); a bigger one is skipped
MAX_FRAME_BYTES = 64 * 1024 * 1024
#: the longest header line, and the most header bytes before a blank line
MAX_HEADER_LINE = 8 * 1024
MAX_HEADER_BLOCK = 64 * 1024
#: bodies are read (and oversized ones skipped) this many bytes at a time
CHUNK = 1024 * 1024

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
INTERNAL_ERROR = -32603


class ByteReader(Protocol):
    """What the loop reads from: stdin (`StdinReader`) or a TCP stream (`StreamByteReader`)."""

    async def readline(self, limit: int) -> bytes:
        """Up to `limit` bytes, ending at the first b"\\n"; b"" at end of input."""
        ...

    async def readexactly(self, n: int) -> bytes:
        """`n` bytes (n ≤ MAX_FRAME_BYTES); fewer only at end of input."""
        ...

    async def discard(self, n: int) -> int:
        """Skip `n` bytes without keeping them; returns how many were there."""
        ...


class MessageSink(Protocol):
    """The protocol side (`podium.server.jsonrpc.PodiumProtocol`)."""

    def dispatch(self, message: dict[str, Any]) -> None: ...

    def send_error(self, msg_id: int | str | None, code: int, message: str) -> None: ...


def _read_exactly(stdin: Any, n: int) -> bytes:
    read = getattr(stdin, "read1", stdin.read)
    buf = bytearray()
    while len(buf) < n:
        chunk = read(min(n - len(buf), CHUNK))
        if not chunk:
            break
        buf += chunk
    return bytes(buf)


def _discard(stdin: Any, n: int) -> int:
    read = getattr(stdin, "read1", stdin.read)
    left = n
    while left > 0:
        chunk = read(min(left, CHUNK))
        if not chunk:
            break
        left -= len(chunk)
    return n - left


class StdinReader:
    """Reads stdin on a daemon thread of its own.

    pygls' StdinAsyncReader reads in a pool thread, and interpreter exit joins pool threads:
    after a signal, a client that still holds the pipe would keep us alive until the watchdog.
    This reader's thread is a daemon, and reads its own file object: a daemon thread blocked
    inside sys.stdin would abort interpreter shutdown (it holds the buffer's lock)."""

    def __init__(self, stdin: Any) -> None:
        with contextlib.suppress(AttributeError, OSError):
            stdin = open(os.dup(stdin.fileno()), "rb")  # noqa: SIM115 (lives as long as we do)
        self.stdin = stdin
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        threading.Thread(target=self._serve, name="podium-stdin", daemon=True).start()

    def _serve(self) -> None:
        while True:
            loop, future, fn, args = self._jobs.get()
            try:
                result, error = fn(*args), None
            except Exception as exc:
                result, error = None, exc
            with contextlib.suppress(RuntimeError):  # the loop is gone: nobody waits
                loop.call_soon_threadsafe(_settle, future, result, error)

    def _call(self, fn: Callable[..., Any], *args: Any) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._jobs.put((loop, future, fn, args))
        return future

    async def readline(self, limit: int) -> bytes:
        return await self._call(self.stdin.readline, limit)

    async def readexactly(self, n: int) -> bytes:
        return await self._call(_read_exactly, self.stdin, n)

    async def discard(self, n: int) -> int:
        return await self._call(_discard, self.stdin, n)


def _settle(future: asyncio.Future[Any], result: Any, error: Exception | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(b"" if result is None else result)


class StreamByteReader:
    """`ByteReader` over an asyncio stream (`podium serve --tcp`)."""

    def __init__(self, stream: asyncio.StreamReader) -> None:
        self.stream = stream

    async def readline(self, limit: int) -> bytes:
        try:
            line = await self.stream.readuntil(b"\n")
        except asyncio.IncompleteReadError as exc:
            return exc.partial
        except asyncio.LimitOverrunError:
            return await self.stream.read(limit)  # a partial line: the loop skips the rest
        return line

    async def readexactly(self, n: int) -> bytes:
        try:
            return await self.stream.readexactly(n)
        except asyncio.IncompleteReadError as exc:
            return exc.partial

    async def discard(self, n: int) -> int:
        left = n
        while left > 0:
            chunk = await self.stream.read(min(left, CHUNK))
            if not chunk:
                break
            left -= len(chunk)
        return n - left


def _sample(data: bytes, limit: int = 80) -> str:
    """A scrubbed, shortened, printable view of bytes for a log line (scrub before cutting)."""
    return repr(clip(data[:4096].decode("utf-8", "replace"), limit))


class _Header:
    def __init__(self) -> None:
        self.length: int | None = None
        self.conflict = False
        self.problem: str | None = None
        self.size = 0
        self.lines = 0

    def fail(self, problem: str) -> None:
        self.problem = self.problem or problem

    def add(self, line: bytes) -> None:
        self.lines += 1
        name, sep, value = line.partition(b":")
        if not sep or not name.strip() or not name.strip().isascii():
            self.fail(f"not a `Name: value` header line: {_sample(line)}")
            return
        if name.strip().lower() != b"content-length":
            return  # Content-Type and unknown headers: the body is UTF-8 JSON in any case
        digits = value.strip()
        if not digits.isdigit() or len(digits) > 20:
            self.fail(f"Content-Length is not a byte count: {_sample(digits)}")
            return
        length = int(digits)
        if self.conflict or (self.length is not None and self.length != length):
            # which one is right cannot be known: no body is read for this block
            self.fail("two different Content-Length headers")
            self.conflict, self.length = True, None
            return
        self.length = length


async def _read_header(reader: ByteReader) -> tuple[_Header, bool]:
    """One header block, up to its blank line; (header, at end of input)."""
    header = _Header()
    tail_of_long_line = False
    while True:
        line = await reader.readline(MAX_HEADER_LINE)
        if not line:
            return header, True
        header.size += len(line)
        complete = line.endswith(b"\n")
        if tail_of_long_line or not complete:
            if not complete:
                header.fail(f"a header line longer than {MAX_HEADER_LINE} bytes")
            tail_of_long_line = not complete
        else:
            text = line.rstrip(b"\r\n")
            if not text:
                if header.lines == 0 and header.problem is None:
                    header.size = 0
                    continue  # a stray blank line between frames
                return header, False
            header.add(text)
        if header.size > MAX_HEADER_BLOCK:
            header.fail(f"over {MAX_HEADER_BLOCK} bytes of headers without a blank line")
            return header, False


async def serve_frames(reader: ByteReader, sink: MessageSink, stop: threading.Event) -> None:
    """Read frames until end of input (or `stop`); every message goes to `handle_body`."""
    while not stop.is_set():
        header, eof = await _read_header(reader)
        if header.problem is not None:
            log.warning("invalid frame header (%s); reading on from the next blank line",
                        header.problem)  # fmt: skip
            _send_error(sink, None, PARSE_ERROR, f"invalid frame header: {header.problem}")
        elif header.length is None and not eof:
            log.warning("a header block without Content-Length; skipped")
            _send_error(sink, None, PARSE_ERROR, "invalid frame header: no Content-Length")
        if eof:
            if header.lines:
                log.warning("input ended inside a frame header")
            return
        length = header.length
        if length is None:
            continue
        if length > MAX_FRAME_BYTES:
            log.error("a message of %d bytes is over the %d-byte frame limit; skipping it",
                      length, MAX_FRAME_BYTES)  # fmt: skip
            _send_error(
                sink, None, INVALID_REQUEST,
                f"message of {length} bytes is over the {MAX_FRAME_BYTES}-byte limit "
                "(docs/protocol.md §Transport); skipped",
            )  # fmt: skip
            if await reader.discard(length) < length:
                log.warning("input ended inside a skipped message")
                return
            continue
        body = await reader.readexactly(length)
        if len(body) < length:
            log.warning("input ended inside a message (%d of %d bytes)", len(body), length)
            return
        handle_body(body, sink)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _valid_id(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def _send_error(sink: MessageSink, msg_id: int | str | None, code: int, message: str) -> None:
    try:
        sink.send_error(msg_id, code, message)
    except Exception:  # the client went away; reading will see the end of input
        log.warning("could not send an error answer", exc_info=True)


def handle_body(body: bytes, sink: MessageSink) -> None:
    """Parse one message body, check its envelope, hand it on; answer any failure."""
    try:
        data = json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        log.warning("a message body is not JSON (%s): %s", type(exc).__name__, _sample(body))
        _send_error(sink, None, PARSE_ERROR, f"parse error: {clip(str(exc), 200)}")
        return
    problem, reply_id = check_envelope(data)
    if problem is not None:
        if problem.startswith("response"):
            log.warning("dropped a malformed response: %s", problem)
            return
        log.warning("invalid request: %s: %s", problem, _sample(body))
        if isinstance(data, list):
            ids = [m["id"] for m in data if isinstance(m, dict) and _valid_id(m.get("id"))]
            for msg_id in ids or [None]:
                _send_error(sink, msg_id, INVALID_REQUEST, f"invalid request: {problem}")
        else:
            _send_error(sink, reply_id, INVALID_REQUEST, f"invalid request: {problem}")
        return
    is_request = "method" in data and "id" in data
    try:
        sink.dispatch(data)
    except Exception as exc:
        log.exception("handling a message failed")
        if is_request:
            _send_error(sink, data["id"], INTERNAL_ERROR, f"internal error: {clip(str(exc), 200)}")


def check_envelope(data: Any) -> tuple[str | None, int | str | None]:
    """(what is wrong with this JSON-RPC 2.0 message or None, the id to answer with).

    Problems with a response (a message without `method`) start with "response": nobody waits
    for an answer to those."""
    if isinstance(data, list):
        return "batches are not supported (LSP); send each message in its own frame", None
    if not isinstance(data, dict):
        return "a message must be a JSON object", None
    has_id = "id" in data
    reply_id = data["id"] if has_id and _valid_id(data["id"]) else None
    if "method" not in data and has_id and ("result" in data or "error" in data):
        if data.get("jsonrpc") != "2.0" or not _valid_id(data["id"]):
            return "response with a bad jsonrpc or id", None
        if "result" in data and "error" in data:
            return "response with both result and error", None
        return None, reply_id
    if data.get("jsonrpc") != "2.0":
        return 'jsonrpc must be "2.0"', reply_id
    if "method" not in data:
        return "a message needs a method (or, as a response, a result or an error)", reply_id
    method = data["method"]
    if not isinstance(method, str) or not method:
        return "method must be a non-empty string", reply_id
    if has_id and reply_id is None:
        return "id must be an integer or a string", None
    params = data.get("params")
    if params is not None and not isinstance(params, dict | list):
        return "params must be an object or an array", reply_id
    return None, reply_id


async def serve_tcp(on_connect: Callable[[asyncio.StreamWriter], MessageSink], host: str,
                    port: int, stop: threading.Event) -> None:  # fmt: skip
    """Serve LSP over TCP with the same framing; like pygls, the server ends with its first
    client's connection."""
    servers: list[asyncio.Server] = []

    async def connection(stream: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await serve_frames(StreamByteReader(stream), on_connect(writer), stop)
        finally:
            with contextlib.suppress(Exception):
                writer.close()
            for server in servers:
                server.close()

    server = await asyncio.start_server(connection, host, port, limit=MAX_HEADER_BLOCK)
    servers.append(server)
    log.info("serving on %s", ", ".join(str(s.getsockname()) for s in server.sockets))
    with contextlib.suppress(asyncio.CancelledError):
        async with server:
            await server.serve_forever()


def dumps_strict(data: Any, default: Callable[[Any], Any] | None = None) -> tuple[str, bool]:
    """JSON text without NaN or Infinity (JSON has neither; editors' parsers reject them):
    non-finite numbers become null. Returns (text, whether any had to be replaced)."""
    try:
        return json.dumps(data, default=default, allow_nan=False), False
    except ValueError:
        loose = json.dumps(data, default=default)
        cleaned = json.loads(loose, parse_constant=lambda _name: None)
        return json.dumps(cleaned, allow_nan=False), True


_watchdog_started = False


def start_watchdog(seconds: float) -> None:
    """End the process if cleanup hangs: an editor must never be left with a stuck server."""
    global _watchdog_started
    if _watchdog_started:
        return
    _watchdog_started = True

    def expire() -> None:
        time.sleep(seconds)
        log.error("cleanup took over %.0f s; exiting", seconds)
        os._exit(1)

    threading.Thread(target=expire, name="podium-exit-watchdog", daemon=True).start()
