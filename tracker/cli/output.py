"""How the views print: JSON with stable keys for scripts, rich tables for people (times as people read them come
from tracker/domain/clock.py, the one clock of every face).
rich is imported inside each helper: a quiet poll prints plain text and never loads it.

Every value from a page, the inventory or the user goes through `esc()` (rich markup) or `visible()` (plain
print; tracker/escape.py): control characters, ANSI escape sequences and bidi overrides are written out
(`\\u202e`), never sent to the terminal raw. JSON stays exact: json.dumps writes them as `\\u` escapes already."""

import json
import sys
from collections.abc import Sequence
from typing import Any

from tracker.escape import visible


def echo_json(data: Any) -> None:
    # Pretty for what a person may read; compact (and C-encoded, ~10x faster) for the 100,000-row listings.
    indent = 2 if not isinstance(data, list) or len(data) <= 1000 else None
    sys.stdout.write(json.dumps(data, indent=indent, default=str) + "\n")


def rich_console() -> Any:
    from rich.console import Console  # lazy: rich (0.1 s), which --help and --json output never load

    # Piped output (a file, `less`) gets a wide table rather than rich's 80-column default.
    return Console(highlight=False, emoji=False, width=None if sys.stdout.isatty() else 140)


def esc(text: object) -> str:
    """Data shown through rich: brackets in an error message ("[Errno 111]") are text, not markup, and control
    and bidi characters are written out."""
    from rich.markup import escape  # lazy: rich (0.1 s), which --help and --json output never load

    return escape(visible(text))


def rich_table(title: str, columns: Sequence[str]) -> Any:
    from rich.table import Table  # lazy: rich (0.1 s), which --help and --json output never load

    table = Table(title=title, title_justify="left", header_style="bold")
    for column in columns:
        table.add_column(column, overflow="fold")
    return table
