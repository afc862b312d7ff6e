"""Fixtures of the migration tests: the session's two real PostgreSQL servers (``tests/postgres.py``) with the
application role, a payment schema per test, Route 53 through moto.

Import the fixtures a test module uses by name (``from tests.cutover_fixtures import migration_setup, ...``).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from cutover.database import Database
from cutover.journal import Journal
from cutover.replication.native import NativeReplication
from cutover.switchover import Migration, Policy
from cutover.writer import Route53WriterRecord
from localpg import PostgresServer

APP_ROLE = "paymig_test_app"
"""The application role of these tests (not ``cutover.roles.APP_ROLE``: other tests create that role with their own
grants on the same session servers)."""
WRITER_NAME = "db.payment-migration-test.internal"
SCHEMA = """
CREATE TABLE payments (
    id bigserial PRIMARY KEY,
    idempotency_key text NOT NULL UNIQUE,
    amount_cents bigint NOT NULL,
    currency char(3) NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
GRANT SELECT, INSERT, UPDATE ON payments TO paymig_test_app;
GRANT USAGE ON SEQUENCE payments_id_seq TO paymig_test_app;
"""
_COUNTER = itertools.count()


REPLICATION_SETTINGS = {"wal_retrieve_retry_interval": "100ms", "wal_receiver_status_interval": "1s"}
"""Subscription workers start within 100 ms (not 5 s) and report their position every second (not 10 s)."""


@pytest.fixture(scope="session")
def pg_pair(postgres_source: PostgresServer, postgres_target: PostgresServer) -> tuple[PostgresServer, PostgresServer]:
    """The session's two servers (``tests/postgres.py``) with the application role and quick replication
    settings (``ALTER SYSTEM`` + reload: they only make replication between test databases faster)."""
    for server in (postgres_source, postgres_target):
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (APP_ROLE,)).fetchone():
                conn.execute(f"CREATE ROLE {APP_ROLE} LOGIN")
            for name, value in REPLICATION_SETTINGS.items():
                conn.execute(f"ALTER SYSTEM SET {name} = '{value}'")
            conn.execute("SELECT pg_reload_conf()")
    return postgres_source, postgres_target


def app_insert(dsn: str, key: str, amount_cents: int = 1250) -> bool:
    """One payment written as the application role; True when it was acknowledged (committed)."""
    try:
        with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as conn:
            conn.execute("INSERT INTO payments (idempotency_key, amount_cents, currency) VALUES (%s, %s, 'EUR') "
                         "ON CONFLICT (idempotency_key) DO NOTHING", (key, amount_cents))
        return True
    except psycopg.Error:
        return False


def payment_keys(dsn: str) -> set[str]:
    with psycopg.connect(dsn) as conn:
        return {row[0] for row in conn.execute("SELECT idempotency_key FROM payments")}


def wait_for(predicate, timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@dataclass
class MigrationSetup:
    """A migration between one fresh database on each server, replication forward running."""

    migration: Migration
    source_app_dsn: str
    target_app_dsn: str
    route53: object
    zone_id: str

    def app_dsn(self, database: Database) -> str:
        return self.source_app_dsn if database.name == "source" else self.target_app_dsn

    def writer_app_dsn(self) -> str:
        """The application's DSN as it resolves the writer name (record value -> database)."""
        value = self.migration.writer.value()
        return self.source_app_dsn if value == self.migration.source.address else self.target_app_dsn

    def accepting(self) -> list[str]:
        """The databases where the application role can write now (the invariant: exactly one)."""
        key = f"probe-{next(_COUNTER)}"
        accepted = [db.name for db in (self.migration.source, self.migration.target)
                    if app_insert(self.app_dsn(db), key)]
        for db in (self.migration.source, self.migration.target):  # probes out again (admin role)
            with db.connect() as conn:
                conn.execute("SET default_transaction_read_only = off")
                conn.execute("DELETE FROM payments WHERE idempotency_key = %s", (key,))
        return accepted


def _cleanup(source: PostgresServer, target: PostgresServer, dbname: str) -> None:
    from tests.postgres import drop_database

    drop_database(target, dbname, others=(source,))
    drop_database(source, dbname)


@pytest.fixture
def aws():
    """moto's in-process AWS (Route 53, DynamoDB, CloudWatch, EC2) with test credentials."""
    from moto import mock_aws

    with mock_aws():
        yield


@dataclass(frozen=True)
class FreshDatabases:
    """One fresh database with the payment schema on each server (20 payments on the source)."""

    name: str
    source_admin: str
    target_admin: str
    source_app: str
    target_app: str


@pytest.fixture
def payment_databases(pg_pair) -> Iterator[FreshDatabases]:
    source_server, target_server = pg_pair
    dbname = f"pay_{next(_COUNTER)}_{int(time.time() * 1000) % 100000}"
    for server in pg_pair:
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{dbname}"')
        with psycopg.connect(server.dsn(dbname), autocommit=True) as conn:
            conn.execute(SCHEMA)
    for i in range(20):
        assert app_insert(source_server.dsn(dbname, APP_ROLE), f"initial-{i}")
    try:
        yield FreshDatabases(dbname, source_server.dsn(dbname), target_server.dsn(dbname),
                             source_server.dsn(dbname, APP_ROLE), target_server.dsn(dbname, APP_ROLE))
    finally:
        _cleanup(source_server, target_server, dbname)


def writer_zone(route53, reference: str, address: str) -> str:
    """A private hosted zone with the writer CNAME pointing at ``address`` (moto); returns the zone ID."""
    import boto3

    vpc = boto3.client("ec2", region_name="us-east-1").create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    zone_id = route53.create_hosted_zone(
        Name="payment-migration-test.internal", CallerReference=reference,
        VPC={"VPCRegion": "us-east-1", "VPCId": vpc}, HostedZoneConfig={"PrivateZone": True})["HostedZone"]["Id"]
    route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [{"Action": "CREATE",
        "ResourceRecordSet": {"Name": WRITER_NAME, "Type": "CNAME", "TTL": 5,
                              "ResourceRecords": [{"Value": address}]}}]})
    return zone_id


@pytest.fixture
def migration_setup(payment_databases, aws, tmp_path: Path) -> Iterator[MigrationSetup]:
    """The fresh databases with the target frozen, forward replication running (full load done) and the writer
    name pointing at the source."""
    import boto3

    dbs = payment_databases
    source = Database("source", dbs.source_admin, "source.db.test", APP_ROLE)
    target = Database("target", dbs.target_admin, "target.db.test", APP_ROLE)
    route53 = boto3.client("route53", region_name="us-east-1")
    zone_id = writer_zone(route53, dbs.name, source.address)
    forward = NativeReplication("forward", source, target, object_name=f"cf_{dbs.name}")
    reverse = NativeReplication("reverse", target, source, object_name=f"cr_{dbs.name}")
    journal = Journal(tmp_path / "journal")
    migration = Migration(source, target, forward, reverse, Route53WriterRecord(route53, zone_id, WRITER_NAME),
                          journal, Policy(freeze_limit_seconds=20))
    target.freeze()
    forward.start(initial_copy=True)
    wait_for(lambda: forward.status().state == "running", what="forward full load")
    setup = MigrationSetup(migration, dbs.source_app, dbs.target_app, route53, zone_id)
    try:
        journal.acquire()
        yield setup
    finally:
        journal.release()
