"""One database of the migration (source or target) and the write freeze on it.

The write freeze: the application role is made read-only and its sessions are ended.

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

from cutover.cli.terminal import CutoverError
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
    """

    name: str
    admin_dsn: str
    address: str
    app_role: str = APP_ROLE

    def connect(self, **kwargs: Any) -> Any:
        """An autocommit psycopg connection as the admin role.

        Raises:
            CutoverError: the database cannot be reached (its name, never its DSN, in the message).
        """
        import psycopg

        try:
            return psycopg.connect(self.admin_dsn, autocommit=True, connect_timeout=10, **kwargs)
        except psycopg.OperationalError as error:
            raise CutoverError(f"{self.name} database: cannot connect ({type(error).__name__})") from None

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

    def frozen(self) -> bool:
        """Whether the application role is read-only here (the role's ``default_transaction_read_only``)."""
        with self.connect() as conn:
            row = conn.execute(
                "SELECT s.setconfig FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole "
                "JOIN pg_database d ON d.oid = s.setdatabase WHERE r.rolname = %s AND d.datname = current_database()",
                (self.app_role,)).fetchone()
        return bool(row) and "default_transaction_read_only=on" in (row[0] or [])

    def freeze(self) -> tuple[str, int]:
        """Make the application role read-only and end its sessions; idempotent.

        Returns:
            ``(freeze LSN, sessions ended)``: every change the role made is at or before the LSN.
        """
        from psycopg import sql

        with self.connect() as conn:
            conn.execute(sql.SQL("ALTER ROLE {} IN DATABASE {} SET default_transaction_read_only = on").format(
                sql.Identifier(self.app_role), sql.Identifier(self._dbname(conn))))
            ended = conn.execute(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 5000)) FROM pg_stat_activity "
                "WHERE usename = %s AND datname = current_database() AND pid <> pg_backend_pid()",
                (self.app_role,)).fetchone()[0]
            lsn = conn.execute("SELECT pg_current_wal_insert_lsn()::text").fetchone()[0]
        return str(lsn), int(ended)

    def unfreeze(self) -> None:
        """Let the application role write again (new sessions); idempotent."""
        from psycopg import sql

        with self.connect() as conn:
            conn.execute(sql.SQL("ALTER ROLE {} IN DATABASE {} RESET default_transaction_read_only").format(
                sql.Identifier(self.app_role), sql.Identifier(self._dbname(conn))))


def lsn_to_int(lsn: str) -> int:
    """A PostgreSQL LSN ``X/Y`` (hex) as a byte position.

    Raises:
        ValueError: not an LSN.
    """
    high, _, low = lsn.partition("/")
    if not low:
        raise ValueError(f"lsn = {lsn!r}: must be a PostgreSQL LSN such as 0/3000060")
    return (int(high, 16) << 32) + int(low, 16)
