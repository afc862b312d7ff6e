"""Database roles: no component logs in as the RDS master user.

| role | database | privileges |
|---|---|---|
| ``paymig_app`` | both (one password) | CONNECT; USAGE on the payment schema; SELECT, INSERT, UPDATE, DELETE on its tables; USAGE, SELECT, UPDATE on its sequences (also for tables created later by the master user) |
| ``paymig_dms_source`` | source | CONNECT; USAGE on the payment schema; SELECT, INSERT, UPDATE, DELETE on its tables; replication (``rds_replication`` on RDS, the ``REPLICATION`` attribute on self-managed PostgreSQL); USAGE and CREATE on ``awsdms`` (heartbeat table: forward task's source endpoint) and ``dms_control`` (control tables: reverse task's target endpoint) |
| ``paymig_dms_target`` | target | the same as ``paymig_dms_source``, on the target: SELECT, INSERT, UPDATE, DELETE (forward task's target endpoint), replication and ``awsdms`` (reverse task's source endpoint), ``dms_control`` (forward task's control tables) |
| ``paymig_validation`` | both | CONNECT; USAGE and SELECT on the payment schema; ``pg_monitor`` (replication slots, settings, WAL positions for preflight) |

Why both directions: the application role lives on both databases with the same password because after a rollback
the writer name points at the source again and the ECS service connects there with the same secret. The data
stack's reverse DMS task (target -> source, ``modules/dms.py``) reads the target with the DMS *target* endpoint's
secret and writes the source with the DMS *source* endpoint's secret, and both tasks share one task settings
document (``ControlTablesSettings.ControlSchema``) and one heartbeat schema; so each DMS role reads, writes,
replicates and keeps both DMS schemas on its own database.

None is a superuser, may create databases or roles, or owns the payment tables: the application cannot run DDL,
the validation cannot write. ``apply_roles`` runs as the master user (CREATEROLE on RDS) and is idempotent:
``CREATE ROLE`` only when missing, grants re-applied, the password set to the one given.

Follows: https://www.postgresql.org/docs/15/sql-grant.html, .../sql-alterdefaultprivileges.html,
.../predefined-roles.html; https://docs.aws.amazon.com/dms/latest/userguide/CHAP_Source.PostgreSQL.html
("Working with AWS-managed PostgreSQL databases as DMS sources": ``rds_replication``) and
https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Appendix.PostgreSQL.CommonDBATasks.Roles.html.
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from typing import Any

HEARTBEAT_SCHEMA = "awsdms"
"""Schema of the DMS heartbeat table on a task's source (``modules.dms.HEARTBEAT_SCHEMA``; a test keeps them equal)."""
CONTROL_SCHEMA = "dms_control"
"""Schema of the DMS control tables on a task's target (``modules.dms.default_task_settings()``'s
``ControlTablesSettings.ControlSchema``; a test keeps them equal)."""
IDENTIFIER_RULE = "must be a PostgreSQL identifier (a letter or _, then letters, digits, _ or $; 1-63 characters)"

APP_ROLE = "paymig_app"
"""The application's role (the ECS service's secret; the role ``cutover switchover`` freezes)."""
DMS_SOURCE_ROLE = "paymig_dms_source"
"""DMS's role on the source (forward task's source endpoint, reverse task's target endpoint)."""
DMS_TARGET_ROLE = "paymig_dms_target"
"""DMS's role on the target (forward task's target endpoint, reverse task's source endpoint)."""
VALIDATION_ROLE = "paymig_validation"
"""The read-only role of ``cutover validate`` and ``cutover preflight``."""
MASTER_USER = "paymig_admin"
"""The RDS master user (``[source_database]``/``[target_database]`` ``master_username``): no component logs in as it."""
PASSWORD_LENGTH = 40
PASSWORD_ALPHABET = string.ascii_letters + string.digits  # no character that needs quoting in a DSN or JSON


@dataclass(frozen=True)
class DatabaseRole:
    """One database role: its name, the databases it lives on and what it may do there.

    Attributes:
        key: stable key (``app``, ``dms_source``, ``dms_target``, ``validation``).
        name: PostgreSQL role name.
        databases: ``source`` and/or ``target``.
        write: SELECT, INSERT, UPDATE, DELETE on the payment tables (else SELECT only).
        sequences: USAGE, SELECT, UPDATE on the payment sequences.
        replication: may stream changes (``rds_replication`` or the ``REPLICATION`` attribute).
        monitor: member of ``pg_monitor``.
        own_schemas: schemas (created when missing) where the role may create tables (DMS heartbeat/control
            tables); default none.
    """

    key: str
    name: str
    databases: tuple[str, ...]
    write: bool = False
    sequences: bool = False
    replication: bool = False
    monitor: bool = False
    own_schemas: tuple[str, ...] = ()


ROLES: tuple[DatabaseRole, ...] = (
    DatabaseRole("app", APP_ROLE, ("source", "target"), write=True, sequences=True),
    DatabaseRole("dms_source", DMS_SOURCE_ROLE, ("source",), write=True, replication=True,
                 own_schemas=(HEARTBEAT_SCHEMA, CONTROL_SCHEMA)),
    DatabaseRole("dms_target", DMS_TARGET_ROLE, ("target",), write=True, replication=True,
                 own_schemas=(HEARTBEAT_SCHEMA, CONTROL_SCHEMA)),
    DatabaseRole("validation", VALIDATION_ROLE, ("source", "target"), monitor=True),
)
ROLE_NAMES: dict[str, str] = {role.key: role.name for role in ROLES}
"""Role key -> name: the one source of the defaults of every command that names a role."""


def generate_password() -> str:
    """A new random password (40 letters and digits, ``secrets`` module: about 238 bits)."""
    return "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(PASSWORD_LENGTH))


def is_identifier(name: str) -> bool:
    """Whether ``name`` is a plain (unquoted) PostgreSQL identifier of ASCII letters, digits, ``_`` and ``$``,
    starting with a letter or ``_``, at most 63 characters (NAMEDATALEN - 1). Follows
    https://www.postgresql.org/docs/15/sql-syntax-lexical.html#SQL-SYNTAX-IDENTIFIERS (non-ASCII letters refused)."""
    return bool(name) and len(name) <= 63 and name.isascii() and (name[0].isalpha() or name[0] == "_") \
        and all(c.isalnum() or c in "_$" for c in name)


def check_schema_name(schema: str) -> None:
    """Raises ValueError (``schema = value: rule``) for a name that is not a plain PostgreSQL identifier."""
    if not is_identifier(schema):
        raise ValueError(f"schema = {schema!r}: {IDENTIFIER_RULE}")


def role_statements(role: DatabaseRole, database: str, schema: str, password: str, *,
                    rds_replication: bool) -> list[Any]:
    """The SQL that creates/updates ``role`` on ``database`` (``psycopg.sql.Composed``, in order).

    Args:
        rds_replication: the server has the ``rds_replication`` role (RDS): grant it instead of setting the
            ``REPLICATION`` attribute (which needs a superuser).
    """
    from psycopg import sql

    check_schema_name(schema)
    name, payment = sql.Identifier(role.name), sql.Identifier(schema)
    statements = [
        sql.SQL("DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {}) THEN CREATE ROLE {} LOGIN; "
                "END IF; END $$").format(sql.Literal(role.name), name),
        sql.SQL("ALTER ROLE {} WITH LOGIN PASSWORD {}").format(name, sql.Literal(password)),
        sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(database), name),
        sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(payment, name),
    ]
    table_privileges = sql.SQL("SELECT, INSERT, UPDATE, DELETE" if role.write else "SELECT")
    statements += [
        sql.SQL("GRANT {} ON ALL TABLES IN SCHEMA {} TO {}").format(table_privileges, payment, name),
        sql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA {} GRANT {} ON TABLES TO {}").format(payment, table_privileges,
                                                                                         name),
    ]
    if role.sequences:
        statements += [
            sql.SQL("GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {} TO {}").format(payment, name),
            sql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA {} GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {}").format(
                payment, name),
        ]
    if role.replication:
        statements.append(sql.SQL("GRANT rds_replication TO {}").format(name) if rds_replication
                          else sql.SQL("ALTER ROLE {} WITH REPLICATION").format(name))
    if role.monitor:
        statements.append(sql.SQL("GRANT pg_monitor TO {}").format(name))
    for own_schema in role.own_schemas:
        own = sql.Identifier(own_schema)
        statements += [sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(own),
                       sql.SQL("GRANT USAGE, CREATE ON SCHEMA {} TO {}").format(own, name)]
    return statements


class RoleError(RuntimeError):
    """A role ended up with more power than its row in the table above (e.g. an existing superuser)."""


def apply_roles(conn: Any, database: str, kind: str, schema: str, passwords: dict[str, str]) -> list[str]:
    """Create or update every role of ``kind`` (``source``/``target``) on the connected database, in one
    transaction; then check that none is a superuser, may create roles or databases, or bypasses RLS.

    Args:
        conn: psycopg connection as the master user (RDS) or a superuser (self-managed).
        database: the database's name; schema: the payment schema.
        passwords: role key -> password.

    Returns:
        The role names applied.

    Raises:
        RoleError: a role has an attribute it must not have (nothing is committed).
        psycopg.Error: PostgreSQL refused a statement (nothing is committed).
    """
    roles = [role for role in ROLES if kind in role.databases]
    with conn.transaction(), conn.cursor() as cursor:
        rds = cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = 'rds_replication'").fetchone() is not None
        for role in roles:
            for statement in role_statements(role, database, schema, passwords[role.key], rds_replication=rds):
                cursor.execute(statement)
        rows = cursor.execute(
            "SELECT rolname FROM pg_roles WHERE rolname = ANY(%s) AND (rolsuper OR rolcreaterole OR rolcreatedb "
            "OR rolbypassrls)", ([role.name for role in roles],)).fetchall()
        if rows:
            raise RoleError(f"roles {sorted(r[0] for r in rows)}: must not be superuser, CREATEROLE, CREATEDB or "
                            "BYPASSRLS; fix them as the master user (ALTER ROLE ... NOSUPERUSER ...)")
    return [role.name for role in roles]
