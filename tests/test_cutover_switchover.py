"""Phase 2 on two real PostgreSQL servers with logical replication: switchover, rollback, faults, limits."""

from __future__ import annotations

import pytest

from cutover.errors import CutoverError
from cutover.checks import compare_tables
from cutover.switchover import POINT_OF_NO_RETURN, STEPS, Abandoned, Refused, abandon, incomplete_run, resume, switch
from tests.cutover_fixtures import (  # noqa: F401  (fixtures)
    app_insert, aws, migration_setup, payment_databases, payment_keys, pg_pair, wait_for,
)


class SimulatedCrash(BaseException):
    """The process killed between two steps (a BaseException: nothing of the tool may catch it)."""


def crash_at(step: str, when: str):
    def fault(current: str, moment: str) -> None:
        if (current, moment) == (step, when):
            raise SimulatedCrash(f"{step} {when}")
    return fault


def assert_only_writer(setup, name: str) -> None:
    """The invariant: exactly one database accepts application writes, the one the writer name points at."""
    m = setup.migration
    assert setup.accepting() == [name]
    assert m.writer.value() == (m.source if name == "source" else m.target).address


def assert_equal(setup) -> None:
    """Both databases hold the same rows once the running replication has caught up."""
    m = setup.migration
    wait_for(lambda: all(t.equal for t in compare_tables(m.source.admin_dsn, m.target.admin_dsn)), timeout=20,
             what=f"equal tables: {compare_tables(m.source.admin_dsn, m.target.admin_dsn)}")


def test_switchover_then_rollback_then_switchover_keep_every_payment_and_one_writer(migration_setup):
    setup, m = migration_setup, migration_setup.migration
    assert_only_writer(setup, "source")
    result = switch(m, "switchover")
    assert result.outcome == "completed" and 0 < result.freeze_seconds < 20
    assert_only_writer(setup, "target")
    assert app_insert(setup.target_app_dsn, "after-switchover")
    wait_for(lambda: "after-switchover" in payment_keys(m.source.admin_dsn), what="reverse replication")
    assert m.reverse.status().state == "running" and m.forward.status().state == "stopped"
    with pytest.raises(Refused, match="the writer name points at the target already: this switchover is done"):
        switch(m, "switchover")  # a second switchover is refused before anything is frozen
    assert_only_writer(setup, "target")

    assert switch(m, "rollback").outcome == "completed"
    assert_only_writer(setup, "source")
    assert app_insert(setup.source_app_dsn, "after-rollback")
    wait_for(lambda: "after-rollback" in payment_keys(m.target.admin_dsn), what="forward replication again")

    assert switch(m, "switchover").outcome == "completed"
    assert_only_writer(setup, "target")
    assert_equal(setup)
    keys = payment_keys(m.target.admin_dsn)
    assert {"after-switchover", "after-rollback"} | {f"initial-{i}" for i in range(20)} <= keys
    # the new writer's sequences are past the old one's: a new payment gets a fresh id
    assert app_insert(setup.target_app_dsn, "fresh-id")
    outcomes = [e.details["outcome"] for e in m.journal.entries() if e.status == "end"]
    assert outcomes == ["completed", "refused", "completed", "completed"]


@pytest.mark.parametrize("when", ["before", "after"])
@pytest.mark.parametrize("step", STEPS)
def test_killed_at_any_step_then_resumed_completes_with_nothing_lost(migration_setup, step, when):
    setup, m = migration_setup, migration_setup.migration
    m.fault = crash_at(step, when)
    with pytest.raises(SimulatedCrash):
        switch(m, "switchover")
    assert len(setup.accepting()) <= 1  # never two writers, even half-way
    assert incomplete_run(m.journal)[-1].step == step
    m.fault = None
    assert resume(m).outcome == "completed"
    assert_only_writer(setup, "target")
    assert_equal(setup)
    assert {f"initial-{i}" for i in range(20)} <= payment_keys(m.target.admin_dsn)


@pytest.mark.parametrize("step", [s for s in STEPS if STEPS.index(s) < STEPS.index(POINT_OF_NO_RETURN)])
def test_killed_before_the_point_of_no_return_then_rolled_back_leaves_the_source_the_writer(migration_setup, step):
    setup, m = migration_setup, migration_setup.migration
    m.fault = crash_at(step, "after")
    with pytest.raises(SimulatedCrash):
        switch(m, "switchover")
    m.fault = None
    with pytest.raises(Abandoned):
        abandon(m)
    assert incomplete_run(m.journal) == []
    assert_only_writer(setup, "source")
    assert m.forward.status().state in ("running", "starting")
    assert app_insert(setup.source_app_dsn, "after-abandon")
    wait_for(lambda: "after-abandon" in payment_keys(m.target.admin_dsn), what="forward replication resumed")


def test_past_the_point_of_no_return_an_interrupted_switch_only_goes_forward(migration_setup):
    m = migration_setup.migration
    m.fault = crash_at(POINT_OF_NO_RETURN, "after")
    with pytest.raises(SimulatedCrash):
        switch(m, "switchover")
    m.fault = None
    with pytest.raises(CutoverError, match="past switch-writer"):
        abandon(m)
    with pytest.raises(CutoverError, match="interrupted at step switch-writer"):
        switch(m, "switchover")
    assert resume(m).outcome == "completed"
    assert_only_writer(migration_setup, "target")


def test_stalled_replication_makes_switchover_refuse_before_freezing(migration_setup):
    setup, m = migration_setup, migration_setup.migration
    m.forward.stop()  # a stalled apply: the subscription does not run
    with pytest.raises(Refused, match="replication forward is stopped"):
        switch(m, "switchover")
    assert not m.source.frozen()
    assert_only_writer(setup, "source")
    assert [e.step for e in m.journal.entries() if e.status == "begin"] == ["check"]


def test_a_switchover_past_its_freeze_limit_is_abandoned_with_nothing_lost(migration_setup):
    setup, m = migration_setup, migration_setup.migration
    acknowledged = {f"before-freeze-{i}" for i in range(5) if app_insert(setup.source_app_dsn, f"before-freeze-{i}")}

    def stall_after_the_check(step: str, when: str) -> None:
        if (step, when) == ("freeze", "before"):
            m.forward.stop()  # replication stalls after the check passed ...
            assert app_insert(setup.source_app_dsn, "last-before-freeze")  # ... with a payment still to apply
            acknowledged.add("last-before-freeze")
    m.fault = stall_after_the_check
    m.policy = type(m.policy)(freeze_limit_seconds=0.5)
    with pytest.raises(Abandoned, match="limit"):
        switch(m, "switchover")
    m.fault = None
    assert_only_writer(setup, "source")
    assert len(acknowledged) == 6 and acknowledged <= payment_keys(m.source.admin_dsn)
    m.forward.resume()  # the operator repairs the stalled replication (`cutover replication resume`)
    wait_for(lambda: acknowledged <= payment_keys(m.target.admin_dsn), what="forward replication resumed")
    end = m.journal.entries()[-1]
    assert (end.step, end.details["outcome"]) == ("end", "abandoned")


LEGACY_ROLE = "paymig_test_legacy"
"""A legacy application's own role: it writes to the source directly, not through the application role."""


def test_a_legacy_role_writes_on_the_source_until_the_switchover_and_again_after_rollback(migration_setup):
    import dataclasses

    import psycopg

    setup, m = migration_setup, migration_setup.migration
    with m.source.connect() as conn:  # roles are the server's: created once, granted in this test's database
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (LEGACY_ROLE,)).fetchone():
            conn.execute(f"CREATE ROLE {LEGACY_ROLE} LOGIN")
        conn.execute(f"GRANT SELECT, INSERT ON payments TO {LEGACY_ROLE}; "
                     f"GRANT USAGE ON SEQUENCE payments_id_seq TO {LEGACY_ROLE}")
    m.source = dataclasses.replace(m.source, legacy_roles=(LEGACY_ROLE,))  # what --legacy-role does (source only)
    legacy_dsn = psycopg.conninfo.make_conninfo(m.source.admin_dsn, user=LEGACY_ROLE)
    probes = iter(range(1000))

    def legacy_writes() -> bool:
        return app_insert(legacy_dsn, f"legacy-{next(probes)}")

    assert legacy_writes()
    during = {}

    def probe(step: str, when: str) -> None:  # between the steps of the switchover, once the source is frozen
        if (step, when) in {("drain", "before"), ("switch-writer", "after"), ("unfreeze", "after")}:
            during[step] = legacy_writes()

    m.fault = probe
    assert switch(m, "switchover").outcome == "completed"
    m.fault = None
    assert during == {"drain": False, "switch-writer": False, "unfreeze": False}
    assert not legacy_writes()  # after: the source refuses the legacy application's writes too
    assert m.source.frozen() and not m.target.frozen()
    freeze = next(e for e in m.journal.entries() if e.step == "freeze" and e.status == "done")
    assert freeze.details["roles"] == [m.source.app_role, LEGACY_ROLE]  # names only, no secret

    assert switch(m, "rollback").outcome == "completed"
    assert_only_writer(setup, "source")
    assert legacy_writes()  # after rollback the source is the writer again, for every application
    assert not m.source.frozen()


def test_a_missing_legacy_role_refuses_the_switchover_before_freezing(migration_setup):
    import dataclasses

    setup, m = migration_setup, migration_setup.migration
    m.source = dataclasses.replace(m.source, legacy_roles=("paymig_no_such_role",))
    with pytest.raises(Refused, match="the source database has no role paymig_no_such_role"):
        switch(m, "switchover")
    assert not m.source.frozen()
    assert_only_writer(setup, "source")


def test_a_switch_journals_and_reports_where_its_freeze_went(migration_setup):
    from cutover.switchover import FREEZE_PARTS

    m = migration_setup.migration
    lines: list[str] = []
    m.progress = lines.append
    result = switch(m, "switchover")
    assert list(result.freeze_parts_ms) == list(FREEZE_PARTS) == ["freeze", "drain", "verify", "sequences",
                                                                  "stop-replication", "switch-writer",
                                                                  "start-replication", "unfreeze"]
    assert all(isinstance(ms, int) and ms >= 0 for ms in result.freeze_parts_ms.values())
    run = [e for e in m.journal.entries() if e.run == result.run]
    done = {e.step: e for e in run if e.status == "done"}
    assert {step: done[step].details["duration_ms"] for step in FREEZE_PARTS} == result.freeze_parts_ms
    end = run[-1]
    assert end.details["freeze_parts_ms"] == result.freeze_parts_ms
    frozen_ms = (done["unfreeze"].at - next(e.at for e in run if e.step == "freeze" and e.status == "begin")) * 1000
    assert sum(result.freeze_parts_ms.values()) <= frozen_ms + len(FREEZE_PARTS)  # parts lie inside the freeze
    assert any(line.startswith("switchover: write freeze ") and " drain " in line for line in lines), lines
