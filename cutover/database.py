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

- Sessions are ended in rounds until none that started before the freeze is left; one that survives makes the
  switch abandon (:class:`SessionsSurvived`). Not ``NOLOGIN``: it is cluster-wide, refuses readers too, and a tool
  that dies leaves the role unable to log in; not ``REVOKE CONNECT``: ``CONNECT`` is granted to ``PUBLIC`` by
  default (revoking it from the role changes nothing) and is checked only at connection, as the setting is.
- The old writer's freeze has a deadline in the database (:meth:`Database.arm_deadline`), disarmed before the
  writer name moves: a dead tool does not leave payments refused; the new writer can never be unfrozen by it.

Follows: https://www.postgresql.org/docs/15/sql-alterrole.html,
https://www.postgresql.org/docs/15/runtime-config-client.html#GUC-DEFAULT-TRANSACTION-READ-ONLY and
https://www.postgresql.org/docs/15/functions-admin.html#FUNCTIONS-ADMIN-SIGNAL.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from cutover.roles import APP_ROLE


SESSION_ROUNDS = 5
"""Rounds of ending sessions (:func:`terminate`: each waits up to 5 s for them to exit) before a freeze gives up on a
session."""
DEADLINE_APPLICATION = "paymig-freeze-deadline"
"""``application_name`` of the session that holds a freeze's deadline (:meth:`Database.arm_deadline`)."""
EXIT_WAIT_SECONDS = 5.0
"""How long :func:`terminate` waits for the signalled backends to exit, seconds."""
EXIT_POLL_SECONDS = 0.005
"""How often it looks."""


def terminate(conn: Any, pids: list[int]) -> int:
    """Signal every backend of ``pids`` at once (``pg_terminate_backend(pid)``), then wait until they have exited
    (gone from ``pg_stat_activity``, polled every :data:`EXIT_POLL_SECONDS`, at most :data:`EXIT_WAIT_SECONDS`);
    returns how many were signalled.

    Not ``pg_terminate_backend(pid, timeout)`` per session: PostgreSQL 15 waits for each in turn and checks for its
    exit every 100 ms (``pg_wait_until_termination``), so ending the four connections of a pool took 400 ms of
    the write freeze. ``conn`` must be in autocommit mode (each ``pg_stat_activity`` read a fresh snapshot).
    """
    if not pids:
        return 0
    signalled = conn.execute("SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM unnest(%s::int[]) pid",
                             (pids,)).fetchone()[0]
    deadline = time.monotonic() + EXIT_WAIT_SECONDS
    while conn.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", (pids,)).fetchone()[0]:
        if time.monotonic() > deadline:
            break
        time.sleep(EXIT_POLL_SECONDS)
    return int(signalled)


class SessionsSurvived(Exception):
    """A session of a frozen role survived every round of ``pg_terminate_backend``: it may still write."""


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

    def connect(self, *, application_name: str | None = None) -> Any:
        """An autocommit psycopg connection as the admin role, through :func:`cutover.postgres.connect` (its
        session settings, ``error.side`` on a refused statement).

        Args:
            application_name: sent at login (default ``cutover``): the deadline's session has its own.

        Raises:
            CutoverError: the database cannot be reached: side, host, port, database and user, PostgreSQL's reason
                and what to check (:func:`cutover.postgres.connection_error`; never the password).
        """
        from cutover.postgres import connect

        return connect(self.admin_dsn, side=self.name, autocommit=True, application_name=application_name,
                       connect_timeout=10)  # a failure names --<side>-dsn / $PAYMIG_<SIDE>_DSN (the defaults)

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

    def freeze(self, deadline: float | None = None, *, attempts: int = SESSION_ROUNDS) -> tuple[str, int]:
        """Make every role of :attr:`frozen_roles` read-only (one transaction) and end their sessions; idempotent.

        Sessions are ended in a loop: each round ends (:func:`terminate`: all signalled at once, then waited for) every session of the
        roles that started before the freeze committed (a later one read the setting: it is read-only), until a
        round finds none. A session that started before the commit but read the role settings just before it (a
        connection being set up while the freeze commits) is one of them, so it is ended too.

        Args:
            deadline: when set (epoch seconds), the freeze lifts itself at that moment unless
                :meth:`disarm_deadline` ran first (see :meth:`arm_deadline`): a tool that dies while this database
                is frozen does not leave payments refused until an operator notices. Only before the point of no
                return: the switch disarms it before the writer name moves.
            attempts: rounds of ending sessions before giving up; default :data:`SESSION_ROUNDS`.

        Returns:
            ``(freeze LSN, sessions ended)``: every change the roles made is at or before the LSN.

        Raises:
            SessionsSurvived: a session of the roles still ran after ``attempts`` rounds (the freeze stays: the
                caller abandons the switch, which unfreezes).
            psycopg.errors.UndefinedObject: a role does not exist (nothing is frozen; :meth:`missing_roles`
                finds it before).
        """
        roles = list(self.frozen_roles)
        if deadline is not None:
            self.arm_deadline(deadline)
        with self.connect() as conn:
            with conn.transaction():
                for statement in self._role_settings(conn, "SET default_transaction_read_only = on"):
                    conn.execute(statement)
            committed = conn.execute("SELECT clock_timestamp()").fetchone()[0]
            ended = self._end_sessions(conn, roles, committed, attempts)
            lsn = conn.execute("SELECT pg_current_wal_insert_lsn()::text").fetchone()[0]
        return str(lsn), int(ended)

    def end_sessions(self, *, attempts: int = SESSION_ROUNDS) -> int:
        """End every session of :attr:`frozen_roles` here that started before now, in rounds until none is left
        (as RDS Blue/Green ends the connections on both sides at switchover: pools reconnect and resolve the
        writer name again). Returns the number ended.

        Raises:
            SessionsSurvived: one still ran after ``attempts`` rounds.
        """
        with self.connect() as conn:
            now = conn.execute("SELECT clock_timestamp()").fetchone()[0]
            return self._end_sessions(conn, list(self.frozen_roles), now, attempts)

    def _end_sessions(self, conn: Any, roles: list[str], before: Any, attempts: int) -> int:
        ended = 0
        for _ in range(attempts):
            pids = [row[0] for row in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE usename = ANY(%s) AND datname = current_database() "
                "AND pid <> pg_backend_pid() AND backend_start < %s", (roles, before))]
            if not pids:
                return ended
            ended += terminate(conn, pids)
        survivors = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE usename = ANY(%s) AND datname = current_database() "
            "AND pid <> pg_backend_pid() AND backend_start < %s", (roles, before)).fetchone()[0]
        if survivors:
            raise SessionsSurvived(f"{survivors} session(s) of {', '.join(roles)} on the {self.name} survived "
                                   f"{attempts} rounds of pg_terminate_backend")
        return ended

    def unfreeze(self) -> None:
        """Let every role of :attr:`frozen_roles` write again (one transaction; idempotent), disarm the deadline,
        then end the sessions opened during the freeze: ``RESET`` reaches new sessions only, and a pool connection
        opened while frozen would stay read-only (SQLSTATE 25006) until the pool recycles it."""
        self.disarm_deadline()
        with self.connect() as conn:
            with conn.transaction():
                for statement in self._role_settings(conn, "RESET default_transaction_read_only"):
                    conn.execute(statement)
            committed = conn.execute("SELECT clock_timestamp()").fetchone()[0]
            try:
                self._end_sessions(conn, list(self.frozen_roles), committed, SESSION_ROUNDS)
            except SessionsSurvived:
                pass  # a read-only session left over refuses its own writes: no second writer, the client retries

    def arm_deadline(self, deadline: float) -> None:
        """Start the freeze's deadline in the database: a session of the admin role (``application_name``
        :data:`DEADLINE_APPLICATION`) runs ``DO``: ``pg_sleep_until(deadline)`` then ``ALTER ROLE ... RESET
        default_transaction_read_only`` for every frozen role. The query is sent and the client connection closed
        at once: the server backend runs on by itself (it notices a gone client only when it next reads or writes
        the socket; ``client_connection_check_interval`` is 0 by default, also on RDS), so it outlives the tool.
        Replaces an earlier one.

        Why this and not a job: on RDS the master user is not a superuser (``rds_superuser``) and ``pg_cron`` is
        not loaded by default (it needs ``shared_preload_libraries`` in a custom parameter group and a reboot, then
        ``CREATE EXTENSION`` by an ``rds_superuser``: RDS user guide, "Scheduling maintenance with the PostgreSQL
        pg_cron extension", https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/PostgreSQL_pg_cron.html); a plain session needs no extension
        and no privilege beyond ``ALTER ROLE`` on the application roles, which the freeze needs anyway.
        ``statement_timeout`` and ``idle_session_timeout`` are set to 0 in that session. A server restart ends it
        (the freeze then lasts until ``cutover rollback``/``resume``, as before).
        """
        from psycopg import sql

        self.disarm_deadline()
        with self.connect() as conn:
            resets = [statement.as_string(conn) for statement in
                      self._role_settings(conn, "RESET default_transaction_read_only")]
        body = "".join(f"EXECUTE {sql.Literal(r).as_string(None)};" for r in resets)
        conn = self.connect(application_name=DEADLINE_APPLICATION)
        conn.execute("SET statement_timeout = 0; SET idle_in_transaction_session_timeout = 0")
        at = sql.Literal(float(deadline)).as_string(conn)
        conn.pgconn.send_query(f"DO $deadline$ BEGIN PERFORM pg_sleep_until(to_timestamp({at})); {body} "
                               "END $deadline$".encode())
        conn.pgconn.flush()
        conn.pgconn.finish()  # the backend runs the DO on its own

    def disarm_deadline(self) -> None:
        """End the deadline's session (:meth:`arm_deadline`) if it runs; idempotent. When it returns, the deadline
        can no longer lift the freeze (a ``DO`` ended before its commit rolls back): the switch calls it before
        the point of no return, and checks :meth:`frozen` after it (the deadline may have fired just before)."""
        with self.connect() as conn:
            for _ in range(SESSION_ROUNDS):
                pids = [row[0] for row in conn.execute(
                    "SELECT pid FROM pg_stat_activity WHERE application_name = %s AND datname = current_database() "
                    "AND pid <> pg_backend_pid()", (DEADLINE_APPLICATION,))]
                if not pids:
                    return
                terminate(conn, pids)
        raise SessionsSurvived(f"the freeze deadline's session on the {self.name} could not be ended")

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
