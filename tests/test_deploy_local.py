"""Every stack deployed for real onto the embedded emulated AWS, checked with boto3, re-planned, locked, destroyed.

The deployment is the test session's (``tests/local_deployment.py``): a legacy source database created with boto3
and imported by the data stack, every stack applied with the real Terraform and hashicorp/aws 5.100.0 in the
background while other tests run. Each test here waits for the stacks it names (``@pytest.mark.stacks``); the
last one checks the destroy of everything, which ran in the background after the last of them.
"""

from __future__ import annotations

import json
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from cdktf_runtime.environment import PROJECT_ROOT
from config import load_config
from cutover.credentials import Endpoint, promote, role_secrets, stage_secrets
from cutover.roles import ROLES, generate_password
from ops.local import synthesize
from terraform_driver import SynthesizedStack, TerraformError, state_stack
from tests.local_deployment import (LEGACY_DB, LEGACY_NETWORK, LEGACY_PORT, LEGACY_SUBNET_GROUP, Deployment,
                                    import_legacy)

pytestmark = pytest.mark.terraform


def test_no_environment_but_local_carries_emulator_settings(synthesized, tmp_path):
    from tests.conftest import synth_app

    emulator_keys = {"endpoints", "access_key", "secret_key", "use_path_style", "s3_use_path_style", "http_proxy",
                     "https_proxy", "skip_credentials_validation", "skip_requesting_account_id", "max_retries"}
    prod = synth_app(load_config("prod"), tmp_path / "prod")
    for stack in [*synthesized.values(), *prod.values()]:
        document = stack.document
        blocks = [*document.get("provider", {}).get("aws", []),
                  *document["terraform"].get("backend", {}).values(),
                  *(source["config"] for source in document.get("data", {}).get("terraform_remote_state", {}).values())]
        assert blocks and all(not emulator_keys & set(block) for block in blocks), stack.name


def test_every_stack_is_applied(deployment):
    assert set(deployment.results) == set(deployment.stacks)
    for name, stack in deployment.stacks.items():
        result = deployment.results[name]
        assert result.added + result.imported == stack.resource_count(), name
    assert deployment.results["data"].imported == 1
    outputs = deployment.stacks["service"].terraform().output()
    assert outputs["alb_dns_name"].endswith(".elb.amazonaws.com")
    assert all(result.slowest and result.seconds >= max(seconds for _, seconds in result.slowest)
               for result in deployment.results.values())  # timings from Terraform's apply_complete messages


@pytest.mark.stacks("data")
def test_import_plan_adopts_the_legacy_source_without_replacing_anything(deployment):
    changes = deployment.import_plan["resource_changes"]
    imported = [change for change in changes if change["change"].get("importing")]
    assert [change["change"]["importing"]["id"] for change in imported] == [LEGACY_DB]
    assert imported[0]["type"] == "aws_db_instance"
    destructive = [change["address"] for change in changes if "delete" in change["change"]["actions"]]
    assert destructive == []
    # the legacy application keeps its database where it is: placement, endpoint, nothing that reboots it
    change = imported[0]["change"]
    before, after, unknown = change["before"], change["after"], change["after_unknown"]
    kept = ("identifier", "address", "endpoint", "port", "db_subnet_group_name", "vpc_security_group_ids",
            "availability_zone", "instance_class", "engine", "engine_version", "storage_type", "kms_key_id",
            "storage_encrypted", "multi_az", "ca_cert_identifier", "db_name", "username")
    changed = sorted(name for name in kept if before.get(name) != after.get(name) or unknown.get(name) is True)
    assert changed == [], {name: (before.get(name), after.get(name)) for name in changed}
    assert (after["db_subnet_group_name"], after["port"]) == (LEGACY_SUBNET_GROUP, LEGACY_PORT)
    assert after["vpc_security_group_ids"] == deployment.legacy["existing_security_group_ids"]
    instance = deployment.client("rds").describe_db_instances(DBInstanceIdentifier=LEGACY_DB)["DBInstances"][0]
    assert instance["DBSubnetGroup"]["DBSubnetGroupName"] == LEGACY_SUBNET_GROUP  # still there after the apply
    assert [g["VpcSecurityGroupId"] for g in instance["VpcSecurityGroups"]] == after["vpc_security_group_ids"]
    assert instance["Endpoint"]["Port"] == LEGACY_PORT


@pytest.mark.stacks("network")
def test_dms_may_reach_the_legacy_network_on_the_legacy_port(deployment):
    groups = deployment.stacks["network"].of_type("aws_security_group").values()
    name = next(group["name"] for group in groups if group["//"]["metadata"]["path"] == "network/network/dms-sg")
    group = deployment.client("ec2").describe_security_groups(
        Filters=[{"Name": "group-name", "Values": [name]}])["SecurityGroups"][0]
    egress = {(r["IpProtocol"], r["FromPort"], r["ToPort"], ip["CidrIp"])
              for r in group["IpPermissionsEgress"] for ip in r.get("IpRanges", [])}
    assert ("tcp", LEGACY_PORT, LEGACY_PORT, deployment.legacy["existing_network_cidrs"][0]) in egress


@pytest.mark.stacks("data")
def test_databases_are_encrypted_with_logical_replication_on_the_source(deployment):
    rds = deployment.client("rds")
    names = deployment.names
    source = rds.describe_db_instances(DBInstanceIdentifier=names.source_db)["DBInstances"][0]
    target = rds.describe_db_instances(DBInstanceIdentifier=names.target_db)["DBInstances"][0]
    for instance in (source, target):
        assert instance["StorageEncrypted"] is True
        assert instance["MasterUserSecret"]["SecretArn"]  # the password stays with RDS
    assert source["DBParameterGroups"][0]["DBParameterGroupName"] == names.source_parameter_group
    assert source["DbiResourceId"] != target["DbiResourceId"]
    parameters = {p["ParameterName"]: p for p in rds.describe_db_parameters(
        DBParameterGroupName=names.source_parameter_group)["Parameters"]}
    assert parameters["rds.logical_replication"]["ParameterValue"] == "1"
    assert parameters["rds.logical_replication"]["ApplyMethod"] == "pending-reboot"


@pytest.mark.stacks("data")
def test_dms_instance_endpoints_and_task(deployment):
    dms = deployment.client("dms")
    names = deployment.names
    instance = dms.describe_replication_instances()["ReplicationInstances"]
    assert [i["ReplicationInstanceIdentifier"] for i in instance] == [names.dms_instance]
    endpoints = {e["EndpointIdentifier"]: e for e in dms.describe_endpoints()["Endpoints"]}
    assert endpoints[names.dms_source_endpoint]["EndpointType"].lower() == "source"
    assert endpoints[names.dms_target_endpoint]["EndpointType"].lower() == "target"
    tasks = {t["ReplicationTaskIdentifier"]: t for t in dms.describe_replication_tasks()["ReplicationTasks"]}
    assert set(tasks) == {names.dms_task, names.dms_reverse_task}  # forward, and reverse (issue 15)
    task = tasks[names.dms_task]
    assert task["MigrationType"] == "full-load-and-cdc"
    assert task["Status"] == "ready"
    settings = json.loads(task["ReplicationTaskSettings"])
    assert settings["ValidationSettings"]["EnableValidation"] is True
    assert settings["ErrorBehavior"]["DataErrorPolicy"] == "STOP_TASK"
    assert json.loads(task["TableMappings"])["rules"][0]["rule-action"] == "include"


@pytest.mark.stacks("storage")
def test_transaction_log_buckets_are_versioned_encrypted_and_replicated(deployment):
    names = deployment.names
    s3 = deployment.client("s3")
    replica_s3 = deployment.client("s3", "us-west-2")
    for client, bucket in ((s3, names.txlog_bucket), (replica_s3, names.txlog_replica_bucket)):
        assert client.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
        rules = client.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
        assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("aws:kms", "AES256")
    assert replica_s3.get_bucket_location(Bucket=names.txlog_replica_bucket)["LocationConstraint"] == "us-west-2"
    replication = s3.get_bucket_replication(Bucket=names.txlog_bucket)["ReplicationConfiguration"]
    rule = replication["Rules"][0]
    assert rule["Destination"]["Bucket"] == f"arn:aws:s3:::{names.txlog_replica_bucket}"
    assert rule["DeleteMarkerReplication"]["Status"] == "Enabled"


@pytest.mark.stacks("service")
def test_ecs_service_behind_the_load_balancer(deployment):
    names = deployment.names
    ecs = deployment.client("ecs")
    service = ecs.describe_services(cluster=names.ecs_cluster, services=[names.ecs_service])["services"][0]
    assert service["launchType"] == "FARGATE"
    elbv2 = deployment.client("elbv2")
    group = elbv2.describe_target_groups(Names=[names.target_group])["TargetGroups"][0]
    assert service["loadBalancers"][0]["targetGroupArn"] == group["TargetGroupArn"]
    balancer = elbv2.describe_load_balancers(Names=[names.alb])["LoadBalancers"][0]
    listeners = elbv2.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"]
    forwarded = [action.get("TargetGroupArn") for listener in listeners for action in listener["DefaultActions"]]
    assert group["TargetGroupArn"] in forwarded
    # moto runs no container: only here does the deploy not wait for steady state (dev and prod do)
    synthesized = next(iter(deployment.stacks["service"].of_type("aws_ecs_service").values()))
    assert synthesized["wait_for_steady_state"] is False
    assert synthesized["deployment_circuit_breaker"] == {"enable": True, "rollback": True}  # moto does not report it


@pytest.mark.stacks("traffic")
def test_weighted_records_with_health_checks(deployment):
    route53 = deployment.client("route53")
    zone = next(z for z in route53.list_hosted_zones()["HostedZones"] if not z["Config"].get("PrivateZone"))
    records = [r for r in route53.list_resource_record_sets(HostedZoneId=zone["Id"])["ResourceRecordSets"]
               if r.get("SetIdentifier")]
    assert {r["SetIdentifier"]: r["Weight"] for r in records} == {"legacy": 100, "new": 0}
    checks = {c["Id"] for c in route53.list_health_checks()["HealthChecks"]}
    # only the new side is tied to its check: a failing legacy check must not send traffic to weight 0
    by_side = {r["SetIdentifier"]: r for r in records}
    assert by_side["new"]["HealthCheckId"] in checks and "HealthCheckId" not in by_side["legacy"]
    assert len(checks) == 2


@pytest.mark.stacks("observability")
def test_alarms_carry_their_dimensions(deployment):
    alarms = deployment.client("cloudwatch").describe_alarms()["MetricAlarms"]
    by_metric = {alarm["MetricName"]: {d["Name"]: d["Value"] for d in alarm["Dimensions"]} for alarm in alarms}
    names = deployment.names
    assert by_metric["CDCLatencySource"] == {"ReplicationInstanceIdentifier": names.dms_instance,
                                             "ReplicationTaskIdentifier": names.dms_task}
    assert by_metric["CPUUtilization"]  # DB and ECS CPU alarms name what they watch
    assert all(dimensions for dimensions in by_metric.values())


def test_state_is_in_the_bucket_and_the_lock_table_has_the_terraform_key(deployment):
    names = deployment.names
    keys = {o["Key"] for o in deployment.client("s3").list_objects_v2(Bucket=names.state_bucket)["Contents"]}
    prefix = parse_config_prefix(deployment)
    assert keys >= {f"{prefix}/{name}.tfstate" for name in deployment.stacks if name != deployment.state_stack.name}
    table = deployment.client("dynamodb").describe_table(TableName=names.lock_table)["Table"]
    assert table["KeySchema"] == [{"AttributeName": "LockID", "KeyType": "HASH"}]
    assert table["AttributeDefinitions"] == [{"AttributeName": "LockID", "AttributeType": "S"}]


def parse_config_prefix(deployment: Deployment) -> str:
    """The state key prefix of the deployed environment (``[state] key_prefix``)."""
    backend = deployment.stacks["network"].document["terraform"]["backend"]["s3"]
    return backend["key"].rsplit("/", 1)[0]


def test_second_plan_of_every_stack_shows_no_change(deployment):
    plans = deployment.replans  # planned right after the deployment (-detailed-exitcode: 0 means no change)
    assert set(plans) == set(deployment.stacks)
    assert {name: plan.changes for name, plan in plans.items() if plan.has_changes} == {}


@pytest.mark.stacks("data")
def test_once_imported_the_data_stack_drops_the_import_and_plans_no_change(deployment, tmp_path):
    key = deployment.stacks["data"].document["import"][0]
    assert key["id"] == LEGACY_DB

    def imported(data: dict[str, Any]) -> None:
        import_legacy(data, deployment.legacy)
        data["source_database"]["existing_instance_imported"] = True

    data_stack = synthesize(deployment.endpoint, tmp_path / "cdktf.out", configure=imported)["data"]
    assert "import" not in data_stack.document
    terraform = data_stack.terraform()
    terraform.init()
    assert not terraform.plan().has_changes


@pytest.mark.stacks("network")
def test_a_held_lock_refuses_a_second_apply_and_leaves_the_state_unchanged(deployment):
    """S3 native locking: another holder's ``<key>.tflock`` object beside the state refuses the apply."""
    names = deployment.names
    stack = deployment.stacks["network"]
    key = stack.document["terraform"]["backend"]["s3"]["key"]
    s3 = deployment.client("s3")
    before = s3.head_object(Bucket=names.state_bucket, Key=key)
    holder = {"ID": "held-by-test", "Operation": "OperationTypeApply", "Who": "another-operator@example",
              "Version": "1.11.4", "Created": "2026-01-01T00:00:00Z", "Path": f"{names.state_bucket}/{key}"}
    s3.put_object(Bucket=names.state_bucket, Key=f"{key}.tflock", Body=json.dumps(holder).encode())
    try:
        with pytest.raises(TerraformError) as refused:
            stack.terraform().apply()
    finally:
        s3.delete_object(Bucket=names.state_bucket, Key=f"{key}.tflock")
    (diagnostic,) = [d for d in refused.value.diagnostics if d.severity == "error"]
    assert diagnostic.summary == "Error acquiring the state lock" and "held-by-test" in diagnostic.detail
    assert (refused.value.stack, refused.value.command) == ("network", "apply")
    after = s3.head_object(Bucket=names.state_bucket, Key=key)
    assert (after["VersionId"], after["ETag"]) == (before["VersionId"], before["ETag"])
    assert deployment.client("dynamodb").scan(TableName=names.lock_table)["Count"] == 0  # the table holds no lock


def test_init_and_plan_report_no_deprecated_setting(deployment):
    """Terraform 1.11 deprecates ``dynamodb_table`` in the S3 backend and in ``terraform_remote_state``. ``plan
    -json`` reports remote-state diagnostics as JSON: the session's second plan of each stack kept its warnings;
    ``init -json`` (1.11.4) does not report the backend block's diagnostics at all (measured), so init's warning
    is looked for in its human output."""
    def init_warnings(stack: SynthesizedStack) -> list[str]:
        init = stack.terraform().run(["init", "-input=false", "-no-color"])
        return [line.strip() for line in (init.stdout + init.stderr).splitlines() if "Deprecated" in line]

    stacks = [stack for name, stack in deployment.stacks.items() if stack is not state_stack(deployment.stacks)]
    with ThreadPoolExecutor(max_workers=3) as pool:
        found = dict(zip((stack.name for stack in stacks), pool.map(init_warnings, stacks)))
    for stack in stacks:
        found[stack.name] += [f"{d.summary}: {d.address}" for d in deployment.replans[stack.name].warnings]
    assert found == {stack.name: [] for stack in stacks}


@pytest.mark.stacks("network")
def test_make_state_lists_and_shows_resources_through_the_backend(deployment):
    outdir = deployment.outdir
    listed = subprocess.run(["make", "-s", "--no-print-directory", "state", "STACK=network", f"STATE_OUTDIR={outdir}"],
                            cwd=PROJECT_ROOT, capture_output=True, text=True, check=True).stdout
    vpc = next(line for line in listed.splitlines() if line.startswith("aws_vpc."))
    shown = subprocess.run(["make", "-s", "--no-print-directory", "state", "STACK=network", f"ADDRESS={vpc}",
                            f"STATE_OUTDIR={outdir}"], cwd=PROJECT_ROOT, capture_output=True, text=True,
                           check=True).stdout
    vpc_id = deployment.stacks["network"].terraform().output()["vpc_id"]
    assert shown.startswith(f"# {vpc}:") and f'id ' in shown and vpc_id in shown
    missing = subprocess.run(["make", "-s", "--no-print-directory", "state", "STACK=nosuch", f"STATE_OUTDIR={outdir}"],
                             cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert missing.returncode != 0 and "no stack 'nosuch'" in missing.stdout + missing.stderr


def test_no_secret_value_in_deployed_state_or_outputs(deployment, capsys):
    """Every secret value the emulator holds (RDS-managed master passwords, the role secrets written by
    ``cutover roles``) is absent from every stack's raw state as its backend stores it (``terraform state
    pull``: every attribute, sensitive or not) and from its outputs."""
    data = deployment.stacks["data"]
    database = {e["endpoint_type"]: e["database_name"] for e in data.of_type("aws_dms_endpoint").values()}
    names = deployment.names
    secretsmanager, rds = deployment.client("secretsmanager"), deployment.client("rds")
    endpoints = {}
    for kind, identifier in (("source", names.source_db), ("target", names.target_db)):
        address = rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0]["Endpoint"]
        endpoints[kind] = Endpoint(address["Address"], address["Port"], database[kind])
    # the Secrets Manager side of `cutover roles` (the emulator runs no PostgreSQL): the value-less secrets the data
    # stack created take the roles' credentials
    staged = stage_secrets(secretsmanager, role_secrets(names), {r.key: generate_password() for r in ROLES},
                           endpoints)
    promote(secretsmanager, staged)
    assert sorted(name for name, _ in staged) == sorted([
        names.app_db_secret, names.dms_source_secret, names.dms_target_secret, names.validation_source_secret,
        names.validation_target_secret])
    values = set()
    secret_list = secretsmanager.list_secrets()["SecretList"]
    for secret in secret_list:
        value = json.loads(secretsmanager.get_secret_value(SecretId=secret["ARN"])["SecretString"])
        values.add(value["password"])
    # legacy source, target and the five role secrets
    secret_count, value_count = len(secret_list), len(values)  # counts only: no value in an assertion message
    assert secret_count >= 7 and value_count >= 5
    password_value = re.compile(r'"(password|master_password|master_user_password|secret_string)"\s*:\s*"[^"]')

    def stored(stack: SynthesizedStack) -> tuple[str, str]:
        terraform = stack.terraform()
        return json.dumps(terraform.state_pull()), json.dumps(terraform.output())

    with ThreadPoolExecutor(max_workers=4) as pool:
        texts = dict(zip(deployment.stacks, pool.map(stored, deployment.stacks.values())))
    for name, (state, outputs) in texts.items():
        for text in (state, outputs):
            leaked = any(value in text for value in values)
            assert not leaked, f"a secret value is in {name}'s state or outputs"
            assert not password_value.search(text), name
    printed = any(value in capsys.readouterr().out for value in values)
    assert not printed


def test_destroy_in_reverse_order_removes_everything(deployment_to_destroy):
    deployment, destroyed = deployment_to_destroy  # destroyed in the background (tests/local_deployment.py)
    order, stacks = destroyed.order, deployment.stacks
    position = {name: index for index, name in enumerate(order)}
    assert sorted(order) == sorted(name for name in stacks if name != deployment.state_stack.name)
    for name in order:  # a stack goes only after every stack that depends on it
        assert all(position[dependency] > position[name] for dependency in stacks[name].dependencies
                   if dependency in position), order
    for name in order:  # each state left in the bucket was empty, not gone and not stale
        assert destroyed.states[name]["resources"] == [], name
    s3 = deployment.client("s3")
    assert json.loads(deployment.bootstrap_state.read_text())["resources"] == []
    assert deployment.client("rds").describe_db_instances()["DBInstances"] == []
    assert deployment.client("dms").describe_replication_instances()["ReplicationInstances"] == []
    assert s3.list_buckets()["Buckets"] == []
    assert deployment.client("s3", "us-west-2").list_buckets()["Buckets"] == []
    ecs = deployment.client("ecs")
    clusters = ecs.describe_clusters(clusters=ecs.list_clusters()["clusterArns"])["clusters"]
    assert {cluster["status"] for cluster in clusters} <= {"INACTIVE"}  # as AWS lists deleted clusters a while
    assert deployment.client("elbv2").describe_load_balancers()["LoadBalancers"] == []
    assert deployment.client("route53").list_hosted_zones()["HostedZones"] == []
    assert deployment.client("cloudwatch").describe_alarms()["MetricAlarms"] == []
    assert deployment.client("dynamodb").list_tables()["TableNames"] == []
    vpcs = deployment.client("ec2").describe_vpcs()["Vpcs"]  # the legacy network is not Terraform's: it stays
    assert [vpc for vpc in vpcs if not vpc["IsDefault"] and vpc["CidrBlock"] != LEGACY_NETWORK] == []
    print(f"\nlocal deployment: {sum(r.added for r in deployment.results.values())} resources; "
          + ", ".join(f"{step} {seconds:.0f} s" for step, seconds in deployment.seconds.items()))
