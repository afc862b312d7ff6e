"""``cutover status [--json]``: phase, weights, gates, replication, writer, last full validation and verify, journal
position."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from cutover.cli.app import app
from cutover.cli.options import (
    AppRole, Environment, LegacyRoles, ReplicationKind, SourceDsn, StateDir, TargetDsn, context,
)
from cutover.cli.terminal import terminal
from cutover.roles import APP_ROLE

AsJson = Annotated[bool, typer.Option("--json", help="Print the status as one JSON document")]


@app.command("status")
def status(environment: Environment = "local", as_json: AsJson = False, source_dsn: SourceDsn = None,
           target_dsn: TargetDsn = None, replication: ReplicationKind = "native", app_role: AppRole = APP_ROLE,
           state_dir: StateDir = None, legacy_role: LegacyRoles = None) -> None:
    """One screen of the migration's state (read-only: takes no lock)."""
    from cutover.operations import status as read_status

    ctx = context(environment, source_dsn, target_dsn, replication, app_role, state_dir, legacy_roles=legacy_role)
    document = read_status(ctx.migration(), ctx.records, ctx.gates())
    if as_json:
        terminal.print(json.dumps(document, indent=2, sort_keys=True, default=str))
        return
    terminal.status(document)
