"""Tables of the command line, which show every name as written.

Rich reads square brackets in a plain string as markup: a supplier called
``Congo [DRC]`` would lose ``[DRC]``, and one with ``[/]`` in its name would stop the
command with a markup error. Names come from users' files (makers, markets, members,
suppliers, countries, regions, files), so a table here takes strings as literal text:
titles, headers and cells alike. A cell meant to be styled is given as a Rich ``Text``
(:func:`styled`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from rich.table import Table
from rich.text import Text


class PlainTable(Table):
    """A Rich table whose title, headers and cells given as strings are shown as written,
    never read as markup; ``Text`` cells keep their styles. (A caption is evpath's own
    words and may use markup.)"""

    def __init__(self, *headers: str, title: str | None = None, **options: Any) -> None:
        super().__init__(title=_literal(title, "table.title"), **options)
        for header in headers:
            self.add_column(header)

    def add_column(self, header: Any = "", *args: Any, **options: Any) -> None:
        super().add_column(_literal(header, "table.header"), *args, **options)

    def add_row(self, *cells: Any, **options: Any) -> None:
        super().add_row(*(_literal(cell) for cell in cells), **options)


def table_of(title: str, columns: Iterable[str], text: Collection[str] = ()) -> PlainTable:
    """A table titled ``title`` with ``columns``: those in ``text`` left-aligned, the
    others (numbers) right-aligned; in a narrow terminal long cells and headers fold onto
    more lines instead of being cut."""
    table = PlainTable(title=title)
    for column in columns:
        table.add_column(column, justify="left" if column in text else "right", overflow="fold")
    return table


def styled(*parts: str | tuple[str, str]) -> Text:
    """A cell of literal parts, each a string or a (string, Rich style) pair:
    ``styled(("2031", "green"), " obs")``."""
    return Text.assemble(*parts)


def _literal(value: Any, style: str = "") -> Any:
    """``value`` as literal Text if it is a string, else as it is."""
    return Text(value, style=style) if isinstance(value, str) else value
