"""``cutover roles``: create/update the database roles and write their secrets (runbook step, before DMS starts).

Logic in ``cutover/roles.py`` (SQL) and ``cutover/credentials.py`` (secrets); nothing secret is ever printed.
"""

from __future__ import annotations

import typer

from cutover.cli.app import app
from cutover.cli.terminal import CutoverError, ExitCode, UsageError, terminal


@app.command("roles")
def roles(
    environment: str = typer.Option(None, help="environment (default: $PAYMIG_ENVIRONMENT or dev)"),
    source_dsn: str = typer.Option(None, "--source-dsn", envvar="PAYMIG_SOURCE_ADMIN_DSN",
                                   help="connect to the source as this admin instead of the RDS master secret"),
    target_dsn: str = typer.Option(None, "--target-dsn", envvar="PAYMIG_TARGET_ADMIN_DSN",
                                   help="connect to the target as this admin instead of the RDS master secret"),
    rotate: bool = typer.Option(False, "--rotate", help="generate new passwords for every role"),
) -> None:
    """Create the app, DMS source/target and validation roles as the master user and write their secrets.

    Re-running keeps every password (grants are re-applied); --rotate replaces them (then redeploy the ECS
    service; DMS picks the new secret up on its next connection). RDS rotating its master secret changes nothing.
    """
    import psycopg

    from config import Names, load_config
    from cutover.credentials import aws_clients, endpoint_of, master_connection, provision, role_secrets
    from cutover.roles import RoleError

    config = load_config(environment)  # a ConfigError goes to the boundary: every problem, exit 2
    names = Names.of(config)
    databases = {"source": (names.source_db, config.source_database.database_name, source_dsn),
                 "target": (names.target_db, config.target_database.database_name, target_dsn)}
    try:
        rds, secretsmanager = aws_clients(config)
        admin, endpoints = {}, {}
        for kind, (identifier, dbname, dsn) in databases.items():
            if dsn:
                try:
                    admin[kind], endpoints[kind] = dsn, endpoint_of(dsn)
                except psycopg.ProgrammingError:
                    raise UsageError(f"--{kind}-dsn", "<not shown>", "must be a libpq connection string") from None
            else:
                admin[kind], endpoints[kind] = master_connection(rds, secretsmanager, identifier, dbname)
        written = provision(secretsmanager, role_secrets(names), admin, endpoints, config.dms.schema_name,
                            rotate=rotate)
    except (LookupError, RoleError, ValueError) as error:
        raise CutoverError(str(error), exit_code=ExitCode.DIFFERENT) from None
    except psycopg.Error as error:  # AWS's errors go to the boundary, which says what to do (cli_common.failures)
        raise CutoverError(f"{type(error).__name__}: {str(error).splitlines()[0]}") from None
    for name in written:
        terminal.print(f"wrote {name} (engine, host, port, dbname, username, password)")
