"""A report leaves a short WAL for later instead of checkpointing it on every run; a long one is
checkpointed; nothing committed is lost either way."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from podium.usage import cli_common

WRITE_BIG_WAL = """
import os, sys
from podium.store import Store
store = Store(sys.argv[1], autocheckpoint=0)
with store.transaction():
    store.set_meta("test.blob", "x" * (17 << 20))
os._exit(0)  # no close: the WAL stays as written
"""


def _wal(db) -> int:
    try:
        return os.path.getsize(str(db) + "-wal")
    except FileNotFoundError:
        return 0


def test_a_report_leaves_a_short_wal_and_loses_nothing(cli):
    first = json.loads(cli("report", "daily", "-j", check=True).out)
    assert 0 < _wal(cli.db) < cli_common.CLI_WAL_BYTES  # not copied back on exit
    again = json.loads(cli("report", "daily", "-j", "--no-ingest", check=True).out)
    assert again == first and first["totals"]["totalTokens"] == 2839859
    doctor = json.loads(cli("doctor", "--json", "--no-ingest", check=True).out)
    assert doctor["entries"] > 0


def test_a_long_wal_is_checkpointed(cli):
    cli("report", "daily", "-j", check=True)
    subprocess.run([sys.executable, "-c", WRITE_BIG_WAL, str(cli.db)], check=True,
                   env=cli.env)  # fmt: skip
    assert _wal(cli.db) > cli_common.CLI_WAL_BYTES
    got = json.loads(cli("report", "daily", "-j", check=True).out)
    assert got["totals"]["totalTokens"] == 2839859
    assert _wal(cli.db) == 0  # the last connection closed: copied back and removed


def test_in_process_main_closes_what_it_opened(tmp_path, monkeypatch):
    from podium.cli import main

    monkeypatch.setenv("PODIUM_DB", str(tmp_path / "p.db"))
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path))
    (tmp_path / "projects").mkdir()
    assert main(["report", "daily", "--json"]) == 0
    assert cli_common.LEFT_OPEN == []
    assert _wal(tmp_path / "p.db") == 0
