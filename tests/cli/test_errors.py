"""Bad input of every kind ends in one line on stderr, a non-zero exit and no traceback.

Permission cases run the command as `nobody` when the tests run as root (root ignores file
modes); read-only and full file systems are small tmpfs mounts (skipped, with the reason, where
mounting is not permitted).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.store.fulldisk import fill, small_tmpfs

from .helpers import CORPUS, Cli

NOBODY = 65534


def _as_nobody() -> tuple[str, ...]:
    if os.geteuid() != 0:
        return ()
    if not shutil.which("setpriv"):
        pytest.skip("running as root without setpriv: file modes cannot be tested")
    return ("setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups")


def run_as(cli: Cli, prefix: tuple[str, ...], *args: str, env: dict | None = None):
    proc = subprocess.run([*prefix, sys.executable, "-m", "podium", *args],
                          env={**cli.env, **(env or {})}, capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    return proc.returncode, proc.stdout, proc.stderr


def tmpfs(path: Path, size: str, options: str = "") -> contextlib.AbstractContextManager[Path]:
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a tmpfs needs root")
    return small_tmpfs(path, size, options)


def _world_writable(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o777)
    return path


# -- the cases: name → (setup(cli, tmp) -> (prefix, args, env), words the line must say, code) --
def _store_under_a_file(cli, tmp):
    (tmp / "afile").write_text("x")
    return (), ["report", "daily", "--db", str(tmp / "afile" / "sub" / "podium.db")], {}


def _store_is_a_folder(cli, tmp):
    return (), ["report", "daily", "--db", str(tmp)], {}


def _store_unwritable(cli, tmp):
    locked = tmp / "locked"
    locked.mkdir(mode=0o755)  # root's, read-only for nobody
    _world_writable(tmp)
    return _as_nobody(), ["report", "daily", "--db", str(locked / "sub" / "podium.db")], {}


def _store_unreadable(cli, tmp):
    cli("ingest", "--db", str(tmp / "mine.db"), check=True)
    (tmp / "mine.db").chmod(0o600)  # root's own store: nobody may not read it
    _world_writable(tmp)
    return _as_nobody(), ["report", "daily", "--db", str(tmp / "mine.db")], {}


def _log_root_unreadable(cli, tmp):
    root = tmp / "claude"
    shutil.copytree(CORPUS, root)
    root.chmod(0o700)
    db_dir = _world_writable(tmp / "db")
    return _as_nobody(), ["report", "daily", "--db", str(db_dir / "p.db")], {
        "CLAUDE_CONFIG_DIR": str(root)}  # fmt: skip


def _export_unwritable(cli, tmp):
    db_dir = _world_writable(tmp / "db")
    cli("ingest", "--db", str(db_dir / "p.db"), check=True)
    (db_dir / "p.db").chmod(0o666)
    for extra in db_dir.glob("p.db-*"):
        extra.chmod(0o666)
    locked = tmp / "out"
    locked.mkdir(mode=0o755)
    return _as_nobody(), ["export", "--db", str(db_dir / "p.db"), "--no-ingest", "--path",
                          str(locked / "usage.csv")], {}  # fmt: skip


def _store_in_a_read_only_folder(cli, tmp, *args):
    db_dir = tmp / "ro-store"
    db_dir.mkdir(mode=0o755)  # root's, read-only for nobody; the store itself is writable
    cli("ingest", "--db", str(db_dir / "p.db"), check=True)
    with contextlib.closing(sqlite3.connect(db_dir / "p.db")) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the last close removes -wal, -shm
    (db_dir / "p.db").chmod(0o666)
    return _as_nobody(), [*args, "--db", str(db_dir / "p.db")], {}


def _report_store_folder_read_only(cli, tmp):
    return _store_in_a_read_only_folder(cli, tmp, "report", "daily")


def _metrics_store_folder_read_only(cli, tmp):
    return _store_in_a_read_only_folder(cli, tmp, "metrics", "--once")


def _store_on_read_only_fs(cli, tmp):
    ro = tmp / "ro"
    cli._stack.enter_context(tmpfs(ro, "1m", "ro"))
    return (), ["report", "daily", "--db", str(ro / "podium.db")], {}


def _export_to_read_only_fs(cli, tmp):
    ro = tmp / "ro"
    cli._stack.enter_context(tmpfs(ro, "1m", "ro"))
    return (), ["export", "--path", str(ro / "usage.csv")], {}


def _disk_full(cli, tmp):
    small = tmp / "small"
    cli._stack.enter_context(tmpfs(small, "96k"))
    fill(small)
    return (), ["report", "daily", "--db", str(small / "podium.db")], {}


def _corrupt_store(cli, tmp):
    (tmp / "bad.db").write_bytes(b"this is not a database, just bytes\n" * 200)
    return (), ["report", "daily", "--db", str(tmp / "bad.db")], {}


def _newer_store(cli, tmp):
    cli("ingest", "--db", str(tmp / "new.db"), check=True)
    with sqlite3.connect(tmp / "new.db") as conn:
        conn.execute("PRAGMA user_version = 999")
    return (), ["report", "daily", "--db", str(tmp / "new.db")], {}


def _since_after_until(cli, tmp):
    return (), ["report", "daily", "--since", "2025-11-02", "--until", "2025-11-01"], {}


def _log_root_missing_flag(cli, tmp):
    return (), ["report", "daily", "--claude-config-dir", str(tmp / "no-such-root")], {}


def _log_root_missing_env(cli, tmp):
    return (), ["report", "daily"], {"CLAUDE_CONFIG_DIR": str(tmp / "typo-root")}


def _log_root_is_a_file(cli, tmp):
    (tmp / "notes.txt").write_text("x")
    return (), ["report", "monthly", "--claude-config-dir", str(tmp / "notes.txt")], {}


def _bad_port(cli, tmp):
    return (), ["serve", "--tcp", "127.0.0.1:99999"], {}


def _port_not_a_number(cli, tmp):
    return (), ["serve", "--tcp", "localhost"], {}


def _bad_log_level(cli, tmp):
    return (), ["serve", "--log-level", "LOUD"], {}


def _unknown_zone(cli, tmp):
    return (), ["report", "daily", "-z", "Mars/Olympus_Mons"], {}


def _bad_date(cli, tmp):
    return (), ["report", "weekly", "--since", "last tuesday"], {}


def _usage_empty_period(cli, tmp):
    return (), ["report", "usage", "--last", "0d"], {}


def _usage_top_models_negative(cli, tmp):
    return (), ["report", "usage", "--top-models", "-1"], {}


def _impossible_date(cli, tmp):
    return (), ["report", "daily", "--until", "2025-02-30"], {}


def _missing_price_file(cli, tmp):
    return (), ["report", "daily", "--prices", str(tmp / "nope.json")], {}


def _unknown_command(cli, tmp):
    return (), ["reprot", "daily"], {}


def _unknown_option(cli, tmp):
    return (), ["report", "daily", "--colour"], {}


def _db_dash(cli, tmp):
    return (), ["report", "daily", "--db", "-"], {}


Setup = Callable[[Cli, Path], tuple[tuple[str, ...], list[str], dict]]
CASES: dict[str, tuple[Setup, list[str], int]] = {
    "store under a file": (_store_under_a_file, ["afile", "is a file, not a folder"], 2),
    "store is a folder": (_store_is_a_folder, ["is a folder", "podium.db"], 2),
    "store folder unwritable": (_store_unwritable, ["permission denied", "locked"], 2),
    "store unreadable": (_store_unreadable, ["mine.db", "permission denied"], 2),
    "log root unreadable": (_log_root_unreadable, ["log root", "cannot be read"], 2),
    "export target unwritable": (_export_unwritable, ["permission denied", "usage.csv"], 2),
    "store folder read-only": (_report_store_folder_read_only,
                               ["ro-store", "permission denied", "make it writable"], 2),
    "store folder read-only (metrics)": (_metrics_store_folder_read_only,
                                         ["ro-store", "not writable", "PODIUM_DB"], 2),
    "store on a read-only fs": (_store_on_read_only_fs, ["podium.db", "read-only file system"], 2),
    "export to a read-only fs": (_export_to_read_only_fs, ["read-only file system"], 2),
    "disk full": (_disk_full, ["full"], 2),
    "corrupt store": (_corrupt_store, ["bad.db", "rebuil", "podium doctor --repair"], 2),
    "store from a newer podium": (_newer_store, ["new.db", "newer"], 2),
    "since after until": (_since_after_until, ["2025-11-02", "after", "2025-11-01"], 2),
    "log root missing (flag)": (_log_root_missing_flag, ["no-such-root", "does not exist"], 2),
    "log root missing (env)": (_log_root_missing_env, ["typo-root", "CLAUDE_CONFIG_DIR"], 2),
    "log root is a file": (_log_root_is_a_file, ["notes.txt", "is a file"], 2),
    "bad port": (_bad_port, ["99999", "1 to 65535"], 2),
    "port not a number": (_port_not_a_number, ["HOST:PORT", "localhost"], 2),
    "bad log level": (_bad_log_level, ["--log-level", "LOUD", "WARNING"], 2),
    "unknown time zone": (_unknown_zone, ["Mars/Olympus_Mons", "IANA name"], 2),
    "bad date": (_bad_date, ["since", "YYYY-MM-DD"], 2),
    "usage over an empty period": (_usage_empty_period, ["--last", "0d", "at least 1h"], 2),
    "usage top models below 1": (_usage_top_models_negative, ["--top-models", "-1"], 2),
    "impossible date": (_impossible_date, ["until", "2025-02-30", "day is out of range"], 2),
    "missing price file": (_missing_price_file, ["nope.json"], 2),
    "unknown command": (_unknown_command, ["reprot", "did you mean `podium report`"], 2),
    "unknown option": (_unknown_option, ["--colour", "did you mean --color", "podium help report"], 2),
    "--db -": (_db_dash, ["--db -"], 2),
}


@pytest.fixture
def cli_stack(cli):
    with contextlib.ExitStack() as stack:
        cli._stack = stack
        yield cli


@pytest.fixture
def work() -> Iterator[Path]:
    """A temp dir `nobody` can reach (pytest's own is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="podium-cli-errors-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_one_line_and_a_non_zero_exit(cli_stack, work, name):
    setup, words, code = CASES[name]
    prefix, args, env = setup(cli_stack, work)
    got, _out, err = run_as(cli_stack, prefix, *args, env=env)
    lines = err.strip().splitlines()
    assert "Traceback" not in err, err
    assert len(lines) == 1, err
    assert got == code, (got, err)
    assert lines[0].startswith("podium"), err
    for word in words:
        assert word.lower() in lines[0].lower(), (word, lines[0])


def test_debug_shows_the_traceback(cli, tmp_path):
    (tmp_path / "bad.db").write_bytes(b"garbage" * 500)
    quiet = cli("report", "daily", "--db", str(tmp_path / "bad.db"))
    loud = cli("--debug", "report", "daily", "--db", str(tmp_path / "bad.db"))
    assert "Traceback" not in quiet.err and "Traceback" in loud.err
    env = cli("report", "daily", "--db", str(tmp_path / "bad.db"), env={"PODIUM_DEBUG": "1"})
    assert "Traceback" in env.err


def test_a_log_root_pointing_at_projects_itself_is_accepted(cli):
    whole = cli("report", "daily", "-j", check=True).out
    via_flag = cli("report", "daily", "-j", "--db", str(cli.tmp / "b.db"),
                   "--claude-config-dir", str(CORPUS / "projects"), check=True).out  # fmt: skip
    via_env = cli("report", "daily", "-j", "--db", str(cli.tmp / "c.db"),
                  env={"CLAUDE_CONFIG_DIR": str(CORPUS / "projects")}, check=True).out  # fmt: skip
    assert whole == via_flag == via_env
    assert '"totalTokens": 2839859' in whole


def test_export_path_dash_writes_to_stdout(cli, tmp_path):
    got = cli("export", "--path", "-", "--format", "csv", "--group-by", "day", "--workspace",
              str(tmp_path), check=True)  # fmt: skip
    lines = got.out.splitlines()
    assert lines[0].startswith("date,inputTokens")
    days = json.loads(cli("report", "daily", "-j", check=True).out)["daily"]
    assert [line.split(",")[0] for line in lines[1:]] == [d["date"] for d in days]
    assert not (tmp_path / ".podium").exists() and not got.err


@pytest.mark.parametrize("damage", ["garbage", "empty", "newer", "no files table", "bad utf-8",
                                    "huge values"])  # fmt: skip
def test_doctor_never_crashes(cli, tmp_path, damage):
    db = tmp_path / "doc.db"
    if damage == "garbage":
        db.write_bytes(os.urandom(8192))
    elif damage == "empty":
        db.write_bytes(b"")
    else:
        cli("ingest", "--db", str(db), check=True)
        with sqlite3.connect(db) as conn:
            if damage == "newer":
                conn.execute("PRAGMA user_version = 999")
            elif damage == "no files table":
                conn.execute("DROP TABLE files")
            elif damage == "bad utf-8":
                conn.execute("UPDATE files SET last_error = CAST(X'C3289FFF' AS TEXT)")
            else:
                conn.execute("UPDATE files SET malformed = 9223372036854775807, offset = -1")
    for args in (("doctor", "--db", str(db)), ("doctor", "--json", "--db", str(db))):
        got = cli(*args)
        assert "Traceback" not in got.err, got.err
        if got.code:
            assert got.code in (1, 2) and len(got.err.strip().splitlines()) == 1, got.err
        else:
            assert got.out.strip()


@pytest.mark.parametrize("last", ["ingest", "report"])
def test_no_ingest_reads_a_store_in_a_read_only_folder(cli, work, last):
    """`report --no-ingest` on a store whose folder its user cannot write: opened read-only
    (after `ingest`, which closes the store, no -wal/-shm are left: `immutable=1`; after a
    report, which leaves them, `mode=ro`), with the same totals as before."""
    prefix = _as_nobody()
    folder = work / "store"
    folder.mkdir(mode=0o755)
    if prefix:
        os.chown(folder, NOBODY, NOBODY)
    db = str(folder / "p.db")
    daily = ("report", "daily", "--no-ingest", "--json", "--db", db)
    got, _out, err = run_as(cli, prefix, "report", "daily", "--db", db)  # ingests
    assert got == 0, err
    insights = ("report", "insights", "--no-ingest", "--json", "--db", db)
    got, insights_before, err = run_as(cli, prefix, *insights)
    assert got == 0, err
    got, before, err = run_as(cli, prefix, *daily)  # leaves -wal and -shm for the next run
    assert got == 0, err
    assert json.loads(before)["totals"]["totalTokens"] == 2839859
    if last == "ingest":
        got, _out, err = run_as(cli, prefix, "ingest", "--db", db)  # closes: they go
        assert got == 0, err
    beside = sorted(p.name for p in folder.iterdir())
    assert ("p.db-shm" in beside) == (last == "report"), beside
    subprocess.run([*prefix, "chmod", "0555", str(folder)], check=True)
    try:
        got, after, err = run_as(cli, prefix, *daily)
        assert got == 0 and err == "", err
        assert json.loads(after) == json.loads(before)
        got, insights_after, err = run_as(cli, prefix, *insights)  # reads only, too
        assert got == 0 and err == "" and insights_after == insights_before, err
        assert sorted(p.name for p in folder.iterdir()) == beside  # nothing created
    finally:
        subprocess.run([*prefix, "chmod", "0755", str(folder)], check=True)
