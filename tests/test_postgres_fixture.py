"""The shared PostgreSQL fixture itself: loopback only, logical WAL, a server started by hand stops cleanly."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from localpg import PostgresServer


def test_session_servers_listen_on_loopback_with_logical_wal(postgres_source: PostgresServer,
                                                             postgres_target: PostgresServer) -> None:
    assert postgres_source.port != postgres_target.port
    for server in (postgres_source, postgres_target):
        with psycopg.connect(server.dsn()) as conn:
            settings = dict(conn.execute("SELECT name, setting FROM pg_settings WHERE name IN "
                                         "('listen_addresses', 'wal_level', 'server_version_num')").fetchall())
            assert conn.execute("SELECT current_user").fetchone() == ("postgres",)
        assert settings["listen_addresses"] == "127.0.0.1"
        assert settings["wal_level"] == "logical"
        assert int(settings["server_version_num"]) >= 150000


def test_fresh_databases_are_new_and_empty(fresh_databases) -> None:
    for dsn in (fresh_databases.source_dsn, fresh_databases.target_dsn):
        with psycopg.connect(dsn) as conn:
            count = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()[0]
        assert count == 0


def test_server_with_extra_conf_stops_and_refuses_connections(tmp_path: Path) -> None:
    with PostgresServer(tmp_path, wal_level="replica", extra_conf={"max_replication_slots": 3}) as server:
        with psycopg.connect(server.dsn()) as conn:
            assert conn.execute("SHOW wal_level").fetchone() == ("replica",)
            assert conn.execute("SHOW max_replication_slots").fetchone() == ("3",)
        dsn = server.dsn()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(dsn, connect_timeout=2)
