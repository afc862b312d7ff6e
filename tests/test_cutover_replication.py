"""Replication options and slots: ``--replication``'s default per environment, ``cutover replication drop-slot`` on
real PostgreSQL, and the DMS task's slot found by its name (the endpoint's ``SlotName``), not by elimination."""

from __future__ import annotations

import json

import boto3
import psycopg
import pytest
from botocore.stub import Stubber

from cutover.context import Context, Options
from cutover.database import Database
from cutover.journal import Journal
from cutover.replication.dms import DmsReplication
from tests.cutover_fixtures import (  # noqa: F401  (fixtures)
    APP_ROLE, aws, payment_databases, pg_pair, wait_for,
)
from tests.test_cutover_cli import environment, run  # noqa: F401  (fixture)


# --- --replication's default --------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, expected", [("local", "native"), ("dev", "dms"), ("prod", "dms")])
def test_replication_defaults_to_what_the_environment_deploys(name, expected, monkeypatch):
    monkeypatch.delenv("PAYMIG_REPLICATION", raising=False)
    assert Options(name).replication == expected
    other = "native" if expected == "dms" else "dms"
    assert Options(name, replication=other).replication == other  # an explicit --replication wins


class Built(Exception):
    """Raised where the command would build its replication: carries the kind it resolved."""


@pytest.mark.parametrize("name, expected", [("local", "native"), ("dev", "dms"), ("prod", "dms")])
def test_the_commands_leave_the_default_to_the_environment(name, expected, capsys, monkeypatch):
    monkeypatch.delenv("PAYMIG_REPLICATION", raising=False)

    def built(self, direction):
        raise Built(self.options.replication)
    monkeypatch.setattr(Context, "replication", built)
    for command in (["replication", "stop"], ["replication", "drop-slot"]):
        with pytest.raises(Built, match=f"^{expected}$"):
            run(capsys, *command, "-e", name, "--source-dsn", "host=s", "--target-dsn", "host=t")
    with pytest.raises(Built, match="^native$"):
        run(capsys, "replication", "stop", "-e", name, "--replication", "native", "--source-dsn", "host=s",
            "--target-dsn", "host=t")
    monkeypatch.setenv("PAYMIG_REPLICATION", "native")
    with pytest.raises(Built, match="^native$"):
        run(capsys, "replication", "stop", "-e", name, "--source-dsn", "host=s", "--target-dsn", "host=t")


# --- drop-slot on real PostgreSQL ---------------------------------------------------------------------------------
def slots(dsn: str) -> set[str]:
    with psycopg.connect(dsn) as conn:
        return {row[0] for row in conn.execute(
            "SELECT slot_name FROM pg_replication_slots WHERE database = current_database()")}


def test_drop_slot_is_refused_while_the_direction_runs_and_drops_the_named_slot_once_stopped(
        environment, payment_databases, capsys):  # noqa: F811
    state = ["--state-dir", str(environment)]
    source = payment_databases.source_admin
    with psycopg.connect(source, autocommit=True) as conn:  # a stale slot of something else: never touched
        conn.execute("SELECT pg_create_logical_replication_slot('stale_other_tool', 'test_decoding')")
    assert run(capsys, "replication", "start", *state)[0] == 0
    wait_for(lambda: "cutover_forward" in slots(source), what="the forward slot")

    # negative control: the direction runs -> refused, one line, exit 1, the slot kept, nothing journalled
    code, out, err = run(capsys, "replication", "drop-slot", "--direction", "forward", *state)
    assert code == 1 and len(err.strip().splitlines()) == 1, err
    assert "refused: replication forward is" in err and "slot cutover_forward on the source kept" in err
    assert slots(source) == {"cutover_forward", "stale_other_tool"}
    assert not [e for e in Journal(environment).entries() if e.step == "drop-slot"]

    code, _, err = run(capsys, "replication", "drop-slot", "--direction", "forward", "--slot", "stale_other_tool",
                       *state)
    assert code == 2 and "--slot = 'stale_other_tool': must be replication forward's own slot, cutover_forward" in err

    code, _, err = run(capsys, "replication", "drop-slot", "--direction", "sideways", *state)
    assert code == 2 and "--direction = 'sideways': must be forward or reverse" in err

    assert run(capsys, "replication", "stop", *state)[0] == 0
    # an interrupted switch is undone by resuming forward replication from this slot: refused then too
    Journal(environment).write("switchover-x", "switchover", "stop-replication", "begin")
    code, _, err = run(capsys, "replication", "drop-slot", "--direction", "forward", *state)
    assert code == 1 and "refused: run switchover-x (switchover) was interrupted at step stop-replication" in err
    assert "cutover_forward" in slots(source)
    Journal(environment).write("switchover-x", "switchover", "end", "end", outcome="abandoned")
    code, out, _ = run(capsys, "replication", "drop-slot", "--direction", "forward", *state)
    assert code == 0 and out.strip() == "replication forward: slot cutover_forward on the source dropped", out
    assert slots(source) == {"stale_other_tool"}  # only the named one
    begin, done = [e for e in Journal(environment).entries() if e.step == "drop-slot"]
    assert (begin.status, begin.details["slot"], begin.details["publisher"], begin.details["state"]) == (
        "begin", "cutover_forward", "source", "stopped")
    assert begin.seq < done.seq and done.details["dropped"] is True
    code, out, _ = run(capsys, "replication", "drop-slot", "--direction", "forward", *state)  # idempotent
    assert code == 0 and "no slot cutover_forward on the source: nothing dropped" in out
    code, out, _ = run(capsys, "status", "--json", *state)
    assert json.loads(out)["replication"]["forward"]["state"] == "absent"


# --- the DMS task's slot, by name ---------------------------------------------------------------------------------
TASK_ARN = "arn:aws:dms:us-east-1:123456789012:task:FORWARD"
ENDPOINT_ARN = "arn:aws:dms:us-east-1:123456789012:endpoint:SOURCE"


def stubbed_dms(slot_name: str | None):
    """A DMS client whose answers botocore checks against the service model (``Stubber``): the task, stopped, and
    its source endpoint with ``PostgreSQLSettings.SlotName`` (or none)."""
    client = boto3.client("dms", region_name="us-east-1")
    stubber = Stubber(client)
    task = {"ReplicationTaskArn": TASK_ARN, "ReplicationTaskIdentifier": "forward", "Status": "stopped",
            "SourceEndpointArn": ENDPOINT_ARN, "ReplicationInstanceArn": "arn:aws:dms:us-east-1:1:rep:I"}
    stubber.add_response("describe_replication_tasks", {"ReplicationTasks": [task]},
                         {"Filters": [{"Name": "replication-task-arn", "Values": [TASK_ARN]}]})
    settings = {"PostgreSQLSettings": {"SlotName": slot_name}} if slot_name else {}
    stubber.add_response("describe_endpoints", {"Endpoints": [{"EndpointArn": ENDPOINT_ARN, "EngineName": "postgres",
                                                               **settings}]},
                         {"Filters": [{"Name": "endpoint-arn", "Values": [ENDPOINT_ARN]}]})
    stubber.activate()
    return client, stubber


def make_slots(dsn: str) -> dict[str, str]:
    """A stale slot, WAL written, then the task's slot: two logical slots not named cutover_*, at two LSNs."""
    found = {}
    with psycopg.connect(dsn, autocommit=True) as conn:
        for name in ("stale_dms_slot", "dms_forward_slot"):
            found[name] = conn.execute("SELECT lsn::text FROM pg_create_logical_replication_slot(%s, "
                                       "'test_decoding')", (name,)).fetchone()[0]
            conn.execute("INSERT INTO payments (idempotency_key, amount_cents, currency) "
                         "VALUES (%s, 1, 'EUR')", (f"wal-after-{name}",))
    assert found["stale_dms_slot"] != found["dms_forward_slot"]
    return found


def test_the_dms_slot_is_the_endpoints_named_slot_not_a_stale_second_one(payment_databases):  # noqa: F811
    lsns = make_slots(payment_databases.source_admin)
    publisher = Database("source", payment_databases.source_admin, "source.db.test", APP_ROLE)
    dms, stubber = stubbed_dms("dms_forward_slot")
    repl = DmsReplication("forward", dms, None, TASK_ARN, publisher=publisher)
    assert repl.slot == "dms_forward_slot"
    applied, lag, retained = repl._slot()
    assert applied == lsns["dms_forward_slot"] and lag > 0 and retained > 0
    stubber.assert_no_pending_responses()
    assert repl.drop_slot() is True
    assert slots(payment_databases.source_admin) == {"stale_dms_slot"}  # the stale one is not the task's


def test_without_a_slot_name_nothing_is_guessed(payment_databases):  # noqa: F811
    """Negative control of the old rule ("the one logical slot not named cutover_*"): with one candidate it would
    have answered; without a name the applied LSN is unknown and drop-slot refuses, naming the setting."""
    from cutover.errors import CutoverError

    with psycopg.connect(payment_databases.source_admin, autocommit=True) as conn:
        conn.execute("SELECT pg_create_logical_replication_slot('only_candidate', 'test_decoding')")
    publisher = Database("source", payment_databases.source_admin, "source.db.test", APP_ROLE)
    dms, _ = stubbed_dms(None)
    repl = DmsReplication("forward", dms, None, TASK_ARN, publisher=publisher)
    assert repl._slot() == (None, None, None)
    with pytest.raises(CutoverError, match=r"names no slot \(PostgreSQLSettings.SlotName\)"):
        repl.drop_slot()
    assert slots(payment_databases.source_admin) == {"only_candidate"}
