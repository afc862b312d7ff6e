"""The journal shared through DynamoDB (moto): consistent reads, conditional puts, a second machine resuming."""

from __future__ import annotations

import dataclasses
import json

import boto3
import pytest

from cutover.errors import CutoverError
from cutover.journal import Journal
from cutover.switchover import POINT_OF_NO_RETURN, incomplete_run, resume, switch
from tests.cutover_fixtures import (  # noqa: F401  (fixtures)
    APP_ROLE, app_insert, aws, migration_setup, payment_databases, payment_keys, pg_pair, wait_for,
)
from tests.test_cutover_cli import all_traffic_on_the_new_side, environment, run  # noqa: F401  (fixture)
from tests.test_cutover_switchover import SimulatedCrash, assert_only_writer, crash_at

TABLE = "paymig-test-cutover-journal"


@pytest.fixture
def dynamodb(aws):  # noqa: F811
    client = boto3.client("dynamodb", region_name="us-east-1")
    client.create_table(TableName=TABLE, BillingMode="PAY_PER_REQUEST",
                        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                   {"AttributeName": "sk", "KeyType": "RANGE"}],
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                              {"AttributeName": "sk", "AttributeType": "S"}])
    return client


def test_entries_and_seq_come_from_the_table_and_the_local_file_is_rewritten_as_its_cache(dynamodb, tmp_path):
    first = Journal(tmp_path / "a", dynamodb=dynamodb, table=TABLE)
    first.write("run-1", "shift", "weights-10", "begin", legacy=90, new=10)
    first.write("run-1", "shift", "weights-10", "done")
    second = Journal(tmp_path / "b", dynamodb=dynamodb, table=TABLE)  # another machine: empty .state
    assert second.write("run-1", "shift", "weights-25", "begin").seq == 3  # seq after the table's last entry
    assert [e.seq for e in first.entries()] == [1, 2, 3]
    # the cache holds what the table holds, whatever was in it before
    (tmp_path / "b" / "journal.jsonl").write_text('{"seq": 9, "run": "x", "operation": "x", "step": "stale", '
                                                  '"status": "begin", "at": 0, "details": {}}\n')
    assert [e.step for e in second.entries()] == ["weights-10", "weights-10", "weights-25"]
    cached = [json.loads(line)["seq"] for line in (tmp_path / "b" / "journal.jsonl").read_text().splitlines()]
    assert cached == [1, 2, 3]


class Racing:
    """A DynamoDB client through which ``rival`` writes its entry right after this machine read the last seq:
    both then want the same seq."""

    def __init__(self, client, rival: Journal) -> None:
        self.client, self.rival, self.raced = client, rival, False

    def query(self, **kwargs):
        answer = self.client.query(**kwargs)
        if kwargs.get("Limit") == 1 and not self.raced:
            self.raced = True
            self.rival.write("run-b", "switchover", "freeze", "begin")
        return answer

    def __getattr__(self, name):
        return getattr(self.client, name)


def race(dynamodb, tmp_path) -> tuple[Journal, CutoverError | None]:
    """Two machines write the journal's 2nd entry at once; the rival (machine b) puts first. Returns machine a's
    journal and its error (None when its put went through)."""
    Journal(tmp_path / "a", dynamodb=dynamodb, table=TABLE).write("run-0", "shift", "end", "end", outcome="completed")
    rival = Journal(tmp_path / "b", dynamodb=dynamodb, table=TABLE)
    late = Journal(tmp_path / "a", dynamodb=Racing(dynamodb, rival), table=TABLE)
    try:
        late.write("run-a", "switchover", "freeze", "begin")
    except CutoverError as error:
        return late, error
    return late, None


def assert_the_second_writer_failed_cleanly(dynamodb, tmp_path) -> None:
    late, error = race(dynamodb, tmp_path)
    assert error is not None, "the second writer's put went through"
    assert "entry 2 was written by another process first (seq 2 exists)" in str(error)
    assert error.exit_code == 1
    table = Journal(tmp_path / "c", dynamodb=dynamodb, table=TABLE).entries()
    assert [(e.seq, e.run) for e in table] == [(1, "run-0"), (2, "run-b")]  # the first writer's entry is whole
    assert [e.run for e in Journal(tmp_path / "a").entries()] == ["run-0"]  # nothing cached of the refused entry


def test_two_writers_racing_on_the_same_seq_the_second_fails_cleanly(dynamodb, tmp_path):
    assert_the_second_writer_failed_cleanly(dynamodb, tmp_path)


def test_negative_control_an_unconditional_put_overwrites_the_first_writers_entry(dynamodb, tmp_path, monkeypatch):
    """The checker above, run against the old unconditional ``put_item``: it must fail (the rival's entry 2 is
    silently replaced by machine a's)."""

    def unconditional(self, entry):
        self.dynamodb.put_item(TableName=self.table, Item={
            "pk": {"S": self.partition}, "sk": {"S": f"{entry.seq:010d}"},
            "entry": {"S": json.dumps(entry.to_json(), sort_keys=True)}})
    monkeypatch.setattr(Journal, "_put", unconditional)
    with pytest.raises(AssertionError, match="the second writer's put went through"):
        assert_the_second_writer_failed_cleanly(dynamodb, tmp_path)
    runs = [(e.seq, e.run) for e in Journal(tmp_path / "d", dynamodb=dynamodb, table=TABLE).entries()]
    assert runs == [(1, "run-0"), (2, "run-a")]  # run-b's entry is lost


def test_a_second_state_directory_resumes_the_first_machines_interrupted_switchover(migration_setup, dynamodb,
                                                                                 tmp_path):
    setup = migration_setup
    first = dataclasses.replace(setup.migration, journal=Journal(tmp_path / "machine-a", dynamodb=dynamodb,
                                                                  table=TABLE))
    first.fault = crash_at(POINT_OF_NO_RETURN, "after")
    with pytest.raises(SimulatedCrash), first.journal:  # the operator's terminal lost past the point of no return
        switch(first, "switchover")
    # another machine: an empty state directory, the same table
    second = dataclasses.replace(first, journal=Journal(tmp_path / "machine-b", dynamodb=dynamodb, table=TABLE),
                                 fault=None)
    second.journal.owner = "operator@machine-b"
    assert incomplete_run(second.journal)[-1].step == POINT_OF_NO_RETURN
    with second.journal:
        assert resume(second).outcome == "completed"
    assert_only_writer(setup, "target")
    assert app_insert(setup.target_app_dsn, "after-resume")
    wait_for(lambda: "after-resume" in payment_keys(first.source.admin_dsn), what="reverse replication")
    runs = {e.run for e in Journal(tmp_path / "machine-a", dynamodb=dynamodb, table=TABLE).entries()}
    assert len(runs) == 1  # one run, continued, not a second one
    assert incomplete_run(first.journal) == []
    seqs = [e.seq for e in second.journal.entries()]
    assert seqs == list(range(1, len(seqs) + 1))  # no entry overwritten or skipped


class Counting:
    """A DynamoDB client that counts the calls made through it."""

    def __init__(self, client) -> None:
        self.client, self.calls = client, []

    def __getattr__(self, name):
        self.calls.append(name)
        return getattr(self.client, name)


def test_while_holding_the_lock_an_entry_is_one_put_and_a_lease_taken_over_fails_cleanly(dynamodb, tmp_path):
    counting = Counting(dynamodb)
    first = Journal(tmp_path / "a", dynamodb=counting, table=TABLE, lease_seconds=0.001)
    first.acquire()
    first.write("run-a", "switchover", "freeze", "begin")
    counting.calls.clear()
    first.write("run-a", "switchover", "freeze", "done")
    assert counting.calls.count("query") == 0 and counting.calls.count("put_item") == 2  # the entry, the lease
    # the lease expires (a stalled operator); another operator takes the lock over and writes
    second = Journal(tmp_path / "b", dynamodb=dynamodb, table=TABLE)
    second.owner = "other@elsewhere"
    second.acquire()
    second.write("run-a", "rollback", "check", "begin")
    with pytest.raises(CutoverError, match="entry 3 was written by another process first"):
        first.write("run-a", "switchover", "drain", "begin")
    assert [(e.seq, e.operation) for e in second.entries()] == [(1, "switchover"), (2, "switchover"), (3, "rollback")]


def test_cutover_resume_from_an_empty_state_directory_continues_the_other_machines_switchover(
        environment, dynamodb, tmp_path, capsys):  # noqa: F811
    import os
    from pathlib import Path

    from cutover.cli.options import context

    outputs = Path(os.environ["PAYMIG_CUTOVER_OUTPUTS"])
    document = json.loads(outputs.read_text())
    document["data"]["cutover_journal_table"] = TABLE  # the deployed journal table
    outputs.write_text(json.dumps(document))
    machine_a, machine_b = tmp_path / "machine-a", tmp_path / "machine-b"
    assert run(capsys, "replication", "start", "--state-dir", str(machine_a))[0] == 0
    wait_for(lambda: json.loads(run(capsys, "status", "--json", "--state-dir", str(machine_a))[1])
             ["replication"]["forward"]["state"] == "running", what="full load")
    all_traffic_on_the_new_side()
    migration = context("dev", None, None, "native", APP_ROLE, machine_a).migration()
    migration.fault = crash_at(POINT_OF_NO_RETURN, "after")
    with pytest.raises(SimulatedCrash), migration.journal:  # machine a's terminal lost past the point of no return
        switch(migration, "switchover")

    code, out, err = run(capsys, "resume", "--state-dir", str(machine_b))  # machine b: nothing in its .state
    assert code == 0 and "completed" in out, (out, err)
    document = json.loads(run(capsys, "status", "--json", "--state-dir", str(machine_b))[1])
    assert document["writer"]["name"] == "target" and document["frozen"] == {"source": True, "target": False}
    assert len({e.run for e in Journal(machine_b).entries() if e.operation == "switchover"}) == 1  # the cache


def test_a_one_step_run_ends_whatever_its_block_raises(tmp_path):
    """Not only a refusal: any error of the block (a DMS ClientError, a psycopg error) is journalled ``failed`` and
    the run ended, so it never reads as interrupted (which would refuse the next drop-slot); negative control: the
    run that completes is ``done``."""
    import pytest

    from cutover.switchover import incomplete_run

    journal = Journal(tmp_path)
    with pytest.raises(RuntimeError):
        with journal.one_step("r-1", "replication", "start", direction="forward"):
            raise RuntimeError("StartReplicationTask refused")
    assert [(e.step, e.status) for e in journal.entries()] == [("start", "begin"), ("start", "failed"),
                                                               ("end", "end")]
    assert journal.entries()[1].details == {"error": "RuntimeError"} and incomplete_run(journal) == []
    with journal.one_step("r-2", "replication", "stop") as done:
        done["direction"] = "forward"
    assert [(e.status, e.details) for e in journal.entries()[-2:]] == [
        ("done", {"direction": "forward"}), ("end", {"outcome": "completed"})]
