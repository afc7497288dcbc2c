"""JSON-RPC plumbing shared by the server and `PodiumClient`.

`plain_converter`: pygls' default turns the params/results of custom methods into namedtuples,
which renames keys that are not identifiers (an `env` entry such as `MY-VAR` would arrive as
`_0`) and hides types from validation; this converter leaves them as plain JSON values.

`PodiumProtocol`: pygls drops, without an answer, a request it cannot decode or one that comes
after `shutdown`; a client would wait for ever. This protocol answers both with an error.
"""

from __future__ import annotations

import logging
from typing import Any

import attrs
import cattrs
from cattrs import Converter
from lsprotocol import converters, types
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams, JsonRpcInvalidRequest
from pygls.protocol import (
    JsonRPCNotification,
    JsonRPCRequestMessage,
    JsonRPCResponseMessage,
    LanguageServerProtocol,
)

log = logging.getLogger(__name__)


def _as_is(obj: dict[str, Any], cls: type) -> Any:
    # `params` (and `result`) may be omitted in JSON-RPC; unknown members are ignored
    return cls(**{name: obj.get(name) for name in attrs.fields_dict(cls)})


def plain_converter() -> Converter:
    converter = converters.get_converter()
    for cls in (JsonRPCRequestMessage, JsonRPCResponseMessage, JsonRPCNotification):
        converter.register_structure_hook(cls, _as_is)
    return converter


class Undecoded(dict):  # type: ignore[type-arg]
    """A JSON object with a `jsonrpc` key that pygls could not decode. It stays a dict: the JSON
    decoder calls `structure_message` on nested objects too, where it is just data."""

    def __init__(self, data: dict[str, Any], error: JsonRpcException) -> None:
        super().__init__(data)
        self.error = error


class PodiumProtocol(LanguageServerProtocol):
    def structure_message(self, data: dict[str, Any]) -> Any:
        try:
            return super().structure_message(data)
        except JsonRpcException as exc:
            return Undecoded(data, exc)

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
                log.warning("ignored an undecodable message: %.200s", dict(message))
            return
        method = getattr(message, "method", None)
        if self._shutdown and method is not None and method != types.EXIT and hasattr(message, "id"):
            # LSP: requests after shutdown "should error with InvalidRequest"
            error = JsonRpcInvalidRequest(f"the server is shutting down; {method} refused")
            self._send_response(message.id, None, error.to_response_error())
            return
        super().handle_message(message)
