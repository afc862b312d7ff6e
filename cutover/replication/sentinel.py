"""The drain's sentinel table ``cutover.sentinel``, shared by both kinds of replication.

A switch drains the old direction by writing one row here on the old writer after the freeze and waiting until it
is on the new writer (gh-ost's cut-over sentinel): replication applies transactions in their commit order, so once
the row arrived every payment committed before the freeze arrived too. Only the tool writes the table; it lives
outside the migrated schema, so no comparison reads it. Whatever sets a direction up creates it on both databases
(:func:`ensure`): native replication publishes it (:mod:`cutover.replication.native`), the DMS tasks select it
(``modules.dms.schema_table_mappings``, :mod:`cutover.replication.dms`).

The primary key (``token``): DMS validates only tables with a primary key or unique index (``ValidationState``
"No primary key" otherwise) and captures only inserts for a table without one. With ``ApplyErrorInsertPolicy``
``STOP_TASK`` a duplicate token would stop the task: every row has a new token (the run and a random part) and is
only inserted, so no copy or other direction brings the same token twice.

Follows: https://docs.aws.amazon.com/dms/latest/APIReference/API_TableStatistics.html (``ValidationState``) and
https://docs.aws.amazon.com/dms/latest/userguide/CHAP_Source.PostgreSQL.html (limitations: "A captured table must
have a primary key").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cutover.database import Database

SCHEMA, TABLE = "cutover", "sentinel"
SENTINEL = (SCHEMA, TABLE)
"""``cutover.sentinel`` as (schema, table)."""
DDL = ("CREATE SCHEMA IF NOT EXISTS cutover; CREATE TABLE IF NOT EXISTS cutover.sentinel "
       "(token text PRIMARY KEY, direction text NOT NULL, written_at timestamptz NOT NULL DEFAULT now()); "
       "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = 'cutover.sentinel'::regclass "
       "AND contype = 'p') THEN ALTER TABLE cutover.sentinel ADD PRIMARY KEY (token); END IF; END $$")
"""Creates the table (and gives a keyless one from an earlier version its key); idempotent."""


def ensure(database: Database, readers: tuple[str, ...] = ()) -> None:
    """Create ``cutover.sentinel`` on ``database`` (:data:`DDL`) and let each of ``readers`` that exists there (roles:
    the DMS endpoints', whose source endpoint reads the table and target endpoint inserts into it) select and
    insert."""
    from psycopg import sql

    with database.connect() as conn:
        conn.execute(DDL)
        for role in readers:
            if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
                name = sql.Identifier(role)
                conn.execute(sql.SQL("GRANT USAGE ON SCHEMA cutover TO {}").format(name))
                conn.execute(sql.SQL("GRANT SELECT, INSERT ON cutover.sentinel TO {}").format(name))


def write(publisher: Database, token: str, direction: str) -> None:
    """Insert the row ``token`` on ``publisher`` as the admin role (the application role is frozen there), committed
    with ``synchronous_commit = on`` (flushed: logical decoding reads no further than the flushed WAL)."""
    with publisher.connect() as conn:
        with conn.transaction():
            conn.execute("SET LOCAL synchronous_commit = on")
            conn.execute("SET LOCAL default_transaction_read_only = off")
            conn.execute("INSERT INTO cutover.sentinel (token, direction) VALUES (%s, %s)", (token, direction))


def present(subscriber: Database, token: str, timeout_seconds: float = 0.0, poll_seconds: float = 0.05) -> bool:
    """Whether the row ``token`` is on ``subscriber`` (False when the table does not exist there), looking every
    ``poll_seconds`` for at most ``timeout_seconds`` on one autocommit connection (each read sees what was applied
    since; a waiting caller inside a freeze does not pay a connection a look)."""
    import time

    deadline = time.monotonic() + timeout_seconds
    with subscriber.connect() as conn:
        if conn.execute("SELECT to_regclass('cutover.sentinel')").fetchone()[0] is None:
            return False
        while conn.execute("SELECT 1 FROM cutover.sentinel WHERE token = %s", (token,)).fetchone() is None:
            if time.monotonic() >= deadline:
                return False
            time.sleep(poll_seconds)
        return True
