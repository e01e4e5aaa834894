"""How the command line prints: Rich for people, plain JSON for scripts, errors on stderr."""

import json
from typing import Any

from rich.cells import cell_len
from rich.console import Console, RenderableType
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

console = Console(highlight=False, soft_wrap=True)
errors = Console(stderr=True, highlight=False, soft_wrap=True)

UNBOUNDED = 1_000_000
"""A width no table reaches: measuring within it gives the table's natural width."""


def print_json(data: Any) -> None:
    """Print one JSON document on stdout and nothing else."""
    print(json.dumps(data, indent=2, default=str))


def print_table(table: Table, *, to: Console = console) -> None:
    """Print a table as drawn when it fits the terminal; otherwise fold it into records, one
    block of `name: value` lines per row, so that no header or value is ever cut short."""
    natural = Measurement.get(to, to.options.update(max_width=UNBOUNDED), table).maximum
    if natural <= to.width:
        to.print(table)
        return
    if table.title is not None:
        to.print(table.title)
    names = [_text(to, column.header) for column in table.columns]
    width = max((cell_len(name.plain) for name in names), default=0)
    rows = zip(*(column.cells for column in table.columns), strict=True)
    for index, row in enumerate(rows):
        if index or table.title is not None:
            to.print()
        for name, cell in zip(names, row, strict=True):
            padding = " " * (width - cell_len(name.plain) + 1)
            line = Text.assemble(name, ":", padding, _text(to, cell))
            line.rstrip()  # an empty value leaves no trailing spaces
            to.print(line)
    if table.row_count:
        to.print()  # the next output (another table's title) starts a block of its own


def _text(to: Console, cell: RenderableType) -> Text:
    """A header or cell as one Text, as the table would show it (markup in strings applies)."""
    if isinstance(cell, Text):
        return cell
    if isinstance(cell, str):
        return to.render_str(cell)
    raise TypeError(f"print_table folds tables of text only, not {type(cell).__name__}")
