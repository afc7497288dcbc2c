"""A small tmpfs to fill (root only: skips with a clear message where mount is refused), and
transcripts to append while it is full."""

from __future__ import annotations

import contextlib
import errno
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from podium.usage import synthetic as syn

T0 = 1_790_000_000_000


@contextlib.contextmanager
def small_tmpfs(where: Path, size: str = "2m", options: str = "") -> Iterator[Path]:
    """A tmpfs of `size` mounted at `where` (extra mount `options`, e.g. "ro"); skips the test
    where mounting is not permitted."""
    where.mkdir(parents=True, exist_ok=True)
    opts = ",".join(o for o in (options, f"size={size}") if o)
    mount = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(where)],
                           capture_output=True, text=True)  # fmt: skip
    if mount.returncode != 0:
        pytest.skip(f"cannot mount a {size} tmpfs here (needs root): {mount.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def fill(disk: Path, leave: int = 0) -> Path:
    """Take every free byte of `disk` but `leave` with a filler file; returns it (delete it to
    free)."""
    filler = disk / "filler"
    chunk = b"\0" * 65536
    with open(filler, "ab", buffering=0) as fh:
        size = len(chunk)
        while size:
            try:
                fh.write(chunk[:size])
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
                size //= 2
        fh.truncate(max(0, fh.tell() - leave))
    return filler


def transcript_lines(session: str, start: int, count: int, cwd: str = "/work/shop") -> bytes:
    out = []
    for i in range(count):
        for line in syn.assistant_lines(session, cwd, T0 + (start + i) * 1000,
                                        "claude-sonnet-4-5-20250929",
                                        syn.usage_dict(10 + i, 100 + i, 1000, 20000)):  # fmt: skip
            out.append(syn.dumps(line))
    return b"".join(out)
