"""One database of the migration (source or target) and the write freeze on it.

The write freeze: the application role (and, on the source, the legacy applications' roles) is made read-only and
its sessions are ended.

- ``ALTER ROLE <app> IN DATABASE <db> SET default_transaction_read_only = on`` makes every new session of the role
  in the payment database read-only (other databases of the server are untouched), and
  ``pg_terminate_backend`` ends the sessions it already has (their open transactions roll back: nothing they did
  was acknowledged). ``ALTER ROLE <app> IN DATABASE <db> RESET default_transaction_read_only`` lifts it.
- Chosen over ``REVOKE INSERT, UPDATE, DELETE``: it covers every way the role may write (ownership, group roles,
  grants to PUBLIC, functions), it is lifted exactly (a RESET restores what was there; a GRANT would have to
  restore each privilege the role had, per table), it leaves the grants that ``cutover roles`` own untouched, and
  it takes no lock on the payment tables (a REVOKE queues behind a long transaction). Its limit: a client that
  runs ``SET default_transaction_read_only = off`` or ``BEGIN READ WRITE`` itself escapes it; the payments service
  does neither, and the ``preflight`` role check is the place to refuse a role that may ``SET`` it through a
  function. Replication (the subscription's or DMS's apply role) is another role and keeps writing.
- Legacy applications (``--legacy-role``): an application that writes to the source with a role of its own is
  frozen with the application role on the source (the database it writes to), so after a switchover the source
  refuses its writes too; a rollback lifts it with the rest. The target has only the application role.
- The freeze LSN (``pg_current_wal_insert_lsn()`` taken after the sessions ended) is the point every change the
  application made is at or before: the drain waits until replication has applied that far. The *insert*
  position, not ``pg_current_wal_lsn()`` (the write position): with ``synchronous_commit = off`` a commit can be
  acknowledged before its WAL is written, and the write position would then stop short of it.

Follows: https://www.postgresql.org/docs/15/sql-alterrole.html,
https://www.postgresql.org/docs/15/runtime-config-client.html#GUC-DEFAULT-TRANSACTION-READ-ONLY and
https://www.postgresql.org/docs/15/functions-admin.html#FUNCTIONS-ADMIN-SIGNAL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cutover.roles import APP_ROLE


@dataclass(frozen=True)
class Database:
    """A database the migration acts on.

    Attributes:
        name: ``source`` or ``target``.
        admin_dsn: libpq connection string of a role that may ALTER ROLE, terminate sessions and manage
            publications/subscriptions (never printed or journalled).
        address: what the writer record holds when this database is the writer (an RDS address; locally any
            name the rehearsal maps to a DSN).
        app_role: the application's role (the one frozen), default ``cutover.roles.APP_ROLE`` (``paymig_app``).
        legacy_roles: more roles frozen with it here (legacy applications writing to the source); default none.
    """

    name: str
    admin_dsn: str
    address: str
    app_role: str = APP_ROLE
    legacy_roles: tuple[str, ...] = ()

    @property
    def frozen_roles(self) -> tuple[str, ...]:
        """The roles the freeze covers here: the application role, then the legacy roles."""
        return (self.app_role, *(role for role in self.legacy_roles if role != self.app_role))

    def connect(self, **kwargs: Any) -> Any:
        """An autocommit psycopg connection as the admin role.

        Raises:
            CutoverError: the database cannot be reached: side, host, port, database and user, PostgreSQL's reason
                and what to check (:func:`cutover.postgres.connection_error`; never the password).
        """
        import psycopg

        from cutover.postgres import connection_error

        try:
            return psycopg.connect(self.admin_dsn, autocommit=True, connect_timeout=10, **kwargs)
        except psycopg.OperationalError as error:
            raise connection_error(self.name, self.admin_dsn, error, option=f"--{self.name}-dsn",
                                   variable=f"PAYMIG_{self.name.upper()}_DSN") from None

    def scalar(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        """The first column of the first row of ``sql``."""
        with self.connect() as conn:
            row = conn.execute(sql, params).fetchone()
        return row[0] if row else None

    @staticmethod
    def _dbname(conn: Any) -> str:
        return str(conn.execute("SELECT current_database()").fetchone()[0])

    def current_lsn(self) -> str:
        """``pg_current_wal_insert_lsn()`` as text, e.g. ``0/3000060`` (see the module docstring)."""
        return str(self.scalar("SELECT pg_current_wal_insert_lsn()::text"))

    def missing_roles(self) -> list[str]:
        """The roles of :attr:`frozen_roles` that do not exist on this server (checked before a freeze)."""
        roles = list(self.frozen_roles)
        with self.connect() as conn:
            present = {row[0] for row in conn.execute("SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)",
                                                      (roles,))}
        return [role for role in roles if role not in present]

    def frozen(self) -> bool:
        """Whether every role of :attr:`frozen_roles` is read-only here (its ``default_transaction_read_only``)."""
        roles = list(self.frozen_roles)
        with self.connect() as conn:
            settings = dict(conn.execute(
                "SELECT r.rolname, s.setconfig FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole "
                "JOIN pg_database d ON d.oid = s.setdatabase WHERE r.rolname = ANY(%s) "
                "AND d.datname = current_database()", (roles,)).fetchall())
        return all("default_transaction_read_only=on" in (settings.get(role) or []) for role in roles)

    def freeze(self) -> tuple[str, int]:
        """Make every role of :attr:`frozen_roles` read-only (one transaction) and end their sessions; idempotent.

        Returns:
            ``(freeze LSN, sessions ended)``: every change the roles made is at or before the LSN.

        Raises:
            psycopg.errors.UndefinedObject: a role does not exist (nothing is frozen; :meth:`missing_roles`
                finds it before).
        """
        roles = list(self.frozen_roles)
        with self.connect() as conn:
            with conn.transaction():
                for statement in self._role_settings(conn, "SET default_transaction_read_only = on"):
                    conn.execute(statement)
            ended = conn.execute(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 5000)) FROM pg_stat_activity "
                "WHERE usename = ANY(%s) AND datname = current_database() AND pid <> pg_backend_pid()",
                (roles,)).fetchone()[0]
            lsn = conn.execute("SELECT pg_current_wal_insert_lsn()::text").fetchone()[0]
        return str(lsn), int(ended)

    def unfreeze(self) -> None:
        """Let every role of :attr:`frozen_roles` write again (new sessions; one transaction); idempotent."""
        with self.connect() as conn, conn.transaction():
            for statement in self._role_settings(conn, "RESET default_transaction_read_only"):
                conn.execute(statement)

    def _role_settings(self, conn: Any, action: str) -> list[Any]:
        """``ALTER ROLE <role> IN DATABASE <this database> <action>`` for each frozen role."""
        from psycopg import sql

        database = sql.Identifier(self._dbname(conn))
        return [sql.SQL("ALTER ROLE {} IN DATABASE {} ").format(sql.Identifier(role), database) + sql.SQL(action)
                for role in self.frozen_roles]


def lsn_to_int(lsn: str) -> int:
    """A PostgreSQL LSN ``X/Y`` (hex) as a byte position.

    Raises:
        ValueError: not an LSN.
    """
    high, _, low = lsn.partition("/")
    if not low:
        raise ValueError(f"lsn = {lsn!r}: must be a PostgreSQL LSN such as 0/3000060")
    return (int(high, 16) << 32) + int(low, 16)
