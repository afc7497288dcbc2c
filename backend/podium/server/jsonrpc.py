"""A pygls converter that leaves the params/results of custom methods as plain JSON values.

pygls' default turns them into namedtuples, which renames keys that are not identifiers (an
`env` entry such as `MY-VAR` would arrive as `_0`) and hides types from validation. Both the
server and `PodiumClient` use this one.
"""

from __future__ import annotations

from typing import Any

from cattrs import Converter
from lsprotocol import converters
from pygls.protocol import JsonRPCNotification, JsonRPCRequestMessage, JsonRPCResponseMessage


def _as_is(obj: dict[str, Any], cls: type) -> Any:
    return cls(**obj)


def plain_converter() -> Converter:
    converter = converters.get_converter()
    for cls in (JsonRPCRequestMessage, JsonRPCResponseMessage, JsonRPCNotification):
        converter.register_structure_hook(cls, _as_is)
    return converter
