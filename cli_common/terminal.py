"""``Terminal``: the one object a CLI prints through. Results on stdout, errors and progress on stderr.

- Text is printed as text: the consoles parse no Rich markup and no emoji codes, so ``[bold]`` or ``[/]`` in a
  message from Terraform, AWS or PostgreSQL prints as written, and a long line is never wrapped (a CI log or a
  ``grep`` sees one line, whatever the width).
- Results read well where they are read: ``listing`` (rows) and ``fields`` (``key = value`` pairs) print a table
  on a terminal and one plain line a row when stdout is a file or a pipe (a CI log, ``| grep``), where a table would
  be cut into fragments; ``json`` prints one JSON document for scripts. No value is cut: a table wraps a long value
  (a host name, a table name) onto more lines, never ends it with ``…``; an empty one prints as ``-``, never as
  ``None``.
- ``failure`` prints an expected failure as one red line, ``error: <what failed>; <what to do>``, then its details
  indented (Terraform's diagnostics, every configuration problem), never a traceback.
- ``results_to_stderr`` sends what is meant for people to stderr, so that stdout carries JSON only.

Follows Rich's console API (https://rich.readthedocs.io/en/stable/console.html: ``markup``, ``emoji``,
``highlight``, ``soft_wrap``, ``is_terminal``).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Collection, Iterable, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.text import Text

from cli_common.failures import Failure


UNFOLDED_WIDTH = 1000
"""Widest a table gets in a log or a pipe (columns, not pixels): a table is only as wide as its content."""

EMPTY = "-"
"""What an empty value (``None``, ``""``) prints as, in a table cell or a plain line."""


def shown(value: Any) -> str:
    """``value`` as the text of a cell or a plain line: ``str(value)``, the plain text of a Rich ``Text``, or
    ``EMPTY`` (``-``) for ``None`` and the empty string."""
    if value is None:
        return EMPTY
    text = value.plain if isinstance(value, Text) else str(value)
    return text or EMPTY


def _cell(value: Any) -> Text:
    """A table cell: a Rich ``Text`` keeps its style; anything else is plain text (never markup)."""
    return value if isinstance(value, Text) and value.plain else Text(shown(value))


def _console(*, stderr: bool) -> Console:
    return Console(stderr=stderr, markup=False, emoji=False, highlight=False)


class Terminal:
    """Owns stdout (``out``: results) and stderr (``err``: errors, progress).

    Attributes:
        out: the Rich console for results (stdout; stderr after ``results_to_stderr``).
        err: the Rich console for errors and progress (stderr).
    """

    def __init__(self) -> None:
        self.out = _console(stderr=False)
        self.err = _console(stderr=True)
        self._json_on_stdout = False

    @property
    def on_terminal(self) -> bool:
        """Whether results go to an interactive terminal (else a file, a pipe or a CI log)."""
        return self.out.is_terminal

    def print(self, *items: Any) -> None:
        """Print results: ``str`` as plain text on one line (never wrapped), Rich renderables (tables) as such."""
        for item in items:
            self.out.print(Text(item) if isinstance(item, str) else item, soft_wrap=isinstance(item, str))

    def table(self, table: Any) -> None:
        """Print a Rich ``Table`` (cells given as ``str`` are plain text: the console parses no markup). Not on a
        terminal, the table takes the width its content needs, so that no row is folded into fragments."""
        if self.on_terminal:
            self.out.print(table)
            return
        width = self.out.width
        self.out.width = UNFOLDED_WIDTH
        try:
            self.out.print(table)
        finally:
            self.out.width = width

    def note(self, text: str) -> None:
        """Print a progress or status line for people on stderr (stdout stays for results)."""
        self.err.print(Text(text), soft_wrap=True)

    def listing(self, title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]],
                line: Callable[[Sequence[str]], str] | None = None, *, right: Collection[str] = ()) -> None:
        """Rows as a table on a terminal, else as one plain line each (``line(row)``) with no title or borders.

        No value is cut: on a terminal a long cell wraps (a word longer than its column folds onto the next line),
        off one each row is one line however long.

        Args:
            title: the table's title (terminal only).
            columns: column headings.
            rows: one sequence of cells per row, in column order: ``str``, a Rich ``Text`` (its style shows on a
                terminal), a number, or ``None`` / ``""`` (printed as ``-``).
            line: the plain line of a row, given its cells as ``str`` (``-`` for empty ones), e.g.
                ``lambda r: f"{r[0]}.{r[1]} = {r[2]}"``; default ``<first cell>: <column> <cell>, ...``.
            right: the columns aligned right on a terminal (numbers).
        """
        rows = [tuple(row) for row in rows]
        if not self.on_terminal:
            for row in rows:
                cells = tuple(shown(cell) for cell in row)
                self.print(line(cells) if line else
                           f"{cells[0]}: " + ", ".join(f"{c} {v}" for c, v in zip(columns[1:], cells[1:])))
            return
        from rich.table import Table

        table = Table(title=title, title_justify="left")
        for column in columns:
            table.add_column(column, overflow="fold", justify="right" if column in right else "left")
        for row in rows:
            table.add_row(*(_cell(cell) for cell in row))
        self.table(table)

    def fields(self, title: str, pairs: Iterable[tuple[str, Any]]) -> None:
        """``key = value`` pairs (a record, e.g. a status): a two-column table on a terminal, else one
        ``key = value`` line each. Values as in ``listing`` (``None`` / ``""``: ``-``; never cut).

        Args:
            title: the table's title (terminal only).
            pairs: ``(key, value)`` in the order shown.
        """
        pairs = list(pairs)
        if not self.on_terminal:
            for key, value in pairs:
                self.print(f"{key} = {shown(value)}")
            return
        from rich.table import Table

        table = Table(title=title, title_justify="left", show_header=False)
        table.add_column("key", overflow="fold")
        table.add_column("value", overflow="fold")
        for key, value in pairs:
            table.add_row(Text(key), _cell(value))
        self.table(table)

    def json(self, document: Any, destination: Path | None = None) -> None:
        """Write ``document`` as indented JSON to stdout, or to the file ``destination`` (``-``: stdout).

        Values that are not JSON types are written as their ``str``.
        """
        text = json.dumps(document, indent=2, default=str) + "\n"
        if destination is None or str(destination) == "-":
            sys.stdout.write(text)
            sys.stdout.flush()
        else:
            destination.write_text(text, encoding="utf-8")

    def results_to_stderr(self) -> None:
        """From now on, print what is meant for people (``print``, ``table``, ``listing``, ``fields``) to stderr: stdout
        carries the JSON document alone."""
        self.out = self.err

    def error(self, message: object) -> None:
        """Print ``error: <message>`` on stderr in red, as plain text (for a failure a command reports itself and
        continues or exits with its own code)."""
        self.err.print(Text(f"error: {message}", style="bold red"), soft_wrap=True)

    def failure(self, failure: Failure) -> None:
        """Report an expected failure on stderr: one red line, then its details indented, as plain text."""
        self.err.print(Text(failure.line(), style="bold red"), soft_wrap=True)
        for detail in failure.details:
            self.err.print(Text(f"  {detail}"), soft_wrap=True)
