"""Two local PostgreSQL servers standing in for the legacy source and the RDS target, with the payment schema.

The servers are :class:`localpg.PostgresServer` (initdb + pg_ctl on free loopback ports, run as ``postgres`` when
started by root). Both get the application role (``cutover.roles.APP_ROLE``, the name ``cutover roles``
creates) and the schema; in a real migration ``cutover schema copy`` and ``cutover roles`` do that.

- :func:`two_servers`: for one run (the rehearsal, ``bench/freeze``), stopped and removed afterwards.
- :func:`start_local` / :func:`stop_local` (``make databases-local`` / ``make databases-local-stop``): two servers
  that outlive the command, under ``.state/local/postgres``, recorded in ``.state/local/databases.json``, where
  ``cutover --environment local`` finds their administrative DSNs when no ``--source-dsn``/``--target-dsn`` is
  given (``cutover.context.LOCAL_DATABASES``). They let an operator drive ``status``, ``shift``, ``switchover`` and
  ``rollback`` by hand on the local deployment. The DSNs carry no password (loopback ``trust``).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cutover.roles import APP_ROLE

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LOCAL_DIR = PROJECT_ROOT / ".state" / "local" / "postgres"
LOCAL_RECORD = PROJECT_ROOT / ".state" / "local" / "databases.json"
"""Where :func:`start_local` records the servers (``cutover.context.LOCAL_DATABASES`` reads it)."""

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
CREATE TABLE merchants (id integer PRIMARY KEY, name text NOT NULL);
GRANT SELECT ON merchants TO {APP_ROLE};
"""
MERCHANTS = 97
"""Rows of ``merchants``, a table the workload only reads: a switch's ``verify`` skips it once a full validation
has seen it (``cutover/baseline.py``)."""
SETTINGS = {"wal_retrieve_retry_interval": "100ms", "wal_receiver_status_interval": "1s"}
"""Subscription workers start within 100 ms and report their position every second (the drain waits for it; the
RDS parameter groups set the same, ``modules/postgres.py``)."""


@dataclass(frozen=True)
class Pair:
    """The two servers' DSNs: admin (``postgres``) and application role, per side."""

    source_admin: str
    target_admin: str
    source_app: str
    target_app: str


def _prepare(server: Any) -> None:
    """The application role, the ``payments`` database and its schema on a new server."""
    import psycopg

    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {APP_ROLE} LOGIN")
        conn.execute(f"CREATE DATABASE {DATABASE}")
    with psycopg.connect(server.dsn(DATABASE), autocommit=True) as conn:
        conn.execute(SCHEMA)


def _preload(dsn: str, payments: int) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO merchants SELECT i, 'merchant ' || i FROM generate_series(1, %s) i", (MERCHANTS,))
        conn.execute("INSERT INTO payments (idempotency_key, merchant_id, amount_cents, currency) "
                     "SELECT gen_random_uuid(), 1 + i %% 97, 100 + i %% 50000, 'EUR' "
                     "FROM generate_series(1, %s) i", (payments,))


def _pair(source: Any, target: Any) -> Pair:
    return Pair(source.dsn(DATABASE), target.dsn(DATABASE), source.dsn(DATABASE, APP_ROLE),
                target.dsn(DATABASE, APP_ROLE))


def _start_pair(folder: Path, preload: int) -> list[Any]:
    """Start the source and target servers in ``folder`` with the schema and ``preload`` payments on the source;
    when one fails, both are stopped before the error goes on."""
    from localpg import PostgresServer

    servers = [PostgresServer(folder, extra_conf=SETTINGS) for _ in ("source", "target")]
    try:
        for server in servers:
            server.start()
            _prepare(server)
        _preload(servers[0].dsn(DATABASE), preload)
    except BaseException:
        for server in servers:
            server.stop()
        raise
    return servers


@contextmanager
def two_servers(preload: int = 0) -> Iterator[Pair]:
    """Start both servers with the schema (``preload`` payments on the source); stop them afterwards."""
    root = Path(tempfile.mkdtemp(prefix="paymig-rehearsal-"))
    servers: list[Any] = []
    try:
        servers = _start_pair(root, preload)
        yield _pair(*servers)
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(root, ignore_errors=True)


@dataclass(frozen=True)
class LocalDatabases:
    """What :data:`LOCAL_RECORD` holds: the DSNs (:class:`Pair` fields) and each server's data directory."""

    source_admin: str
    target_admin: str
    source_app: str
    target_app: str
    source_data_dir: str
    target_data_dir: str


def read_local() -> LocalDatabases | None:
    """The recorded local servers, or None when none were started (or the record is unreadable)."""
    try:
        return LocalDatabases(**json.loads(LOCAL_RECORD.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


def start_local(preload: int = 1000) -> tuple[LocalDatabases, bool]:
    """Start the two local servers with the schema and ``preload`` payments on the source, unless they run.

    Returns:
        ``(the servers, whether they were started now)``.

    Raises:
        RuntimeError / subprocess.CalledProcessError: a server did not start (its ``server.log`` says why).
    """
    import psycopg

    existing = read_local()
    if existing is not None:
        try:
            for dsn in (existing.source_admin, existing.target_admin):
                psycopg.connect(dsn, connect_timeout=3).close()
            return existing, False
        except psycopg.OperationalError:
            stop_local()  # a record of servers that are gone (a reboot): start new ones
    LOCAL_DIR.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(LOCAL_DIR, "postgres", "postgres")
    servers = _start_pair(LOCAL_DIR, preload)
    pair = _pair(*servers)
    record = LocalDatabases(**asdict(pair), source_data_dir=str(servers[0].data_dir),
                            target_data_dir=str(servers[1].data_dir))
    LOCAL_RECORD.write_text(json.dumps(asdict(record), indent=2) + "\n", encoding="utf-8")
    return record, True


def stop_local() -> bool:
    """Stop the recorded local servers and remove their folders and the record; returns whether any was recorded."""
    from localpg import stop_cluster

    existing = read_local()
    if existing is not None:
        for data_dir in (existing.source_data_dir, existing.target_data_dir):
            stop_cluster(Path(data_dir))
    shutil.rmtree(LOCAL_DIR, ignore_errors=True)
    LOCAL_RECORD.unlink(missing_ok=True)
    return existing is not None


def main(argv: list[str] | None = None) -> int:
    """``python -m rehearsal.databases start|stop``: the local servers ``cutover -e local`` uses."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m rehearsal.databases", description=main.__doc__)
    parser.add_argument("action", choices=("start", "stop"))
    parser.add_argument("--preload", type=int, default=1000, help="payments on the source (start; default 1000)")
    args = parser.parse_args(argv)
    if args.action == "stop":
        print("local databases stopped" if stop_local() else "no local databases were running")
        return 0
    record, started = start_local(args.preload)
    print(f"local databases {'started' if started else 'already running'} (recorded in "
          f"{LOCAL_RECORD.relative_to(PROJECT_ROOT)}); `cutover ... -e local` uses them:")
    print(f"  source: {record.source_admin}\n  target: {record.target_admin}")
    return 0


if __name__ == "__main__":
    from cli_common.boundary import guard
    from cli_common.terminal import Terminal

    guard(main, terminal=Terminal())
