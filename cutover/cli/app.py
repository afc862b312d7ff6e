"""The typer application every command group registers on (a leaf: it imports no command module)."""

from __future__ import annotations

import typer

from cutover.cli.terminal import EXIT_CODES_HELP

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  pretty_exceptions_show_locals=False, epilog=EXIT_CODES_HELP,
                  help="Migration tool: validate, preflight, roles, replication, shift, switchover, rollback.")


@app.callback()
def _root() -> None:
    """Migration tool: validate, preflight, roles, replication, shift, switchover, rollback."""
