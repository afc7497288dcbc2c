"""The embedded SQLite store: one writer, many readers, versioned schema."""

from podium.store.db import Store, default_db_path

__all__ = ["Store", "default_db_path"]
