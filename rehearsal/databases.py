"""Two local PostgreSQL servers standing in for the legacy source and the RDS target, with the payment schema.

The servers are :class:`tests.postgres.PostgresServer` (initdb + pg_ctl in temporary folders on free loopback
ports, run as ``postgres`` when started by root). Both get the application role (``cutover.roles.APP_ROLE``, the
name ``cutover roles`` creates) and the schema; in a real migration ``cutover schema copy`` (issue 12) and
``cutover roles`` (issue 13) do that.
"""

from __future__ import annotations

import shutil
import tempfile
from contextlib import contextmanager
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cutover.roles import APP_ROLE

DATABASE = "payments"
SCHEMA = f"""
CREATE TABLE payments (
    id bigserial PRIMARY KEY,
    idempotency_key uuid NOT NULL UNIQUE,
    merchant_id integer NOT NULL,
    amount_cents bigint NOT NULL CHECK (amount_cents > 0),
    currency char(3) NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
GRANT SELECT, INSERT ON payments TO {APP_ROLE};
GRANT USAGE ON SEQUENCE payments_id_seq TO {APP_ROLE};
"""


@dataclass(frozen=True)
class Pair:
    """The two servers' DSNs: admin (``postgres``) and application role, per side."""

    source_admin: str
    target_admin: str
    source_app: str
    target_app: str


@contextmanager
def two_servers(preload: int = 0) -> Iterator[Pair]:
    """Start both servers with the schema (``preload`` payments on the source); stop them afterwards."""
    import psycopg

    from tests.postgres import PostgresServer

    root = Path(tempfile.mkdtemp(prefix="paymig-rehearsal-"))
    # subscription workers start within 100 ms and report their position every second (the drain waits for it)
    settings = {"wal_retrieve_retry_interval": "100ms", "wal_receiver_status_interval": "1s"}
    servers = [PostgresServer(root, extra_conf=settings) for _ in ("source", "target")]
    try:
        for server in servers:
            server.start()
            with psycopg.connect(server.dsn(), autocommit=True) as conn:
                conn.execute(f"CREATE ROLE {APP_ROLE} LOGIN")
                conn.execute(f"CREATE DATABASE {DATABASE}")
            with psycopg.connect(server.dsn(DATABASE), autocommit=True) as conn:
                conn.execute(SCHEMA)
        source, target = servers
        if preload:
            with psycopg.connect(source.dsn(DATABASE), autocommit=True) as conn:
                conn.execute("INSERT INTO payments (idempotency_key, merchant_id, amount_cents, currency) "
                             "SELECT gen_random_uuid(), 1 + i %% 97, 100 + i %% 50000, 'EUR' "
                             "FROM generate_series(1, %s) i", (preload,))
        yield Pair(source.dsn(DATABASE), target.dsn(DATABASE), source.dsn(DATABASE, APP_ROLE),
                   target.dsn(DATABASE, APP_ROLE))
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(root, ignore_errors=True)
