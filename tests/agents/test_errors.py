"""Bad inputs get clear errors and leave nothing behind."""

from __future__ import annotations

from pathlib import Path

import pytest
from agents_helpers import git

from podium.agents import AgentManager
from podium.errors import AgentError, GitError, InvalidInput, NotFound, PodiumError


@pytest.fixture
def manager(store, git_repo: Path, claude_dir: Path):
    m = AgentManager(store, git_repo, claude_config_dir=claude_dir)
    yield m
    m.close()


def podium_branches(repo: Path) -> list[str]:
    return git(repo, "branch", "--list", "--format=%(refname:short)", "podium/*").split()


def test_not_a_repo(store, tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    m = AgentManager(store, plain)  # constructing works: usage needs no repository
    with pytest.raises(GitError, match="not a git repository"):
        m.spawn("t")
    assert m.list() == []
    m.close()


def test_no_commits(store, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    git(empty, "init", "-q")
    m = AgentManager(store, empty)
    with pytest.raises(GitError, match="no commits"):
        m.spawn("t")
    m.close()


def test_name_taken(manager: AgentManager, git_repo: Path) -> None:
    manager.spawn("t", name="alpha", fake_args=["--interval", "5"])
    with pytest.raises(InvalidInput, match="already exists") as info:
        manager.spawn("t", name="alpha")
    assert info.value.field == "name"
    assert podium_branches(git_repo) == ["podium/alpha"]
    # automatic names skip taken ones
    assert manager.spawn("t", fake_args=["--interval", "5"]).name == "bravo"


@pytest.mark.parametrize("name", ["../evil", "a b", "", "-x", "x.lock", "a" * 64])
def test_bad_names(manager: AgentManager, git_repo: Path, name: str) -> None:
    with pytest.raises(InvalidInput, match="invalid agent name"):
        manager.spawn("t", name=name)
    assert podium_branches(git_repo) == []


def test_unknown_base_ref(manager: AgentManager, git_repo: Path) -> None:
    with pytest.raises(GitError, match="unknown base ref 'nope'") as info:
        manager.spawn("t", base_ref="nope")
    assert info.value.field == "baseRef"
    assert podium_branches(git_repo) == []


def test_explicit_base_ref(manager: AgentManager, git_repo: Path) -> None:
    first = git(git_repo, "rev-parse", "HEAD")
    (git_repo / "more.txt").write_text("x\n")
    git(git_repo, "add", "more.txt")
    git(git_repo, "commit", "-q", "-m", "second")
    agent = manager.spawn("t", base_ref="HEAD~1", fake_args=["--interval", "5"])
    assert agent.base_commit == first and agent.base_ref == "HEAD~1"
    assert not (Path(agent.worktree) / "more.txt").exists()


def test_dirty_base(manager: AgentManager, git_repo: Path) -> None:
    (git_repo / "README.md").write_text("changed\n")
    with pytest.raises(GitError, match="uncommitted changes"):
        manager.spawn("t")
    # an explicit base ref says the user knows what the agent starts from
    assert manager.spawn("t", base_ref="main", fake_args=["--interval", "5"]).name == "alpha"


def test_missing_executable_leaves_nothing(manager: AgentManager, git_repo: Path) -> None:
    with pytest.raises(AgentError, match="'no-such-agent-binary' not found on PATH"):
        manager.spawn("t", profile="shell", command=["no-such-agent-binary", "--x"])
    with pytest.raises(AgentError, match="not found"):
        manager.spawn("t", profile="claude", command=[str(git_repo / "missing" / "claude")])
    with pytest.raises(AgentError, match="'claude' not found"):
        manager.spawn("t", profile="claude", env={"PATH": str(git_repo / "nowhere")})
    assert podium_branches(git_repo) == []
    assert not (git_repo / ".podium" / "worktrees" / "alpha").exists()
    assert manager.list() == []


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"profile": "nope"}, "unknown profile"),
        ({"profile": "shell"}, "needs a command"),
        ({"profile": "shell", "command": []}, "non-empty list"),
        ({"profile": "shell", "command": "ls -l"}, "non-empty list"),
        ({"source": "free"}, "unknown source"),
        ({"limit_usd": -1}, "non-negative"),
        ({"env": {"A": 1}}, "string values"),
    ],
)
def test_invalid_parameters(manager: AgentManager, kwargs: dict, match: str) -> None:
    with pytest.raises(InvalidInput, match=match):
        manager.spawn("t", **kwargs)


def test_unknown_agent_id(manager: AgentManager) -> None:
    for call in (manager.get, manager.pause, manager.resume, manager.stop, manager.remove,
                 manager.diff, manager.usage):  # fmt: skip
        with pytest.raises(NotFound, match="unknown agent id 'ag-nope'"):
            call("ag-nope")


def test_unusable_worktree_dir_is_a_clear_error_and_leaves_nothing(
    store, git_repo: Path, tmp_path: Path
) -> None:
    # the worktreeDir setting names a file (the same path as an unwritable dir would fail)
    taken = tmp_path / "not-a-dir"
    taken.write_text("")
    m = AgentManager(store, git_repo, worktree_dir=taken)
    try:
        with pytest.raises(PodiumError, match="not-a-dir") as err:
            m.spawn("t")
        assert not isinstance(err.value, OSError)  # answered as a Podium error, no traceback
        assert podium_branches(git_repo) == []
        state = git_repo / ".podium" / "state"
        assert not state.exists() or list(state.iterdir()) == []
        assert m.list() == []
    finally:
        m.close()


@pytest.mark.parametrize("bad", [
    {"task": " "},
    {"task": "t", "name": "../evil"},
    {"task": "t", "command": []},
    {"task": "t", "command": ["ok", ""]},
    {"task": "t", "env": {"A=B": "v"}},
    {"task": "t", "env": {"A": 1}},
    {"task": "t", "source": "free"},
    {"task": "t", "limit_usd": -1},
    {"task": "t", "limit_usd": True},
    {"task": "t", "base_ref": 5},
])  # fmt: skip
def test_spawn_rules_are_the_protocols(bad: dict) -> None:
    """The Python call and the JSON-RPC request answer bad input alike: one set of rules."""
    from podium.agents.spec import validate_spawn
    from podium.server import protocol

    with pytest.raises(InvalidInput) as direct:
        validate_spawn(**bad)
    wire = {protocol.SpawnAgentParams.model_fields[k].alias or k: v for k, v in bad.items()}
    with pytest.raises(InvalidInput) as request:
        protocol.parse_params(protocol.SpawnAgentParams, wire)
    assert request.value.field == direct.value.field
    assert str(request.value) == f"invalid params: {direct.value}"
