"""The rehearsal's proof can fail: ``reconcile`` and ``failures`` (rehearsal/workload.py) on a real PostgreSQL
database written by the real workload, with negative controls: a planted lost, altered and duplicated payment and a
killed workload thread each make the run fail."""

from __future__ import annotations

import time

import pytest

from cutover.roles import APP_ROLE
from rehearsal.databases import SCHEMA
from rehearsal.dns import CachingResolver, ZoneDNSServer
from rehearsal.workload import PaymentWorkload, failures, reconcile, snapshot, write_gap_seconds

PRELOAD = 50


@pytest.fixture(scope="module")
def written(postgres_source, tmp_path_factory):  # noqa: ANN001, ANN201
    """One database with the rehearsal's schema, a preload and ~1 s of the workload (shared by the tests, which
    plant their faults inside a transaction they roll back)."""
    import uuid

    from tests.postgres import drop_database

    dbname = f"r_{uuid.uuid4().hex[:12]}"
    postgres_source.execute(f'CREATE DATABASE "{dbname}"')
    postgres_source.execute(f"DO $$ BEGIN CREATE ROLE {APP_ROLE}; EXCEPTION WHEN duplicate_object THEN NULL; END $$")
    postgres_source.execute(SCHEMA, dbname)
    dsn = postgres_source.dsn(dbname)
    postgres_source.execute("INSERT INTO payments (idempotency_key, merchant_id, amount_cents, currency) "
                            f"SELECT gen_random_uuid(), 1 + i % 97, 100 + i, 'EUR' FROM generate_series(1, {PRELOAD}) i",
                            dbname)
    preloaded = snapshot(dsn)
    with ZoneDNSServer(lambda name: ("db.test", 1) if name == "writer.test" else None) as server:
        resolver = CachingResolver("writer.test", server.port)
        # as the rehearsal writes: a pool of long-lived connections, the writer name resolved through DNS
        workload = PaymentWorkload(lambda: {"db.test": dsn}[resolver()], 100, connections=3).start()
        time.sleep(1.0)
        stats = workload.stop()
    assert resolver.queries >= 1
    yield dsn, stats, preloaded
    drop_database(postgres_source, dbname)


def test_a_clean_run_reconciles_the_preload_and_every_acknowledged_payment(written):  # noqa: ANN001
    dsn, stats, preloaded = written
    result = reconcile(stats, dsn, preloaded)
    assert stats.errors == [] and result["payments_acknowledged"] > 10
    assert result == {"payments_acknowledged": len(stats.acknowledged),
                      "payments_reconciled": PRELOAD + len(stats.acknowledged), "lost": 0, "altered": 0,
                      "duplicated": 0}
    assert failures(result, stats, PRELOAD) == []


@pytest.mark.parametrize("fault, field", [
    ("lost acknowledged", "lost"), ("lost preloaded", "lost"), ("altered amount", "altered"),
    ("altered created_at of a preloaded payment", "altered"), ("duplicated under another key", "duplicated"),
    ("unexplained row", "duplicated")])
def test_a_planted_fault_fails_the_run(written, fault, field):  # noqa: ANN001
    import psycopg

    dsn, stats, preloaded = written
    acked = next(iter(stats.rows))
    preload_key = next(iter(preloaded))
    with psycopg.connect(dsn) as conn:  # the fault, rolled back after reconcile
        statement = {
            "lost acknowledged": ("DELETE FROM payments WHERE idempotency_key = %s", (acked,)),
            "lost preloaded": ("DELETE FROM payments WHERE idempotency_key = %s", (preload_key,)),
            "altered amount": ("UPDATE payments SET amount_cents = amount_cents + 1 WHERE idempotency_key = %s",
                               (acked,)),
            "altered created_at of a preloaded payment": (
                "UPDATE payments SET created_at = created_at + interval '1 microsecond' WHERE idempotency_key = %s",
                (preload_key,)),
            "duplicated under another key": (
                "INSERT INTO payments (idempotency_key, merchant_id, amount_cents, currency) SELECT "
                "gen_random_uuid(), merchant_id, amount_cents, currency FROM payments WHERE idempotency_key = %s",
                (acked,)),
            "unexplained row": ("INSERT INTO payments (idempotency_key, merchant_id, amount_cents, currency) "
                                "VALUES (gen_random_uuid(), %s, 100, 'EUR')", (7,)),
        }[fault]
        conn.execute(*statement)
        conn.commit()
    try:
        result = reconcile(stats, dsn, preloaded)
    finally:
        _undo(dsn, stats, preloaded)
    assert result[field] == 1
    assert failures(result, stats, PRELOAD)


def _undo(dsn, stats, preloaded) -> None:  # noqa: ANN001
    """Put the table back as the workload and the preload left it (every column)."""
    import psycopg

    rows = {**preloaded, **stats.rows}
    with psycopg.connect(dsn) as conn:
        conn.execute("DELETE FROM payments")
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO payments (id, idempotency_key, merchant_id, amount_cents, currency, created_at)"
                            " VALUES (%s, %s, %s, %s, %s, %s)", list(rows.values()))
        conn.commit()


def test_a_killed_workload_thread_fails_the_run(written):  # noqa: ANN001
    """An exception other than psycopg.Error (here a KeyError while resolving the writer) ends the thread: it is
    recorded and the run fails, whatever the database holds."""
    dsn, _, preloaded = written
    calls = []

    def resolve() -> str:
        calls.append(1)
        if len(calls) > 1:
            raise KeyError("writer record")
        return dsn

    workload = PaymentWorkload(resolve, 200).start()
    deadline = time.monotonic() + 10
    while workload.alive and time.monotonic() < deadline:
        workload._conn and workload._conn.close()  # noqa: SLF001 - a lost connection: the next attempt resolves
        time.sleep(0.05)
    stats = workload.stop()
    assert stats.errors and stats.errors[0].startswith("KeyError")
    result = reconcile(stats, dsn, preloaded)
    assert any("workload thread failed" in reason for reason in failures(result, stats, PRELOAD))
    _undo(dsn, written[1], preloaded)


def test_write_gap_is_the_longest_time_without_an_acknowledgement():
    from rehearsal.workload import WorkloadStats

    stats = WorkloadStats(acknowledged_at=[0.0, 0.1, 0.2, 2.7, 2.8, 9.0])
    assert write_gap_seconds(stats, 0.15, 2.75) == 2.5
    assert write_gap_seconds(WorkloadStats(), 1.0, 3.0) == 2.0


@pytest.mark.parametrize("fault, field", [
    (None, None), ("lost acknowledged", "lost"), ("altered amount", "altered"),
    ("duplicated under another key", "duplicated"), ("unexplained row", "duplicated")])
def test_reconcile_above_the_preload_judges_every_workload_row_by_content(written, fault, field):  # noqa: ANN001
    """``after_id`` (bench/scale, which cannot hold millions of preloaded rows): only rows above the preload are read,
    and a planted fault among them is still caught."""
    import psycopg

    dsn, stats, preloaded = written
    last_id = max(row[0] for row in preloaded.values())
    acked = next(iter(stats.rows))
    statement = {
        None: None,
        "lost acknowledged": ("DELETE FROM payments WHERE idempotency_key = %s", (acked,)),
        "altered amount": ("UPDATE payments SET amount_cents = amount_cents + 1 WHERE idempotency_key = %s", (acked,)),
        "duplicated under another key": (
            "INSERT INTO payments (idempotency_key, merchant_id, amount_cents, currency) SELECT gen_random_uuid(), "
            "merchant_id, amount_cents, currency FROM payments WHERE idempotency_key = %s", (acked,)),
        "unexplained row": ("INSERT INTO payments (idempotency_key, merchant_id, amount_cents, currency) "
                            "VALUES (gen_random_uuid(), %s, 100, 'EUR')", (7,)),
    }[fault]
    if statement:
        with psycopg.connect(dsn) as conn:
            conn.execute(*statement)
    try:
        result = reconcile(stats, dsn, {}, after_id=last_id)
    finally:
        _undo(dsn, stats, preloaded)
    if field is None:
        assert result == {"payments_acknowledged": len(stats.acknowledged),
                          "payments_reconciled": len(stats.acknowledged), "lost": 0, "altered": 0, "duplicated": 0}
    else:
        assert result[field] == 1
