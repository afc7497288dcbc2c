"""The embedded SQLite store: one writer, many readers, versioned schema."""

from podium.store.agents_repo import AgentsRepo
from podium.store.db import Store, default_db_path

__all__ = ["AgentsRepo", "Store", "default_db_path"]
