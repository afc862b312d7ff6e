"""A DMS direction's CDC start as the DMS documents describe it, against a fake DMS on real PostgreSQL slots.

The fake (:class:`FakeDms`) checks every request against botocore's DMS model and behaves as the documents say:
``StartReplicationTask`` returns at once and the task is ``starting`` for a few polls before ``running``; a
CDC-only ``start-replication`` needs ``CdcStartPosition`` and the slot the source endpoint names
(``PostgreSQLSettings.SlotName``) must exist; a PostgreSQL source takes no ``CdcStartTime``; ``resume-processing``
continues from the slot's old position, and an insert of a key the target holds stops the task
(``ApplyErrorInsertPolicy=STOP_TASK``).

Follows: https://docs.aws.amazon.com/dms/latest/APIReference/API_StartReplicationTask.html and
https://docs.aws.amazon.com/dms/latest/userguide/CHAP_Source.PostgreSQL.html (native CDC start point).
"""

from __future__ import annotations

import re
from typing import Any

import boto3
import psycopg
import pytest
from botocore.exceptions import ClientError
from botocore.validate import validate_parameters

from cutover.errors import CutoverError
from cutover.database import Database
from cutover.replication.dms import DmsReplication
from cutover.switchover import switch
from tests.cutover_fixtures import (  # noqa: F401  (fixtures)
    APP_ROLE, aws, migration_setup, payment_databases, payment_keys, pg_pair,
)

TASK_ARN = "arn:aws:dms:us-east-1:123456789012:task:REVERSE"
ENDPOINT_ARN = "arn:aws:dms:us-east-1:123456789012:endpoint:REVERSE-SOURCE"
_MODEL = boto3.client("dms", region_name="us-east-1").meta.service_model
_KEY = re.compile(r"table public\.payments: INSERT: .*idempotency_key\[text\]:'([^']*)'")


def _error(code: str, message: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "StartReplicationTask")


class FakeDms:
    """A DMS client for one CDC-only task (see the module docstring).

    Args:
        publisher_dsn: the database the task reads (its slots). subscriber_dsn: the database it writes.
        polls_to_run: ``DescribeReplicationTasks`` answers ``starting`` this many times after a start, then
            ``running``; None: never running. fail_with: the task fails to start with this message.
    """

    def __init__(self, publisher_dsn: str, subscriber_dsn: str, *, polls_to_run: int | None = 3,
                 fail_with: str | None = None, migration_type: str = "cdc", ran_before: bool = False) -> None:
        self.publisher_dsn, self.subscriber_dsn = publisher_dsn, subscriber_dsn
        self.polls_to_run, self.fail_with = polls_to_run, fail_with
        self.task: dict[str, Any] = {"ReplicationTaskArn": TASK_ARN, "ReplicationTaskIdentifier": "reverse",
                                     "Status": "stopped", "MigrationType": migration_type,
                                     "SourceEndpointArn": ENDPOINT_ARN,
                                     "ReplicationInstanceArn": "arn:aws:dms:us-east-1:123456789012:rep:I"}
        if ran_before:
            self.task["ReplicationTaskStartDate"] = "2026-01-01T00:00:00Z"
        self.endpoint: dict[str, Any] = {"EndpointArn": ENDPOINT_ARN, "EngineName": "postgres"}
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.frozen_when_running: bool | None = None
        self.accepting_when_running: list[str] | None = None
        self.on_running = lambda: None
        self._polls = 0

    def _call(self, operation: str, params: dict[str, Any]) -> None:
        validate_parameters(params, _MODEL.operation_model(operation).input_shape)  # botocore's request shape
        self.calls.append((operation, params))

    def describe_replication_tasks(self, **params: Any) -> dict[str, Any]:
        self._call("DescribeReplicationTasks", params)
        if self.task["Status"] == "starting" and self.polls_to_run is not None:
            self._polls += 1
            if self._polls > self.polls_to_run:
                self._become_running()
        return {"ReplicationTasks": [dict(self.task)]}

    def describe_endpoints(self, **params: Any) -> dict[str, Any]:
        self._call("DescribeEndpoints", params)
        return {"Endpoints": [dict(self.endpoint)]}

    def modify_endpoint(self, **params: Any) -> dict[str, Any]:
        self._call("ModifyEndpoint", params)
        self.endpoint.setdefault("PostgreSQLSettings", {}).update(params.get("PostgreSQLSettings", {}))
        return {"Endpoint": dict(self.endpoint)}

    def modify_replication_task(self, **params: Any) -> dict[str, Any]:
        self._call("ModifyReplicationTask", params)
        self.task["MigrationType"] = params.get("MigrationType", self.task["MigrationType"])
        return {"ReplicationTask": dict(self.task)}

    def stop_replication_task(self, **params: Any) -> dict[str, Any]:
        self._call("StopReplicationTask", params)
        self.task["Status"] = "stopped"
        return {"ReplicationTask": dict(self.task)}

    def start_replication_task(self, **params: Any) -> dict[str, Any]:
        self._call("StartReplicationTask", params)
        kind = params["StartReplicationTaskType"]
        if "CdcStartTime" in params:
            raise _error("InvalidParameterCombinationException", "a PostgreSQL source takes no custom CDC start time")
        if kind == "resume-processing" and "ReplicationTaskStartDate" not in self.task:
            raise _error("InvalidResourceStateFault", "resume-processing of a task that never ran")
        if kind == "start-replication" and self.task["MigrationType"] == "cdc":
            if "CdcStartPosition" not in params:
                raise _error("InvalidParameterValueException", "a CDC-only start needs CdcStartPosition")
        slot = (self.endpoint.get("PostgreSQLSettings") or {}).get("SlotName")
        if not slot or self._slot_lsn(slot) is None:
            raise _error("InvalidParameterValueException", f"the replication slot {slot!r} does not exist")
        self.start_position = params.get("CdcStartPosition")
        self.task.update(Status="starting", ReplicationTaskStartDate="2026-01-01T00:00:00Z")
        self._polls = 0
        return {"ReplicationTask": dict(self.task)}

    def _slot_lsn(self, slot: str) -> str | None:
        with psycopg.connect(self.publisher_dsn, autocommit=True) as conn:
            row = conn.execute("SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = %s",
                               (slot,)).fetchone()
        return row[0] if row else None

    def _become_running(self) -> None:
        if self.fail_with:
            self.task.update(Status="failed", LastFailureMessage=self.fail_with)
            return
        slot = self.endpoint["PostgreSQLSettings"]["SlotName"]
        with psycopg.connect(self.publisher_dsn, autocommit=True) as conn:  # what the slot would send
            rows = conn.execute("SELECT data FROM pg_logical_slot_peek_changes(%s, NULL, NULL)", (slot,)).fetchall()
            self.frozen_when_running = Database("publisher", self.publisher_dsn, "p", APP_ROLE).frozen()
        keys = [m.group(1) for (data,) in rows if (m := _KEY.search(data))]
        with psycopg.connect(self.subscriber_dsn, autocommit=True) as conn:
            present = {k for (k,) in conn.execute("SELECT idempotency_key FROM payments WHERE idempotency_key = "
                                                  "ANY(%s)", (keys,)).fetchall()}
        if present:  # ApplyErrorInsertPolicy=STOP_TASK
            self.task.update(Status="stopped", StopReason="STOP_REASON_FATAL_ERROR",
                             LastFailureMessage=f"{len(present)} duplicate key(s) on insert: STOP_TASK")
            return
        self.task["Status"] = "running"
        self.on_running()


def reverse(dbs, fake: FakeDms, **kwargs: Any) -> DmsReplication:
    publisher = Database("target", dbs.target_admin, "target.db.test", APP_ROLE)
    return DmsReplication("reverse", fake, None, TASK_ARN, publisher=publisher, poll_seconds=0.01, **kwargs)


def slot_lsn(dsn: str, slot: str) -> str | None:
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = %s",
                           (slot,)).fetchone()
    return row[0] if row else None


def stale_reverse_slot(dbs) -> None:
    """The reverse slot of an earlier run on the target, then the rows forward replication applied there (keys
    the source holds): the old position a ``resume-processing`` would send back."""
    with psycopg.connect(dbs.target_admin, autocommit=True) as conn:
        conn.execute("SELECT pg_create_logical_replication_slot('paymig_dms_reverse', 'test_decoding')")
        with psycopg.connect(dbs.source_admin) as source:
            rows = source.execute("SELECT idempotency_key, amount_cents, currency FROM payments").fetchall()
        conn.execute("SET synchronous_commit = on")  # flushed: decoding reads no further than the flushed WAL
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO payments (idempotency_key, amount_cents, currency) VALUES (%s, %s, %s)", rows)
    freeze_app(dbs)


def freeze_app(dbs) -> None:
    """The target refuses the application's writes (as a switch leaves the new writer until ``unfreeze``)."""
    with psycopg.connect(dbs.target_admin, autocommit=True) as conn:
        conn.execute(f"ALTER ROLE {APP_ROLE} IN DATABASE {dbs.name} SET default_transaction_read_only = on")


def test_cdc_start_creates_the_slot_during_the_freeze_and_starts_from_its_lsn(payment_databases):  # noqa: F811
    dbs = payment_databases
    stale_reverse_slot(dbs)
    fake = FakeDms(dbs.target_admin, dbs.source_admin, ran_before=True)
    repl = reverse(dbs, fake)
    repl.start(initial_copy=False)
    lsn = slot_lsn(dbs.target_admin, "paymig_dms_reverse")
    start = [p for op, p in fake.calls if op == "StartReplicationTask"]
    assert start == [{"ReplicationTaskArn": TASK_ARN, "StartReplicationTaskType": "start-replication",
                      "CdcStartPosition": lsn}]
    assert ("ModifyEndpoint", {"EndpointArn": ENDPOINT_ARN, "PostgreSQLSettings": {"SlotName": "paymig_dms_reverse"}}) \
        in fake.calls
    assert fake.task["Status"] == "starting"  # asynchronous: not running when StartReplicationTask returns
    repl.wait_running(5)
    assert fake.task["Status"] == "running" and fake.frozen_when_running is True
    # a second start (a resumed switch) changes nothing
    repl.start(initial_copy=False)
    assert len([op for op, _ in fake.calls if op == "StartReplicationTask"]) == 1


def test_negative_control_resume_processing_from_the_old_slot_is_stopped_on_duplicates(payment_databases):  # noqa: F811
    """What the old code did (``resume-processing``, ``CdcStartTime``): refused, or the task stops on the first
    duplicate, which :meth:`wait_running` reports with what to run."""
    dbs = payment_databases
    stale_reverse_slot(dbs)
    fake = FakeDms(dbs.target_admin, dbs.source_admin, ran_before=True)
    fake.endpoint["PostgreSQLSettings"] = {"SlotName": "paymig_dms_reverse"}
    with pytest.raises(ClientError, match="no custom CDC start time"):
        fake.start_replication_task(ReplicationTaskArn=TASK_ARN, StartReplicationTaskType="resume-processing",
                                    CdcStartTime="2026-01-01T00:00:00Z")
    fake.start_replication_task(ReplicationTaskArn=TASK_ARN, StartReplicationTaskType="resume-processing")
    with pytest.raises(CutoverError, match=r"is stopped, not running \(20 duplicate key\(s\) on insert: STOP_TASK\)"
                                           r".*cutover replication start --direction reverse"):
        reverse(dbs, fake).wait_running(5)


def test_a_start_that_stays_starting_past_the_timeout_is_an_error(payment_databases):  # noqa: F811
    dbs = payment_databases
    fake = FakeDms(dbs.target_admin, dbs.source_admin, polls_to_run=None)
    repl = reverse(dbs, fake)
    freeze_app(dbs)
    repl.start(initial_copy=False)
    with pytest.raises(CutoverError, match=r"task .*REVERSE is still starting after 0.2 s"):
        repl.wait_running(0.2)


def test_a_full_load_task_becomes_cdc_only_and_an_unfrozen_publisher_needs_the_freeze_slot(payment_databases):  # noqa: F811
    dbs = payment_databases
    fake = FakeDms(dbs.target_admin, dbs.source_admin, migration_type="full-load-and-cdc", ran_before=True)
    repl = reverse(dbs, fake)
    with pytest.raises(CutoverError, match="accepts writes and has no slot paymig_dms_reverse"):
        repl.start(initial_copy=False)  # the target is not frozen: a slot created now misses payments
    assert not [op for op, _ in fake.calls if op == "StartReplicationTask"]
    with psycopg.connect(dbs.target_admin, autocommit=True) as conn:
        conn.execute("SELECT pg_create_logical_replication_slot('paymig_dms_reverse', 'test_decoding')")
    lsn = slot_lsn(dbs.target_admin, "paymig_dms_reverse")
    repl.start(initial_copy=False)  # the slot of the freeze, used as it is
    assert fake.task["MigrationType"] == "cdc"
    assert [p for op, p in fake.calls if op == "StartReplicationTask"][-1]["CdcStartPosition"] == lsn


# --- a switch whose new direction is a DMS task -----------------------------------------------------------------
def dms_reverse(setup, fake: FakeDms) -> None:
    m = setup.migration
    m.reverse = DmsReplication("reverse", fake, None, TASK_ARN, publisher=m.target, poll_seconds=0.01)


def test_switchover_unfreezes_the_target_only_once_the_dms_task_runs(migration_setup):  # noqa: F811
    setup = migration_setup
    m = setup.migration
    fake = FakeDms(m.target.admin_dsn, m.source.admin_dsn)
    fake.on_running = lambda: setattr(fake, "accepting_when_running", setup.accepting())
    dms_reverse(setup, fake)
    switch(m, "switchover")
    assert fake.accepting_when_running == []  # running while both were frozen: nothing written before the slot
    assert setup.accepting() == ["target"]
    done = [e for e in m.journal.entries() if e.step == "start-replication" and e.status == "done"]
    assert done[-1].details["started"] is True


def test_a_failed_start_past_the_point_of_no_return_leaves_the_new_writer_accepting(migration_setup):  # noqa: F811
    setup = migration_setup
    m = setup.migration
    lines: list[str] = []
    m.progress = lines.append
    dms_reverse(setup, FakeDms(m.target.admin_dsn, m.source.admin_dsn, fail_with="endpoint unreachable"))
    result = switch(m, "switchover")
    assert result.outcome == "completed"
    assert setup.accepting() == ["target"]  # the new writer takes payments, the old one stays frozen
    assert m.writer.value() == m.target.address
    done = [e for e in m.journal.entries() if e.step == "start-replication" and e.status == "done"][-1]
    assert done.details["started"] is False
    for text in (done.details["error"], "\n".join(lines)):
        assert "endpoint unreachable" in text and "run `cutover replication start --direction reverse`" in text
        assert "the target accepts payments, the source stays frozen" in text


def test_the_cdc_start_requests_and_answers_fit_botocores_model(payment_databases):  # noqa: F811
    """The same start through a real boto3 client with ``Stubber``: botocore checks each request and each answer
    against the DMS model; the position sent is the slot's ``confirmed_flush_lsn``."""
    from botocore.stub import ANY, Stubber

    dbs = payment_databases
    freeze_app(dbs)
    client = boto3.client("dms", region_name="us-east-1")
    sent: list[str] = []
    client.meta.events.register("provide-client-params.dms.StartReplicationTask",
                                lambda params, **_: sent.append(params["CdcStartPosition"]))
    stubber = Stubber(client)
    task = {"ReplicationTaskArn": TASK_ARN, "Status": "stopped", "MigrationType": "cdc",
            "SourceEndpointArn": ENDPOINT_ARN}
    by_arn = {"Filters": [{"Name": "replication-task-arn", "Values": [TASK_ARN]}]}
    stubber.add_response("describe_replication_tasks", {"ReplicationTasks": [task]}, by_arn)
    stubber.add_response("describe_replication_tasks", {"ReplicationTasks": [task]}, by_arn)
    stubber.add_response("describe_endpoints", {"Endpoints": [{"EndpointArn": ENDPOINT_ARN, "EngineName": "postgres"}]},
                         {"Filters": [{"Name": "endpoint-arn", "Values": [ENDPOINT_ARN]}]})
    stubber.add_response("modify_endpoint", {"Endpoint": {"EndpointArn": ENDPOINT_ARN}},
                         {"EndpointArn": ENDPOINT_ARN, "PostgreSQLSettings": {"SlotName": "paymig_dms_reverse"}})
    stubber.add_response("start_replication_task", {"ReplicationTask": {**task, "Status": "starting"}},
                         {"ReplicationTaskArn": TASK_ARN, "StartReplicationTaskType": "start-replication",
                          "CdcStartPosition": ANY})
    for status in ("starting", "running"):
        stubber.add_response("describe_replication_tasks", {"ReplicationTasks": [{**task, "Status": status}]}, by_arn)
    with stubber:
        publisher = Database("target", dbs.target_admin, "target.db.test", APP_ROLE)
        repl = DmsReplication("reverse", client, None, TASK_ARN, publisher=publisher, poll_seconds=0.01)
        repl.start(initial_copy=False)
        repl.wait_running(5)
        stubber.assert_no_pending_responses()
    assert sent == [slot_lsn(dbs.target_admin, "paymig_dms_reverse")]
