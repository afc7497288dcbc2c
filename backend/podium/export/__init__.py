"""Usage export: CSV or JSON, grouped by entry, day, agent or model.

Only numbers and identifiers leave Podium: never prompt or response text. Free-text fields
(agent names, tasks) go through `podium.redact.scrub`; CSV cells that a spreadsheet would read as
a formula are neutralised. Files land in `<workspace>/.podium/exports/` unless the user gives an
explicit absolute path, and an existing file is only replaced when asked; never inside `.git`,
the store's folder or `.podium/` metadata (`podium.export.safety`).
"""

from podium.export.core import GROUPINGS, export_usage, resolve_export_path

__all__ = ["GROUPINGS", "export_usage", "resolve_export_path"]
