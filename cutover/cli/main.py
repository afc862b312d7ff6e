"""The entry point and error boundary: registers every command group, runs the app, maps failures to exit codes."""

from __future__ import annotations

import sys

from cutover.cli.app import app
from cutover.cli.terminal import CutoverError, terminal


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; an expected failure (:class:`CutoverError`) prints one line to stderr and exits with its code.

    Exit codes (:class:`ExitCode`): 0 success, 1 a difference or a failed check, 2 bad usage or configuration
    (click's usage errors exit 2 as well), 3 a connection or internal error.
    """
    import cutover.cli.commands  # noqa: F401  (registers every command group on ``app``)

    try:
        app(args=argv, prog_name="cutover")
    except CutoverError as error:
        terminal.error(error)
        sys.exit(int(error.exit_code))
