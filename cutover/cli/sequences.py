"""``cutover sequences sync``: every target sequence past the source's value plus a margin."""

from __future__ import annotations

from typing import Optional

import typer

from cutover.cli import databases
from cutover.cli.app import app
from cutover.cli.terminal import terminal

sequences_app = typer.Typer(help="Sequences on both sides.", no_args_is_help=True)
app.add_typer(sequences_app, name="sequences")


@sequences_app.command("sync")
def sync(
    source: Optional[str] = databases.SourceOption,
    target: Optional[str] = databases.TargetOption,
    environment: Optional[str] = databases.EnvironmentOption,
    schema: str = databases.SchemaOption,
    margin: int = typer.Option(1000, "--margin", help="Values skipped past the source's last value."),
) -> None:
    """Set each target sequence that is behind to the source's last value + margin (never backwards; one
    transaction). Run at switchover, after writes to the source have stopped."""
    from cutover.sequences import sync_sequences

    source_dsn, target_dsn = databases.resolve(source, target, environment)
    for state, value in sync_sequences(source_dsn, target_dsn, schema, margin):
        terminal.print(f"{state.name}: source {state.source}, target {state.target} -> "
                       f"{value if value is not None else 'unchanged'}")
