"""Without verify slots (``Policy.verify_slots = False``), a switch's ``verify`` compares only the tables changed since
the last full validation (``cutover.baseline``): two real PostgreSQL servers with logical replication, the journal's
``verify`` entries say what was compared. The verify slots' narrow check: ``tests/test_cutover_narrow.py``."""

from __future__ import annotations

import json

import psycopg
import pytest

from cutover.baseline import read_counters, sessions_older_than
from cutover.journal import Journal
from cutover.switchover import Abandoned, Policy, switch
from tests.cutover_fixtures import (  # noqa: F401  (fixtures)
    APP_ROLE, app_insert, aws, migration_setup, payment_databases, payment_keys, pg_pair, wait_for,
)
from tests.test_cutover_cli import all_traffic_on_the_new_side, environment, run  # noqa: F401  (fixture)

REFUNDS = f"""
CREATE TABLE refunds (
    id bigserial PRIMARY KEY,
    payment_key text NOT NULL,
    amount_cents bigint NOT NULL
);
GRANT SELECT, INSERT ON refunds TO {APP_ROLE};
GRANT USAGE ON SEQUENCE refunds_id_seq TO {APP_ROLE};
INSERT INTO refunds (payment_key, amount_cents) VALUES ('initial-1', 100), ('initial-2', 200);
"""


@pytest.fixture
def refunds(payment_databases):  # noqa: F811
    """A second table on both sides, two refunds on the source (requested before ``migration_setup``, so that the
    full load copies it)."""
    for dsn in (payment_databases.source_admin, payment_databases.target_admin):
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(REFUNDS if dsn == payment_databases.source_admin else REFUNDS.rsplit("INSERT", 1)[0])
    return payment_databases


def settled(setup) -> None:
    """Wait until the full load's counts reached the target's statistics (the copy workers flush them as they
    exit): nothing else writes until the test does."""
    target = setup.migration.target.admin_dsn
    wait_for(lambda: {name: t["changes"] for name, t in read_counters(target, "target")["tables"].items()}
             == {"payments": 20, "refunds": 2}, what="the full load counted on the target")


def verified(m) -> list[dict]:
    """The details of every ``verify`` done, oldest first."""
    return [e.details for e in m.journal.entries() if e.step == "verify" and e.status == "done"]


def app_refund(dsn: str, key: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO refunds (payment_key, amount_cents) VALUES (%s, 50)", (key,))


def refund_keys(dsn: str) -> set[str]:
    with psycopg.connect(dsn) as conn:
        return {row[0] for row in conn.execute("SELECT payment_key FROM refunds")}


def test_a_second_switch_compares_only_the_tables_written_since_the_first(refunds, migration_setup):
    setup, m = migration_setup, migration_setup.migration
    m.policy = Policy(freeze_limit_seconds=20, verify_slots=False)
    settled(setup)
    assert switch(m, "switchover").outcome == "completed"
    first = verified(m)[-1]
    assert (first["tables"], first["of"], first["full"]) == (2, 2, True)
    assert first["reason"].startswith("no baseline")

    # nothing written since: the rollback compares no table at all
    assert switch(m, "rollback").outcome == "completed"
    second = verified(m)[-1]
    assert (second["tables"], second["checked"], second["full"]) == (0, [], False)
    assert second["reason"].startswith("0 of 2 tables changed since the full validation of ")

    # one refund on the writer (the source again), replicated: the next switchover compares refunds only
    app_refund(setup.source_app_dsn, "refund-between-switches")
    wait_for(lambda: "refund-between-switches" in refund_keys(m.target.admin_dsn), what="forward replication")
    assert switch(m, "switchover").outcome == "completed"
    third = verified(m)[-1]
    assert (third["tables"], third["checked"], third["of"], third["full"]) == (1, ["public.refunds"], 2, False)
    assert third["rows"] == 3
    # the journal holds names, counts and hashes: no row value
    assert "refund-between-switches" not in m.journal.path.read_text()


@pytest.mark.parametrize("reset", ["SELECT pg_stat_reset()",
                                   "SELECT pg_stat_reset_single_table_counters('refunds'::regclass)"])
def test_counters_reset_since_the_baseline_make_verify_compare_every_table(refunds, migration_setup, reset):
    setup, m = migration_setup, migration_setup.migration
    m.policy = Policy(freeze_limit_seconds=20, verify_slots=False)
    settled(setup)
    assert switch(m, "switchover").outcome == "completed"
    with m.source.connect() as conn:
        conn.execute(reset)
    assert switch(m, "rollback").outcome == "completed"
    details = verified(m)[-1]
    assert (details["tables"], details["full"]) == (2, True)
    assert "statistics were reset" in details["reason"] and "checked" not in details


def test_a_baseline_of_another_schema_or_none_at_all_compares_every_table(refunds, migration_setup):
    setup, m = migration_setup, migration_setup.migration
    m.policy = Policy(freeze_limit_seconds=20, verify_slots=False)
    settled(setup)
    assert switch(m, "switchover").outcome == "completed"
    journal = m.journal.path
    # the baseline's journal entry lost (an operator started a new journal): every table again
    journal.write_text("".join(line + "\n" for line in journal.read_text().splitlines()
                               if '"step": "verify"' not in line))
    assert switch(m, "rollback").outcome == "completed"
    details = verified(m)[-1]
    assert (details["tables"], details["full"]) == (2, True) and details["reason"].startswith("no baseline")


@pytest.mark.parametrize("plant", [
    "UPDATE payments SET amount_cents = amount_cents + 1 WHERE idempotency_key = 'initial-3'",
    "TRUNCATE refunds",  # counts no deleted row: the new relfilenode tells
    "ALTER TABLE refunds ADD COLUMN note text",  # DDL moves no counter: the definition hash tells
])
def test_a_difference_planted_after_the_baseline_abandons_the_switch_with_nothing_lost(refunds, migration_setup,
                                                                                        plant):
    setup, m = migration_setup, migration_setup.migration
    m.policy = Policy(freeze_limit_seconds=20, verify_slots=False)
    settled(setup)
    assert switch(m, "switchover").outcome == "completed"
    assert app_insert(setup.target_app_dsn, "on-the-target")
    wait_for(lambda: "on-the-target" in payment_keys(m.source.admin_dsn), what="reverse replication")
    with m.source.connect() as conn:  # behind the replication's back, on the database that is not the writer
        conn.execute(plant)
    with pytest.raises(Abandoned, match="tables differ"):
        switch(m, "rollback")
    assert setup.accepting() == ["target"]
    assert "on-the-target" in payment_keys(m.target.admin_dsn)
    failed = [e for e in m.journal.entries() if e.step == "verify" and e.status == "failed"]
    assert len(failed) == 1


def test_an_equal_cutover_validate_e_is_the_baseline_of_the_next_switchover(environment, payment_databases, capsys,
                                                                             monkeypatch):
    from cutover import environment as deployed

    state = ["--state-dir", str(environment)]
    monkeypatch.setattr(deployed, "environment_dsns",
                        lambda name: (payment_databases.source_admin, payment_databases.target_admin))
    assert run(capsys, "replication", "start", *state)[0] == 0
    wait_for(lambda: json.loads(run(capsys, "status", "--json", *state)[1])["replication"]["forward"]["state"]
             == "running", what="full load")
    wait_for(lambda: read_counters(payment_databases.target_admin, "target")["tables"]["payments"]["changes"] == 20,
             what="the full load counted on the target")
    code, out, err = run(capsys, "validate", "-e", "dev", "--tables", "payments", *state)
    assert code == 0 and "baseline" not in out, err  # a partial validation is no baseline
    code, out, err = run(capsys, "validate", "-e", "dev", *state)
    assert code == 0 and "baseline recorded" in out, err
    recorded = [e for e in Journal(environment).entries() if e.operation == "validate"]
    assert [(e.step, e.status) for e in recorded] == [("validate", "done"), ("end", "end")]
    assert set(recorded[0].details["counters"]) == {"source", "target"}

    all_traffic_on_the_new_side()
    code, out, err = run(capsys, "switchover", *state)
    assert code == 0, err
    document = json.loads(run(capsys, "status", "--json", *state)[1])
    # the command's switch uses the verify slots: its freeze compared the rows written since its checkpoint (none)
    assert (document["last_verify"]["mode"], document["last_verify"]["keys"]) == ("narrow", 0)
    # its first checkpoint compared every table before the freeze: the last full validation now
    assert document["last_validation"]["step"] == "checkpoint" and "counters" not in document["last_validation"]
    code, out, _ = run(capsys, "status", *state)
    assert code == 0 and "0 keys of 0 tables and 0 whole tables compared" in out and "1 table equal" in out
    assert "(checkpoint)" in out


def test_cutover_validate_e_records_no_baseline_while_another_operator_holds_the_lock(environment, payment_databases,
                                                                                     capsys, monkeypatch):
    from cutover import environment as deployed

    state = ["--state-dir", str(environment)]
    monkeypatch.setattr(deployed, "environment_dsns",
                        lambda name: (payment_databases.source_admin, payment_databases.target_admin))
    assert run(capsys, "replication", "start", *state)[0] == 0
    wait_for(lambda: payment_keys(payment_databases.target_admin) == payment_keys(payment_databases.source_admin),
             what="the full load")
    other = Journal(environment)
    other.owner = "someone@else"
    other.acquire()
    code, out, err = run(capsys, "validate", "-e", "dev", *state)
    assert code == 0 and "baseline not recorded: another operator holds the migration lock: someone@else" in out, err
    assert not [e for e in Journal(environment).entries() if e.operation == "validate"]


def test_sessions_of_the_role_older_than_the_freeze_are_counted(payment_databases):  # noqa: F811
    with psycopg.connect(payment_databases.source_app, autocommit=True) as session:
        session.execute("SELECT 1")
        wait_for(lambda: sessions_older_than(payment_databases.source_admin, "source", [APP_ROLE], 0.01) == 1,
                 what="the session older than 10 ms")
        assert sessions_older_than(payment_databases.source_admin, "source", [APP_ROLE], 3600) == 0
        assert sessions_older_than(payment_databases.target_admin, "target", [APP_ROLE], 0.01) == 0
