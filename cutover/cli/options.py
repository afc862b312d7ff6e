"""Options shared by the cutover commands (environment, database connections, replication kind, freeze limit).

Each option is defined here once; its rule is checked while the command line is parsed (a typer callback), so a
bad value is named as ``--option = value: rule`` before anything is read or contacted; ``--environment`` first of
all (an eager option).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from cutover.errors import UsageError


def check_environment(value: Optional[str]) -> Optional[str]:
    """``--environment``'s rule: one of the environments with a ``config/<environment>.toml``
    (:func:`config.loading.environments`). None (not given) passes.

    Raises:
        UsageError: ``--environment = 'staging': must be one of dev, local, prod``.
    """
    if value is None:
        return value
    from config.loading import environments

    known = environments()
    if value not in known:
        raise UsageError("--environment", value, f"must be one of {', '.join(known)}")
    return value


def check_freeze_limit(value: float) -> float:
    """``--freeze-limit``'s rule: a positive, finite number of seconds.

    Raises:
        UsageError: ``--freeze-limit = 0: must be positive`` (or ``inf: must be finite``).
    """
    shown: Any = int(value) if math.isfinite(value) and value.is_integer() else value
    if not value > 0:  # NaN too
        raise UsageError("--freeze-limit", shown, "must be positive")
    if math.isinf(value):
        raise UsageError("--freeze-limit", shown, "must be finite")
    return value


def dsn_option(side: str, *aliases: str, help: str, annotated: bool = True) -> Any:  # noqa: A002 - typer's name
    """The ``--<side>-dsn`` option (``$PAYMIG_<SIDE>_DSN``; default none): the one definition of every command's
    database connection (``side``: ``source`` or ``target``).

    Args:
        aliases: older names still accepted: options (``--source``) and variables (``CUTOVER_SOURCE_DSN``, read
            when ``$PAYMIG_<SIDE>_DSN`` is unset).
        annotated: for ``Annotated[...]`` (else the option is a parameter's default value).
    """
    names = [a for a in aliases if a.startswith("-")]
    variables = [f"PAYMIG_{side.upper()}_DSN", *(a for a in aliases if not a.startswith("-"))]
    return typer.Option(*([] if annotated else [None]), f"--{side}-dsn", *names, envvar=variables,
                        show_envvar=True, help=help)


Environment = Annotated[str, typer.Option("--environment", "-e", envvar="PAYMIG_ENVIRONMENT",
                                          callback=check_environment, is_eager=True,
                                          help="Environment whose deployed stacks to act on (local, dev, prod)")]
SourceDsn = Annotated[Optional[str], dsn_option("source", help="Source database, admin role (libpq string; never "
                                                "printed). -e local: default the local database")]
TargetDsn = Annotated[Optional[str], dsn_option("target", help="Target database, admin role (libpq string; never "
                                                "printed). -e local: default the local database")]
ReplicationKind = Annotated[Optional[str], typer.Option(
    "--replication", envvar="PAYMIG_REPLICATION", show_envvar=True,
    help="native (PostgreSQL logical replication) or dms; default: the environment's (dms where its configuration "
         "deploys a DMS task with CDC on AWS: dev, prod; native on the emulated AWS: local)")]
AppRole = Annotated[str, typer.Option("--app-role", envvar="PAYMIG_APP_ROLE",
                                      help="The application's database role (the one frozen)")]
LegacyRoles = Annotated[Optional[list[str]], typer.Option(
    "--legacy-role", envvar="PAYMIG_LEGACY_ROLES", show_envvar=True,
    help="A legacy application's own database role, frozen on the source with the app role (repeatable; the "
         "variable: comma-separated)")]
StateDir = Annotated[Optional[Path], typer.Option("--state-dir", help="Local journal folder "
                                                  "(default .state/<environment>/cutover)")]
FreezeLimit = Annotated[float, typer.Option("--freeze-limit", callback=check_freeze_limit,
                                            help="Abandon a switch whose write freeze passes this many seconds "
                                                 "before the writer name moved (positive)")]
AsJson = Annotated[bool, typer.Option("--json", help="Print it as one JSON document")]


def legacy_role_names(values: list[str] | None) -> tuple[str, ...]:
    """``--legacy-role`` values (each may hold several, comma-separated, as ``$PAYMIG_LEGACY_ROLES`` does) as
    names, in order, without blanks or repeats; validated by :class:`cutover.context.Options`."""
    names = [name.strip() for value in values or () for name in value.split(",")]
    return tuple(dict.fromkeys(name for name in names if name))


def context(environment: str, source_dsn: str | None, target_dsn: str | None, replication: str | None,
            app_role: str,
            state_dir: Path | None, freeze_limit: float = 30.0,
            legacy_roles: list[str] | None = None):  # noqa: ANN201 - cutover.context.Context
    """The command's :class:`cutover.context.Context` (imported lazily: start-up stays fast).

    Raises:
        UsageError: a bad option (``field = value: rule``), before anything is contacted.
    """
    from cutover.context import Context, Options

    return Context(Options(environment, source_dsn, target_dsn, replication, app_role, state_dir, freeze_limit,
                           legacy_role_names(legacy_roles)))
