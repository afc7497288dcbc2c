"""The custom protocol of docs/protocol.md: pydantic models for every request, result and
notification (`models`), request validation (`params`) and the JSON Schema the editor client's
TypeScript types are generated from (`schema`).

A core-level package: the views render these models and the server sends them; neither imports
the other.
"""

from podium.protocol.models import *  # noqa: F403
from podium.protocol.models import __all__ as _models_all
from podium.protocol.params import parse_params

__all__ = [*_models_all, "parse_params"]
