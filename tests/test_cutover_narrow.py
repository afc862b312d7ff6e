"""The narrow check (``cutover.narrow``, ``cutover.decoding``): the verify slots on real PostgreSQL, what they decode,
and a switch whose freeze compares only the rows changed since its checkpoint, with planted faults it must catch."""

from __future__ import annotations

import psycopg
import pytest

from cutover import decoding, narrow
from cutover.switchover import Abandoned, switch
from tests.cutover_fixtures import (  # noqa: F401  (fixtures)
    app_insert, aws, migration_setup, payment_databases, payment_keys, pg_pair, wait_for,
)

ODD = '''
CREATE TABLE "Odd ""Table""" ("Key Part" text, at timestamptz, note text, PRIMARY KEY ("Key Part", at));
CREATE TABLE ledger (id bigint NOT NULL, region text NOT NULL, cents bigint, PRIMARY KEY (id, region))
    PARTITION BY LIST (region);
CREATE TABLE ledger_eu PARTITION OF ledger FOR VALUES IN ('eu');
CREATE TABLE ledger_us PARTITION OF ledger FOR VALUES IN ('us');
CREATE TABLE audit (line text);
CREATE TABLE nothing (id int PRIMARY KEY, v text);
ALTER TABLE nothing REPLICA IDENTITY NOTHING;
CREATE TABLE other_schema_table (id int PRIMARY KEY);
'''


def entries(m, step: str) -> list[dict]:
    return [e.details for e in m.journal.entries() if e.step == step and e.status == "done"]


def test_the_verify_slot_decodes_every_key_changed_and_only_keys(payment_databases):
    dsn = payment_databases.source_admin
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SET synchronous_commit = on")  # these test servers default to off: see decoding.current_lsn
        conn.execute(ODD)
        conn.execute("CREATE SCHEMA elsewhere; CREATE TABLE elsewhere.payments (id int PRIMARY KEY)")
        conn.execute('''INSERT INTO "Odd ""Table""" VALUES ('it''s a key: [x]', '2026-01-02 03:04:05+00', 'n')''')
        conn.execute("INSERT INTO nothing VALUES (1, 'a'), (2, 'b')")
        start = decoding.create_slot(conn)
        assert decoding.slot_position(conn) == start
        conn.execute('''UPDATE "Odd ""Table""" SET note = 'with ''quotes'' and spaces' ''')
        conn.execute('''UPDATE "Odd ""Table""" SET "Key Part" = 'moved' ''')  # the old key and the new one
        conn.execute("INSERT INTO payments (idempotency_key, amount_cents, currency) VALUES ('secret-value', 1, 'EUR')")
        conn.execute("DELETE FROM payments WHERE idempotency_key = 'initial-4'")
        conn.execute("INSERT INTO ledger VALUES (7, 'eu', 1), (8, 'us', 2)")  # decoded per partition
        conn.execute("INSERT INTO elsewhere.payments VALUES (99)")  # another schema: not compared
        conn.execute("INSERT INTO audit VALUES ('x')")
        conn.execute("UPDATE nothing SET v = 'c' WHERE id = 1")
        conn.execute("BEGIN; INSERT INTO payments (idempotency_key, amount_cents, currency) "
                     "VALUES ('rolled-back', 1, 'EUR'); ROLLBACK")
        upto = decoding.current_lsn(conn)
        conn.execute("INSERT INTO payments (idempotency_key, amount_cents, currency) VALUES ('after-upto', 1, 'EUR')")
    with psycopg.connect(dsn) as conn:
        from cutover.catalog import read_catalog

        keys = decoding.key_columns(read_catalog(conn, "public"))
        conn.rollback()
        found = decoding.read_changes(conn, upto, keys)
    with psycopg.connect(dsn) as conn:
        ids = dict(conn.execute("SELECT idempotency_key, id::text FROM payments").fetchall())
    assert found.keys['Odd "Table"'] == {("it's a key: [x]", "2026-01-02 03:04:05+00"),
                                         ("moved", "2026-01-02 03:04:05+00")}
    assert found.keys["ledger"] == {("7", "eu"), ("8", "us")}
    # the insert and the delete ('initial-4' had id 5); not the rolled back one, not the one after upto
    assert found.keys["payments"] == {(ids["secret-value"],), ("5",)}
    assert found.whole == {"audit": "no key", "nothing": "a UPDATE whose old key may go unlogged (REPLICA IDENTITY)"}
    assert found.changes == 8  # not the other schema's, not the rolled back one
    summary = str(found.summary())
    assert "secret-value" not in summary and "it's a key" not in summary  # counts and names only
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SET synchronous_commit = on")
        conn.execute("TRUNCATE ledger")
        assert decoding.advance(conn, upto) == upto
        assert decoding.slot_position(conn) == upto
    with psycopg.connect(dsn, autocommit=True) as conn:
        upto = decoding.current_lsn(conn)
    with psycopg.connect(dsn) as conn:
        later = decoding.read_changes(conn, upto, keys)
    assert later.keys == {"payments": {(ids["after-upto"],)}} and later.whole == {"ledger": "truncated"}
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert decoding.drop_slot(conn) and decoding.slot_position(conn) is None


def test_a_switch_compares_in_its_freeze_only_the_rows_changed_since_its_checkpoint(migration_setup):
    setup, m = migration_setup, migration_setup.migration
    assert switch(m, "switchover").outcome == "completed"
    checkpoint, verify = entries(m, "checkpoint")[-1], entries(m, "verify")[-1]
    assert checkpoint["mode"] == "full"  # no checkpoint yet: slots created, every table compared before the freeze
    assert verify["mode"] == "narrow" and verify["keys"] == 0 and verify["whole"] == {}, (checkpoint, verify)
    assert "sentinel" in entries(m, "drain")[-1]  # drained by the sentinel row, not the slot's reported position

    for i in range(30):
        assert app_insert(setup.target_app_dsn, f"between-{i}")
    wait_for(lambda: "between-29" in payment_keys(m.source.admin_dsn), what="reverse replication")
    assert switch(m, "rollback").outcome == "completed"
    checkpoint, verify = entries(m, "checkpoint")[-1], entries(m, "verify")[-1]
    assert checkpoint["mode"] == "narrow" and checkpoint["keys"] == 30 and checkpoint["tables"] == ["payments"]
    # compared at the checkpoint; some again in the freeze: the apply worker commits asynchronously on the source,
    # so a row applied there just before the checkpoint may be in the next window (never in none)
    assert verify["mode"] == "narrow" and verify["keys"] <= 30 and verify["whole"] == {}
    assert verify["checkpoint"] == entries(m, "verify")[-1]["checkpoint"]
    for side, db in (("source", m.source), ("target", m.target)):
        with db.connect() as conn:
            assert decoding.slot_position(conn) == verify["checkpoint"][side]  # the next switch's checkpoint
    assert "between-" not in m.journal.path.read_text()


def plant_at(step: str, when: str, database: str, sql: str):
    """A fault hook that runs ``sql`` as the admin role (a role the freeze does not freeze) on ``database``."""
    def fault(current: str, moment: str) -> None:
        if (current, moment) == (step, when):
            with fault.migration.source.connect() if database == "source" else fault.migration.target.connect() as conn:
                conn.execute("SET default_transaction_read_only = off")
                conn.execute("SET synchronous_commit = on")  # these test servers default to off (see decoding)
                conn.execute(sql)
    return fault


@pytest.mark.parametrize("step, sql", [
    # just before the freeze, after the checkpoint: a row of the new writer changed behind replication's back
    ("freeze", "UPDATE payments SET amount_cents = amount_cents + 1 WHERE idempotency_key = 'initial-3'"),
    # during the freeze, after the drain, by a role that is not frozen: a row deleted, a row added
    ("verify", "DELETE FROM payments WHERE idempotency_key = 'initial-5'"),
    ("verify", "INSERT INTO payments (idempotency_key, amount_cents, currency) VALUES ('planted', 1, 'EUR')"),
    ("verify", "TRUNCATE payments"),
])
def test_a_change_planted_on_the_new_writer_before_or_during_the_freeze_abandons_the_switch(migration_setup, step,
                                                                                           sql, monkeypatch):
    setup, m = migration_setup, migration_setup.migration
    assert switch(m, "switchover").outcome == "completed"  # a checkpoint exists: the rollback's checks are narrow
    assert app_insert(setup.target_app_dsn, "on-the-target")
    wait_for(lambda: "on-the-target" in payment_keys(m.source.admin_dsn), what="reverse replication")
    m.fault = plant_at(step, "before", "source", sql)
    m.fault.migration = m
    with pytest.raises(Abandoned, match="tables differ after the drain: payments"):
        switch(m, "rollback")
    assert setup.accepting() == ["target"]  # nothing switched, the target writes on
    assert entries(m, "checkpoint")[-1]["mode"] == "narrow"
    failed = [e for e in m.journal.entries() if e.step == "verify" and e.status == "failed"]
    assert len(failed) == 1 and "on-the-target" in payment_keys(m.target.admin_dsn)


def test_negative_control_without_the_key_comparison_the_planted_change_goes_through(migration_setup, monkeypatch):
    """The planted change of the test above is caught by the window's key comparison and by nothing else."""
    setup, m = migration_setup, migration_setup.migration
    assert switch(m, "switchover").outcome == "completed"
    monkeypatch.setattr(narrow, "compare_keys", lambda sides, changes, catalogs, schema="public": {})
    m.fault = plant_at("verify", "before", "source",
                       "UPDATE payments SET amount_cents = amount_cents + 1 WHERE idempotency_key = 'initial-3'")
    m.fault.migration = m
    assert switch(m, "rollback").outcome == "completed"  # the difference was not seen


def test_a_slot_moved_or_dropped_is_no_checkpoint_and_the_switch_compares_whole_tables(migration_setup):
    setup, m = migration_setup, migration_setup.migration
    assert switch(m, "switchover").outcome == "completed"
    with m.source.connect() as conn:
        decoding.drop_slot(conn)
    assert switch(m, "rollback").outcome == "completed"
    assert entries(m, "checkpoint")[-1]["mode"] == "full"  # no usable checkpoint: every table before the freeze

    def move_the_slot(current: str, moment: str) -> None:  # someone consumes the slot between checkpoint and verify
        if (current, moment) == ("verify", "before"):
            with m.target.connect() as conn:
                conn.execute("SELECT pg_switch_wal()")  # WAL past the checkpoint, so that the slot can move
                conn.execute("SELECT pg_replication_slot_advance(%s, pg_current_wal_insert_lsn())",
                             (decoding.slot_name(conn),))
    m.fault = move_the_slot
    assert app_insert(setup.source_app_dsn, "moved")
    assert switch(m, "switchover").outcome == "completed"
    verify = entries(m, "verify")[-1]
    assert verify["mode"] == "tables" and verify["reason"].startswith("no usable checkpoint")


def test_the_window_ends_past_every_acknowledged_commit_even_an_asynchronous_one(payment_databases):
    """``decoding.current_lsn`` makes the WAL durable to the window's end: a commit acknowledged with
    ``synchronous_commit = off`` and not flushed yet by the WAL writer is in the window. The WAL writer is stopped
    (SIGSTOP) meanwhile, so nothing else flushes that commit: the negative control, the flush position read alone,
    leaves it out every time."""
    import os
    import signal

    dsn = payment_databases.source_admin
    with psycopg.connect(dsn, autocommit=True) as conn, psycopg.connect(dsn, autocommit=True) as writer:
        start = decoding.create_slot(conn)
        walwriter = conn.execute("SELECT pid FROM pg_stat_activity WHERE backend_type = 'walwriter'").fetchone()[0]
        writer.execute("SET synchronous_commit = off")
        os.kill(walwriter, signal.SIGSTOP)
        try:
            writer.execute("INSERT INTO payments (idempotency_key, amount_cents, currency) "
                           "VALUES ('acknowledged-async', 1, 'EUR')")
            committed = writer.execute("SELECT pg_current_wal_insert_lsn()::text").fetchone()[0]
            flushed_alone = conn.execute("SELECT pg_current_wal_flush_lsn()::text").fetchone()[0]
            end = decoding.current_lsn(conn)
        finally:
            os.kill(walwriter, signal.SIGCONT)
        lsn = "SELECT %s::pg_lsn {} %s::pg_lsn"
        assert conn.execute(lsn.format("<"), (flushed_alone, committed)).fetchone()[0]  # negative control
        assert conn.execute(lsn.format(">="), (end, committed)).fetchone()[0]
    with psycopg.connect(dsn) as conn:
        from cutover.catalog import read_catalog

        keys = decoding.key_columns(read_catalog(conn, "public"))
        conn.rollback()
        found = decoding.read_changes(conn, end, keys)
        key = conn.execute("SELECT id::text FROM payments WHERE idempotency_key = 'acknowledged-async'").fetchone()
    assert start and found.keys["payments"] == {key}


def held_apply(writer, subscriber, seconds: float):
    """A payment updated on ``writer`` while a session on ``subscriber`` holds that row (``FOR UPDATE``): the apply
    worker waits on it, so the update is in flight, for ``seconds``."""
    import threading

    holder = psycopg.connect(subscriber.admin_dsn)
    holder.execute("SELECT 1 FROM payments WHERE idempotency_key = 'initial-2' FOR UPDATE")
    with psycopg.connect(writer.admin_dsn, autocommit=True) as conn:
        conn.execute("UPDATE payments SET amount_cents = amount_cents + 7 WHERE idempotency_key = 'initial-2'")
    timer = threading.Timer(seconds, holder.close)  # the row released: the apply worker goes on
    timer.start()
    return timer


def test_keys_in_flight_at_the_checkpoint_are_compared_again_once_a_sentinel_came_through(migration_setup,
                                                                                          monkeypatch):
    """The checkpoint's window holds a key the replication has not applied yet (its apply held): the switch waits
    for a sentinel written after the window (commit order: once it is applied, so is the key), compares the key
    again, equal now, and goes on. Negative control: held longer than the wait, the switch is refused."""
    import cutover.switchover as switchover

    m = migration_setup.migration
    assert switch(m, "switchover").outcome == "completed"
    timer = held_apply(m.target, m.source, 1.5)
    assert switch(m, "rollback").outcome == "completed"
    timer.join()
    checkpoint = entries(m, "checkpoint")[-1]
    assert checkpoint["mode"] == "narrow" and checkpoint["applied_by"] == "sentinel", checkpoint
    assert checkpoint["deferred_keys"] == 0

    monkeypatch.setattr(switchover, "CHECKPOINT_WAIT_SECONDS", 1.0)
    timer = held_apply(m.source, m.target, 4.0)
    with pytest.raises(switchover.Refused, match=r"replication forward did not apply .* within 1.0 s"):
        switch(m, "switchover")
    timer.join()
