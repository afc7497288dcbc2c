"""JSON-RPC plumbing shared by the server and `PodiumClient`.

`plain_converter`: pygls' default turns the params/results of custom methods into namedtuples,
which renames keys that are not identifiers (an `env` entry such as `MY-VAR` would arrive as
`_0`) and hides types from validation; this converter leaves them as plain JSON values.

`to_jsonrpc_error`: a user-facing error (podium.errors) → its JSON-RPC error.

`PodiumProtocol`: pygls drops, without an answer, a request it cannot decode or one that comes
after `shutdown`; a client would wait for ever. This protocol answers both with an error, holds
the LSP lifecycle rules (nothing but `initialize`/`exit` before `initialize`, each of
`initialize`/`initialized` once) and writes strict JSON only. Frames are read by
`podium.server.transport`, which hands each checked message to `dispatch`. Results and
notifications are the protocol's pydantic models (podium.protocol): serialised once, here.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

import attrs
import cattrs
from cattrs import Converter
from lsprotocol import converters, types
from pydantic import BaseModel
from pygls.exceptions import (
    JsonRpcException,
    JsonRpcInternalError,
    JsonRpcInvalidParams,
    JsonRpcInvalidRequest,
)
from pygls.protocol import (
    JsonRPCNotification,
    JsonRPCRequestMessage,
    JsonRPCResponseMessage,
    LanguageServerProtocol,
)

from podium.errors import AgentError, GitError, InvalidInput, NotFound, PodiumError
from podium.redact import clip, scrub
from podium.server.protocol import AGENT_ERROR, GIT_ERROR, NOT_FOUND, PODIUM_ERROR
from podium.server.transport import INTERNAL_ERROR, dumps_strict
from podium.store.health import classify as classify_store_error

log = logging.getLogger(__name__)

#: LSP's ServerNotInitialized: a request before `initialize`
SERVER_NOT_INITIALIZED = -32002


def _as_is(obj: dict[str, Any], cls: type) -> Any:
    # `params` (and `result`) may be omitted in JSON-RPC; unknown members are ignored
    return cls(**{name: obj.get(name) for name in attrs.fields_dict(cls)})


def plain_converter() -> Converter:
    converter = converters.get_converter()
    for cls in (JsonRPCRequestMessage, JsonRPCResponseMessage, JsonRPCNotification):
        converter.register_structure_hook(cls, _as_is)
    return converter


class Undecoded(dict[str, Any]):
    """A message that pygls could not decode (e.g. a standard method's params of the wrong
    shape), kept with the error to answer it with."""

    def __init__(self, data: dict[str, Any], error: JsonRpcException) -> None:
        super().__init__(data)
        self.error = error


class PodiumProtocol(LanguageServerProtocol):
    _seen_initialize = False
    _output_closed = False
    _seen_initialized = False

    # -- inbound (podium.server.transport.MessageSink) -----------------------------------------
    def dispatch(self, data: dict[str, Any]) -> None:
        """One checked JSON-RPC message (transport.check_envelope passed it)."""
        self.handle_message(self.structure_message(data))

    def send_error(self, msg_id: int | str | None, code: int, message: str) -> None:
        """An error answer built here, so that `id: null` is written (JSON-RPC wants it)."""
        self._send_data({"jsonrpc": "2.0", "id": msg_id,
                         "error": {"code": code, "message": message}})  # fmt: skip

    def structure_message(self, data: dict[str, Any]) -> Any:
        """pygls' decoding of a checked message, without its ERROR log and traceback per bad
        message: the envelope is valid (transport.check_envelope), so a failure here is about
        the params (or a client's result), answered -32602 by `handle_message`."""
        try:
            if "method" in data:  # a request or a notification, whatever else it holds
                kind = self.get_message_type(data["method"])
                if kind is not None and "id" in data and "id" not in attrs.fields_dict(kind):
                    # a notification sent as a request: answered, never run
                    why = f"{data['method']} is a notification: it takes no id"
                    return Undecoded(data, JsonRpcInvalidRequest(why))
                fallback = JsonRPCRequestMessage if "id" in data else JsonRPCNotification
                return self._converter.structure(data, kind or fallback)
            if "error" in data:
                return self._converter.structure(data, types.ResponseErrorMessage)
            kind = self._result_types.pop(data["id"], None) or JsonRPCResponseMessage
            return self._converter.structure(data, kind)
        except Exception as exc:
            error = JsonRpcInvalidParams()
            error.__cause__ = exc
            return Undecoded(data, error)

    def handle_message(self, message: Any) -> None:
        if isinstance(message, Undecoded):
            msg_id, method = message.get("id"), message.get("method")
            if isinstance(msg_id, int | str) and isinstance(method, str):
                error = message.error
                if isinstance(error.__cause__, cattrs.BaseValidationError):
                    why = "; ".join(cattrs.transform_error(error.__cause__))
                    error = JsonRpcInvalidParams(f"invalid params for {method}: {why}")
                self._send_response(msg_id, None, error.to_response_error())
            else:
                log.warning("ignored an undecodable %s notification", clip(str(method), 80))
            return
        method = getattr(message, "method", None)
        is_request = method is not None and hasattr(message, "id")
        if method is not None and not self._lifecycle_allows(method, is_request, message):
            return
        if self._shutdown and method is not None and method != types.EXIT and is_request:
            # LSP: requests after shutdown "should error with InvalidRequest"
            error = JsonRpcInvalidRequest(f"the server is shutting down; {method} refused")
            self._send_response(message.id, None, error.to_response_error())
            return
        super().handle_message(message)

    def _lifecycle_allows(self, method: str, is_request: bool, message: Any) -> bool:
        """LSP: before `initialize` requests get ServerNotInitialized and notifications other
        than `exit` are dropped; a second `initialize` would start a second core (agents,
        watchers) and a second `initialized` a second history ingest and pump."""
        if method == types.INITIALIZE and is_request:
            if self._seen_initialize:
                self.send_error(message.id, JsonRpcInvalidRequest.CODE,
                                "initialize was already received")  # fmt: skip
                return False
            self._seen_initialize = True
            return True
        if not self._seen_initialize and method != types.EXIT:
            if is_request:
                self.send_error(message.id, SERVER_NOT_INITIALIZED,
                                f"the server is not initialized; {method} refused")  # fmt: skip
            else:
                log.warning("dropped the %s notification: it came before initialize", method)
            return False
        if method == types.INITIALIZED and not is_request:
            if self._seen_initialized:
                log.warning("dropped a second initialized notification")
                return False
            self._seen_initialized = True
        return True

    def _run_generator(self, future: Any, *, gen: Any, result_future: Any) -> None:
        """pygls resumes a generator handler (initialize, initialized, shutdown) with the result
        of the step it waited for; `shutdown` cancels pending steps (e.g. the history ingest of
        `initialized`), and `future.result()` then raises CancelledError out of the callback."""
        if future is not None and future.cancelled():
            gen.close()
            if not result_future.done():
                result_future.cancel()
            return
        super()._run_generator(future, gen=gen, result_future=result_future)

    # -- outbound -------------------------------------------------------------------------------
    def _serialize_message(self, data: Any) -> Any:
        # json.dumps(default=...) hook: a protocol model anywhere in a message → camelCase JSON
        if isinstance(data, BaseModel):
            return data.model_dump(by_alias=True, mode="json")
        return super()._serialize_message(data)

    def _send_data(self, data: Any) -> None:
        """pygls' writer, made strict: no NaN/Infinity (replaced by null, logged), a message
        that cannot be serialised becomes an InternalError answer when it was one, and the
        Content-Length counts bytes."""
        if not data:
            return
        if self.writer is None:
            log.error("no transport to send a message on")
            return
        try:
            body, replaced = dumps_strict(data, self._serialize_message)
        except Exception as exc:
            log.exception("cannot serialise an outgoing message")
            msg_id, is_answer = _answer_id(data)
            if is_answer:
                self.send_error(msg_id, INTERNAL_ERROR, f"the answer could not be written: {exc}")
            return
        if replaced:
            log.warning("replaced NaN/Infinity with null in an outgoing message: %s", clip(body, 200))
        payload = body.encode("utf-8")
        if self._include_headers:
            payload = (
                f"Content-Length: {len(payload)}\r\n"
                f"Content-Type: {self.CONTENT_TYPE}; charset={self.CHARSET}\r\n\r\n"
            ).encode("ascii") + payload
        if self._output_closed:
            return
        try:
            self.writer.write(payload)  # stdout and TCP writers are synchronous
        except BrokenPipeError:
            log.error("the client went away (broken pipe)")
            raise
        except (OSError, ValueError) as exc:
            # the stream is closed (after `exit`, or the client went away): say so once; never
            # report it as a server error, whose report would be one more message to write
            self._output_closed = True
            log.warning("the output stream is closed (%s); later messages are dropped", exc)


def _answer_id(data: Any) -> tuple[Any, bool]:
    """(id, whether `data` is an answer to a request) for an outgoing message."""
    if isinstance(data, dict):
        return data.get("id"), "id" in data and "method" not in data
    has_id = hasattr(data, "id") and not hasattr(data, "method")
    return getattr(data, "id", None), has_id


def to_jsonrpc_error(exc: PodiumError, default_field: str | None = None) -> JsonRpcException:
    """A user-facing error → a JSON-RPC error with `data.field` (docs/protocol.md §Errors)."""
    field = exc.field or default_field
    kind = type(exc).__name__
    data: dict[str, Any] = {"kind": kind}
    if field:
        data["field"] = field
    if isinstance(exc, InvalidInput):
        # the reason alone (docs/protocol.md §Errors): the message is "invalid params: F: reason"
        data["reason"] = str(exc).removeprefix(f"invalid params: {field}: ") if field else str(exc)
        return JsonRpcInvalidParams(str(exc), data=data)
    code = PODIUM_ERROR
    if isinstance(exc, NotFound):
        code = NOT_FOUND
    elif isinstance(exc, GitError):
        code = GIT_ERROR
    elif isinstance(exc, AgentError):
        code = AGENT_ERROR
    return JsonRpcException(str(exc), code=code, data=data)


Handler = Callable[[Any], Awaitable[Any]]


def guard(method: str, handler: Handler, log_message: Callable[..., None]) -> Handler:
    """Map user errors to JSON-RPC errors; log unexpected ones (stderr and `log_message`, the
    client's window/logMessage) and answer InternalError. An error never ends the server."""

    async def guarded(params: Any) -> Any:
        try:
            return await handler(params)
        except PodiumError as exc:
            raise to_jsonrpc_error(exc, "agentId" if isinstance(exc, NotFound) else None) from None
        except JsonRpcException:
            raise
        except Exception as exc:
            if (problem := classify_store_error(exc)) is not None:  # a full disk, a damaged store
                raise JsonRpcException(problem.message, code=PODIUM_ERROR, data={
                    "kind": "StoreUnavailable", "reason": problem.kind}) from None  # fmt: skip
            # an exception's text may quote what the client sent (a key in an env value)
            tb = scrub(traceback.format_exc())
            log.error("%s failed:\n%s", method, tb)
            log_message(f"{method} failed: {scrub(repr(exc))}\n{tb}", types.MessageType.Error)
            raise JsonRpcInternalError(
                f"{method} failed: {scrub(str(exc))}", data={"kind": "InternalError"}
            ) from None

    guarded.__name__ = getattr(handler, "__name__", method)
    return guarded


def as_command(guarded: Handler) -> Handler:
    """The same handler as a workspace/executeCommand command: one argument, the params."""

    async def command(*args: Any) -> Any:
        if len(args) > 1:
            raise JsonRpcInvalidParams(
                "commands take one argument: the params object",
                data={"field": "arguments", "kind": "InvalidInput"},
            )
        return await guarded(args[0] if args else {})

    return command


def plain_fn(method: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """pygls tags handlers with attributes, which bound methods cannot carry: wrap them."""
    if asyncio.iscoroutinefunction(method):

        async def async_handler(params: Any) -> Any:
            return await method(params)

        return async_handler

    def handler(params: Any) -> Any:
        return method(params)

    return handler
