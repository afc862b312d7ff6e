"""The deployed outputs on the emulated AWS: every printed ``aws`` runbook command runs as printed (through boto3,
``tests/aws_cli.py``) where moto implements it, and the ARNs and identifiers the stacks output name what exists.

Where moto cannot follow, the test says so and checks the command's shape only: moto has no
``DescribeTableStatistics``, performs no S3 replication (the test copies the canary to the replica bucket itself,
standing in for S3) and runs no containers (the ``curl`` commands are checked for URL, scheme and path, not sent).

The canary objects it leaves in both transaction-log buckets are what the destroying test
proves ``force_destroy`` on (a disposable environment's teardown works with objects in its buckets).
"""

from __future__ import annotations

import json

import pytest

from tests.aws_cli import parse_aws, parse_curl
from tests.local_deployment import Deployment

pytestmark = pytest.mark.terraform


def stack_outputs(deployment: Deployment, stack: str) -> dict[str, object]:
    return deployment.stacks[stack].terraform().output()


def run(deployment: Deployment, command: str) -> object:
    """Run a printed ``aws`` command on the deployment's emulator, as the CLI would (``--query`` applied)."""
    return parse_aws(command).call(deployment.client)


@pytest.mark.stacks("data")
def test_dms_runbook_starts_shows_and_stops_the_task_as_printed(deployment):
    """Read-only commands run as printed; start and stop run as printed on a scratch task of the same instance
    and endpoints (its ARN put in place of the deployed task's), so the shared deployment's task stays ``ready``."""
    outputs = stack_outputs(deployment, "data")
    task_arn = outputs["dms_replication_task_arn"]
    status = run(deployment, outputs["runbook_replication_status"])
    assert set(status) == {"status", "stopReason", "fullLoadPercent"} and status["status"] == "ready"
    dms = deployment.client("dms")
    scratch = dms.create_replication_task(
        ReplicationTaskIdentifier="runbook-scratch", MigrationType="full-load-and-cdc",
        ReplicationInstanceArn=outputs["dms_replication_instance_arn"],
        SourceEndpointArn=outputs["dms_source_endpoint_arn"], TargetEndpointArn=outputs["dms_target_endpoint_arn"],
        TableMappings=json.dumps({"rules": []}))["ReplicationTask"]["ReplicationTaskArn"]
    try:
        on_scratch = {name: outputs[name].replace(task_arn, scratch) for name in (
            "runbook_start_replication", "runbook_replication_status", "runbook_stop_replication")}
        run(deployment, on_scratch["runbook_start_replication"])
        assert run(deployment, on_scratch["runbook_replication_status"])["status"] == "running"
        stopped = run(deployment, on_scratch["runbook_stop_replication"])
        assert stopped["ReplicationTask"]["ReplicationTaskArn"] == scratch
        assert run(deployment, on_scratch["runbook_replication_status"])["status"] == "stopped"
    finally:
        dms.delete_replication_task(ReplicationTaskArn=scratch)
    assert run(deployment, outputs["runbook_replication_status"])["status"] == "ready"
    validation = parse_aws(outputs["runbook_validation_status"])  # moto: no DescribeTableStatistics
    assert validation.parameters == {"ReplicationTaskArn": task_arn}


@pytest.mark.stacks("data")
def test_data_outputs_name_the_deployed_instances_and_endpoints(deployment):
    outputs = stack_outputs(deployment, "data")
    rds = deployment.client("rds")
    for role in ("source", "target"):
        instance = rds.describe_db_instances(DBInstanceIdentifier=outputs[f"{role}_instance_identifier"])
        assert instance["DBInstances"][0]["DBInstanceIdentifier"] == outputs[f"{role}_instance_identifier"]
    endpoints = {e["EndpointArn"]: e["EndpointType"].lower()
                 for e in deployment.client("dms").describe_endpoints()["Endpoints"]}
    assert endpoints[outputs["dms_source_endpoint_arn"]] == "source"
    assert endpoints[outputs["dms_target_endpoint_arn"]] == "target"
    task = deployment.client("dms").describe_replication_tasks()["ReplicationTasks"][0]
    logging = json.loads(task["ReplicationTaskSettings"])["Logging"]
    assert {c["Id"] for c in logging["LogComponents"]} == {
        "SOURCE_UNLOAD", "TARGET_LOAD", "SOURCE_CAPTURE", "TARGET_APPLY", "TASK_MANAGER"}


@pytest.mark.stacks("network", "storage")
def test_replication_runbook_puts_a_canary_and_finds_it_in_the_replica(deployment):
    outputs = stack_outputs(deployment, "storage")
    put = parse_aws(outputs["runbook_replication_canary"])
    put.call(deployment.client)
    head = deployment.client("s3").head_object(Bucket=put.parameters["Bucket"], Key=put.parameters["Key"])
    assert head["ContentLength"] == 0
    check = parse_aws(outputs["runbook_replication_check"])
    # moto performs no replication: copy the canary to the replica bucket as S3 would, then check as printed
    deployment.client("s3", check.region).put_object(Bucket=check.parameters["Bucket"], Key=check.parameters["Key"])
    assert run(deployment, outputs["runbook_replication_check"])["modified"] is not None
    arns = (outputs["transaction_log_bucket_arn"], outputs["transaction_log_replica_bucket_arn"])
    assert arns == (f"arn:aws:s3:::{put.parameters['Bucket']}", f"arn:aws:s3:::{check.parameters['Bucket']}")
    tags = {t["Key"]: t["Value"] for t in deployment.client("s3", check.region).get_bucket_tagging(
        Bucket=check.parameters["Bucket"])["TagSet"]}  # the aliased replica provider's default tags
    assert {k: tags.get(k) for k in ("MigrationPhase", "CostCenter", "Owner", "Stack", "Environment")} == {
        "MigrationPhase": "preparation", "CostCenter": "payments", "Owner": "payments-platform",
        "Stack": "storage", "Environment": "local"}
    network = stack_outputs(deployment, "network")
    vpc = deployment.client("ec2").describe_vpcs(VpcIds=[network["vpc_id"]])["Vpcs"][0]
    assert vpc["CidrBlock"] == network["vpc_cidr"] == "10.30.0.0/16"


@pytest.mark.stacks("service", "traffic")
def test_service_and_traffic_outputs_and_curl_runbooks_name_what_is_deployed(deployment):
    service, traffic = stack_outputs(deployment, "service"), stack_outputs(deployment, "traffic")
    names = deployment.names
    elbv2 = deployment.client("elbv2")
    balancer = elbv2.describe_load_balancers(Names=[names.alb])["LoadBalancers"][0]
    group = elbv2.describe_target_groups(Names=[names.target_group])["TargetGroups"][0]
    assert (service["alb_arn"], service["target_group_arn"]) == (balancer["LoadBalancerArn"], group["TargetGroupArn"])
    ecs_service = deployment.client("ecs").describe_services(cluster=names.ecs_cluster, services=[names.ecs_service])
    assert service["ecs_task_definition_arn"] == ecs_service["services"][0]["taskDefinition"]
    assert ":task-definition/" in service["ecs_task_definition_arn"]
    # moto runs no containers and its ALB names do not resolve: the curl commands are checked, not sent
    health_path = group["HealthCheckPath"]  # the container's health path, as the deployed target group checks it
    alb = parse_curl(service["runbook_test_alb"])
    assert (alb.scheme, alb.host, alb.path) == ("http", balancer["DNSName"], health_path)
    checks = {c["Id"]: c["HealthCheckConfig"] for c in deployment.client("route53").list_health_checks()["HealthChecks"]}
    record = parse_curl(traffic["runbook_test_record"])
    assert (record.scheme, record.host) == ("http", traffic["record_fqdn"])
    assert record.path == checks[traffic["legacy_health_check_id"]]["ResourcePath"]  # the legacy side answers it
    assert checks[traffic["new_health_check_id"]]["FullyQualifiedDomainName"] == balancer["DNSName"]
    assert checks[traffic["legacy_health_check_id"]]["FullyQualifiedDomainName"].startswith("legacy-payments-")
