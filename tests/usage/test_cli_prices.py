"""`podium prices` and `podium prices update` (offline from a file, or --fetch from a local
HTTP server the test starts on 127.0.0.1)."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from podium.cli import main
from podium.usage.pricing import PriceTable

LITELLM = Path(__file__).resolve().parent.parent / "fixtures" / "litellm" / "model_prices_small.json"


@pytest.fixture
def config(tmp_path, monkeypatch) -> Path:
    """A temp user config dir (where `update` writes by default); no $PODIUM_PRICES."""
    monkeypatch.delenv("PODIUM_PRICES", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return tmp_path / "config" / "podium" / "prices.json"


def _cheaper_opus(tmp_path: Path) -> Path:
    data = json.loads(LITELLM.read_text())
    data["claude-opus-5-5"]["input_cost_per_token"] = 3e-06
    path = tmp_path / "litellm.json"
    path.write_text(json.dumps(data))
    return path


def test_prices_shows_the_bundled_table_source_date_and_count(config, capsys):
    assert main(["prices"]) == 0
    out = capsys.readouterr().out
    bundled = PriceTable.load_bundled()
    assert f"litellm {bundled.source['from'].split()[1]} wheel, {bundled.source['date']}" in out
    assert f"{len(bundled.model_names)} models" in out
    assert "user table   none" in out and str(config) in out
    assert main(["prices", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["user"] is None and info["models"] == len(bundled.model_names)


def test_update_from_a_file_builds_the_users_table_which_then_wins(config, tmp_path, capsys):
    assert main(["prices", "update", "--from", str(_cheaper_opus(tmp_path))]) == 0
    assert "wrote" in capsys.readouterr().out and config.is_file()
    table = PriceTable.load()
    assert table.origin == str(config)
    assert table.cost_of("claude-opus-5-5", 1_000_000, 0, 0, 0) == pytest.approx(3)
    assert table.cost_of("claude-sonnet-5-5", 1_000_000, 0, 0, 0) == pytest.approx(2)  # bundled
    assert main(["prices", "--model", "claude-opus-5-5-20261001"]) == 0
    out = capsys.readouterr().out
    assert "1 priced differently from the bundled table: claude-opus-5-5" in out
    assert "claude-opus-5-5-20261001 → claude-opus-5-5: in $3 / out $20" in out
    assert main(["prices", "--model", "claude-opus-9-9"]) == 1
    assert "claude-opus-9-9: no price" in capsys.readouterr().out


def test_update_never_replaces_a_hand_made_table_or_keeps_a_bad_one(config, tmp_path, capsys):
    config.parent.mkdir(parents=True)
    mine = '{"version": "mine", "models": {"m": {"input": 1, "output": 1}}}'
    config.write_text(mine)
    assert main(["prices", "update", "--from", str(LITELLM)]) == 2
    assert "--force" in capsys.readouterr().err and config.read_text() == mine
    bad = tmp_path / "bad.json"
    bad.write_text('{"not": "litellm"}')
    assert main(["prices", "update", "--from", str(bad), "--force"]) == 2
    assert "not a LiteLLM price file" in capsys.readouterr().err and config.read_text() == mine
    assert main(["prices", "update", "--from", str(tmp_path / "missing.json")]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert main(["prices", "update", "--from", str(LITELLM), "--force"]) == 0
    assert "GENERATED" in json.loads(config.read_text())["note"]
    assert main(["prices", "update", "--from", str(LITELLM)]) == 0  # its own file: no --force


def test_update_refuses_a_file_without_a_usable_price(config, tmp_path, capsys):
    # a LiteLLM-shaped file whose costs are not numbers used to be "2 models from it": the
    # supplement's own, written as the user's table
    bad = tmp_path / "strings.json"
    bad.write_text(json.dumps({"gpt-4o": {"input_cost_per_token": "abc",
                                          "output_cost_per_token": "def"}}))  # fmt: skip
    assert main(["prices", "update", "--from", str(bad)]) == 2
    assert "strings.json: no model in it has a usable price" in capsys.readouterr().err
    assert not config.exists()


class _Server:
    """A local HTTP server answering GET with `body` (or `status`)."""

    def __init__(self, body: bytes, status: int = 200) -> None:
        outer = self
        self.requests = 0

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests += 1
                self.send_response(status)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/prices.json"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> _Server:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


def test_fetch_downloads_the_current_file(config, tmp_path, capsys):
    with _Server(_cheaper_opus(tmp_path).read_bytes()) as server:
        assert main(["prices", "update", "--fetch", "--url", server.url]) == 0
    assert server.requests == 1
    raw = json.loads(config.read_text())
    assert raw["source"]["from"] == server.url and len(raw["source"]["sha256"]) == 64
    assert PriceTable.load().cost_of("claude-opus-5-5", 1_000_000, 0, 0, 0) == pytest.approx(3)


def test_fetch_offline_or_failing_is_one_clear_line_and_changes_nothing(config, capsys):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/prices.json"
    assert main(["prices", "update", "--fetch", "--url", url, "--timeout", "5"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"cannot download {url}" in err and "--from FILE" in err
    with _Server(b"gone", status=404) as server:
        assert main(["prices", "update", "--fetch", "--url", server.url]) == 2
    assert "HTTP 404" in capsys.readouterr().err
    with _Server(b"<html>not json</html>") as server:
        assert main(["prices", "update", "--fetch", "--url", server.url]) == 2
    assert "not JSON" in capsys.readouterr().err
    assert not config.exists()
