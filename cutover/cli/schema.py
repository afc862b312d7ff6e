"""``cutover schema copy``: the source's schema into an empty target, in the two parts DMS needs."""

from __future__ import annotations

from typing import Optional

import typer

from cutover.cli import databases
from cutover.cli.app import app
from cutover.cli.terminal import terminal

schema_app = typer.Typer(help="The target's schema: copy it from the source.", no_args_is_help=True)
app.add_typer(schema_app, name="schema")


@schema_app.command("copy")
def copy(
    section: str = typer.Option(..., "--section", help="pre-data (before the full load: tables, types, sequences, "
                                "primary keys; refuses a non-empty target) or post-data (after it: other indexes, "
                                "foreign keys, triggers)."),
    source: Optional[str] = databases.SourceOption,
    target: Optional[str] = databases.TargetOption,
    environment: Optional[str] = databases.EnvironmentOption,
    schema: str = databases.SchemaOption,
) -> None:
    """Load one section of the source's schema (pg_dump) into the target, in one transaction."""
    from cutover.schema_copy import copy_schema

    source_dsn, target_dsn = databases.resolve(source, target, environment)
    result = copy_schema(source_dsn, target_dsn, schema, section)
    terminal.print(f"schema copy {result.section}: {result.entries} objects restored into the target "
                   f"({len(result.tables)} tables in {schema})")
