"""Git side of agent sessions: repo checks, worktrees/branches (GitPython) and diff stats.

GitPython is imported inside the functions that use it: it is slow to import, and diff stats
(plain git commands) or a process that only reads agents from the store never need it."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from podium.agents.models import DiffStats
from podium.errors import GitError

if TYPE_CHECKING:
    from git import Repo

#: environment for read-only git commands: never take index.lock (an agent may be committing)
_READONLY_ENV = {"GIT_OPTIONAL_LOCKS": "0"}
#: bytes inspected to decide that an untracked file is binary (git's own heuristic: a NUL byte)
_BINARY_SNIFF = 8000
BRANCH_PREFIX = "podium/"


def open_repo(path: str | Path) -> Repo:
    """The repository whose top level contains `path`; GitError when it is not one."""
    import git

    p = Path(path).expanduser()
    if not p.exists():
        raise GitError(f"{p} does not exist", field="repo")
    try:
        repo = git.Repo(p, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise GitError(f"{p} is not a git repository (run `git init` there first)",
                       field="repo") from None  # fmt: skip
    if repo.bare:
        raise GitError(f"{p} is a bare repository; Podium needs a working tree", field="repo")
    return repo


def work_tree(repo: Repo) -> Path:
    """The repository's top level (a bare one has none: `open_repo` refuses those)."""
    top = repo.working_tree_dir
    if top is None:
        raise GitError(f"{repo.git_dir} is a bare repository; Podium needs a working tree",
                       field="repo")  # fmt: skip
    return Path(top)


def repo_root(path: str | Path) -> Path:
    return work_tree(open_repo(path)).resolve()


def head_commit(repo: Repo) -> str:
    try:
        return repo.head.commit.hexsha
    except ValueError:
        raise GitError(f"{repo.working_tree_dir} has no commits yet; commit something first",
                       field="repo") from None  # fmt: skip


def resolve_ref(repo: Repo, ref: str) -> str:
    """A ref (branch, tag, sha, HEAD~1…) → commit sha; GitError when unknown."""
    import git

    if not ref or ref.startswith("-"):
        raise GitError(f"unknown base ref {ref!r}", field="baseRef")
    try:
        return repo.git.rev_parse("--verify", "--quiet", f"{ref}^{{commit}}").strip()
    except git.GitCommandError:
        raise GitError(f"unknown base ref {ref!r} in {repo.working_tree_dir}",
                       field="baseRef") from None  # fmt: skip


def is_dirty(repo: Repo) -> bool:
    """Uncommitted changes to tracked files (untracked files do not count)."""
    return bool(repo.git.status("--porcelain", "--untracked-files=no", env=_READONLY_ENV).strip())


def ensure_excluded(repo: Repo, pattern: str = ".podium/") -> None:
    """Add `pattern` to `.git/info/exclude` once (keeps worktrees and state out of `git status`)."""
    common = Path(repo.git.rev_parse("--git-common-dir"))
    if not common.is_absolute():
        common = work_tree(repo) / common
    exclude = common / "info" / "exclude"
    exclude.parent.mkdir(parents=True, exist_ok=True)
    existing = exclude.read_text(encoding="utf-8", errors="replace") if exclude.exists() else ""
    if pattern in (line.strip() for line in existing.splitlines()):
        return
    sep = "" if not existing or existing.endswith("\n") else "\n"
    with open(exclude, "a", encoding="utf-8") as fh:
        fh.write(f"{sep}# Podium agent worktrees and state\n{pattern}\n")


def branch_exists(repo: Repo, branch: str) -> bool:
    return any(h.name == branch for h in repo.heads)


def add_worktree(repo: Repo, worktree: Path, branch: str, base_commit: str) -> None:
    import git

    worktree.parent.mkdir(parents=True, exist_ok=True)
    try:
        repo.git.worktree("add", "-b", branch, str(worktree), base_commit)
    except git.GitCommandError as exc:
        raise GitError(f"cannot create worktree {worktree}: {_stderr(exc)}") from None


def worktree_has_changes(worktree: Path) -> bool:
    """Uncommitted or untracked work in the worktree (what `remove` would discard)."""
    import git

    try:
        out = git.Repo(worktree).git.status("--porcelain", env=_READONLY_ENV)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError, git.GitCommandError):
        return False
    return bool(out.strip())


def remove_worktree(repo: Repo, worktree: Path, *, force: bool) -> None:
    import git

    if worktree.exists():
        args = ["remove"] + (["--force", "--force"] if force else []) + [str(worktree)]
        try:
            repo.git.worktree(*args)
        except git.GitCommandError as exc:
            raise GitError(f"cannot remove worktree {worktree}: {_stderr(exc)}") from None
    repo.git.worktree("prune")


def unmerged_commits(repo: Repo, branch: str) -> int:
    """Commits on `branch` that the main checkout's HEAD does not contain (0 when unknown)."""
    import git

    if not branch_exists(repo, branch):
        return 0
    try:
        return int(repo.git.rev_list("--count", f"HEAD..refs/heads/{branch}").strip() or 0)
    except (git.GitCommandError, ValueError):
        return 0


def delete_branch(repo: Repo, branch: str) -> None:
    import git

    if not branch_exists(repo, branch):
        return
    try:
        repo.git.branch("-D", branch)
    except git.GitCommandError as exc:
        raise GitError(f"cannot delete branch {branch}: {_stderr(exc)}") from None


def _stderr(exc: Exception) -> str:
    text = getattr(exc, "stderr", "") or str(exc)
    return " ".join(str(text).replace("stderr:", "").split()).strip(" '")


# -- diff stats ------------------------------------------------------------------------------------


def diff_stats(worktree: str | Path, base_commit: str) -> DiffStats:
    """+added −removed lines and files changed in `worktree` against `base_commit`: committed,
    staged, unstaged and untracked (not ignored) changes. Binary files count as files only.

    Runs two read-only git commands (no index lock) and reads untracked files; costs nothing
    when not called — callers run it on file-system events, never on a timer.
    """
    cwd = str(worktree)
    env = os.environ | _READONLY_ENV
    try:
        numstat = subprocess.run(
            ["git", "diff", "--numstat", "-z", "--no-renames", "--no-ext-diff", base_commit, "--"],
            cwd=cwd, env=env, capture_output=True, check=True,
        ).stdout  # fmt: skip
        untracked = subprocess.run(
            ["git", "ls-files", "--others", "--exclude-standard", "-z"],
            cwd=cwd, env=env, capture_output=True, check=True,
        ).stdout  # fmt: skip
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = exc.stderr.decode(errors="replace").strip() if hasattr(exc, "stderr") else exc
        raise GitError(f"cannot compute diff in {cwd}: {detail}") from None
    added = removed = files = 0
    for record in numstat.split(b"\0"):
        if not record:
            continue
        parts = record.split(b"\t", 2)
        if len(parts) < 3:
            continue
        files += 1
        if parts[0] != b"-":  # binary: "-\t-\tpath"
            added += int(parts[0])
            removed += int(parts[1])
    for rel in untracked.split(b"\0"):
        if not rel:
            continue
        files += 1
        added += _count_text_lines(os.path.join(cwd.encode(), rel))
    return DiffStats(added=added, removed=removed, files=files)


def _count_text_lines(path: bytes) -> int:
    """Lines as git counts them (a last line without newline counts); 0 for binary files.
    A symlink is one line for git (its target) and is never followed: it may point at a FIFO
    or a device, which would block or never end."""
    try:
        if stat.S_ISLNK(os.lstat(path).st_mode):
            return 1
        # no-follow and non-blocking: the path may have been swapped since the lstat
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            return 0
        with open(fd, "rb") as fh:
            head = fh.read(_BINARY_SNIFF)
            if b"\0" in head:
                return 0
            count = head.count(b"\n")
            last = head[-1:] if head else b""
            while chunk := fh.read(1 << 20):
                count += chunk.count(b"\n")
                last = chunk[-1:]
    except OSError:  # vanished or unreadable between listing and reading
        return 0
    if last and last != b"\n":
        count += 1
    return count
