"""A DMS direction drained by the sentinel row, and the forward direction restarted CDC-only after a rollback,
against a fake DMS that moves data (:class:`ApplyingDms`) on real PostgreSQL.

:class:`ApplyingDms` extends the fake of ``tests/test_cutover_dms_start.py`` (every request checked against
botocore's model) with what a running task does: in a thread of its own, every 20 ms, it reads its slot
(``pg_logical_slot_get_changes``: the slot's ``confirmed_flush_lsn`` moves as it confirms) and applies, one source
transaction at a time in commit order (transactional apply), the inserts of the tables its ``TableMappings``
select, on the subscriber. A table the mappings do not select is skipped, as DMS does; a change it cannot apply
(an update, a delete, a duplicate key) fails the task.
"""

from __future__ import annotations

import json
import re
import threading
from typing import Any

import boto3
import psycopg
import pytest

from cutover.database import Database
from cutover.errors import CutoverError
from cutover.journal import Journal
from cutover.replication.dms import DmsReplication, selects
from cutover.switchover import switch
from tests.cutover_fixtures import (  # noqa: F401  (fixtures)
    APP_ROLE, aws, app_insert, migration_setup, payment_databases, payment_keys, pg_pair, wait_for,
)
from tests.test_cutover_cli import environment, run  # noqa: F401  (fixture)
from tests.test_cutover_dms_start import TASK_ARN, FakeDms, slot_lsn

SLOT = "paymig_dms_forward"
PUBLIC = {"rule-type": "selection", "rule-id": "1", "rule-name": "include-public", "rule-action": "include",
          "object-locator": {"schema-name": "public", "table-name": "%"}}
SENTINEL_RULE = {"rule-type": "selection", "rule-id": "2", "rule-name": "include-cutover-sentinel",
                 "rule-action": "include", "object-locator": {"schema-name": "cutover", "table-name": "sentinel"}}
_CHANGE = re.compile(r"^table (\w+)\.(\w+): (\w+): (.*)$")
_COLUMN = re.compile(r"(\w+)\[[^\]]+\]:('(?:[^']|'')*'|\S+)")


class ApplyingDms(FakeDms):
    """The fake DMS of ``test_cutover_dms_start`` for one task that, once running, applies what it reads (see the
    module docstring). ``rules``: its table mappings' rules."""

    def __init__(self, publisher_dsn: str, subscriber_dsn: str, rules: list[dict[str, Any]], **kwargs: Any) -> None:
        super().__init__(publisher_dsn, subscriber_dsn, **kwargs)
        self.task["TableMappings"] = json.dumps({"rules": rules})
        self.rules = rules
        self.applied: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.on_running = self._run

    def _selected(self, schema: str, table: str) -> bool:  # the fake's own reading of the selection rules
        def hit(pattern: str, name: str) -> bool:
            return pattern in ("%", name)
        return any(r["rule-type"] == "selection" and r["rule-action"] == "include"
                   and hit(r["object-locator"]["schema-name"], schema) and hit(r["object-locator"]["table-name"], table)
                   for r in self.rules)

    def start_replication_task(self, **params: Any) -> dict[str, Any]:
        if self.task["MigrationType"] != "cdc" and not (self.endpoint.get("PostgreSQLSettings") or {}).get("SlotName"):
            self._call("StartReplicationTask", params)  # a full load and CDC: DMS creates a slot of its own
            self.task.update(Status="starting", ReplicationTaskStartDate="2026-01-01T00:00:00Z")
            self._polls = 0
            return {"ReplicationTask": dict(self.task)}
        return super().start_replication_task(**params)

    def describe_replication_instances(self, **params: Any) -> dict[str, Any]:
        self._call("DescribeReplicationInstances", params)
        return {"ReplicationInstances": [{"ReplicationInstanceIdentifier": "paymig-test-dms"}]}

    def describe_table_statistics(self, **params: Any) -> dict[str, Any]:
        raise NotImplementedError  # DmsReplication.status shows no per-table progress then

    def stop_replication_task(self, **params: Any) -> dict[str, Any]:
        answer = super().stop_replication_task(**params)
        self.close()
        return answer

    def _run(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._apply_loop, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    def _apply_loop(self) -> None:
        slot = self.endpoint["PostgreSQLSettings"]["SlotName"]
        with psycopg.connect(self.publisher_dsn, autocommit=True) as source, \
                psycopg.connect(self.subscriber_dsn, autocommit=True) as target:
            while not self._stop.wait(0.02):
                rows = source.execute("SELECT data FROM pg_logical_slot_get_changes(%s, NULL, NULL)", (slot,))
                try:
                    self._apply([data for (data,) in rows.fetchall()], target)
                except (ValueError, psycopg.Error) as error:
                    self.task.update(Status="failed", LastFailureMessage=f"apply: {type(error).__name__}")
                    return

    def _apply(self, lines: list[str], target: Any) -> None:
        transaction: list[tuple[str, str, dict[str, str | None]]] = []
        for line in lines:
            if line.startswith("BEGIN"):
                transaction = []
            elif line.startswith("COMMIT"):
                if transaction:
                    with target.transaction():
                        for schema, table, values in transaction:
                            target.execute(f"INSERT INTO {schema}.{table} ({', '.join(values)}) VALUES "
                                           f"({', '.join(['%s'] * len(values))})", list(values.values()))
                            self.applied[f"{schema}.{table}"] = self.applied.get(f"{schema}.{table}", 0) + 1
            elif (change := _CHANGE.match(line)) and self._selected(change[1], change[2]):
                if change[3] != "INSERT":
                    raise ValueError(f"{change[3]} on {change[1]}.{change[2]}")
                values = {name: None if value == "null" else value.strip("'").replace("''", "'") if
                          value.startswith("'") else value for name, value in _COLUMN.findall(change[4])}
                transaction.append((change[1], change[2], values))


def test_selects_reads_selection_rules_as_dms_does():
    assert selects({"rules": [PUBLIC, SENTINEL_RULE]}, "cutover", "sentinel")
    assert not selects({"rules": [PUBLIC]}, "cutover", "sentinel")  # public.% only
    assert selects({"rules": [{**PUBLIC, "object-locator": {"schema-name": "cut%", "table-name": "%nel"}}]},
                   "cutover", "sentinel")
    assert not selects({"rules": [PUBLIC, SENTINEL_RULE, {**SENTINEL_RULE, "rule-id": "3", "rule-action": "exclude"}]},
                       "cutover", "sentinel")
    assert not selects({"rules": [{**SENTINEL_RULE, "rule-type": "transformation"}]}, "cutover", "sentinel")
    assert not selects({"rules": [{**SENTINEL_RULE, "object-locator": {"schema-name": "Cutover",
                                                                       "table-name": "sentinel"}}]},
                       "cutover", "sentinel")  # case-sensitive


# --- a switchover whose old direction is a DMS task ------------------------------------------------------------
def dms_forward(setup, rules: list[dict[str, Any]]) -> ApplyingDms:
    """The fixture's forward direction replaced by a DMS task over :class:`ApplyingDms`, started (its full load
    is the one native replication made) and running from ``paymig_dms_forward`` on the source."""
    m = setup.migration
    m.forward.drop()
    create_slot(m.source.admin_dsn)
    fake = ApplyingDms(m.source.admin_dsn, m.target.admin_dsn, rules, migration_type="full-load-and-cdc")
    fake.endpoint["PostgreSQLSettings"] = {"SlotName": SLOT}
    m.forward = DmsReplication("forward", fake, boto3.client("cloudwatch", region_name="us-east-1"), TASK_ARN,
                               publisher=m.source, subscriber=m.target, poll_seconds=0.01)
    m.forward.start(initial_copy=True)
    m.forward.wait_running(10)
    for i in range(5):  # payments go on: the fake applies them
        assert app_insert(setup.source_app_dsn, f"during-dms-{i}")
    wait_for(lambda: payment_keys(m.target.admin_dsn) == payment_keys(m.source.admin_dsn), what="the fake's apply")
    return fake


def drain(m) -> dict[str, Any]:
    return [e for e in m.journal.entries() if e.step == "drain" and e.status == "done"][-1].details


def sentinel_rows(dsn: str) -> list[str]:
    with psycopg.connect(dsn) as conn:
        return [row[0] for row in conn.execute("SELECT token FROM cutover.sentinel ORDER BY written_at")]


def test_a_dms_switchover_drains_by_the_sentinel_the_task_applies(migration_setup):  # noqa: F811
    setup = migration_setup
    m = setup.migration
    fake = dms_forward(setup, [PUBLIC, SENTINEL_RULE])
    try:
        result = switch(m, "switchover")
    finally:
        fake.close()
    assert result.outcome == "completed" and setup.accepting() == ["target"]
    token = drain(m)["sentinel"]
    assert "applied_lsn" not in drain(m)
    assert sentinel_rows(m.target.admin_dsn) == [token]  # written on the source, applied by the task
    assert fake.applied["cutover.sentinel"] == 1 and fake.applied["public.payments"] == 5
    assert payment_keys(m.target.admin_dsn) == payment_keys(m.source.admin_dsn)


def test_negative_control_mappings_without_the_sentinel_drain_on_the_slot(migration_setup):  # noqa: F811
    """The task does not replicate cutover.sentinel: ``mark`` writes nothing (a row nobody applies would hold the
    drain until the freeze limit) and the drain waits on the slot's position, as before."""
    setup = migration_setup
    m = setup.migration
    fake = dms_forward(setup, [PUBLIC])
    assert m.forward.mark("never-written") is False
    try:
        result = switch(m, "switchover")
    finally:
        fake.close()
    assert result.outcome == "completed"
    details = drain(m)
    assert "sentinel" not in details and details["applied_lsn"]
    assert sentinel_rows(m.source.admin_dsn) == [] and "cutover.sentinel" not in fake.applied


def test_a_dms_task_whose_slot_no_endpoint_names_is_checked_by_its_cdc_latency(migration_setup):  # noqa: F811
    """DMS creates and names the forward task's slot itself (its endpoint names none): its lag in bytes is unknown,
    so ``check`` bounds the task's CDC latency (CloudWatch, here moto's) instead, and refuses when neither is
    known or the latency passes ``Policy.max_latency_seconds``."""
    from datetime import datetime, timedelta, timezone

    from cutover.switchover import Refused

    setup = migration_setup
    m = setup.migration
    fake = dms_forward(setup, [PUBLIC, SENTINEL_RULE])
    try:
        fake.endpoint["PostgreSQLSettings"] = {}  # the apply loop read its slot's name already
        m.forward = DmsReplication("forward", fake, boto3.client("cloudwatch", region_name="us-east-1"), TASK_ARN,
                                   publisher=m.source, subscriber=m.target, poll_seconds=0.01)
        assert m.forward.status().lag_bytes is None
        with pytest.raises(Refused, match="replication forward lag is unknown: no slot is named for it and no CDC "
                                          "latency is reported"):
            switch(m, "switchover")
        now = datetime.now(timezone.utc)
        dimensions = [{"Name": "ReplicationInstanceIdentifier", "Value": "paymig-test-dms"},
                      {"Name": "ReplicationTaskIdentifier", "Value": TASK_ARN.rsplit(":", 1)[-1]}]

        def latency(seconds: float, at: datetime) -> None:
            m.forward.cloudwatch.put_metric_data(Namespace="AWS/DMS", MetricData=[
                {"MetricName": "CDCLatencySource", "Dimensions": dimensions, "Timestamp": at, "Value": seconds}])

        latency(45, now - timedelta(minutes=2))
        with pytest.raises(Refused, match=r"replication forward CDC latency is 45 s \(bound 10 s\)"):
            switch(m, "switchover")
        # refused before anything was frozen (not setup.accepting(): its probe's DELETE would fail the fake task)
        assert (m.source.frozen(), m.target.frozen()) == (False, True)
        latency(2, now)
        result = switch(m, "switchover")
    finally:
        fake.close()
    assert result.outcome == "completed" and setup.accepting() == ["target"]
    check = [e for e in m.journal.entries() if e.step == "check" and e.status == "done"][-1].details
    assert (check["lag_bytes"], check["latency_seconds"]) == (None, 2.0)


# --- the forward direction restarted after a rollback -------------------------------------------------------------
def forward_through(monkeypatch, dbs, fake: ApplyingDms) -> None:
    """``cutover replication`` builds its forward direction as a DMS task over ``fake``."""
    from cutover.context import Context

    def replication(self, name):
        assert name == "forward"
        return DmsReplication("forward", fake, boto3.client("cloudwatch", region_name="us-east-1"), TASK_ARN,
                              publisher=self.database("source"), subscriber=self.database("target"),
                              poll_seconds=0.01)
    monkeypatch.setattr(Context, "replication", replication)


def rolled_back(state, source_dsn: str) -> str:
    """The journal of a rollback that moved the writer back to the source, its ``verify`` checkpoint the source's
    insert LSN now (returned)."""
    with psycopg.connect(source_dsn) as conn:
        lsn = conn.execute("SELECT pg_current_wal_insert_lsn()::text").fetchone()[0]
    journal = Journal(state)
    for step in ("check", "verify", "switch-writer", "unfreeze"):
        journal.write("rollback-1", "rollback", step, "begin")
        journal.write("rollback-1", "rollback", step, "done",
                      **({"checkpoint": {"source": lsn, "target": "0/0"}} if step == "verify" else {}))
    journal.write("rollback-1", "rollback", "end", "end", outcome="completed")
    return lsn


def create_slot(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SELECT pg_create_logical_replication_slot(%s, 'test_decoding')", (SLOT,))


def starts(fake: ApplyingDms) -> list[dict[str, Any]]:
    return [p for op, p in fake.calls if op == "StartReplicationTask"]


def test_forward_start_after_a_rollback_is_cdc_only_from_the_freeze_slot_and_waits_running(
        environment, payment_databases, monkeypatch, capsys):  # noqa: F811
    dbs = payment_databases
    state = ["--state-dir", str(environment)]
    fake = ApplyingDms(dbs.source_admin, dbs.target_admin, [PUBLIC, SENTINEL_RULE],
                       migration_type="full-load-and-cdc", ran_before=True)
    forward_through(monkeypatch, dbs, fake)
    create_slot(dbs.source_admin)  # a slot from before the rollback: the rows reverse applied since are in it
    assert app_insert(dbs.source_app, "applied-by-reverse")
    checkpoint = rolled_back(environment, dbs.source_admin)
    code, _, err = run(capsys, "replication", "start", "--direction", "forward", *state)
    assert code == 1 and f"slot {SLOT} on the source is at" in err and f"checkpoint {checkpoint} there" in err, err
    with psycopg.connect(dbs.source_admin, autocommit=True) as conn:
        conn.execute("SELECT pg_drop_replication_slot(%s)", (SLOT,))
    code, _, err = run(capsys, "replication", "start", "--direction", "forward", *state)
    assert code == 1 and "accepts writes and has no slot paymig_dms_forward" in err, err  # no slot of the freeze
    assert starts(fake) == []
    assert [e.status for e in Journal(environment).entries() if e.run == "replication-start-forward"][-2:] == [
        "failed", "end"]

    create_slot(dbs.source_admin)  # what the rollback's freeze created
    lsn = slot_lsn(dbs.source_admin, SLOT)
    assert app_insert(dbs.source_app, "after-the-rollback")  # the source writes again: in the slot
    try:
        code, out, err = run(capsys, "replication", "start", "--direction", "forward", *state)
        assert code == 0, err
        assert fake.task["Status"] == "running"  # waited for before returning
        assert starts(fake) == [{"ReplicationTaskArn": TASK_ARN, "StartReplicationTaskType": "start-replication",
                                 "CdcStartPosition": lsn}]
        assert fake.task["MigrationType"] == "cdc" and fake.endpoint["PostgreSQLSettings"]["SlotName"] == SLOT
        wait_for(lambda: "after-the-rollback" in payment_keys(dbs.target_admin), what="the payment since the freeze")
    finally:
        fake.close()
    assert payment_keys(dbs.target_admin) == {"after-the-rollback"}  # no full load, nothing sent back
    begin = [e for e in Journal(environment).entries() if e.run == "replication-start-forward"
             and e.status == "begin"][-1]
    assert begin.details["initial_copy"] is False


def test_negative_control_a_first_forward_start_is_the_full_load(environment, payment_databases, monkeypatch,
                                                                 capsys):  # noqa: F811
    dbs = payment_databases
    fake = ApplyingDms(dbs.source_admin, dbs.target_admin, [PUBLIC, SENTINEL_RULE], polls_to_run=None,
                       migration_type="full-load-and-cdc")
    forward_through(monkeypatch, dbs, fake)
    code, _, err = run(capsys, "replication", "start", "--direction", "forward", "--state-dir", str(environment))
    assert code == 0, err
    assert starts(fake) == [{"ReplicationTaskArn": TASK_ARN, "StartReplicationTaskType": "start-replication"}]
    assert fake.task["MigrationType"] == "full-load-and-cdc"  # a full load, returned while starting (no wait)
    for dsn in (dbs.source_admin, dbs.target_admin):  # the sentinel table made on both sides for the task
        assert sentinel_rows(dsn) == []


# --- native replication restarted once its publisher writes again ---------------------------------------------
def test_native_cdc_restart_keeps_the_freeze_subscription_and_refuses_a_stopped_or_missing_one(
        migration_setup):  # noqa: F811
    m = migration_setup.migration
    forward = m.forward

    def subscription() -> tuple | None:
        with m.target.connect() as conn:
            return conn.execute("SELECT oid, subenabled FROM pg_subscription WHERE subname = %s",
                                (forward.object,)).fetchone()
    before = subscription()
    forward.start(initial_copy=False)  # the source accepts writes: the running subscription is kept as it is
    assert subscription() == before
    forward.stop()
    with pytest.raises(CutoverError, match=r"subscription cf_\w+ is stopped: not started"):
        forward.start(initial_copy=False)
    forward.drop()
    with pytest.raises(CutoverError, match="accepts writes and has no subscription"):
        forward.start(initial_copy=False)
    assert subscription() is None


def test_a_database_without_the_sentinel_table_marks_nothing(payment_databases):  # noqa: F811
    from cutover.replication import sentinel

    dbs = payment_databases
    target = Database("target", dbs.target_admin, "target.db.test", APP_ROLE)
    assert sentinel.present(target, "x") is False
