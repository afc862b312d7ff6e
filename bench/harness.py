"""What ``bench/freeze`` and ``bench/scale`` switch: the two local servers as a :class:`cutover.switchover.Migration`
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
    """The migration, its writer record, and per address (``source.bench``/``target.bench``) the DSNs."""

    migration: Any
    writer: Any
    app_dsn: dict[str, str]
    """Writer address -> the application role's DSN on that side (what the workload resolves the name to)."""
    admin_dsn: dict[str, str]
    """Writer address -> the admin DSN on that side (reconcile, checks)."""


def bench_migration(pair: Any, reference: str) -> BenchMigration:
    """The migration of ``pair`` (``rehearsal.databases.Pair``); ``reference``: the hosted zone's caller reference
    (unique per call in one moto session)."""
    import boto3

    from cutover.database import Database
    from cutover.journal import Journal
    from cutover.replication.native import NativeReplication
    from cutover.switchover import Migration
    from cutover.writer import Route53WriterRecord
    from rehearsal.databases import APP_ROLE

    os.environ.update(AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_DEFAULT_REGION="us-east-1")
    route53 = boto3.client("route53", region_name="us-east-1")
    vpc = boto3.client("ec2", region_name="us-east-1").create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
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
    return BenchMigration(migration, writer, {"source.bench": pair.source_app, "target.bench": pair.target_app},
                          {"source.bench": pair.source_admin, "target.bench": pair.target_admin})
