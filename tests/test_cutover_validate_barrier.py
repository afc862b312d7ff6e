"""The re-check's barrier and the DMS CDC latency bound of ``cutover validate``: on two real PostgreSQL 15 servers
with native logical replication running under a writer, a sentinel applied on the target (not a delay) is what
makes the re-check right; the CDC latency against moto's CloudWatch pauses the run only past its bound."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import psycopg
import pytest

import cutover.validate.throttle as throttle
from bench.harness import start_without_copy
from cutover.database import Database
from cutover.replication import ReplicationStatus
from cutover.replication.native import NativeReplication
from cutover.validate import ValidateOptions, validate
from tests.cutover_fixtures import aws  # noqa: F401  (fixture)
from tests.postgres import DatabasePair
from tests.test_cutover_validate_chunks import TRANSFERS, by_table, keys

ROOT = Path(__file__).resolve().parent.parent
PERSISTENT = (33, 59997)
"""Rows the writer never touches (odd multiples of 3), in the first chunk and in the last: real differences."""


@pytest.fixture
def replicated(fresh_databases: DatabasePair) -> Iterator[tuple[DatabasePair, NativeReplication]]:
    """``transfers`` and ``lines`` on both sides, the forward native replication (with its sentinel) running."""
    fresh_databases.both(TRANSFERS)
    pair = fresh_databases
    forward = NativeReplication("forward", Database("source", pair.source_dsn, "source"),
                                Database("target", pair.target_dsn, "target"), object_name=f"v_{pair.dbname}")
    start_without_copy(forward, poll_seconds=0.05)
    yield pair, forward
    forward.drop()


class Writer:
    """About 200 writes a second on the source: updates of even multiples of 3 all over the table, and new rows
    (their keys from one counter for the whole session); an error of the writer fails the test."""

    numbers = itertools.count(1)

    def __init__(self, dsn: str) -> None:
        self.dsn, self.stop, self.errors = dsn, threading.Event(), []
        self.thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        try:
            with psycopg.connect(self.dsn, autocommit=True) as conn:
                while not self.stop.wait(0.005):
                    number = next(self.numbers)
                    conn.execute("UPDATE transfers SET amount = amount + 1 WHERE id = %s",
                                 (6 * (number * 7919 % 10000 + 1),))
                    conn.execute("INSERT INTO transfers VALUES (%s, 1, 'new')", (1_000_000 + number,))
        except psycopg.Error as error:
            self.errors.append(error)

    def __enter__(self) -> Writer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()
        assert not self.errors, self.errors


def _under_writes(pair: DatabasePair, options: ValidateOptions, *, hold: float = 1.0,
                  plant: str | None = None) -> dict:
    """Validate ``transfers`` while the writer runs and the target's apply worker is held for ``hold`` seconds (the
    first pass sees that second of writes in flight); ``plant`` runs on the target once the first chunk is done."""
    blocker = psycopg.connect(pair.target_dsn)
    blocker.execute("LOCK TABLE transfers IN SHARE MODE")  # reads go on, the apply worker waits
    release = threading.Timer(hold, blocker.commit)
    planted = []

    def progress(state) -> None:
        if plant and state.chunks_done and not planted:
            planted.append(pair.target.execute(plant, pair.dbname))

    with Writer(pair.source_dsn):
        release.start()
        try:
            report = validate(pair.source_dsn, pair.target_dsn, options, progress)
        finally:
            release.join()
            blocker.close()
    assert planted or not plant
    return report.as_dict()


def test_under_writes_the_recheck_waits_for_the_sentinel_no_false_difference_real_ones_kept(replicated) -> None:
    pair, forward = replicated
    options = ValidateOptions(replication=forward, tables=("transfers",), chunk_time=0.01)
    pair.target.execute(f"UPDATE transfers SET amount = -1 WHERE id = {PERSISTENT[0]}", pair.dbname)
    plant = f"UPDATE transfers SET amount = -1 WHERE id = {PERSISTENT[1]}"  # during the run, in a chunk not yet read
    report = _under_writes(pair, options, plant=plant)
    table = by_table_dict(report)["transfers"]
    assert report["recheck_by"] == "sentinel" and not report["recheck_timed_out"], report
    assert keys(table, "different") == list(PERSISTENT) and table["missing"] == table["extra"] == [], table
    assert table["counts"]["transient"] > 0 and table["counts"]["different"] == 2, table["counts"]
    # negative control: the same writes, no barrier and no delay: the writes in flight are reported as differences
    pair.target.execute(f"UPDATE transfers SET amount = id / 3 WHERE id IN {PERSISTENT}", pair.dbname)
    blind = _under_writes(pair, ValidateOptions(recheck_after=0, tables=("transfers",), chunk_time=0.01))
    counts = by_table_dict(blind)["transfers"]["counts"]
    assert blind["recheck_by"] is None and counts["different"] + counts["missing"] > 0, counts


def test_a_sentinel_not_applied_in_time_leaves_every_difference_counted(replicated) -> None:
    pair, forward = replicated
    options = ValidateOptions(replication=forward, tables=("transfers",), chunk_time=0.01, recheck_timeout=1)
    report = _under_writes(pair, options, hold=3.0)  # the apply worker held past the timeout
    table = by_table_dict(report)["transfers"]
    assert report["recheck_by"] == "sentinel" and report["recheck_timed_out"], report
    assert "did not apply the sentinel" in report["recheck_note"]
    assert table["status"] == "different" and table["counts"]["transient"] == 0, table["counts"]
    assert table["counts"]["different"] + table["counts"]["missing"] > 0


class NoSentinel:
    """A replication that runs but has no ``mark`` (or whose ``mark`` says the sentinel is not replicated)."""

    name = "forward"

    def status(self) -> ReplicationStatus:
        return ReplicationStatus(self.name, "running")


class NotReplicated(NoSentinel):
    def mark(self, token: str) -> bool:
        return False

    def marked(self, token: str) -> bool:
        raise AssertionError("no sentinel was written: nothing to wait for")


@pytest.mark.parametrize("replication", [NoSentinel(), NotReplicated()], ids=["no-mark", "mark-false"])
def test_without_a_barrier_the_recheck_falls_back_to_the_delay(fresh_databases: DatabasePair, replication) -> None:
    fresh_databases.both(TRANSFERS)
    fresh_databases.target.execute("UPDATE transfers SET amount = 0 WHERE id = 3", fresh_databases.dbname)
    report = validate(fresh_databases.source_dsn, fresh_databases.target_dsn,
                      ValidateOptions(replication=replication, tables=("transfers",))).as_dict()
    # no WAL sender streams from the source: no delay either, the difference stands as found
    assert report["recheck_by"] is None and report["recheck_note"].startswith("no sentinel"), report
    assert keys(by_table_dict(report)["transfers"], "different") == [3]
    delayed = validate(fresh_databases.source_dsn, fresh_databases.target_dsn,
                       ValidateOptions(replication=replication, recheck_after=0.01, tables=("transfers",)))
    assert delayed.recheck_by == "delay" and keys(by_table(delayed)["transfers"], "different") == [3]


def test_cli_with_an_environment_rechecks_by_the_forward_replications_sentinel(fresh_databases: DatabasePair,
                                                                             tmp_path: Path) -> None:
    pair = fresh_databases
    pair.both(TRANSFERS)
    forward = NativeReplication("forward", Database("source", pair.source_dsn, "source"),
                                Database("target", pair.target_dsn, "target"))  # what -e local builds
    start_without_copy(forward, poll_seconds=0.05)
    try:
        pair.target.execute("UPDATE transfers SET amount = 0 WHERE id = 3", pair.dbname)
        outputs = tmp_path / "outputs.json"
        outputs.write_text(json.dumps({"data": {"source_address": "source", "target_address": "target"}}))
        env = {**os.environ, "PAYMIG_CUTOVER_OUTPUTS": str(outputs)}
        done = subprocess.run([sys.executable, "-m", "cutover", "validate", "-e", "local", "--source",
                               pair.source_dsn, "--target", pair.target_dsn, "--tables", "transfers", "--state-dir",
                               str(tmp_path / "state"), "--json", str(tmp_path / "report.json")],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    finally:
        forward.drop()
    report = json.loads((tmp_path / "report.json").read_text())
    assert done.returncode == 1 and report["recheck_by"] == "sentinel", done.stdout + done.stderr
    assert "once replication applied a sentinel" in done.stdout
    assert keys(by_table_dict(report)["transfers"], "different") == [3]
    usage = subprocess.run([sys.executable, "-m", "cutover", "validate", "--source", "x", "--target", "y",
                            "--recheck-timeout", "0"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert usage.returncode == 2 and "--recheck-timeout" in usage.stderr


def by_table_dict(report: dict) -> dict:
    return {t["table"].split(".")[1]: t for t in report["tables"]}


class Latency:
    """A replication whose status reports the given CDC latencies, one per reading (the last one repeats)."""

    name = "forward"

    def __init__(self, *seconds: float) -> None:
        self.seconds, self.readings = list(seconds), 0

    def status(self) -> ReplicationStatus:
        value = self.seconds[min(self.readings, len(self.seconds) - 1)]
        self.readings += 1
        return ReplicationStatus(self.name, "running", latency_source_seconds=1.0, latency_target_seconds=value)


def test_max_cdc_latency_pauses_while_dms_lags(fresh_databases: DatabasePair, monkeypatch: pytest.MonkeyPatch) -> None:
    fresh_databases.both(TRANSFERS)
    monkeypatch.setattr(throttle, "CDC_CHECK_INTERVAL", 0.0)
    monkeypatch.setattr(throttle, "CHECK_INTERVAL", 0.01)
    notes: list[str] = []
    options = dict(tables=("transfers",), chunk_time=0.001, recheck_after=0, max_cdc_latency=30)
    calm = Latency(5.0)  # negative control: under the bound the run goes on
    report = validate(fresh_databases.source_dsn, fresh_databases.target_dsn,
                      ValidateOptions(replication=calm, **options))
    assert report.throttled_seconds == 0 and report.exit_code == 0 and calm.readings > 0
    lagging = Latency(45.0, 45.0, 5.0)
    report = validate(fresh_databases.source_dsn, fresh_databases.target_dsn,
                      ValidateOptions(replication=lagging, **options), lambda state: notes.append(state.note))
    assert report.throttled_seconds > 0 and report.exit_code == 0
    assert any("DMS CDC latency 45 s (CloudWatch) > --max-cdc-latency 30" in note for note in notes), notes


def test_cdc_latency_is_read_from_cloudwatch_at_most_once_a_minute(aws) -> None:  # noqa: F811
    import boto3

    from cutover.replication.dms import DmsReplication

    dms = boto3.client("dms", region_name="us-east-1")
    cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
    instance = dms.create_replication_instance(ReplicationInstanceIdentifier="paymig-lat",
                                               ReplicationInstanceClass="dms.t3.medium")["ReplicationInstance"]
    source, target = (dms.create_endpoint(EndpointIdentifier=f"lat-{kind}", EndpointType=kind, EngineName="postgres",
                                          ServerName="db", Port=5432, DatabaseName="payments", Username="u",
                                          Password="p")["Endpoint"]["EndpointArn"] for kind in ("source", "target"))
    task = dms.create_replication_task(ReplicationTaskIdentifier="lat-cdc", SourceEndpointArn=source,
                                       TargetEndpointArn=target, MigrationType="cdc", TableMappings="{}",
                                       ReplicationInstanceArn=instance["ReplicationInstanceArn"])["ReplicationTask"]
    calls = []
    real = cloudwatch.get_metric_statistics
    cloudwatch.get_metric_statistics = lambda **kw: calls.append(kw["MetricName"]) or real(**kw)

    def put(seconds: float) -> None:
        cloudwatch.put_metric_data(Namespace="AWS/DMS", MetricData=[{
            "MetricName": "CDCLatencyTarget", "Value": seconds, "Timestamp": datetime.now(timezone.utc),
            "Dimensions": [{"Name": "ReplicationInstanceIdentifier", "Value": "paymig-lat"},
                           {"Name": "ReplicationTaskIdentifier", "Value": "lat-cdc"}]}])

    replication = DmsReplication("forward", dms, cloudwatch, task["ReplicationTaskArn"])
    bound = throttle.Throttle(None, None, None, [], latency=throttle.cdc_latency(replication), max_cdc_latency=30)
    put(5.0)
    assert bound.reason() is None and calls == ["CDCLatencySource", "CDCLatencyTarget"]  # under the bound: go on
    put(45.0)
    assert bound.reason() is None and len(calls) == 2  # read less than a minute ago: CloudWatch not asked again
    bound._latency_at -= throttle.CDC_CHECK_INTERVAL  # a minute later
    assert "DMS CDC latency 45 s (CloudWatch) > --max-cdc-latency 30" in bound.reason()
    assert throttle.Throttle(None, None, None, [], latency=throttle.cdc_latency(replication)).reason() is None
