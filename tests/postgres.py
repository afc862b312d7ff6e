"""Real PostgreSQL servers for tests: the session fixtures built on :class:`localpg.PostgresServer`.

Fixtures (registered by ``tests/conftest.py`` through ``pytest_plugins``):

- ``postgres_source`` / ``postgres_target``: two servers shared by the whole session (``wal_level = logical``, so
  native logical replication between them works), stopped at the end of the session, also when a test fails;
- ``fresh_databases``: a new, empty database of the same name on both for one test (``CREATE DATABASE`` costs
  milliseconds), as a :class:`DatabasePair`; dropped afterwards.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Iterator

import pytest

from localpg import PostgresServer


@dataclass(frozen=True)
class DatabasePair:
    """The same new database on the source and on the target server."""

    source: PostgresServer
    target: PostgresServer
    dbname: str

    @property
    def source_dsn(self) -> str:
        return self.source.dsn(self.dbname)

    @property
    def target_dsn(self) -> str:
        return self.target.dsn(self.dbname)

    def both(self, sql: str) -> None:
        """Run ``sql`` in the database on both servers."""
        self.source.execute(sql, self.dbname)
        self.target.execute(sql, self.dbname)


@pytest.fixture(scope="session")
def postgres_source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    """The session's source PostgreSQL server (``wal_level = logical``)."""
    with PostgresServer(tmp_path_factory.mktemp("pg-source")) as server:
        yield server


@pytest.fixture(scope="session")
def postgres_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    """The session's target PostgreSQL server (``wal_level = logical``)."""
    with PostgresServer(tmp_path_factory.mktemp("pg-target")) as server:
        yield server


def drop_subscriptions(server: PostgresServer, dbname: str) -> None:
    """Disable and drop every subscription of ``dbname`` on ``server`` (their slots on the other server are left
    to :func:`drop_database` there)."""
    import psycopg

    with psycopg.connect(server.dsn(dbname), autocommit=True) as conn:
        for (name,) in conn.execute("SELECT subname FROM pg_subscription s JOIN pg_database d ON d.oid = s.subdbid "
                                    "WHERE d.datname = current_database()").fetchall():
            conn.execute(f'ALTER SUBSCRIPTION "{name}" DISABLE')
            conn.execute(f'ALTER SUBSCRIPTION "{name}" SET (slot_name = NONE)')
            conn.execute(f'DROP SUBSCRIPTION "{name}"')


def drop_database(server: PostgresServer, dbname: str, *, others: tuple[PostgresServer, ...] = ()) -> None:
    """Drop ``dbname`` on ``server``, ending its sessions, its subscriptions and those of ``others`` (the servers
    subscribing to it: else their apply workers reconnect and hold its slots again while it is dropped) first.
    A slot still held (a backend of a killed tool decoding it, a walsender not yet gone) is freed; the drop is
    tried again while a slot is in use."""
    import time

    import psycopg

    for each in (*others, server):
        drop_subscriptions(each, dbname)
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        for attempt in range(50):
            for (pid,) in conn.execute("SELECT active_pid FROM pg_replication_slots WHERE database = %s AND active",
                                       (dbname,)).fetchall():
                conn.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))
            for (slot,) in conn.execute("SELECT slot_name FROM pg_replication_slots WHERE database = %s "
                                        "AND NOT active", (dbname,)).fetchall():
                conn.execute("SELECT pg_drop_replication_slot(%s)", (slot,))
            try:
                conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
                return
            except psycopg.errors.ObjectInUse:
                if attempt == 49:
                    raise
                time.sleep(0.1)


@pytest.fixture
def fresh_databases(postgres_source: PostgresServer, postgres_target: PostgresServer) -> Iterator[DatabasePair]:
    """A new empty database, same name, on both session servers; dropped after the test."""
    dbname = f"t_{uuid.uuid4().hex[:12]}"
    for server in (postgres_source, postgres_target):
        server.execute(f'CREATE DATABASE "{dbname}"')
    yield DatabasePair(postgres_source, postgres_target, dbname)
    for server in (postgres_target, postgres_source):
        drop_database(server, dbname)
