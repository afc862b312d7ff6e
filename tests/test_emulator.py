"""The embedded emulated AWS: process lifecycle, loopback only, and each compatibility fix seen through boto3."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import psutil
import pytest
from botocore.exceptions import ClientError

from emulator import Emulator, EmulatorError, LocalSession
from emulator.moto_compat import FIXES
from emulator import emulator_client


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> str:
    with Emulator(tmp_path_factory.mktemp("emulator") / "emulator.log") as emulator:
        yield str(emulator.endpoint)


def test_the_emulator_listens_on_loopback_only_and_stops(tmp_path):
    emulator = Emulator(tmp_path / "emulator.log").start()
    url = urlparse(emulator.endpoint)
    assert (url.scheme, url.hostname) == ("http", "127.0.0.1")
    listening = {conn.laddr for conn in psutil.Process(emulator.pid).net_connections(kind="inet")
                 if conn.status == psutil.CONN_LISTEN}
    assert listening == {("127.0.0.1", url.port)}
    pid = emulator.pid
    emulator.stop()
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_every_fix_names_the_aws_behaviour_it_restores():
    for fix in FIXES:
        assert fix.__doc__ and len(fix.__doc__.split()) > 15, fix.__name__


def test_a_local_session_is_recorded_reused_and_stopped(tmp_path):
    session = LocalSession(tmp_path)
    with pytest.raises(EmulatorError, match="make deploy-local"):
        session.require_endpoint()
    endpoint, started = session.ensure_running()
    try:
        assert started and json.loads((tmp_path / "emulator.json").read_text())["endpoint"] == endpoint
        assert session.ensure_running() == (endpoint, False)
        assert session.require_endpoint() == endpoint
    finally:
        assert session.stop() is True
    assert session.running_endpoint() is None and not (tmp_path / "emulator.json").exists()


def test_rds_instances_keep_their_own_resource_id_secret_and_performance_insights(endpoint):
    rds, kms = emulator_client(endpoint, "rds"), emulator_client(endpoint, "kms")
    key, other_key = (kms.create_key()["KeyMetadata"]["Arn"] for _ in range(2))
    for name in ("fix-a", "fix-b"):
        rds.create_db_instance(DBInstanceIdentifier=name, Engine="postgres", DBInstanceClass="db.t4g.micro",
                               AllocatedStorage=20, MasterUsername="fixture", ManageMasterUserPassword=True,
                               MasterUserSecretKmsKeyId=key, EnablePerformanceInsights=True,
                               PerformanceInsightsKMSKeyId=key, PerformanceInsightsRetentionPeriod=7)
    first, second = (rds.describe_db_instances(DBInstanceIdentifier=n)["DBInstances"][0] for n in ("fix-a", "fix-b"))
    assert first["DbiResourceId"] != second["DbiResourceId"]
    assert (first["PerformanceInsightsEnabled"], first["PerformanceInsightsRetentionPeriod"]) == (True, 7)
    rds.modify_db_instance(DBInstanceIdentifier="fix-a", ManageMasterUserPassword=True,
                           MasterUserSecretKmsKeyId=other_key, ApplyImmediately=True)
    modified = rds.describe_db_instances(DBInstanceIdentifier="fix-a")["DBInstances"][0]
    assert modified["MasterUserSecret"]["SecretArn"] == first["MasterUserSecret"]["SecretArn"]
    assert modified["MasterUserSecret"]["KmsKeyId"] == other_key


def test_rds_parameters_answer_their_source(endpoint):
    rds = emulator_client(endpoint, "rds")
    rds.create_db_parameter_group(DBParameterGroupName="fix-pg", DBParameterGroupFamily="postgres15",
                                  Description="fixture")
    rds.modify_db_parameter_group(DBParameterGroupName="fix-pg", Parameters=[
        {"ParameterName": "rds.logical_replication", "ParameterValue": "1", "ApplyMethod": "pending-reboot"}])
    user = rds.describe_db_parameters(DBParameterGroupName="fix-pg", Source="user")["Parameters"]
    assert [(p["ParameterName"], p["Source"]) for p in user] == [("rds.logical_replication", "user")]
    assert rds.describe_db_parameters(DBParameterGroupName="fix-pg", Source="system")["Parameters"] == []


def test_dms_tasks_are_ready_with_timestamps_and_subnet_groups_keep_subnets(endpoint):
    ec2, dms = emulator_client(endpoint, "ec2"), emulator_client(endpoint, "dms")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.9.{i}.0/24", AvailabilityZone=f"us-east-1{z}")
               ["Subnet"]["SubnetId"] for i, z in ((1, "a"), (2, "b"), (3, "c"))]
    dms.create_replication_subnet_group(ReplicationSubnetGroupIdentifier="fix-subnets",
                                        ReplicationSubnetGroupDescription="fixture", SubnetIds=subnets[:2],
                                        Tags=[{"Key": "Stack", "Value": "fixture"}])
    group = dms.describe_replication_subnet_groups()["ReplicationSubnetGroups"][0]
    assert sorted(s["SubnetIdentifier"] for s in group["Subnets"]) == sorted(subnets[:2])
    assert group["VpcId"] == vpc
    dms.modify_replication_subnet_group(ReplicationSubnetGroupIdentifier="fix-subnets", SubnetIds=subnets[1:])
    group = dms.describe_replication_subnet_groups()["ReplicationSubnetGroups"][0]
    assert sorted(s["SubnetIdentifier"] for s in group["Subnets"]) == sorted(subnets[1:])
    arn = "arn:aws:dms:us-east-1:123456789012:subgrp:fix-subnets"
    assert [(t["Key"], t["Value"]) for t in dms.list_tags_for_resource(ResourceArn=arn)["TagList"]] == [
        ("Stack", "fixture")]
    instance = dms.create_replication_instance(ReplicationInstanceIdentifier="fix-instance",
                                               ReplicationInstanceClass="dms.t3.micro")["ReplicationInstance"]
    endpoints = [dms.create_endpoint(EndpointIdentifier=f"fix-{kind}", EndpointType=kind, EngineName="postgres")
                 ["Endpoint"]["EndpointArn"] for kind in ("source", "target")]
    task = dms.create_replication_task(
        ReplicationTaskIdentifier="fix-task", SourceEndpointArn=endpoints[0], TargetEndpointArn=endpoints[1],
        ReplicationInstanceArn=instance["ReplicationInstanceArn"], MigrationType="full-load-and-cdc",
        TableMappings=json.dumps({"rules": []}))["ReplicationTask"]
    assert task["Status"] == "ready"
    assert task["ReplicationTaskCreationDate"].year >= 2024  # an epoch number, parsed by the SDK


def test_application_autoscaling_targets_carry_tags(endpoint):
    autoscaling = emulator_client(endpoint, "application-autoscaling")
    ecs = emulator_client(endpoint, "ecs")
    ecs.create_cluster(clusterName="fix-cluster")
    ecs.register_task_definition(family="fix", containerDefinitions=[{"name": "app", "image": "nginx:1.27", "memory": 512}])
    ecs.create_service(cluster="fix-cluster", serviceName="fix-service", taskDefinition="fix", desiredCount=1)
    arn = autoscaling.register_scalable_target(
        ServiceNamespace="ecs", ResourceId="service/fix-cluster/fix-service", ScalableDimension="ecs:service:DesiredCount",
        MinCapacity=1, MaxCapacity=2, Tags={"Stack": "fixture"})["ScalableTargetARN"]
    autoscaling.tag_resource(ResourceARN=arn, Tags={"Owner": "payments"})
    autoscaling.untag_resource(ResourceARN=arn, TagKeys=["Stack"])
    assert autoscaling.list_tags_for_resource(ResourceARN=arn)["Tags"] == {"Owner": "payments"}


def test_ecs_services_keep_grace_period_and_rebalancing(endpoint):
    ecs = emulator_client(endpoint, "ecs")
    ecs.create_cluster(clusterName="fix-settings")
    ecs.register_task_definition(family="fix-settings", containerDefinitions=[{"name": "app", "image": "nginx:1.27", "memory": 512}])
    ecs.create_service(cluster="fix-settings", serviceName="svc", taskDefinition="fix-settings", desiredCount=0,
                       healthCheckGracePeriodSeconds=60, availabilityZoneRebalancing="DISABLED")
    ecs.update_service(cluster="fix-settings", service="svc", healthCheckGracePeriodSeconds=90)
    service = ecs.describe_services(cluster="fix-settings", services=["svc"])["services"][0]
    assert (service["healthCheckGracePeriodSeconds"], service["availabilityZoneRebalancing"]) == (90, "DISABLED")


def test_security_group_rules_keep_descriptions_of_group_references(endpoint):
    ec2 = emulator_client(endpoint, "ec2")
    vpc = ec2.create_vpc(CidrBlock="10.8.0.0/16")["Vpc"]["VpcId"]
    source, target = (ec2.create_security_group(GroupName=n, Description=n, VpcId=vpc)["GroupId"]
                      for n in ("fix-source", "fix-target"))
    ec2.authorize_security_group_ingress(GroupId=target, IpPermissions=[{
        "IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432,
        "UserIdGroupPairs": [{"GroupId": source, "Description": "PostgreSQL from the app"}]}])
    rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [target]}])["SecurityGroupRules"]
    assert [r.get("Description") for r in rules if not r["IsEgress"]] == ["PostgreSQL from the app"]


def test_a_hosted_zone_created_with_a_vpc_is_private_and_associated(endpoint):
    vpc = emulator_client(endpoint, "ec2").create_vpc(CidrBlock="10.7.0.0/16")["Vpc"]["VpcId"]
    route53 = emulator_client(endpoint, "route53")
    zone = route53.create_hosted_zone(Name="payment-migration-fix.internal", CallerReference="fix",
                                      VPC={"VPCRegion": "us-east-1", "VPCId": vpc})["HostedZone"]["Id"]
    answer = route53.get_hosted_zone(Id=zone)
    assert answer["HostedZone"]["Config"]["PrivateZone"] is True
    assert [v["VPCId"] for v in answer["VPCs"]] == [vpc]


def _tls_only_bucket(s3, name: str, extra: list | None = None) -> None:
    s3.create_bucket(Bucket=name)
    s3.put_bucket_policy(Bucket=name, Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"],
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}}, *(extra or [])]}))


def test_tls_only_policies_let_requests_through_and_logging_targets_are_accepted(endpoint):
    s3 = emulator_client(endpoint, "s3")
    _tls_only_bucket(s3, "fix-state")
    s3.put_object(Bucket="fix-state", Key="state.tfstate", Body=b"{}")
    assert s3.get_object(Bucket="fix-state", Key="state.tfstate")["Body"].read() == b"{}"
    _tls_only_bucket(s3, "fix-logs", [{"Effect": "Allow", "Principal": {"Service": "logging.s3.amazonaws.com"},
                                       "Action": "s3:PutObject", "Resource": "arn:aws:s3:::fix-logs/s3/*"}])
    s3.put_bucket_logging(Bucket="fix-state", BucketLoggingStatus={"LoggingEnabled": {
        "TargetBucket": "fix-logs", "TargetPrefix": "s3/fix-state/"}})
    assert s3.get_bucket_logging(Bucket="fix-state")["LoggingEnabled"]["TargetBucket"] == "fix-logs"
    s3.create_bucket(Bucket="fix-acl-logs")
    s3.put_bucket_ownership_controls(Bucket="fix-acl-logs", OwnershipControls={
        "Rules": [{"ObjectOwnership": "BucketOwnerPreferred"}]})
    with pytest.raises(ClientError, match="InvalidTargetBucketForLogging"):  # ACL targets still need the grant
        s3.put_bucket_logging(Bucket="fix-state", BucketLoggingStatus={"LoggingEnabled": {
            "TargetBucket": "fix-acl-logs", "TargetPrefix": "s3/"}})


def test_replication_rules_read_back_delete_marker_replication(endpoint):
    s3 = emulator_client(endpoint, "s3")
    for bucket in ("fix-source", "fix-replica"):
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_replication(Bucket="fix-source", ReplicationConfiguration={
        "Role": "arn:aws:iam::123456789012:role/replication", "Rules": [{
            "ID": "logs", "Priority": 1, "Status": "Enabled", "Filter": {"Prefix": "logs/"},
            "DeleteMarkerReplication": {"Status": "Enabled"},
            "Destination": {"Bucket": "arn:aws:s3:::fix-replica"}}]})
    rule = s3.get_bucket_replication(Bucket="fix-source")["ReplicationConfiguration"]["Rules"][0]
    assert (rule["DeleteMarkerReplication"], rule["Filter"]) == ({"Status": "Enabled"}, {"Prefix": "logs/"})


def test_iam_has_the_aws_managed_policies(endpoint):
    policy = emulator_client(endpoint, "iam").get_policy(
        PolicyArn="arn:aws:iam::aws:policy/service-role/AmazonDMSVPCManagementRole")["Policy"]
    assert policy["PolicyName"] == "AmazonDMSVPCManagementRole"


def test_server_exits_with_its_parent(tmp_path):
    """``--parent-pid``: an emulator whose parent is gone stops by itself (no orphan after a killed test run)."""
    parent = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    server = subprocess.Popen([sys.executable, "-m", "emulator.server", "--parent-pid", str(parent.pid)],
                              cwd=Path(__file__).resolve().parent.parent, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True, env={**os.environ})
    try:
        assert json.loads(server.stdout.readline())["endpoint"].startswith("http://127.0.0.1:")
        parent.kill()
        parent.wait()
        assert server.wait(timeout=20) == 0
    finally:
        for process in (parent, server):
            if process.poll() is None:
                process.kill()
