"""The options every database command shares: ``--source-dsn``/``--target-dsn`` and/or ``--environment``."""

from __future__ import annotations

from typing import Optional

import typer

from cutover.cli.options import check_environment, dsn_option
from cutover.errors import UsageError

SourceOption = dsn_option("source", "--source", "CUTOVER_SOURCE_DSN", annotated=False,
                          help="libpq connection string or URI of the source database (default with -e: the "
                               "environment's).")
TargetOption = dsn_option("target", "--target", "CUTOVER_TARGET_DSN", annotated=False,
                          help="libpq connection string or URI of the target database (default with -e: the "
                               "environment's).")
EnvironmentOption = typer.Option(None, "--environment", "-e", callback=check_environment, is_eager=True,
                                 help="Deployed environment: endpoints from the data stack's outputs, credentials "
                                      "from the validation role's secret; local: the servers `make "
                                      "databases-local` started, as their admin.")
SchemaOption = typer.Option("public", "--schema", help="Schema compared on both sides.")


def resolve(source: Optional[str], target: Optional[str], environment: Optional[str]) -> tuple[str, str]:
    """Source and target DSNs: each side's ``--<side>-dsn`` (or its variable) when given, else the environment's.

    The environment's databases (:func:`cutover.context.default_dsns`, then
    :func:`cutover.environment.environment_dsns`): for ``local``, the two local servers ``make databases-local``
    recorded (``cutover.context.LOCAL_DATABASES``), as their administrative role (loopback ``trust``, no password;
    acceptable on this machine: the commands only read, except ``schema copy`` and ``sequences sync``, which write
    to the target as any role given would); for another environment, the endpoints in the data stack's outputs
    with the read-only validation role's credentials from its secrets.

    Raises:
        UsageError: a side has no DSN and there is no environment (or, for ``local``, no recorded server).
        CutoverError: (from ``environment_dsns``) outputs or secrets missing.
    """
    if environment:
        from cutover.context import default_dsns

        source, target = default_dsns(environment, source, target)
        if environment != "local" and not (source and target):
            from cutover.environment import environment_dsns

            deployed = environment_dsns(environment)
            source, target = source or deployed[0], target or deployed[1]
    for side, dsn in (("source", source), ("target", target)):
        if not dsn:
            raise UsageError(f"--{side}-dsn", dsn, "required: no local database is recorded (`make databases-local` "
                             "starts them)" if environment == "local" else "required (or --environment)")
    return source, target  # type: ignore[return-value]
