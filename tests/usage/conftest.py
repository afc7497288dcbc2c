from __future__ import annotations

from pathlib import Path

import pytest

from podium.store import Store
from podium.usage import synthetic as syn
from podium.usage.adapters.claude import ClaudeCodeAdapter
from podium.usage.ingest import Ingestor

T0 = 1_790_000_000_000  # 2026-09-21T…Z, ms


class Corpus:
    """A temp Claude config root with helpers to write transcript files."""

    def __init__(self, root: Path, db: Path) -> None:
        self.root = root
        self.db = db
        self.store = Store(db)

    def path(self, name: str, project: str = "-work-shop") -> Path:
        p = self.root / "projects" / project / name
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def write(self, name: str, lines: list[dict] | list[bytes], *, project: str = "-work-shop",
              mode: str = "ab", newline: bytes = b"\n") -> Path:  # fmt: skip
        p = self.path(name, project)
        with open(p, mode) as fh:
            for line in lines:
                raw = line if isinstance(line, bytes) else syn.dumps(line)
                fh.write(raw.rstrip(b"\n") + newline)
        return p

    def ingest(self, paths=None):
        return Ingestor(self.store, [ClaudeCodeAdapter([str(self.root)])]).run(paths)

    def totals(self) -> tuple[int, int, int, int, int]:
        return self.store.conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(input),0), COALESCE(SUM(output),0), "
            "COALESCE(SUM(cache_create),0), COALESCE(SUM(cache_read),0) FROM entries"
        ).fetchone()


@pytest.fixture(params=["native", "prefetch", "bulk", "python"])
def scanner(request, monkeypatch) -> str:
    """Run a test with the C scanner; with the C scanner on its prefetch thread (whatever the
    run's size); the same plus a first load into an empty store taking the bulk path (indexes
    and buckets rebuilt at the end, rows written after every file); and with the pure-Python
    reader."""
    from podium.usage import ingest

    monkeypatch.setenv("PODIUM_NATIVE", "0" if request.param == "python" else "1")
    prefetch = request.param in ("prefetch", "bulk")
    monkeypatch.setattr(ingest, "PARALLEL_BYTES", 0 if prefetch else 1 << 62)
    monkeypatch.setattr(ingest, "PREFETCH_MIN_FILES", 1 if prefetch else 1 << 62)
    if request.param == "bulk":
        monkeypatch.setattr(ingest, "BULK_BYTES", 0)
        monkeypatch.setattr(ingest, "BULK_FLUSH_BYTES", 1)
    return request.param


@pytest.fixture
def corpus(tmp_path: Path) -> Corpus:
    c = Corpus(tmp_path / "claude", tmp_path / "podium.db")
    (c.root / "projects").mkdir(parents=True)
    yield c
    c.store.close()


def message(ts: int = T0, *, model: str = "claude-sonnet-4-5-20250929", out: int = 100,
            session: str = "s-1", cwd: str = "/work/shop", blocks: int = 2,
            request_id: str | None = "auto", message_id: str | None = None,
            usage: dict | None = None) -> list[dict]:  # fmt: skip
    """One streamed assistant message (several lines, the last with the final usage)."""
    return syn.assistant_lines(
        session, cwd, ts, model, usage or syn.usage_dict(10, out, 1000, 20000),
        blocks=[{"type": "text", "text": f"part {i}"} for i in range(blocks)],
        request_id=request_id, message_id=message_id,
    )  # fmt: skip
