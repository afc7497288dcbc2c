"""Report tables: one description, two renderers.

A `Table` is plain data (title, columns, rows, a total row, notes). `render` picks the widest
variant that fits the terminal (`fit`) and writes it with rich on a terminal (box drawing,
colour unless NO_COLOR) or as aligned plain text on a pipe (no rich import at all).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, TextIO

from podium.cli_ui.term import Term
from podium.usage.cli_common import usd  # noqa: F401  (one money format for every table)

if TYPE_CHECKING:
    from rich.console import Console

#: rich's table chrome per column (a border and one space of padding each side) and at the end
RICH_PER_COLUMN, RICH_FIXED = 3, 1
PLAIN_GAP = 2


class Column:
    __slots__ = ("header", "key", "right", "style")

    def __init__(self, key: str, header: str, right: bool = False,
                 style: str | None = None) -> None:  # fmt: skip
        self.key, self.header, self.right = key, header, right
        self.style = style  # rich style of the column's cells


class Table:
    """(Plain classes here: `dataclasses` imports `inspect`, ~5 ms of start-up.)"""

    def __init__(self, title: str, columns: list[Column], rows: list[list[str]] | None = None,
                 sub_rows: set[int] | None = None, total: list[str] | None = None,
                 notes: list[str] | None = None) -> None:  # fmt: skip
        self.title = title
        self.columns = columns
        self.rows = rows if rows is not None else []
        #: indexes of rows that detail the row above (per-model breakdown): dimmed
        self.sub_rows = sub_rows if sub_rows is not None else set()
        self.total = total
        self.notes = notes if notes is not None else []

    def only(self, keys: Iterable[str]) -> Table:
        """The same table with just these columns (in the table's order)."""
        wanted = set(keys)
        idx = [i for i, c in enumerate(self.columns) if c.key in wanted]

        def pick(row: list[str]) -> list[str]:
            return [row[i] for i in idx]

        return Table(self.title, [self.columns[i] for i in idx], [pick(r) for r in self.rows],
                     set(self.sub_rows), pick(self.total) if self.total else None,
                     list(self.notes))  # fmt: skip

    def widths(self) -> list[int]:
        rows = [*self.rows, *([self.total] if self.total else [])]
        return [
            max(_cell_width(c.header), *(_cell_width(r[i]) for r in rows))
            for i, c in enumerate(self.columns)
        ]

    def width(self, rich: bool) -> int:
        w = sum(self.widths())
        n = len(self.columns)
        return w + (RICH_PER_COLUMN * n + RICH_FIXED if rich else PLAIN_GAP * (n - 1))


def _cell_width(text: str) -> int:
    return max((len(line) for line in str(text).split("\n")), default=0)


def fit(variants: Sequence[Table], width: int | None, rich: bool) -> Table:
    """The first (widest) variant that fits in `width` columns, else the last (narrowest)."""
    if width is None:
        return variants[0]
    for table in variants:
        if table.width(rich) <= width:
            return table
    return variants[-1]


def render(variants: Sequence[Table], term: Term, stream: TextIO | None = None) -> None:
    stream = stream or sys.stdout
    table = fit(variants, term.width, term.rich)
    if term.rich and (term.width is None or table.width(rich=True) <= term.width):
        _render_rich(table, term, stream)
    else:
        # narrower than the narrowest boxed table: rich would fold every cell to fit
        # ("2025" / "-11-" / "21"); the plain table keeps each cell whole on its line
        stream.write(render_plain(table) + "\n")


# -- plain text ------------------------------------------------------------------------------------
def render_plain(table: Table) -> str:
    widths = table.widths()
    gap = " " * PLAIN_GAP

    def lines_of(cells: list[str]) -> list[str]:
        split = [str(c).split("\n") for c in cells]
        height = max(len(s) for s in split)
        out = []
        for k in range(height):
            parts = []
            for col, w, lines in zip(table.columns, widths, split, strict=True):
                text = lines[k] if k < len(lines) else ""
                parts.append(text.rjust(w) if col.right else text.ljust(w))
            out.append(gap.join(parts).rstrip())
        return out

    rule = gap.join("─" * w for w in widths)
    out = [table.title, "", *lines_of([c.header for c in table.columns]), rule]
    for row in table.rows:
        out.extend(lines_of(row))
    if table.total:
        out.append(rule)
        out.extend(lines_of(table.total))
    if table.notes:
        out.append("")
        out.extend(table.notes)
    return "\n".join(out)


# -- rich ------------------------------------------------------------------------------------------
def console(term: Term, stream: TextIO | None = None, **kw: Any) -> Console:
    from rich.console import Console  # lazily: only a person's terminal pays for it

    class _Console(Console):
        def on_broken_pipe(self) -> None:
            # rich exits 1 here; a reader that went away is no error (podium.cli: exit 0)
            raise BrokenPipeError

    return _Console(file=stream or sys.stdout, width=term.width, no_color=not term.color,
                    force_terminal=term.color or term.tty, highlight=False, emoji=False,
                    soft_wrap=False, **kw)  # fmt: skip


def _render_rich(table: Table, term: Term, stream: TextIO) -> None:
    from rich import box
    from rich.table import Table as RichTable

    out = RichTable(title=table.title, box=box.ROUNDED, header_style="bold",
                    title_style="bold", title_justify="left", expand=False)  # fmt: skip
    for col in table.columns:
        out.add_column(col.header, justify="right" if col.right else "left", style=col.style,
                       no_wrap=col.right, overflow="fold")  # fmt: skip
    for i, row in enumerate(table.rows):
        out.add_row(*row, style="dim" if i in table.sub_rows else None)
    if table.total:
        out.add_section()
        out.add_row(*table.total, style="bold yellow")
    con = console(term, stream)
    con.print(out)
    for note in table.notes:
        con.print(note, markup=False)


# -- cells -----------------------------------------------------------------------------------------
_DATE_SUFFIX = re.compile(r"-\d{8}$")


def short_model(model: str) -> str:
    """`claude-sonnet-4-5-20250929` → `sonnet-4-5` (tables only; JSON keeps full names)."""
    return _DATE_SUFFIX.sub("", model.removeprefix("claude-"))


def tokens(value: int) -> str:
    return f"{value:,}"


