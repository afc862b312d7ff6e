"""PostgreSQL native logical replication as a :class:`cutover.replication.Replication`.

One direction = a publication ``cutover_<name>`` on the publishing database (every table of the schema) and a
subscription ``cutover_<name>`` on the other one, whose replication slot (same name) lives on the publisher.

- ``start(initial_copy=True)``: the forward full load (``copy_data = true``), then changes.
- ``start(initial_copy=False)``: a fresh subscription with ``copy_data = false``: its slot starts at the
  publisher's current LSN, so only changes made from now on are applied (the publisher is frozen when a switchover
  calls it). An existing subscription is dropped first, with its slot: PostgreSQL 15 has no ``origin = none``, so
  re-enabling an old slot would send back the changes the other direction applied (a loop). With the publisher
  accepting writes again (``cutover replication start`` after a switch whose start failed), the subscription the
  freeze created is kept as it is (its slot holds every change since); a missing or stopped one is refused (a
  stopped one may be the one from before the switch, whose slot would send the other direction's rows back).
- The subscription applies with ``synchronous_commit = on`` (its default is ``off``): an applied transaction is
  flushed on the subscriber before the apply worker reports its position, so the publisher's
  ``confirmed_flush_lsn`` (what the drain waits for) follows the apply at once instead of the subscriber's WAL
  writer (up to 3 x ``wal_writer_delay``), and nothing the drain counted as applied can be lost by a crash of the
  subscriber (CREATE SUBSCRIPTION, ``synchronous_commit``; PostgreSQL 15 ``worker.c`` reports a received position
  as flushed only when no applied transaction waits for its flush).
- The drain's sentinel: the publication also publishes ``cutover.sentinel`` (:mod:`cutover.replication.sentinel`,
  created on both databases); :meth:`NativeReplication.mark` / :meth:`NativeReplication.marked`.
- ``stop()`` / ``resume()``: ``ALTER SUBSCRIPTION ... DISABLE`` / ``ENABLE``; the slot keeps the position.
- Lag: ``pg_current_wal_insert_lsn() - confirmed_flush_lsn`` of the slot; WAL retained: ``- restart_lsn``.
- ``drop_slot()``: the (stopped) subscription dropped with its slot, and a slot left without a subscription; the
  direction is ``absent`` afterwards (``start`` creates it again).

Follows: https://www.postgresql.org/docs/15/logical-replication.html,
https://www.postgresql.org/docs/15/sql-createsubscription.html and
https://www.postgresql.org/docs/15/view-pg-replication-slots.html.
"""

from __future__ import annotations

from typing import Any

from cutover.database import Database
from cutover.replication import ReplicationStatus, TableProgress, sentinel
from cutover.replication.sentinel import SENTINEL

_SYNC_STATES = {"i": "init", "d": "copying", "f": "copied", "s": "synchronized", "r": "ready"}


class NativeReplication:
    """One direction of PostgreSQL logical replication (see the module docstring).

    Args:
        name: ``forward`` or ``reverse`` (publication, subscription and slot are ``cutover_<name>``).
        publisher: the database changes come from.
        subscriber: the database they are applied to.
        publisher_dsn: how the subscriber reaches the publisher (default: the publisher's admin DSN).
        schema: the replicated schema, default ``public``.
        object_name: name of the publication, subscription and slot; default ``cutover_<name>`` (slot names are
            per server: two migrations on one server need two names).
    """

    def __init__(self, name: str, publisher: Database, subscriber: Database, *, publisher_dsn: str | None = None,
                 schema: str = "public", object_name: str | None = None) -> None:
        self.name = name
        self.publisher, self.subscriber = publisher, subscriber
        self.publisher_dsn = publisher_dsn or publisher.admin_dsn
        self.schema = schema
        self.object = object_name or f"cutover_{name}"

    def _subscription(self, conn: Any) -> tuple[bool] | None:
        return conn.execute("SELECT subenabled FROM pg_subscription WHERE subname = %s", (self.object,)).fetchone()

    def _ensure_publication(self) -> None:
        from psycopg import sql

        sentinel.ensure(self.subscriber)
        sentinel.ensure(self.publisher)
        with self.publisher.connect() as conn:
            if not conn.execute("SELECT 1 FROM pg_publication WHERE pubname = %s", (self.object,)).fetchone():
                conn.execute(sql.SQL("CREATE PUBLICATION {} FOR TABLES IN SCHEMA {}, TABLE cutover.sentinel").format(
                    sql.Identifier(self.object), sql.Identifier(self.schema)))
            elif not conn.execute("SELECT 1 FROM pg_publication_tables WHERE pubname = %s AND schemaname = %s AND "
                                  "tablename = %s", (self.object, *SENTINEL)).fetchone():
                conn.execute(sql.SQL("ALTER PUBLICATION {} ADD TABLE cutover.sentinel").format(
                    sql.Identifier(self.object)))  # a subscription created before sees it from its next start

    def mark(self, token: str) -> bool:
        """Write the drain's sentinel row ``token`` on the publisher (committed with ``synchronous_commit = on``);
        False, writing nothing, when the subscription does not replicate the sentinel table (created before it was
        published): the drain then waits on the slot's position instead.

        Logical replication applies transactions in their commit order, so once the row is on the subscriber
        (:meth:`marked`) every transaction committed on the publisher before it is applied there too: the drain
        gh-ost uses (a sentinel written after the freeze, waited for on the other side), which does not depend on
        when the subscriber reports its position (``wal_receiver_status_interval``, 10 s by default).
        """
        with self.subscriber.connect() as conn:
            ready = conn.execute(
                "SELECT 1 FROM pg_subscription_rel r JOIN pg_subscription p ON p.oid = r.srsubid "
                "WHERE p.subname = %s AND r.srrelid = 'cutover.sentinel'::regclass AND r.srsubstate = 'r'",
                (self.object,)).fetchone()
        if not ready:
            return False
        sentinel.write(self.publisher, token, self.name)
        return True

    def marked(self, token: str, timeout_seconds: float = 0.0, poll_seconds: float = 0.05) -> bool:
        """Whether the sentinel row ``token`` (:meth:`mark`) was applied on the subscriber, waiting at most
        ``timeout_seconds`` (:func:`cutover.replication.sentinel.present`)."""
        return sentinel.present(self.subscriber, token, timeout_seconds, poll_seconds)

    def start(self, *, initial_copy: bool) -> None:
        """Create (or, with ``initial_copy``, re-enable) the subscription; see the module docstring.

        Raises:
            CutoverError: ``initial_copy`` False, the publisher accepts writes and there is no subscription (whose
                slot, created during the freeze, holds the changes since), or it is stopped.
        """
        from psycopg import sql

        from cutover.errors import CutoverError, ExitCode

        self._ensure_publication()
        frozen = initial_copy or self.publisher.frozen()
        with self.subscriber.connect() as conn:
            existing = self._subscription(conn)
            if not frozen:  # a restart once the publisher writes again: only from the slot created in the freeze
                if not existing:
                    raise CutoverError(f"replication {self.name}: the {self.publisher.name} accepts writes and has "
                                       f"no subscription {self.object}: a slot created now would miss the payments "
                                       "written since the freeze; not started", exit_code=ExitCode.DIFFERENT)
                if not existing[0]:  # stopped: maybe the one from before the switch, whose slot predates it
                    raise CutoverError(f"replication {self.name}: subscription {self.object} is stopped: not "
                                       "started (`cutover replication resume` continues it when it was stopped "
                                       "after the switch)", exit_code=ExitCode.DIFFERENT)
                return
            if existing and initial_copy:
                if not existing[0]:  # stopped: maybe the one from before the switch, whose slot predates it
                    raise CutoverError(f"replication {self.name}: subscription {self.object} is stopped: not "
                                       "started (`cutover replication resume` continues it when it was stopped "
                                       "after the switch)", exit_code=ExitCode.DIFFERENT)
                return
            if existing:
                self._drop(conn)
            conn.execute(sql.SQL("CREATE SUBSCRIPTION {} CONNECTION {} PUBLICATION {} WITH (copy_data = {}, "
                                 "synchronous_commit = 'on')").format(
                sql.Identifier(self.object), sql.Literal(self.publisher_dsn), sql.Identifier(self.object),
                sql.Literal(initial_copy)))

    def wait_running(self, timeout_seconds: float) -> None:
        """Nothing: ``CREATE SUBSCRIPTION`` creates the slot on the publisher before it returns, at the position
        the apply worker starts from (``timeout_seconds`` unused)."""

    def _drop(self, conn: Any) -> None:
        from psycopg import sql

        name = sql.Identifier(self.object)
        conn.execute(sql.SQL("ALTER SUBSCRIPTION {} DISABLE").format(name))
        conn.execute(sql.SQL("DROP SUBSCRIPTION {}").format(name))  # drops its slot on the publisher too

    def stop(self) -> None:
        """Disable the subscription (its slot keeps the position); nothing when it does not exist."""
        from psycopg import sql

        with self.subscriber.connect() as conn:
            if self._subscription(conn):
                conn.execute(sql.SQL("ALTER SUBSCRIPTION {} DISABLE").format(sql.Identifier(self.object)))

    def resume(self) -> None:
        """Enable the subscription again; it continues from its slot's position.

        Raises:
            CutoverError: there is no subscription to resume (``start`` it first).
        """
        from psycopg import sql

        from cutover.errors import CutoverError

        with self.subscriber.connect() as conn:
            if not self._subscription(conn):
                raise CutoverError(f"replication {self.name}: not set up; start it first")
            conn.execute(sql.SQL("ALTER SUBSCRIPTION {} ENABLE").format(sql.Identifier(self.object)))

    @property
    def slot(self) -> str:
        """The slot on the publisher: ``cutover_<name>`` (or ``object_name``)."""
        return self.object

    def drop_slot(self) -> bool:
        """Drop the subscription (it cannot be enabled without its slot) and the slot on the publisher (also one
        whose subscription is gone). The caller refuses while the direction runs.

        Returns:
            True when the publisher had the slot.
        """
        from cutover.replication import drop_slot

        with self.publisher.connect() as conn:
            existed = conn.execute("SELECT 1 FROM pg_replication_slots WHERE slot_name = %s", (self.object,)
                                   ).fetchone() is not None
        with self.subscriber.connect() as conn:
            if self._subscription(conn):
                self._drop(conn)  # DROP SUBSCRIPTION drops its slot on the publisher
        drop_slot(self.publisher, self.object)
        return existed

    def drop(self) -> None:
        """Remove the subscription, its slot and the publication (end of the migration; tests)."""
        from psycopg import sql

        with self.subscriber.connect() as conn:
            if self._subscription(conn):
                self._drop(conn)
        with self.publisher.connect() as conn:
            conn.execute(sql.SQL("DROP PUBLICATION IF EXISTS {}").format(sql.Identifier(self.object)))

    def status(self) -> ReplicationStatus:
        """State from the subscriber's catalogs, lag and retained WAL from the publisher's slot."""
        with self.subscriber.connect() as conn:
            sub = self._subscription(conn)
            if not sub:
                return ReplicationStatus(self.name, "absent")
            worker = conn.execute(
                "SELECT count(*) FROM pg_stat_subscription s JOIN pg_subscription p ON p.oid = s.subid "
                "WHERE p.subname = %s AND s.relid IS NULL AND s.pid IS NOT NULL", (self.object,)).fetchone()[0]
            rows = conn.execute(
                "SELECT n.nspname || '.' || c.relname, r.srsubstate FROM pg_subscription_rel r "
                "JOIN pg_subscription p ON p.oid = r.srsubid JOIN pg_class c ON c.oid = r.srrelid "
                "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE p.subname = %s "
                "AND (n.nspname, c.relname) <> (%s, %s) ORDER BY 1", (self.object, *SENTINEL)).fetchall()
        tables = tuple(TableProgress(table, _SYNC_STATES.get(state, state)) for table, state in rows)
        with self.publisher.connect() as conn:
            slot = conn.execute(
                "SELECT confirmed_flush_lsn::text, pg_wal_lsn_diff(pg_current_wal_insert_lsn(), confirmed_flush_lsn)::bigint, "
                "pg_wal_lsn_diff(pg_current_wal_insert_lsn(), restart_lsn)::bigint FROM pg_replication_slots "
                "WHERE slot_name = %s", (self.object,)).fetchone()
        if not sub[0]:
            state = "stopped"
        elif any(t.state != "ready" for t in tables):
            state = "full-load"
        else:
            state = "running" if worker else "starting"
        applied, lag, retained = slot if slot else (None, None, None)
        return ReplicationStatus(self.name, state, lag_bytes=lag, retained_bytes=retained, applied_lsn=applied,
                                 tables=tables)
