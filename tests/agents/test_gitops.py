"""Diff stats and repository checks on real git repositories."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from podium.agents import gitops
from podium.agents.models import DiffStats
from podium.errors import GitError


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout.strip()  # fmt: skip


def test_clean_tree_has_no_diff(git_repo: Path) -> None:
    base = git(git_repo, "rev-parse", "HEAD")
    assert gitops.diff_stats(git_repo, base) == DiffStats(0, 0, 0)


def test_counts_unstaged_staged_committed_untracked_and_binary(git_repo: Path) -> None:
    base = git(git_repo, "rev-parse", "HEAD")
    # unstaged edit: one line replaced, one added
    (git_repo / "src" / "app.py").write_text("def main():\n    return 2\n\n\nprint(main())\nx = 1\n")
    assert gitops.diff_stats(git_repo, base) == DiffStats(added=2, removed=1, files=1)
    # staged new file (3 lines, the last without newline)
    (git_repo / "staged.txt").write_text("a\nb\nc")
    git(git_repo, "add", "staged.txt")
    assert gitops.diff_stats(git_repo, base) == DiffStats(added=5, removed=1, files=2)
    # committed deletion of README (3 lines)
    git(git_repo, "rm", "-q", "README.md")
    git(git_repo, "commit", "-q", "-m", "drop readme")
    assert gitops.diff_stats(git_repo, base) == DiffStats(added=5, removed=4, files=3)
    # untracked text file and untracked binary file (a file, no lines)
    (git_repo / "notes.md").write_text("one\ntwo\n")
    (git_repo / "blob.bin").write_bytes(b"\x00\x01\x02" * 100)
    assert gitops.diff_stats(git_repo, base) == DiffStats(added=7, removed=4, files=5)
    # ignored files do not count
    (git_repo / ".git" / "info" / "exclude").write_text("*.log\n")
    (git_repo / "debug.log").write_text("noise\n" * 50)
    assert gitops.diff_stats(git_repo, base) == DiffStats(added=7, removed=4, files=5)


def test_binary_tracked_change_counts_as_file(git_repo: Path) -> None:
    (git_repo / "img.bin").write_bytes(b"\x00PNG" * 10)
    git(git_repo, "add", "img.bin")
    git(git_repo, "commit", "-q", "-m", "bin")
    base = git(git_repo, "rev-parse", "HEAD")
    (git_repo / "img.bin").write_bytes(b"\x00JPG" * 20)
    assert gitops.diff_stats(git_repo, base) == DiffStats(added=0, removed=0, files=1)


def test_paths_with_spaces_and_unicode(git_repo: Path) -> None:
    base = git(git_repo, "rev-parse", "HEAD")
    (git_repo / "dir with space").mkdir()
    (git_repo / "dir with space" / "naïve file.txt").write_text("1\n2\n")
    (git_repo / "README.md").write_text("# demo\n")
    stats = gitops.diff_stats(git_repo, base)
    assert stats == DiffStats(added=2, removed=2, files=2)


def test_untracked_symlinks_count_as_git_counts_them(git_repo: Path) -> None:
    import os
    import threading

    base = git(git_repo, "rev-parse", "HEAD")
    (git_repo / "data.txt").write_text("x\n" * 500)
    git(git_repo, "add", "data.txt")
    git(git_repo, "commit", "-q", "-m", "data")
    # a symlink is one line (its target) for git, whatever it points to; a symlink to a FIFO
    # (or a device) must not be opened: reading it would never return
    os.mkfifo(git_repo / "pipe")
    (git_repo / "pipe-link").symlink_to("pipe")
    (git_repo / "data-link").symlink_to("data.txt")
    (git_repo / "dir-link").symlink_to("src")
    git(git_repo, "add", "-N", "pipe-link", "data-link", "dir-link")
    expected = DiffStats(added=503, removed=0, files=4)  # data.txt + three one-line links
    numstat = git(git_repo, "diff", "--numstat", base).splitlines()
    assert sum(int(line.split()[0]) for line in numstat) == expected.added  # git agrees
    git(git_repo, "reset", "-q")  # untracked again: now counted by Podium itself
    result: list[DiffStats] = []
    worker = threading.Thread(target=lambda: result.append(gitops.diff_stats(git_repo, base)),
                              daemon=True)  # fmt: skip
    worker.start()
    worker.join(60)
    assert result == [expected]


def test_ensure_excluded_is_idempotent(git_repo: Path) -> None:
    repo = gitops.open_repo(git_repo)
    gitops.ensure_excluded(repo)
    gitops.ensure_excluded(repo)
    text = (git_repo / ".git" / "info" / "exclude").read_text()
    assert text.count(".podium/\n") == 1
    (git_repo / ".podium").mkdir()
    (git_repo / ".podium" / "x").write_text("x")
    assert git(git_repo, "status", "--porcelain") == ""


def test_repo_errors(tmp_path: Path, git_repo: Path) -> None:
    with pytest.raises(GitError, match="not a git repository"):
        gitops.open_repo(tmp_path)
    with pytest.raises(GitError, match="does not exist"):
        gitops.open_repo(tmp_path / "missing")
    empty = tmp_path / "empty"
    empty.mkdir()
    git(empty, "init", "-q")
    with pytest.raises(GitError, match="no commits"):
        gitops.head_commit(gitops.open_repo(empty))
    repo = gitops.open_repo(git_repo)
    with pytest.raises(GitError, match="unknown base ref"):
        gitops.resolve_ref(repo, "no-such-branch")
    with pytest.raises(GitError, match="unknown base ref"):
        gitops.resolve_ref(repo, "--output=/tmp/x")
    assert gitops.resolve_ref(repo, "main") == git(git_repo, "rev-parse", "HEAD")
