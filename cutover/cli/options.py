"""Options shared by the migration commands (environment, database connections, replication kind)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

Environment = Annotated[str, typer.Option("--environment", "-e", envvar="PAYMIG_ENVIRONMENT",
                                          help="Environment whose deployed stacks to act on (local, dev, prod)")]
SourceDsn = Annotated[Optional[str], typer.Option("--source-dsn", envvar="PAYMIG_SOURCE_DSN", show_envvar=True,
                                                  help="Source database, admin role (libpq string; never printed)")]
TargetDsn = Annotated[Optional[str], typer.Option("--target-dsn", envvar="PAYMIG_TARGET_DSN", show_envvar=True,
                                                  help="Target database, admin role (libpq string; never printed)")]
ReplicationKind = Annotated[str, typer.Option("--replication", help="native (PostgreSQL logical replication) or dms")]
AppRole = Annotated[str, typer.Option("--app-role", envvar="PAYMIG_APP_ROLE",
                                      help="The application's database role (the one frozen)")]
LegacyRoles = Annotated[Optional[list[str]], typer.Option(
    "--legacy-role", envvar="PAYMIG_LEGACY_ROLES", show_envvar=True,
    help="A legacy application's own database role, frozen on the source with the app role (repeatable; the "
         "variable: comma-separated)")]
StateDir = Annotated[Optional[Path], typer.Option("--state-dir", help="Local journal folder "
                                                  "(default .state/<environment>/cutover)")]
FreezeLimit = Annotated[float, typer.Option("--freeze-limit", help="Abandon a switch whose write freeze passes "
                                            "this many seconds before the writer name moved")]


def legacy_role_names(values: list[str] | None) -> tuple[str, ...]:
    """``--legacy-role`` values (each may hold several, comma-separated, as ``$PAYMIG_LEGACY_ROLES`` does) as
    names, in order, without blanks or repeats; validated by :class:`cutover.context.Options`."""
    names = [name.strip() for value in values or () for name in value.split(",")]
    return tuple(dict.fromkeys(name for name in names if name))


def context(environment: str, source_dsn: str | None, target_dsn: str | None, replication: str, app_role: str,
            state_dir: Path | None, freeze_limit: float = 30.0,
            legacy_roles: list[str] | None = None):  # noqa: ANN201 - cutover.context.Context
    """The command's :class:`cutover.context.Context` (imported lazily: start-up stays fast).

    Raises:
        UsageError: a bad option (``field = value: rule``), before anything is contacted.
    """
    from cutover.context import Context, Options

    return Context(Options(environment, source_dsn, target_dsn, replication, app_role, state_dir, freeze_limit,
                           legacy_role_names(legacy_roles)))
