"""Tail live transcripts: watchfiles (inotify via rust notify) on each log root's `projects/`.

Events are batched for at most `DEBOUNCE_MS` so a line's notification leaves within a few tens of
milliseconds; an idle tree costs nothing (no polling). The callback receives the changed `.jsonl`
paths; the pump ingests only those.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

DEBOUNCE_MS = 25
STEP_MS = 5


def _is_log(change: Any, path: str) -> bool:
    if path.endswith(".jsonl"):
        return True
    # a new project dir: files created in it before inotify watched it would be missed
    from watchfiles import Change

    return change == Change.added and os.path.isdir(path)


def _expand(paths: set[str]) -> set[str]:
    out: set[str] = set()
    for path in paths:
        if path.endswith(".jsonl"):
            out.add(path)
            continue
        for dirpath, _dirs, files in os.walk(path):
            out.update(os.path.join(dirpath, f) for f in files if f.endswith(".jsonl"))
    return out


def watch_dirs(ingestor: Any) -> list[Path]:
    """The dirs to watch: Claude's `projects/` in every root that exists (created when the root
    was configured explicitly, so a fresh CLAUDE_CONFIG_DIR is tailed from its first session),
    and the log dirs other adapters name (`watch_dirs()`)."""
    explicit = bool(os.environ.get("CLAUDE_CONFIG_DIR", "").strip())
    dirs: list[Path] = []
    for adapter in ingestor.adapters:
        own = getattr(adapter, "watch_dirs", None)  # Codex, Gemini: the log dirs that exist
        if own is not None:
            dirs.extend(p for p in map(Path, own()) if p not in dirs)
            continue
        explicit = explicit or bool(getattr(adapter, "_config_dirs", None))
        for root in adapter.roots():
            projects = Path(root) / "projects"
            if not projects.is_dir() and (explicit or Path(root).is_dir()):
                try:
                    projects.mkdir(parents=True, exist_ok=True)
                except OSError:
                    continue
            if projects.is_dir() and projects not in dirs:
                dirs.append(projects)
    return dirs


class LogTail:
    def __init__(self, ingestor: Any, on_paths: Callable[[set[str]], None]) -> None:
        self.ingestor = ingestor
        self.on_paths = on_paths
        self._stop = asyncio.Event()
        self.dirs: list[Path] = []

    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        from watchfiles import awatch

        self.dirs = watch_dirs(self.ingestor)
        if not self.dirs:
            log.info("no log roots to watch")
            return
        try:
            async for changes in awatch(
                *self.dirs,
                watch_filter=_is_log,
                debounce=DEBOUNCE_MS,
                step=STEP_MS,
                stop_event=self._stop,
                recursive=True,
                ignore_permission_denied=True,
            ):
                paths = _expand({path for _change, path in changes})
                if paths:
                    self.on_paths(paths)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("log watcher failed")
