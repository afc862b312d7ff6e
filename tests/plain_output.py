"""What a command prints where it is read (``cli_common.terminal.Terminal``): plain lines when stdout is a file or a
pipe, tables on a terminal; no value cut with ``…`` and no ``None`` in either."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console

from cli_common.terminal import Terminal

ELLIPSIS = "…"


def has_box_drawing(text: str) -> bool:
    """Whether ``text`` holds a character of Unicode's Box Drawing block (U+2500-U+257F): a table's borders."""
    return any("\u2500" <= character <= "\u257f" for character in text)


def assert_plain(text: str) -> None:
    """``text`` is plain lines: no table border, no value cut with ``…``, no ``None`` for an empty value."""
    assert text.strip(), "nothing printed"
    assert not has_box_drawing(text), text
    assert ELLIPSIS not in text and "None" not in text, text


@contextmanager
def printed(terminal: Terminal, *, on_terminal: bool, width: int = 60) -> Iterator[io.StringIO]:
    """Capture what ``terminal`` prints as results, as on a terminal ``width`` columns wide or as in a pipe."""
    saved = terminal.out
    terminal.out = Console(file=io.StringIO(), force_terminal=on_terminal, width=width, markup=False, emoji=False,
                           highlight=False, color_system=None)
    try:
        yield terminal.out.file
    finally:
        terminal.out = saved


def column(text: str, index: int, columns: int) -> str:
    """The cells of column ``index`` (0-based) of the tables of ``columns`` columns in ``text`` (a table printed on
    a terminal), top to bottom, joined without the spaces rich wrapped them at: a value folded onto several lines
    reads whole again."""
    pieces = []
    for line in text.splitlines():
        cells = line.replace("┃", "│").split("│")
        if len(cells) == columns + 2:
            pieces.append(cells[index + 1].replace(" ", ""))
    return "".join(pieces)
