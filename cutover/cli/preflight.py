"""``cutover preflight``: named read-only checks on both databases; exit 1 when any fails."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from cutover import roles
from cutover.cli import databases
from cutover.cli.app import app
from cutover.errors import ExitCode
from cutover.cli.terminal import JsonFileOption, terminal


@app.command()
def preflight(
    source: Optional[str] = databases.SourceOption,
    target: Optional[str] = databases.TargetOption,
    environment: Optional[str] = databases.EnvironmentOption,
    schema: str = databases.SchemaOption,
    lob_max_size_kb: int = typer.Option(32, "--lob-max-size-kb", help="The task's LobMaxSize (KB)."),
    app_role: str = typer.Option(roles.APP_ROLE, help="The application's database role (both databases)."),
    dms_source_role: str = typer.Option(roles.DMS_SOURCE_ROLE, help="DMS's database role on the source."),
    dms_target_role: str = typer.Option(roles.DMS_TARGET_ROLE, help="DMS's database role on the target."),
    validation_role: str = typer.Option(roles.VALIDATION_ROLE, help="The read-only validation role."),
    master_user: str = typer.Option(roles.MASTER_USER, help="The master user none of the roles may be."),
    json_file: Optional[Path] = JsonFileOption,
) -> None:
    """Check both databases before a migration: keys, CDC readiness, target schema, LOB sizes, sequences, roles."""
    from rich.text import Text

    from cutover.preflight import FAIL, Roles, preflight as run

    source_dsn, target_dsn = databases.resolve(source, target, environment)
    checks = run(source_dsn, target_dsn, schema,
                 Roles(app_role, dms_source_role, dms_target_role, validation_role, master_user), lob_max_size_kb)
    if json_file:
        terminal.json([c.as_dict() for c in checks], json_file)
    styles = {"pass": "green", "warn": "yellow", "fail": "bold red"}
    terminal.listing("cutover preflight", ("check", "status", "found", "fix"),
                     ((check.name, Text(check.status, style=styles[check.status]), check.found, check.fix)
                      for check in checks),
                     lambda row: f"{row[0]}: {row[1]}, found {row[2]}, fix {row[3]}")
    for check in checks:
        for line in check.details if check.status != "pass" else []:
            terminal.print(f"{check.name}: {line}")
    raise typer.Exit(int(ExitCode.DIFFERENT if any(c.status == FAIL for c in checks) else ExitCode.OK))
