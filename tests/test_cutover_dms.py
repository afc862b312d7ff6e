"""The DMS implementation of the replication interface against moto's DMS and CloudWatch APIs (moto moves no data:
the data path is tested with PostgreSQL logical replication)."""

from __future__ import annotations

from datetime import datetime, timezone

import boto3

from cutover.replication.dms import DmsReplication
from tests.cutover_fixtures import aws  # noqa: F401  (fixture)


def test_start_stop_resume_and_cdc_latency_from_cloudwatch(aws):  # noqa: F811
    dms = boto3.client("dms", region_name="us-east-1")
    cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
    instance = dms.create_replication_instance(ReplicationInstanceIdentifier="paymig-test-dms",
                                               ReplicationInstanceClass="dms.t3.medium")["ReplicationInstance"]
    endpoints = [dms.create_endpoint(EndpointIdentifier=f"paymig-test-{kind}", EndpointType=kind, EngineName="postgres",
                                     ServerName="db", Port=5432, DatabaseName="payments", Username="u",
                                     Password="p")["Endpoint"]["EndpointArn"] for kind in ("source", "target")]
    task = dms.create_replication_task(
        ReplicationTaskIdentifier="paymig-test-cdc", SourceEndpointArn=endpoints[0], TargetEndpointArn=endpoints[1],
        ReplicationInstanceArn=instance["ReplicationInstanceArn"], MigrationType="full-load-and-cdc",
        TableMappings="{}")["ReplicationTask"]
    replication = DmsReplication("forward", dms, cloudwatch, task["ReplicationTaskArn"])
    replication.start(initial_copy=True)
    assert replication.status().state in ("running", "starting", "full-load")
    replication.stop()
    assert replication.status().state == "stopped"
    replication.resume()
    for name, value in (("CDCLatencySource", 3.0), ("CDCLatencyTarget", 7.0)):  # one call each: moto keeps one
        cloudwatch.put_metric_data(Namespace="AWS/DMS", MetricData=[{
            "MetricName": name, "Value": value, "Timestamp": datetime.now(timezone.utc),
            "Dimensions": [{"Name": "ReplicationInstanceIdentifier", "Value": "paymig-test-dms"},
                           {"Name": "ReplicationTaskIdentifier", "Value": "paymig-test-cdc"}]}])
    status = replication.status()
    assert (status.latency_source_seconds, status.latency_target_seconds) == (3.0, 7.0)
    assert DmsReplication("reverse", dms, cloudwatch, "arn:aws:dms:us-east-1:123456789012:task:NONE").status().state \
        == "absent"
