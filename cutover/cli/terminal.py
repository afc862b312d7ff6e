"""The one object that owns the tool's output: results to stdout, errors and progress to stderr; the exit codes.

The terminal is the project's shared one (``cli_common.terminal.Terminal``: text from PostgreSQL, AWS or Terraform
is printed as text, never parsed as Rich markup; tables on a terminal, plain lines in a log), with a progress bar.
The error boundary (``cutover.cli.main``, ``cli_common.boundary.run``) reports a ``CutoverError`` (raised by the
core, ``cutover.errors``) and the other expected failures (``cli_common.failures``: AWS credentials or access, an
emulator or database that does not answer, Terraform) as one line on stderr and exits with its ``ExitCode``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Optional

import typer
from rich.text import Text

from cli_common.failures import Kind
from cli_common.terminal import Terminal as SharedTerminal
from cutover.errors import ExitCode

EXIT_CODES: dict[Kind, int] = {kind: ExitCode.INTERNAL for kind in Kind} | {
    Kind.USAGE: ExitCode.USAGE, Kind.CONFIGURATION: ExitCode.USAGE}
"""Exit code of each kind of expected failure that is not a ``CutoverError`` (which carries its own)."""

EXIT_CODES_HELP = ("Exit codes: 0 done, equal, ready; 1 a difference or a failed check; 2 bad usage or "
                   "configuration; 3 nothing could be concluded (a database, AWS or the emulator unreachable, "
                   "credentials or access refused, Terraform failed). Errors go to stderr, one line each.")
"""The exit codes as the help text shows them."""


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
