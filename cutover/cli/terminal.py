"""The one object that owns the tool's output: results to stdout, errors and progress to stderr; the exit codes.

The terminal is the project's shared one (``cli_common.terminal.Terminal``: text from PostgreSQL, AWS or Terraform
is printed as text, never parsed as Rich markup; tables on a terminal, plain lines in a log), with a progress bar.
The error boundary (``cutover.cli.main``, ``cli_common.boundary.run``) reports a ``CutoverError`` and the other
expected failures (``cli_common.failures``: AWS credentials or access, an emulator or database that does not answer,
Terraform) as one line on stderr and exits with ``ExitCode``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import IntEnum
from pathlib import Path
from typing import Optional

import typer
from rich.text import Text

from cli_common.failures import ExpectedFailure, Kind
from cli_common.terminal import Terminal as SharedTerminal


class ExitCode(IntEnum):
    """The tool's fixed exit codes."""

    OK = 0
    DIFFERENT = 1
    """A difference was found, or a check failed."""
    USAGE = 2
    """Bad usage or configuration: the message names the field, the value and the rule."""
    INTERNAL = 3
    """Nothing could be concluded: a database, AWS or the emulator could not be reached or refused the credentials
    or access, Terraform could not read the stack's outputs, or an internal error."""


EXIT_CODES: dict[Kind, int] = {kind: ExitCode.INTERNAL for kind in Kind} | {
    Kind.USAGE: ExitCode.USAGE, Kind.CONFIGURATION: ExitCode.USAGE}
"""Exit code of each kind of expected failure that is not a ``CutoverError`` (which carries its own)."""

EXIT_CODES_HELP = ("Exit codes: 0 done, equal, ready; 1 a difference or a failed check; 2 bad usage or "
                   "configuration; 3 nothing could be concluded (a database, AWS or the emulator unreachable, "
                   "credentials or access refused, Terraform failed). Errors go to stderr, one line each.")
"""The exit codes as the help text shows them."""


class CutoverError(ExpectedFailure):
    """An expected failure, reported as one line on stderr (no traceback) and its exit code."""

    def __init__(self, message: str, *, exit_code: ExitCode = ExitCode.INTERNAL, hint: str = "") -> None:
        super().__init__(message, kind=Kind.USAGE if exit_code == ExitCode.USAGE else Kind.FAILED, hint=hint)
        self.exit_code = exit_code


class UsageError(CutoverError):
    """Bad input, named as ``field = value: rule``; raised before anything reaches AWS or a database."""

    def __init__(self, field: str, value: object, rule: str) -> None:
        super().__init__(f"{field} = {value!r}: {rule}", exit_code=ExitCode.USAGE)
        self.field, self.value, self.rule = field, value, rule


class Terminal(SharedTerminal):
    """Owns stdout (results) and stderr (errors, progress)."""

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

    def step(self, text: str) -> None:
        """One line of progress (what a step does or waits for) to stderr."""
        self.err.print(Text(text, style="dim"))


terminal = Terminal()


def _json_destination(value: Optional[Path]) -> Optional[Path]:
    if value is not None and str(value) == "-":
        terminal.results_to_stderr()
    return value


JsonFileOption = typer.Option(None, "--json", metavar="FILE", callback=_json_destination,
                              help="Also write the result as JSON to FILE; '-': JSON alone on stdout (the table "
                                   "goes to stderr).")
"""The ``--json FILE`` option of every command whose result a script may read (``-`` for stdout)."""
