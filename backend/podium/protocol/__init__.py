"""The custom protocol of docs/protocol.md: pydantic models for every request, result and
notification (`models`), request validation (`params`) and the JSON Schema the editor client's
TypeScript types are generated from (`schema`).

A core-level package: the views render these models and the server sends them; neither imports
the other.
"""

# No __all__ here: its public names are the models' `__all__` plus parse_params, and a type
# checker reads a star import's names only from a literal list, not from `[*models.__all__, ...]`.
from podium.protocol.models import *  # noqa: F403
from podium.protocol.params import parse_params as parse_params
