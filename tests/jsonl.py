"""Reading the JSON lines a test's subprocess writes (an agent's stdout.jsonl, hooks.jsonl, a
CLI's transcript, a hook's call log)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The complete JSON lines of `path` ([] when it does not exist). A last line without its
    newline is still being written by the other process, so it is left for the next read
    (reading it made a session test fail under load)."""
    if not path.exists():
        return []
    text = path.read_text()
    return [json.loads(x) for x in text[: text.rfind("\n") + 1].splitlines() if x.strip()]
