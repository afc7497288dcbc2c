"""Errors users see. Each message says what is wrong and, where it can, what to do."""


class PodiumError(Exception):
    """Base for every error Podium reports to a user (CLI message or JSON-RPC error)."""

    #: the parameter or field the error is about, when there is one (JSON-RPC `data.field`)
    field: str | None = None

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        if field is not None:
            self.field = field


class NotFound(PodiumError):
    """An id or name that does not exist (unknown agentId, …)."""


class InvalidInput(PodiumError):
    """A parameter with a wrong type or value."""


class GitError(PodiumError):
    """Not a git repo, no commits, unknown ref, worktree trouble."""


class AgentError(PodiumError):
    """An agent cannot be spawned or controlled (missing executable, dead process, …)."""


class NotOwner(AgentError):
    """Another Podium process supervises the repository's agents; this one only shows them."""
