"""The one object that owns the tool's output: results to stdout, errors and progress to stderr.

Text that comes from PostgreSQL, AWS or Terraform is printed as text, never parsed as Rich markup.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import IntEnum

from rich.console import Console
from rich.text import Text


class ExitCode(IntEnum):
    """The tool's fixed exit codes."""

    OK = 0
    DIFFERENT = 1
    """A difference was found, or a check failed."""
    USAGE = 2
    """Bad usage or configuration: the message names the field, the value and the rule."""
    INTERNAL = 3
    """A connection error or an internal error: nothing could be concluded."""


class CutoverError(Exception):
    """An expected failure, reported as one line on stderr (no traceback) and its exit code."""

    def __init__(self, message: str, *, exit_code: ExitCode = ExitCode.INTERNAL) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class UsageError(CutoverError):
    """Bad input, named as ``field = value: rule``; raised before anything reaches AWS or a database."""

    def __init__(self, field: str, value: object, rule: str) -> None:
        super().__init__(f"{field} = {value!r}: {rule}", exit_code=ExitCode.USAGE)
        self.field, self.value, self.rule = field, value, rule


class Terminal:
    """Owns stdout (results) and stderr (errors, progress)."""

    def __init__(self) -> None:
        self.out = Console(highlight=False)
        self.err = Console(stderr=True, highlight=False)

    def error(self, error: CutoverError) -> None:
        """Print ``error: <message>`` to stderr, as plain text."""
        self.err.print(Text(f"error: {error}", style="bold red"))

    def print(self, text: str) -> None:
        """Print plain text to stdout (no markup)."""
        self.out.print(Text(text))

    def table(self, table: object) -> None:
        """Print a rich ``Table`` to stdout (cells built from ``Text`` or plain strings)."""
        self.out.print(table)

    @contextmanager
    def progress(self, description: str) -> Iterator[Callable[[str, float], None]]:
        """Yield ``advance(item, fraction)``: one progress bar per item on stderr when it is a terminal, nothing
        otherwise (CI logs stay clean)."""
        if not self.err.is_terminal:
            yield lambda item, fraction: None
            return
        from rich.progress import Progress

        with Progress(console=self.err, transient=True) as bars:
            tasks: dict[str, object] = {}

            def advance(item: str, fraction: float) -> None:
                if item not in tasks:
                    tasks[item] = bars.add_task(f"{description} {item}", total=1.0)
                bars.update(tasks[item], completed=fraction)  # type: ignore[arg-type]

            yield advance


terminal = Terminal()

