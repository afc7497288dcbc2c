"""SQL of the `agents` table (the agent sessions Podium spawned, see `podium.agents`).

Rows are plain dicts keyed by column name, with `command` and `extra` decoded from their JSON
columns, so the store keeps depending on nothing; `podium.agents` maps them to its records.
Every method takes the store's lock for its own statement only.
"""

from __future__ import annotations

import json
from typing import Any

from podium.store.db import Store

#: columns written once, at insert
FIXED_COLUMNS = (
    "id", "name", "task", "repo", "worktree", "branch", "base_ref", "base_commit", "profile",
    "state_dir", "started_at",
)  # fmt: skip
#: columns an update may change (a resumed session has a new process, a switch to the API
#: key a new source override)
MUTABLE_COLUMNS = (
    "pid_create_time", "source_override", "claude_session_id", "pid", "source", "model",
    "status", "status_since", "status_reason", "exit_code", "ended_at", "limit_usd",
)  # fmt: skip


class AgentsRepo:
    """Loads, inserts and updates the `agents` rows of one store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def load(self, repo: str) -> list[dict[str, Any]]:
        """The repository's agents not removed, oldest first. `command` and `extra` are
        decoded ([] and {} when unreadable)."""
        with self.store.lock:
            cursor = self.store.conn.execute(
                "SELECT * FROM agents WHERE repo = ? AND removed = 0 ORDER BY started_at", (repo,)
            )
            names = [d[0] for d in cursor.description]
            fetched = cursor.fetchall()
        rows = []
        for values in fetched:
            row = dict(zip(names, values, strict=True))
            try:
                row["extra"] = json.loads(row.pop("extra_json") or "{}")
                row["command"] = json.loads(row.pop("command_json") or "[]")
            except ValueError:
                row["extra"], row["command"] = {}, []
            rows.append(row)
        return rows

    def names_in_use(self, repo: str) -> set[str]:
        """Names of the repository's agents not removed (also those of another Podium)."""
        with self.store.lock:
            cursor = self.store.conn.execute(
                "SELECT name FROM agents WHERE repo = ? AND removed = 0", (repo,)
            )
            return {row[0] for row in cursor}

    def insert(self, row: dict[str, Any]) -> None:
        """A new agent: every fixed and mutable column, plus `command` and `extra`."""
        columns = (*FIXED_COLUMNS, *MUTABLE_COLUMNS)
        values = [row[c] for c in columns]
        values += [json.dumps(row["command"]), json.dumps(row["extra"])]
        marks = ",".join("?" * len(values))
        with self.store.transaction() as conn:
            conn.execute(
                f"INSERT INTO agents({', '.join(columns)}, command_json, extra_json)"
                f" VALUES ({marks})",
                values,
            )

    def update(self, agent_id: str, row: dict[str, Any]) -> None:
        """Write the mutable columns and `extra` of one agent."""
        values = [row[c] for c in MUTABLE_COLUMNS] + [json.dumps(row["extra"]), agent_id]
        assignments = ", ".join(f"{c} = ?" for c in (*MUTABLE_COLUMNS, "extra_json"))
        with self.store.transaction() as conn:
            conn.execute(f"UPDATE agents SET {assignments} WHERE id = ?", values)

    def mark_removed(self, agent_id: str, at: float) -> None:
        """The agent was removed: its row stays (usage history names it), flagged."""
        with self.store.transaction() as conn:
            conn.execute(
                "UPDATE agents SET removed = 1, ended_at = COALESCE(ended_at, ?) WHERE id = ?",
                (at, agent_id),
            )
