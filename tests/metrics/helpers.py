"""Shared by the metrics tests: a local HTTP receiver, real transcripts, free ports."""

from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from tests.agents.agents_helpers import wait_for  # noqa: F401  (re-exported)
from tests.limits.helpers import HAIKU, NOW, Feed, insert_agent_row, make_agent  # noqa: F401


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Receiver:
    """A local HTTP server recording every POST; `statuses` scripts the answers (then 200)."""

    statuses: list[int] = field(default_factory=list)
    requests: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    port: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def bodies(self, path: str | None = None) -> list[bytes]:
        with self.lock:
            return [body for p, _, body in self.requests if path is None or p == path]


@contextmanager
def receiver(statuses: list[int] | None = None,
             on_post: Callable[[str, bytes], None] | None = None) -> Iterator[Receiver]:  # fmt: skip
    rec = Receiver(statuses=list(statuses or []))

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with rec.lock:
                rec.requests.append((self.path, dict(self.headers), body))
                status = rec.statuses.pop(0) if rec.statuses else 200
            if on_post is not None:
                on_post(self.path, body)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    rec.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield rec
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
