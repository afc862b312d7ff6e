"""What ``bench/freeze`` and ``bench/scale`` switch (and how a bench starts replication without a copy): the two local servers as a :class:`cutover.switchover.Migration`
with native logical replication both ways, the writer record in moto's in-process Route 53 and a fresh journal.

Call :func:`bench_migration` inside ``moto.mock_aws()``; the writer record is a CNAME (TTL 5 s) holding
``source.bench`` or ``target.bench``, the addresses the workload maps to each side's application DSN.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ZONE = "payment-migration-bench.internal"
WRITER_NAME = f"db.{ZONE}"


@dataclass(frozen=True)
class BenchMigration:
    """The migration, its writer record (and the hosted zone's id), and per address (``source.bench``/
    ``target.bench``) the DSNs."""

    migration: Any
    writer: Any
    zone_id: str
    app_dsn: dict[str, str]
    """Writer address -> the application role's DSN on that side (what the workload resolves the name to)."""
    admin_dsn: dict[str, str]
    """Writer address -> the admin DSN on that side (reconcile, checks)."""


def start_without_copy(replication: Any, poll_seconds: float = 0.1) -> None:
    """Start ``replication`` (a :class:`cutover.replication.native.NativeReplication`) without an initial copy, the
    two sides loaded alike beforehand, as a switch does: its publisher frozen meanwhile (``start(initial_copy=False)``
    refuses a publisher that accepts writes: a slot created then could miss a payment), then unfrozen; returns once
    it is ``running``. The publisher's application role is created when missing (a bench's fresh servers)."""
    import time

    publisher = replication.publisher
    with publisher.connect() as conn:
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (publisher.app_role,)).fetchone():
            conn.execute(f"CREATE ROLE {publisher.app_role} LOGIN")
    publisher.freeze()
    try:
        replication.start(initial_copy=False)
    finally:
        publisher.unfreeze()
    while replication.status().state != "running":
        time.sleep(poll_seconds)


def bench_migration(pair: Any, reference: str, endpoint_url: str | None = None) -> BenchMigration:
    """The migration of ``pair`` (``rehearsal.databases.Pair``); ``reference``: the hosted zone's caller reference
    (unique per call in one moto session); ``endpoint_url``: a moto server's, or None for ``moto.mock_aws``."""
    import boto3

    from cutover.database import Database
    from cutover.journal import Journal
    from cutover.replication.native import NativeReplication
    from cutover.switchover import Migration
    from cutover.writer import Route53WriterRecord
    from rehearsal.databases import APP_ROLE

    os.environ.update(AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_DEFAULT_REGION="us-east-1")
    route53 = boto3.client("route53", region_name="us-east-1", endpoint_url=endpoint_url)
    vpc = boto3.client("ec2", region_name="us-east-1", endpoint_url=endpoint_url).create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    zone = route53.create_hosted_zone(Name=ZONE, CallerReference=reference,
                                      VPC={"VPCRegion": "us-east-1", "VPCId": vpc})["HostedZone"]["Id"]
    route53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [{"Action": "CREATE",
        "ResourceRecordSet": {"Name": WRITER_NAME, "Type": "CNAME", "TTL": 5,
                              "ResourceRecords": [{"Value": "source.bench"}]}}]})
    source = Database("source", pair.source_admin, "source.bench", APP_ROLE)
    target = Database("target", pair.target_admin, "target.bench", APP_ROLE)
    writer = Route53WriterRecord(route53, zone, WRITER_NAME)
    journal = Journal(Path(tempfile.mkdtemp(prefix="paymig-bench-journal-")))
    migration = Migration(source, target, NativeReplication("forward", source, target),
                          NativeReplication("reverse", target, source), writer, journal)
    return BenchMigration(migration, writer, zone, {"source.bench": pair.source_app, "target.bench": pair.target_app},
                          {"source.bench": pair.source_admin, "target.bench": pair.target_admin})


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far, MiB: ``VmHWM`` of ``/proc/self/status`` (this process's own
    high-water mark; ``getrusage``'s ``ru_maxrss`` is kept across ``exec`` and would show the parent's), else
    ``ru_maxrss``."""
    try:
        for line in Path("/proc/self/status").read_text(encoding="utf-8").splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)  # kB
    except OSError:
        pass
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _workload_process(conn: Any, endpoint_url: str, zone_id: str, app_dsn: dict[str, str], rate: float,
                      connections: int) -> None:
    """The workload's own process (see :class:`WorkloadProcess`): it resolves the writer record through the
    Route 53 API at ``endpoint_url`` on every reconnect, and answers the commands that arrive on ``conn``."""
    import logging

    import boto3

    from cutover.writer import Route53WriterRecord
    from rehearsal.workload import PaymentWorkload, WorkloadStats, reconcile, write_gap_seconds

    logging.getLogger("psycopg.pool").setLevel(logging.ERROR)  # each freeze discards the pool's connections
    route53 = boto3.client("route53", region_name="us-east-1", endpoint_url=endpoint_url,
                           aws_access_key_id="test", aws_secret_access_key="test")
    writer = Route53WriterRecord(route53, zone_id, WRITER_NAME)
    seen = WorkloadStats()  # every phase's payments, judged against each new writer
    workload = None
    while True:
        command, *args = conn.recv()
        if command == "start":
            workload = PaymentWorkload(lambda: app_dsn[writer.value()], rate, connections=connections).start()
            conn.send("started")
        elif command == "reset-wait":
            with workload._lock:  # noqa: SLF001 - the longest wait of one switch alone
                workload.stats.longest_wait_seconds = 0.0
            conn.send("reset")
        elif command == "stop":
            writer_dsn, after_id, window = args
            stats = workload.stop()
            seen.acknowledged.update(stats.acknowledged)
            seen.rows.update(stats.rows)
            seen.attempted |= stats.attempted
            seen.errors += stats.errors
            conn.send({**reconcile(seen, writer_dsn, {}, after_id=after_id),
                       "longest_payment_wait_seconds": round(stats.longest_wait_seconds, 3),
                       "client_write_gap_seconds": write_gap_seconds(stats, *window),
                       "failed_attempts": stats.failed_attempts, "workload_errors": len(seen.errors),
                       "workload_peak_rss_mib": peak_rss_mib()})
        else:
            conn.send("bye")
            return


class WorkloadProcess:
    """``rehearsal.workload.PaymentWorkload`` in a process of its own, so that the benchmark's process holds the
    tool alone (its peak memory is the tool's) while the workload keeps its record of every payment elsewhere.

    The workload resolves the writer name through the Route 53 API of a moto server (``endpoint_url``), as a
    client would; :meth:`stop` reconciles there (``reconcile(..., after_id=)``) and returns the counts.
    """

    def __init__(self, endpoint_url: str, zone_id: str, app_dsn: dict[str, str], rate: float, connections: int):
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_workload_process, name="payment-workload", daemon=True,
                                        args=(child, endpoint_url, zone_id, app_dsn, rate, connections))
        self._process.start()

    def _ask(self, *command: Any) -> Any:
        self._conn.send(command)
        return self._conn.recv()

    def start(self) -> None:
        """A new phase of payments at the rate (the record of earlier phases is kept)."""
        self._ask("start")

    def reset_wait(self) -> None:
        """Forget the longest wait so far: the next :meth:`stop` reports the longest wait since."""
        self._ask("reset-wait")

    def stop(self, writer_dsn: str, after_id: int, window: tuple[float, float]) -> dict[str, Any]:
        """End the phase; reconcile every payment acknowledged so far against ``writer_dsn`` (rows above
        ``after_id``); the write gap inside ``window`` (``time.monotonic()``, one clock for both processes)."""
        return self._ask("stop", writer_dsn, after_id, window)

    def close(self) -> None:
        """End the process."""
        self._ask("exit")
        self._process.join(timeout=30)
