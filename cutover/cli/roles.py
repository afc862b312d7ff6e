"""``cutover roles``: create/update the database roles and write their secrets (runbook step, before DMS starts).

Logic in ``cutover/roles.py`` (SQL) and ``cutover/credentials.py`` (secrets); nothing secret is ever printed.
"""

from __future__ import annotations

from typing import Optional

import typer

from cutover.cli.app import app
from cutover.cli.options import Environment, dsn_option
from cutover.errors import CutoverError, ExitCode, UsageError
from cutover.cli.terminal import terminal


@app.command("roles")
def roles(
    environment: Environment = "dev",
    source_dsn: Optional[str] = dsn_option("source", "PAYMIG_SOURCE_ADMIN_DSN", annotated=False,
                                           help="connect to the source as this admin instead of the RDS master "
                                                "secret (-e local: default the local database)"),
    target_dsn: Optional[str] = dsn_option("target", "PAYMIG_TARGET_ADMIN_DSN", annotated=False,
                                           help="connect to the target as this admin instead of the RDS master "
                                                "secret (-e local: default the local database)"),
    rotate: bool = typer.Option(False, "--rotate", help="generate new passwords for every role"),
) -> None:
    """Create the app, DMS source/target and validation roles as the master user and write their secrets.

    Re-running keeps every password (grants are re-applied); --rotate replaces them (then redeploy the ECS
    service; DMS picks the new secret up on its next connection). RDS rotating its master secret changes nothing.
    With -e local and no DSN, the servers `make databases-local` started are used, as their admin; the secrets
    (on the emulated AWS) then name those servers' host and port.
    """
    import psycopg

    from config import Names, load_config
    from cutover.context import default_dsns
    from cutover.credentials import aws_clients, endpoint_of, master_connection, provision, role_secrets
    from cutover.roles import RoleError

    config = load_config(environment)  # a ConfigError goes to the boundary: every problem, exit 2
    names = Names.of(config)
    given = {"source": source_dsn, "target": target_dsn}
    dsns = dict(zip(("source", "target"), default_dsns(environment, source_dsn, target_dsn)))
    databases = {"source": (names.source_db, config.source_database.database_name),
                 "target": (names.target_db, config.target_database.database_name)}
    try:
        rds, secretsmanager = aws_clients(config)
        admin, endpoints, origins = {}, {}, {}
        for kind, (identifier, dbname) in databases.items():
            dsn = dsns[kind]
            if dsn:
                try:
                    admin[kind], endpoints[kind] = dsn, endpoint_of(dsn)
                except psycopg.ProgrammingError:
                    raise UsageError(f"--{kind}-dsn", "<not shown>", "must be a libpq connection string") from None
                if not given[kind]:  # neither the option nor its variables: the local record
                    origins[kind] = LOCAL_ORIGIN
            else:
                admin[kind], endpoints[kind] = master_connection(rds, secretsmanager, identifier, dbname)
                origins[kind] = (f"the RDS instance {identifier} (its endpoint and RDS-managed master secret)"
                                 + (f"; on the emulated AWS its address resolves nowhere: {LOCAL_HINT}"
                                    if config.emulator else ""))
        written = provision(secretsmanager, role_secrets(names), admin, endpoints, config.dms.schema_name,
                            rotate=rotate, origins=origins)
    except (LookupError, RoleError, ValueError) as error:
        raise CutoverError(str(error), exit_code=ExitCode.DIFFERENT) from None
    except psycopg.Error as error:  # AWS's errors go to the boundary, which says what to do (cli_common.failures)
        raise CutoverError(f"{type(error).__name__}: {str(error).splitlines()[0]}") from None
    for name in written:
        terminal.print(f"wrote {name} (engine, host, port, dbname, username, password)")


LOCAL_HINT = "`make databases-local` starts two local servers that -e local uses (or give --source-dsn/--target-dsn)"
LOCAL_ORIGIN = ("the local database recorded in .state/local/databases.json (`make databases-local` starts it; "
                "or give --source-dsn/--target-dsn)")
