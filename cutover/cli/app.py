"""The typer application and its error boundary."""

from __future__ import annotations

import sys

import typer

from cutover.cli.terminal import CutoverError, terminal

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Migration tool: validate, preflight, roles, replication, shift, switchover, rollback.")


@app.callback()
def _root() -> None:
    """Migration tool: validate, preflight, roles, replication, shift, switchover, rollback."""


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; an expected failure (:class:`CutoverError`) prints one line to stderr and exits with its code.

    Exit codes (:class:`ExitCode`): 0 success, 1 a difference or a failed check, 2 bad usage or configuration
    (click's usage errors exit 2 as well), 3 a connection or internal error.
    """
    try:
        app(args=argv, prog_name="cutover")
    except CutoverError as error:
        terminal.error(error)
        sys.exit(int(error.exit_code))
