"""One way to connect to PostgreSQL: :meth:`cutover.database.Database.connect` (the switch's steps) and
:func:`cutover.postgres.connect` (every command) open sessions with the same settings and the same error boundary."""

from __future__ import annotations

import pytest

from cutover.database import DEADLINE_APPLICATION, Database
from cutover.errors import CutoverError, ExitCode
from cutover.postgres import SESSION_SETTINGS, connect
from localpg.server import PostgresServer


def settings_of(conn) -> dict[str, str]:
    names = list(SESSION_SETTINGS)
    row = conn.execute("SELECT " + ", ".join("current_setting(%s)" for _ in names), names).fetchone()
    return dict(zip(names, row))


def test_both_ways_apply_the_session_settings(postgres_source: PostgresServer):
    database = Database("source", postgres_source.dsn(), "source.db.test")
    with database.connect() as conn:
        assert settings_of(conn) == SESSION_SETTINGS
        assert conn.autocommit and conn.side == "source"
    with connect(postgres_source.dsn(), side="target") as conn:
        assert settings_of(conn) == SESSION_SETTINGS and conn.side == "target"


def test_the_deadline_session_is_named_at_login_and_keeps_the_other_settings(postgres_source: PostgresServer):
    with Database("source", postgres_source.dsn(), "x").connect(application_name=DEADLINE_APPLICATION) as conn:
        settings = settings_of(conn)
        assert settings.pop("application_name") == DEADLINE_APPLICATION
        assert settings == {k: v for k, v in SESSION_SETTINGS.items() if k != "application_name"}


def test_the_settings_check_sees_a_session_without_them(postgres_source: PostgresServer):
    """Negative control: a plain psycopg session (what ``Database.connect`` opened before) differs."""
    import psycopg

    with psycopg.connect(postgres_source.dsn(), autocommit=True) as conn:
        assert settings_of(conn) != SESSION_SETTINGS


@pytest.mark.parametrize("way", ["database", "postgres"])
def test_both_ways_report_a_failed_login_the_same_way(way: str):
    dsn = "host=127.0.0.1 port=1 dbname=payments user=cutover password=s3cret-value"
    with pytest.raises(CutoverError) as caught:
        if way == "database":
            Database("source", dsn, "x").connect()
        else:
            connect(dsn, side="source", option="--source-dsn", variable="PAYMIG_SOURCE_DSN")
    error = caught.value
    assert error.exit_code == ExitCode.INTERNAL and "s3cret-value" not in str(error)
    assert str(error).startswith("cannot connect to the source database at 127.0.0.1:1 (dbname payments, user "
                                 "cutover)") and "--source-dsn / $PAYMIG_SOURCE_DSN" in str(error)
