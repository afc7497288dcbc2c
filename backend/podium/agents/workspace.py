"""The git workspace of the agents of one repository: each agent's name, its branch
`podium/<name>`, its worktree and its state dir (stdout, hooks), created and removed together.

Every method here calls git or the file system: callers never hold the manager's lock.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from podium.agents import gitops
from podium.agents.hooks import HOOKS_FILE, install_hooks
from podium.agents.models import Agent
from podium.errors import AgentError, GitError, InvalidInput, PodiumError

NATO = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
        "juliett", "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo",
        "sierra", "tango", "uniform", "victor", "whiskey", "xray", "yankee", "zulu")  # fmt: skip
@dataclass(frozen=True, slots=True)
class Placement:
    """Where a new agent lives."""

    name: str
    branch: str
    worktree: Path
    state_dir: Path


class Workspace:
    def __init__(self, repo: str | Path, worktree_dir: str | Path | None = None) -> None:
        self.repo_path = Path(repo).expanduser()
        #: the path is (inside) a git repository: its `.podium/` may be written
        self.is_repo = True
        try:
            self.root = gitops.repo_root(self.repo_path)
        except PodiumError:
            # Not (yet) a repository: usage still works; spawn says what is wrong.
            self.root = self.repo_path.resolve()
            self.is_repo = False
        wt = Path(worktree_dir).expanduser() if worktree_dir else Path(".podium/worktrees")
        # resolved: agents' logged cwds are real paths, attribution compares them as text
        self.worktree_dir = (wt if wt.is_absolute() else self.root / wt).resolve()
        self.state_root = self.root / ".podium" / "state"

    def open(self) -> Any:  # -> git.Repo
        """The repository (GitError when it is not one); follows a moved top level."""
        repo = gitops.open_repo(self.repo_path)
        self.root = gitops.work_tree(repo).resolve()
        return repo

    def base_commit(self, repo: Any, base_ref: str | None) -> str:
        """The commit a new agent starts from: `base_ref`, else HEAD of a clean checkout."""
        head = gitops.head_commit(repo)  # raises on a repository without commits
        if base_ref:
            return gitops.resolve_ref(repo, base_ref)
        if gitops.is_dirty(repo):
            raise GitError(
                f"{self.root} has uncommitted changes that the agent would not see; commit or "
                "stash them, or give an explicit base ref",
                field="baseRef",
            )
        return head

    def pick_name(self, repo: Any, requested: str | None, taken: set[str]) -> str:
        """`requested` (valid: see `spec.name_problem`) when free, else the first free NATO name
        (then `alpha-2`, …)."""
        if requested is not None:
            if requested in taken:
                raise InvalidInput(f"an agent named {requested!r} already exists", field="name")
            if gitops.branch_exists(repo, gitops.BRANCH_PREFIX + requested):
                raise InvalidInput(
                    f"branch {gitops.BRANCH_PREFIX}{requested} already exists (kept from an "
                    "earlier agent?); delete it or pick another name",
                    field="name",
                )
            if (self.worktree_dir / requested).exists():
                raise InvalidInput(f"{self.worktree_dir / requested} already exists; pick "
                                   "another name", field="name")  # fmt: skip
            return requested
        for round_ in range(1, 1000):
            for word in NATO:
                candidate = word if round_ == 1 else f"{word}-{round_}"
                if candidate not in taken and self._free(repo, candidate):
                    return candidate
        raise AgentError("no free agent name left")  # pragma: no cover

    def _free(self, repo: Any, name: str) -> bool:
        return (not gitops.branch_exists(repo, gitops.BRANCH_PREFIX + name)
                and not (self.worktree_dir / name).exists())  # fmt: skip

    def placement(self, name: str, agent_id: str) -> Placement:
        return Placement(name=name, branch=gitops.BRANCH_PREFIX + name,
                         worktree=self.worktree_dir / name, state_dir=self.state_root / agent_id)  # fmt: skip

    def create(self, repo: Any, place: Placement, base_commit: str, *, claude_hooks: bool) -> None:
        """The state dir (with Claude Code's hooks when asked), the branch and the worktree;
        nothing is left behind when this fails."""
        try:
            gitops.ensure_excluded(repo, ".podium/")
            make_private_dir(self.state_root)
            make_private_dir(place.state_dir)
            if claude_hooks:
                # the argv already names its settings file; the hooks append to hooks.jsonl
                make_private_file(install_hooks(place.state_dir))
                make_private_file(place.state_dir / HOOKS_FILE, create=True)
            gitops.add_worktree(repo, place.worktree, place.branch, base_commit)
        except (OSError, PodiumError) as exc:
            # a file-system error (a worktreeDir that is a file or not writable) is a message
            # for the user, not an internal error
            shutil.rmtree(place.state_dir, ignore_errors=True)
            if isinstance(exc, PodiumError):
                raise
            where = f"{exc.filename}: " if exc.filename else ""
            raise PodiumError(f"cannot set up agent {place.name}: {where}{exc.strerror or exc}"
                              ) from None  # fmt: skip

    def discard(self, repo: Any, place: Placement) -> None:
        """Undo `create`, whichever part of it was done (a spawn failed): the worktree, also a
        half-checked-out one git does not list, its metadata, the branch, the state dir."""
        # each step on its own: one failing (a full disk) must not keep the others from running
        with contextlib.suppress(Exception):
            gitops.remove_worktree(repo, place.worktree, force=True)
        shutil.rmtree(place.worktree, ignore_errors=True)
        with contextlib.suppress(Exception):
            gitops.remove_worktree(repo, place.worktree, force=True)  # prunes its metadata
        with contextlib.suppress(Exception):
            gitops.delete_branch(repo, place.branch)  # ours: pick_name saw it did not exist
        shutil.rmtree(place.state_dir, ignore_errors=True)

    def check_removable(self, agent: Agent, *, delete_branch: bool, force: bool) -> Any:
        """Refuse (GitError, field `force`: the editor offers to force) a removal that would
        lose work; returns the repository."""
        if not force:
            _refuse_uncommitted(agent, "has uncommitted work in {}; commit it or remove with "
                                "force to discard it")  # fmt: skip
        repo = gitops.open_repo(agent.repo)
        if delete_branch and not force:
            ahead = gitops.unmerged_commits(repo, agent.branch)
            if ahead:  # `git branch -D` would drop them for good
                raise GitError(
                    f"branch {agent.branch} has {ahead} commit{'s' if ahead != 1 else ''} not "
                    "merged into the main checkout's HEAD; merge it, keep the branch, or "
                    "remove with force to delete them",
                    field="force",
                )
        return repo

    def remove(self, repo: Any, agent: Agent, *, delete_branch: bool, force: bool) -> None:
        """Remove the (stopped) agent's worktree, its state dir and, when asked, its branch."""
        if not force:
            _refuse_uncommitted(agent, "left uncommitted work in {} while stopping; it was "
                                "stopped, not removed (remove with force to discard)")  # fmt: skip
        gitops.remove_worktree(repo, Path(agent.worktree), force=force)
        if delete_branch:
            gitops.delete_branch(repo, agent.branch)
        shutil.rmtree(agent.state_dir, ignore_errors=True)


def make_private_dir(path: Path) -> None:
    """`path` (and missing parents) created; `path` itself 0700 (agent state may hold secrets)."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)  # also one an older Podium made with the umask's mode


def make_private_file(path: Path, *, create: bool = False) -> None:
    """`path` 0600 (created empty when asked and missing)."""
    if create:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600))
    os.chmod(path, 0o600)


def _refuse_uncommitted(agent: Agent, problem: str) -> None:
    """GitError (field `force`: the editor offers to force) when the agent's worktree holds
    work a removal would lose; `problem` names the worktree with `{}`."""
    worktree = Path(agent.worktree)
    if gitops.worktree_has_changes(worktree):
        raise GitError(f"agent {agent.name} {problem.format(worktree)}", field="force")
