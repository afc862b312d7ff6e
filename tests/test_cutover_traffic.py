"""Phase 1 (weights, bake, gates, atomic rollback) and the journal's lock, on moto's Route 53, CloudWatch, DynamoDB."""

from __future__ import annotations

import boto3
from types import SimpleNamespace

import pytest

from cutover.errors import UsageError
from cutover.journal import Journal, LockHeld
from cutover.replication import ReplicationStatus
from cutover.traffic import Gates, Shift, ShiftRolledBack, WeightedRecords, parse_steps
from tests.cutover_fixtures import aws  # noqa: F401  (fixture)

NAME = "api.payments.example.com"


@pytest.fixture
def records(aws):  # noqa: F811
    route53 = boto3.client("route53", region_name="us-east-1")
    zone = route53.create_hosted_zone(Name="payments.example.com", CallerReference="t")["HostedZone"]["Id"]
    check = route53.create_health_check(CallerReference="new", HealthCheckConfig={
        "Type": "HTTP", "FullyQualifiedDomainName": "new.elb.amazonaws.com", "Port": 80, "ResourcePath": "/health"})
    changes = []
    for side, weight, target in (("legacy", 100, "legacy.elb.amazonaws.com"), ("new", 0, "new.elb.amazonaws.com")):
        record = {"Name": NAME, "Type": "A", "SetIdentifier": side, "Weight": weight,
                  "AliasTarget": {"HostedZoneId": "Z35SXDOTRQ7X7K", "DNSName": target,
                                  "EvaluateTargetHealth": side == "new"}}
        if side == "new":
            record["HealthCheckId"] = check["HealthCheck"]["Id"]
        changes.append({"Action": "CREATE", "ResourceRecordSet": record})
    route53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": changes})
    batches: list[int] = []
    route53.meta.events.register("provide-client-params.route53.ChangeResourceRecordSets",
                                 lambda params, **_: batches.append(len(params["ChangeBatch"]["Changes"])))
    weighted = WeightedRecords(route53, zone, NAME)
    weighted.batches = batches
    weighted.health_check_id = check["HealthCheck"]["Id"]
    return weighted


class FakeReplication:
    name = "forward"

    def __init__(self, state: str = "running", lag: int = 0) -> None:
        self.state, self.lag = state, lag

    def status(self) -> ReplicationStatus:
        return ReplicationStatus("forward", self.state, lag_bytes=self.lag)


def alarm(cloudwatch, name: str = "paymig-test-alb-5xx") -> str:
    cloudwatch.put_metric_alarm(AlarmName=name, MetricName="HTTPCode_ELB_5XX_Count", Namespace="AWS/ApplicationELB",
                                Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=10,
                                ComparisonOperator="GreaterThanThreshold")
    return name


def shift(records, tmp_path, gates, sleep=lambda seconds: None, **kwargs) -> Shift:
    clock = iter(range(0, 10**6, 20))  # a fake clock: each look is 20 s later; no real time passes
    return Shift(records, gates, Journal(tmp_path), bake_seconds=60, poll_seconds=20, sleep=sleep,
                 clock=lambda: next(clock), **kwargs)


def test_shift_moves_both_weights_in_one_batch_per_step_and_journals_each_step_first(records, tmp_path):
    cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
    alarm(cloudwatch)
    gates = Gates(route53=records.route53, new_health_check_id=records.health_check_id, cloudwatch=cloudwatch,
                  alarm_prefix="paymig-test", replication=FakeReplication())
    run = shift(records, tmp_path, gates)
    assert run.execute() == {"legacy": 0, "new": 100}
    assert records.batches == [2, 2, 2, 2]  # legacy and new together, every time
    steps = [(e.step, e.status, e.details.get("new")) for e in run.journal.entries()]
    assert steps == [(f"weights-{p}", status, p) for p in (10, 25, 50, 100) for status in ("begin", "done")] + [
        ("end", "end", 100)]


def test_an_alarm_in_alarm_during_a_bake_rolls_the_weights_back_by_itself(records, tmp_path):
    cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
    name = alarm(cloudwatch)
    sleeps = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 4:  # during the bake of the second step (25 %)
            cloudwatch.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="5xx")
    run = shift(records, tmp_path, Gates(cloudwatch=cloudwatch, alarm_prefix="paymig-test"), sleep=sleep)
    with pytest.raises(ShiftRolledBack, match=r"rolled back at 25 %.*paymig-test-alb-5xx is in ALARM"):
        run.execute()
    assert records.weights() == {"legacy": 100, "new": 0}
    assert records.batches[-1] == 2  # the rollback is one atomic batch too
    last = run.journal.entries()[-3:]
    assert [(e.step, e.status) for e in last] == [("rollback-weights", "begin"), ("rollback-weights", "done"),
                                                  ("end", "end")]


def test_stalled_replication_keeps_all_traffic_on_the_legacy_side(records, tmp_path):
    run = shift(records, tmp_path, Gates(replication=FakeReplication("stopped")))
    with pytest.raises(ShiftRolledBack, match="replication forward is stopped"):
        run.execute()
    assert records.weights() == {"legacy": 100, "new": 0}
    assert not any(e.step.startswith("weights-") for e in run.journal.entries())


def test_bake_shorter_than_the_ttl_and_bad_steps_are_refused(records, tmp_path):
    with pytest.raises(UsageError, match="--bake = 5: must be at least the record TTL"):
        Shift(records, Gates(), Journal(tmp_path), bake_seconds=5)
    for text, rule in (("10,x", "comma-separated"), ("50,25,100", "increasing"), ("10,50", "end at 100")):
        with pytest.raises(UsageError, match=rule):
            parse_steps(text)


@pytest.fixture
def journal_table(aws):  # noqa: F811
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    dynamodb.create_table(TableName="paymig-test-cutover-journal", BillingMode="PAY_PER_REQUEST",
                          KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                     {"AttributeName": "sk", "KeyType": "RANGE"}],
                          AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                                {"AttributeName": "sk", "AttributeType": "S"}])
    return dynamodb, "paymig-test-cutover-journal"


def test_a_second_operator_is_refused_by_the_conditional_put(journal_table, tmp_path):
    dynamodb, table = journal_table
    first = Journal(tmp_path / "a", dynamodb=dynamodb, table=table)
    second = Journal(tmp_path / "b", dynamodb=dynamodb, table=table)
    second.owner = "other@elsewhere"
    first.acquire()
    with pytest.raises(LockHeld, match=f"another operator holds the migration lock: {first.owner}"):
        second.acquire()
    first.write("run-1", "shift", "weights-10", "begin", legacy=90, new=10)
    assert [e.step for e in first.table_entries()] == ["weights-10"] == [e.step for e in first.entries()]
    first.release()
    second.acquire()  # free again
    second.release()


def test_the_same_operator_takes_over_the_lock_of_its_killed_process(journal_table, tmp_path):
    dynamodb, table = journal_table
    crashed = Journal(tmp_path, dynamodb=dynamodb, table=table)
    crashed.pid = 2**22 + 7  # a process that no longer exists (kill -9)
    crashed.acquire()
    resumed = Journal(tmp_path, dynamodb=dynamodb, table=table)
    resumed.acquire()
    assert resumed.holder()["pid"] == resumed.pid


def test_without_a_table_the_lock_is_a_local_file(tmp_path):
    first, second = Journal(tmp_path), Journal(tmp_path)
    second.owner = "other@elsewhere"
    with first:
        with pytest.raises(LockHeld):
            second.acquire()
    with second:
        pass


class Interrupted(BaseException):
    """The operator's process killed during a bake."""


def stub_migration(journal):
    """Just what phase-1 rollback and resume read: the journal and a writer on the source."""
    from types import SimpleNamespace

    source, target = SimpleNamespace(name="source", address="s"), SimpleNamespace(name="target", address="t")
    return SimpleNamespace(journal=journal, source=source, target=target,
                           writer=SimpleNamespace(value=lambda: "s"))


def test_a_shift_killed_during_a_bake_is_resumed_after_its_last_step(records, tmp_path):
    from cutover.recovery import resume_any

    def killed(seconds: float) -> None:
        if records.weights()["new"] == 25:
            raise Interrupted()
    with pytest.raises(Interrupted):
        shift(records, tmp_path, Gates(), sleep=killed).execute()
    journal = Journal(tmp_path)
    outcome = resume_any(stub_migration(journal), lambda run: shift(records, tmp_path, Gates(), run=run))
    assert outcome.endswith("completed") and records.weights() == {"legacy": 0, "new": 100}
    steps = [e.step for e in journal.entries() if e.status == "begin"]
    assert steps == ["weights-10", "weights-25", "weights-50", "weights-100"]  # 25 % was not applied twice


def test_a_resumed_shift_bakes_its_interrupted_step_again_with_its_own_steps_and_bake(records, tmp_path):
    from cutover.recovery import resume_any

    def killed(seconds: float) -> None:
        if records.weights()["new"] == 50:
            raise Interrupted()
    def fake_clock():  # each look is 20 s later: no real time passes
        ticks = iter(range(0, 10**6, 20))
        return lambda: next(ticks)
    with pytest.raises(Interrupted):
        Shift(records, Gates(), Journal(tmp_path), steps=(50, 100), bake_seconds=120, poll_seconds=20, sleep=killed,
              clock=fake_clock()).execute()
    said: list[str] = []
    journal = Journal(tmp_path)
    outcome = resume_any(stub_migration(journal), lambda run: Shift(  # today's defaults: 10,25,50,100 and 300 s
        records, Gates(), journal, run=run, poll_seconds=20, sleep=lambda seconds: None, clock=fake_clock(),
        progress=said.append))
    assert outcome.endswith("completed") and records.weights() == {"legacy": 0, "new": 100}
    assert [e.step for e in journal.entries() if e.status == "begin"] == ["weights-50", "weights-100"]
    assert said[0] == "shift: resuming at 50 %: baking it again"
    assert "shift: baking 50 % (100 s left), checking gates" in said  # 120 s, its own bake (not 300 s)


def test_rollback_of_phase_1_moves_the_weights_back_in_one_batch(records, tmp_path):
    from cutover.recovery import rollback

    shift(records, tmp_path, Gates()).execute()
    done = rollback(stub_migration(Journal(tmp_path)), records)
    assert done == ["weights back to legacy=100 new=0 (were legacy=0 new=100)"]
    assert records.weights() == {"legacy": 100, "new": 0} and records.batches[-1] == 2
    last = Journal(tmp_path).entries()[-1]
    assert (last.operation, last.status, last.details["outcome"]) == ("shift", "end", "rolled-back")


def test_a_rollback_of_phase_1_killed_before_its_batch_is_resumed_backwards(records, tmp_path):
    from cutover.recovery import phase, resume_any

    shift(records, tmp_path, Gates()).execute()
    journal = Journal(tmp_path)
    killed = shift(records, tmp_path, Gates())
    killed.records = SimpleNamespace(set=lambda legacy, new: (_ for _ in ()).throw(Interrupted()))
    with pytest.raises(Interrupted):
        killed.roll_back("operator rollback")
    assert records.weights() == {"legacy": 0, "new": 100}
    migration = stub_migration(journal)
    assert phase(migration, records.weights()) == "interrupted"
    outcome = resume_any(migration, lambda run: shift(records, tmp_path, Gates(), run=run))
    assert outcome.endswith("rolled back (legacy=100 new=0)") and records.weights() == {"legacy": 100, "new": 0}
    assert phase(migration, records.weights()) == "before-shift"
