"""The typer application every command group registers on (a leaf: it imports no command module)."""

from __future__ import annotations

import typer


app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Migration tool: validate, preflight, roles, replication, shift, switchover, rollback.")


@app.callback()
def _root() -> None:
    """Migration tool: validate, preflight, roles, replication, shift, switchover, rollback."""
