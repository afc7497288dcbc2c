"""Size and content limits for text that arrives from outside (docs/protocol.md §Limits).

One place for both doors: the JSON-RPC params (`server/protocol.py`) and the agents' own spawn
rules (`agents/spec.py`). Inbound strings must be valid UTF-8 without NUL (the OS refuses NUL in
argv, paths and environments; SQLite and JSON writers refuse a lone surrogate), at most N bytes.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

MAX_TASK_BYTES = 64 * 1024
MAX_REF_BYTES = 256
MAX_PROFILE_BYTES = 128
MAX_AGENT_ID_BYTES = 128
MAX_ARGS = 1024
MAX_ARG_BYTES = 32 * 1024
MAX_ARGV_BYTES = 256 * 1024
MAX_ENV_ENTRIES = 256
MAX_ENV_NAME_BYTES = 256
MAX_ENV_VALUE_BYTES = 32 * 1024
MAX_ENV_BYTES = 256 * 1024
MAX_PATH_BYTES = 4096
MAX_AGENT_IDS = 1000
MAX_LIMIT_USD = 1e9


def utf8_size(value: str) -> int:
    """Bytes as UTF-8; a lone surrogate (valid in a JSON string, not in UTF-8) is refused:
    it cannot reach an argv, an environment, a path or SQLite as text."""
    if "\x00" in value:
        raise ValueError("must not contain a NUL character")
    try:
        return len(value.encode("utf-8"))
    except UnicodeEncodeError:
        raise ValueError("must not contain a lone surrogate (not valid UTF-8)") from None


def _text(max_bytes: int) -> AfterValidator:
    def check(value: str) -> str:
        if utf8_size(value) > max_bytes:
            raise ValueError(f"must be at most {max_bytes:,} bytes")
        return value

    return AfterValidator(check)


Task = Annotated[str, _text(MAX_TASK_BYTES)]
#: a follow-up message to an agent (as long as a task may be)
Message = Annotated[str, Field(min_length=1), _text(MAX_TASK_BYTES)]
RequestId = Annotated[str, Field(min_length=1), _text(MAX_AGENT_ID_BYTES)]
Ref = Annotated[str, _text(MAX_REF_BYTES)]
ProfileName = Annotated[str, _text(MAX_PROFILE_BYTES)]
AgentId = Annotated[str, Field(min_length=1), _text(MAX_AGENT_ID_BYTES)]
Arg = Annotated[str, _text(MAX_ARG_BYTES)]
EnvValue = Annotated[str, _text(MAX_ENV_VALUE_BYTES)]
PathText = Annotated[str, Field(min_length=1), _text(MAX_PATH_BYTES)]


def check_env_size(env: dict[str, str]) -> None:
    """Names and the whole environment within bounds (values are checked by `EnvValue`)."""
    total = 0
    for name, item in env.items():
        size = utf8_size(name)
        if size > MAX_ENV_NAME_BYTES:
            raise ValueError(f"a variable name is over {MAX_ENV_NAME_BYTES} bytes")
        total += size + len(item.encode("utf-8", "surrogatepass")) + 2
    if total > MAX_ENV_BYTES:
        raise ValueError(f"must be at most {MAX_ENV_BYTES:,} bytes in all")


def check_argv_size(argv: list[str]) -> None:
    if sum(len(a.encode("utf-8", "surrogatepass")) + 1 for a in argv) > MAX_ARGV_BYTES:
        raise ValueError(f"must be at most {MAX_ARGV_BYTES:,} bytes in all")
