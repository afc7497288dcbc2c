"""Where an export may never land, whatever `overwrite` says: inside a `.git` directory (or onto
a worktree's `.git` file), in the store's folder, or in Podium's own `.podium/` metadata (only
`.podium/exports/` is for exports). Symlinks are resolved before the check, and the file is
opened without following a symlink put in its place after it."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable
from pathlib import Path

from podium.errors import InvalidInput

#: the only folder under a workspace's `.podium/` that exports may write to
EXPORTS_DIR = ("exports",)
_STORE_SUFFIXES = ("", "-wal", "-shm", "-journal")


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or path.is_relative_to(folder)


def check_target(target: Path, *, workspace: Path, store_path: str | None,
                 protected: Iterable[str | os.PathLike[str]] = ()) -> Path:  # fmt: skip
    """The real path `target` would write (symlinks resolved); InvalidInput(field="path") when
    it is in a place exports must not touch."""
    real = Path(os.path.realpath(target))
    given = str(target)

    def refuse(why: str) -> InvalidInput:
        return InvalidInput(f"export path {given!r} {why}; choose another path", field="path")

    if any(part.casefold() == ".git" for part in real.parts):
        raise refuse("is inside a .git directory (the repository's own files)")
    root = Path(os.path.realpath(workspace))
    podium_dir = root / ".podium"
    if _inside(real, podium_dir) and not _inside(real, podium_dir.joinpath(*EXPORTS_DIR)):
        raise refuse("is in Podium's .podium/ metadata (exports go to .podium/exports/)")
    if store_path:
        store = Path(os.path.realpath(store_path))
        if any(real == Path(f"{store}{suffix}") for suffix in _STORE_SUFFIXES):
            raise refuse("is Podium's store")
        # the store's folder, unless the workspace itself lives in it
        if _inside(real, store.parent) and not _inside(root, store.parent):
            raise refuse("is in the folder of Podium's store")
    for folder in protected:
        if _inside(real, Path(os.path.realpath(folder))):
            raise refuse("is in Podium's agent worktrees folder")
    return real


def write_file(path: Path, data: bytes, *, overwrite: bool) -> None:
    """Write `data` at `path` (a checked real path): never through a symlink that appeared
    there since, never over an existing file unless `overwrite`, never into a directory."""
    flags = os.O_WRONLY | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    flags |= os.O_TRUNC if overwrite else os.O_EXCL
    try:
        fd = os.open(path, flags, 0o644)
    except FileExistsError:
        raise InvalidInput(f"{path} exists; pass overwrite to replace it", field="path") from None
    except IsADirectoryError:
        raise InvalidInput(f"{path} is a directory", field="path") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # a symlink put there after the check
            raise InvalidInput(f"{path} became a symbolic link; not followed", field="path") from None
        raise
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
