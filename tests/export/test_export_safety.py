"""Export never writes inside `.git`, the store's folder or `.podium/` metadata, whatever
`overwrite` says, symlinks included; the CLI and the server both."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from podium.errors import InvalidInput, PodiumError
from podium.export import export_usage
from podium.store import Store


@pytest.fixture
def workspace(git_repo: Path, tmp_path: Path) -> Path:
    outside = tmp_path / "outside"
    outside.mkdir()
    (git_repo / "link-to-git").symlink_to(git_repo / ".git")
    (git_repo / "config-link.csv").symlink_to(git_repo / ".git" / "config")
    (git_repo / ".podium" / "worktrees" / "alpha").mkdir(parents=True)
    (git_repo / ".podium" / "worktrees" / "alpha" / ".git").write_text("gitdir: /x\n")
    return git_repo


@pytest.fixture
def store(tmp_path: Path):
    """A store in a folder of its own (as ~/.local/share/podium/ is)."""
    with Store(tmp_path / "data" / "podium.db") as s:
        (tmp_path / "data" / "notes.txt").write_text("mine")
        yield s


def _protected(repo: Path, store: Store) -> list[str]:
    store_dir = Path(store.path).parent
    return [
        ".git/config", ".git/hooks/pre-commit", ".git", "./.git/../.git/HEAD", ".GIT/config",
        "link-to-git/config", "config-link.csv", "src/../.git/info/exclude",
        ".podium/worktrees/alpha/.git", ".podium/worktrees/alpha/x.csv", ".podium/state.json",
        str(repo / ".git" / "config"), str(Path(store.path)), str(Path(store.path)) + "-wal",
        str(store_dir / "other.csv"),
    ]  # fmt: skip


def _snapshot(repo: Path, store: Store) -> dict[str, bytes]:
    files = {}
    for base in (repo / ".git", repo / ".podium", Path(store.path).parent):
        for path in base.rglob("*"):
            if path.is_file() and not path.name.startswith("podium.db"):
                files[str(path)] = path.read_bytes()
    return files


@pytest.mark.parametrize("overwrite", [False, True])
def test_export_refuses_protected_places(workspace: Path, store: Store, overwrite: bool) -> None:
    before = _snapshot(workspace, store)
    for path in _protected(workspace, store):
        with pytest.raises(InvalidInput) as err:
            export_usage(store, {"path": path, "overwrite": overwrite}, workspace=workspace)
        assert err.value.field == "path", path
    assert _snapshot(workspace, store) == before
    # the allowed places still work: .podium/exports/, the workspace, an absolute path elsewhere
    for path in (None, ".podium/exports/mine.csv", "usage.csv", str(workspace.parent / "outside" / "u.csv")):
        result = export_usage(store, {"path": path, "overwrite": overwrite}, workspace=workspace)
        assert Path(result["path"]).is_file()


def test_a_custom_worktree_folder_is_protected(workspace: Path, store: Store, tmp_path: Path) -> None:
    worktrees = tmp_path / "wt"
    (worktrees / "alpha").mkdir(parents=True)
    with pytest.raises(InvalidInput):
        export_usage(store, {"path": str(worktrees / "alpha" / "x.csv")}, workspace=workspace,
                     protected=[worktrees])  # fmt: skip


def test_a_symlink_swapped_in_after_the_check_is_not_followed(workspace: Path, store: Store) -> None:
    from podium.export.safety import write_file

    target = workspace / "swap.csv"
    target.symlink_to(workspace / ".git" / "config")
    config = (workspace / ".git" / "config").read_bytes()
    with pytest.raises(InvalidInput):
        write_file(target, b"x", overwrite=True)
    assert (workspace / ".git" / "config").read_bytes() == config


def test_cli_refuses_git_config(workspace: Path, tmp_path: Path) -> None:
    config = (workspace / ".git" / "config").read_bytes()
    env = dict(os.environ, PODIUM_DB=str(tmp_path / "db" / "podium.db"),
               CLAUDE_CONFIG_DIR=str(tmp_path / "claude"))  # fmt: skip
    run = subprocess.run([sys.executable, "-m", "podium", "export", "--path", ".git/config",
                          "--overwrite", "--workspace", str(workspace)], env=env,
                         capture_output=True, text=True, timeout=60)  # fmt: skip
    assert run.returncode == 2 and ".git" in run.stderr and "Traceback" not in run.stderr
    assert (workspace / ".git" / "config").read_bytes() == config


@pytest.mark.parametrize("name", ["x" * 300 + ".csv", "no-such-file.csv/u.csv"])
def test_an_unwritable_path_is_one_clear_error(workspace: Path, store: Store, name: str) -> None:
    """A name longer than the filesystem allows, or a file where a folder is needed: the
    user's path, said so (found by the params fuzzer: it was an internal error)."""
    (workspace / "no-such-file.csv").write_text("a file, not a folder")
    with pytest.raises(PodiumError) as err:
        export_usage(store, {"path": name}, workspace=workspace)
    assert err.value.field == "path"
    assert "cannot write the export" in str(err.value) and "choose another path" in str(err.value)
