# Types of the C extension built from _scan.c (the docstrings there say what each call does).
from typing import final

#: (items, new_offset, oversized, eof): items holds a `UsageEntry.as_row` tuple per usage line
#: read natively and an (offset, line bytes) pair per line the Python parser must decide
ScanResult = tuple[list[tuple[object, ...]], int, int, bool]

def set_bounds(tokens_max: int, ts_min_ms: int, ts_max_ms: int, cost_digits: int, /) -> None: ...
def scan_claude(
    fd: int,
    offset: int,
    limit: int,
    max_line: int,
    chunk_size: int,
    needle: bytes,
    file_id: object,
    project: object,
    adapter: object,
    session_fallback: str,
    path: str,
    end: int = -1,
    /,
) -> ScanResult: ...
@final
class Prefetcher:
    def __init__(
        self,
        paths: list[str],
        offsets: list[int],
        limit: int,
        max_line: int,
        chunk_size: int,
        needle: bytes,
        max_held: int,
        threads: int = 1,
        ends: list[int] | None = None,
    ) -> None: ...
    def next(
        self, file_id: object, project: object, adapter: object, session_fallback: str, path: str, /
    ) -> ScanResult: ...
