"""Each module on its own stack (``Testing.app()``), asserted with cdktf's Testing matchers and on the JSON."""

from __future__ import annotations

import json

import pytest
from cdktf import Testing, TerraformStack
from cdktf_cdktf_provider_aws.appautoscaling_policy import AppautoscalingPolicy
from cdktf_cdktf_provider_aws.cloudwatch_metric_alarm import CloudwatchMetricAlarm
from cdktf_cdktf_provider_aws.db_instance import DbInstance
from cdktf_cdktf_provider_aws.db_parameter_group import DbParameterGroup
from cdktf_cdktf_provider_aws.dms_endpoint import DmsEndpoint
from cdktf_cdktf_provider_aws.dms_replication_task import DmsReplicationTask
from cdktf_cdktf_provider_aws.ecs_cluster import EcsCluster
from cdktf_cdktf_provider_aws.ecs_service import EcsService
from cdktf_cdktf_provider_aws.lb import Lb
from cdktf_cdktf_provider_aws.lb_listener import LbListener
from cdktf_cdktf_provider_aws.provider import AwsProvider
from cdktf_cdktf_provider_aws.route53_record import Route53Record
from cdktf_cdktf_provider_aws.s3_bucket_replication_configuration import S3BucketReplicationConfigurationA
from cdktf_cdktf_provider_aws.s3_bucket_versioning import S3BucketVersioningA
from cdktf_cdktf_provider_aws.sns_topic import SnsTopic

from modules.dms import DmsMigration, DmsMigrationProps, PostgresEndpoint, default_task_settings, schema_table_mappings
from modules.fargate_service import FargateService, FargateServiceProps
from modules.network import Network, NetworkProps
from modules.observability import MigrationObservability, ObservabilityProps
from modules.postgres import LogicalReplication, PostgresDatabase, PostgresProps
from modules.replicated_bucket import ReplicatedBucketPair, ReplicatedBucketPairProps
from modules.secure_bucket import Lifecycle
from modules.weighted_dns import AliasTarget, WeightedDns, WeightedDnsProps
from tests.conftest import stack_json


def new_stack() -> TerraformStack:
    stack = TerraformStack(Testing.app(), "test")
    AwsProvider(stack, "aws", region="us-east-1")
    return stack


def resources(document, resource_type):
    return document["resource"].get(resource_type, {})


# --- network -------------------------------------------------------------------------------------------------

NETWORK = NetworkProps(name_prefix="paymig-dev", region="us-east-1", vpc_cidr="10.20.0.0/16", az_count=2,
                       container_port=8080)


def test_network_subnets_are_disjoint_tiers():
    cidrs = [c for tier in ("public", "private", "database") for c in NETWORK.subnet_cidrs(tier)]
    assert cidrs == ["10.20.0.0/20", "10.20.16.0/20", "10.20.64.0/20", "10.20.80.0/20", "10.20.128.0/20",
                     "10.20.144.0/20"]


def test_network_security_groups_and_rules():
    stack = new_stack()
    Network(stack, "network", NETWORK)
    document = stack_json(stack)
    groups = {g["name"] for g in resources(document, "aws_security_group").values()}
    assert groups == {"paymig-dev-alb", "paymig-dev-service", "paymig-dev-database", "paymig-dev-dms"}
    ingress = resources(document, "aws_vpc_security_group_ingress_rule").values()
    open_to_world = sorted(r["from_port"] for r in ingress if r.get("cidr_ipv4") == "0.0.0.0/0")
    assert open_to_world == [80, 443]  # only the ALB
    database_sources = [r for r in ingress if r["from_port"] == 5432]
    assert len(database_sources) == 2 and all("referenced_security_group_id" in r for r in database_sources)
    assert len(resources(document, "aws_subnet")) == 6
    assert len(resources(document, "aws_nat_gateway")) == 1


# --- postgres ------------------------------------------------------------------------------------------------

def postgres_props(**overrides) -> PostgresProps:
    values = dict(identifier="paymig-dev-source", parameter_group_name="paymig-dev-source-postgres15",
                  engine_version="15.7", instance_class="db.t4g.medium", allocated_storage_gib=50,
                  max_allocated_storage_gib=200, multi_az=False, backup_retention_days=7, database_name="payments",
                  master_username="paymig_admin", subnet_group_name="paymig-dev-db", security_group_ids=("sg-1",),
                  protected=False, logical_replication=LogicalReplication())
    values.update(overrides)
    return PostgresProps(**values)


def test_postgres_source_has_logical_replication_parameters():
    stack = new_stack()
    PostgresDatabase(stack, "source", postgres_props())
    synthesized = Testing.synth(stack)
    assert Testing.to_have_resource_with_properties(synthesized, DbParameterGroup.TF_RESOURCE_TYPE, {
        "family": "postgres15",
        "parameter": [
            {"name": "max_replication_slots", "value": "10", "apply_method": "pending-reboot"},
            {"name": "max_slot_wal_keep_size", "value": "10240", "apply_method": "immediate"},
            {"name": "max_wal_senders", "value": "10", "apply_method": "pending-reboot"},
            {"name": "rds.force_ssl", "value": "1", "apply_method": "pending-reboot"},
            {"name": "rds.logical_replication", "value": "1", "apply_method": "pending-reboot"},
            {"name": "wal_receiver_status_interval", "value": "1", "apply_method": "immediate"},
            {"name": "wal_sender_timeout", "value": "0", "apply_method": "immediate"},
        ],
    })
    assert Testing.to_have_resource_with_properties(synthesized, DbInstance.TF_RESOURCE_TYPE, {
        "identifier": "paymig-dev-source", "engine": "postgres", "engine_version": "15.7",
        "storage_encrypted": True, "manage_master_user_password": True, "performance_insights_enabled": True,
        "backup_retention_period": 7, "publicly_accessible": False, "deletion_protection": False,
        "skip_final_snapshot": True,
    })
    instance = next(iter(resources(json.loads(synthesized), "aws_db_instance").values()))
    assert "password" not in instance


def test_postgres_family_follows_version_and_target_has_no_replication_settings():
    stack = new_stack()
    PostgresDatabase(stack, "target", postgres_props(engine_version="16.3", logical_replication=None,
                                                      protected=True))
    document = stack_json(stack)
    group = next(iter(resources(document, "aws_db_parameter_group").values()))
    assert group["family"] == "postgres16"
    assert [p["name"] for p in group["parameter"]] == ["rds.force_ssl"]
    instance = next(iter(resources(document, "aws_db_instance").values()))
    assert instance["deletion_protection"] is True and instance["skip_final_snapshot"] is False
    assert instance["final_snapshot_identifier"] == "paymig-dev-source-final"


# --- dms -----------------------------------------------------------------------------------------------------

def dms_props(**overrides) -> DmsMigrationProps:
    source = PostgresEndpoint("payments", "paymig-dev/dms/source-endpoint")
    target = PostgresEndpoint("payments", "paymig-dev/dms/target-endpoint")
    values = dict(instance_id="paymig-dev-dms", subnet_group_id="paymig-dev-dms", task_id="paymig-dev-cdc",
                  task_resource_identifier="paymig-dev-cdc", source_endpoint_id="paymig-dev-source",
                  target_endpoint_id="paymig-dev-target", secrets_role_name="paymig-dev-dms-secrets",
                  instance_class="dms.t3.medium", engine_version="3.5.4", allocated_storage_gib=50, multi_az=False,
                  subnet_ids=("subnet-1", "subnet-2"), security_group_ids=("sg-1",), source=source,
                  target=target, region="us-east-1")
    values.update(overrides)
    return DmsMigrationProps(**values)


def test_dms_task_settings_are_json_with_validation_and_resource_identifier():
    stack = new_stack()
    DmsMigration(stack, "dms", dms_props())
    synthesized = Testing.synth(stack)
    assert Testing.to_have_resource_with_properties(synthesized, DmsReplicationTask.TF_RESOURCE_TYPE, {
        "migration_type": "full-load-and-cdc", "resource_identifier": "paymig-dev-cdc",
        "start_replication_task": False,
    })
    task = next(iter(resources(json.loads(synthesized), "aws_dms_replication_task").values()))
    settings = json.loads(task["replication_task_settings"])
    assert settings["ValidationSettings"]["EnableValidation"] is True
    assert settings["ErrorBehavior"]["ApplyErrorUpdatePolicy"] == "STOP_TASK"
    mappings = json.loads(task["table_mappings"])
    assert mappings["rules"][0]["object-locator"] == {"schema-name": "public", "table-name": "%"}


def test_dms_endpoints_use_their_own_secrets_without_values_and_ssl():
    stack = new_stack()
    DmsMigration(stack, "dms", dms_props())
    synthesized = Testing.synth(stack)
    for endpoint_type in ("source", "target"):
        assert Testing.to_have_resource_with_properties(synthesized, DmsEndpoint.TF_RESOURCE_TYPE, {
            "endpoint_type": endpoint_type, "engine_name": "postgres", "ssl_mode": "require",
            "database_name": "payments",
        })
    document = json.loads(synthesized)
    secrets = {s["name"]: key for key, s in resources(document, "aws_secretsmanager_secret").items()}
    assert set(secrets) == {"paymig-dev/dms/source-endpoint", "paymig-dev/dms/target-endpoint"}
    assert resources(document, "aws_secretsmanager_secret_version") == {}
    for endpoint in resources(document, "aws_dms_endpoint").values():
        assert "password" not in endpoint and "username" not in endpoint and "server_name" not in endpoint
        assert endpoint["secrets_manager_arn"] in {f"${{aws_secretsmanager_secret.{k}.arn}}" for k in secrets.values()}
    policy = json.loads(next(iter(resources(document, "aws_iam_role_policy").values()))["policy"])
    assert sorted(policy["Statement"][0]["Resource"]) == sorted(
        f"${{aws_secretsmanager_secret.{k}.arn}}" for k in secrets.values())


def test_dms_resources_wait_for_the_vpc_role_policy():
    stack = new_stack()
    DmsMigration(stack, "dms", dms_props())
    document = stack_json(stack)
    roles = {r["name"] for r in resources(document, "aws_iam_role").values()}
    assert {"dms-vpc-role", "dms-cloudwatch-logs-role"} <= roles
    for resource_type in ("aws_dms_replication_subnet_group", "aws_dms_replication_instance"):
        depends_on = next(iter(resources(document, resource_type).values()))["depends_on"]
        assert any("dms-vpc-role-policy" in d for d in depends_on), depends_on


def test_dms_account_roles_are_optional():
    stack = new_stack()
    DmsMigration(stack, "dms", dms_props(create_account_roles=False))
    document = stack_json(stack)
    assert {r["name"] for r in resources(document, "aws_iam_role").values()} == {"paymig-dev-dms-secrets"}
    assert "depends_on" not in next(iter(resources(document, "aws_dms_replication_instance").values()))


def test_dms_task_logs_each_component_at_its_severity():
    severities = {"SOURCE_CAPTURE": "LOGGER_SEVERITY_DEBUG", "TARGET_APPLY": "LOGGER_SEVERITY_DEFAULT"}
    assert default_task_settings(severities)["Logging"] == {"EnableLogging": True, "LogComponents": [
        {"Id": "SOURCE_CAPTURE", "Severity": "LOGGER_SEVERITY_DEBUG"},
        {"Id": "TARGET_APPLY", "Severity": "LOGGER_SEVERITY_DEFAULT"}]}
    assert default_task_settings()["Logging"] == {"EnableLogging": True}  # DMS's own default severities


def test_migration_timestamp_is_an_opt_in_add_column_transformation():
    assert [r["rule-type"] for r in schema_table_mappings("public")["rules"]] == ["selection", "selection"]
    selection, sentinel, transformation = schema_table_mappings("billing", "migration_timestamp")["rules"]
    assert selection["rule-action"] == sentinel["rule-action"] == "include"
    assert sentinel["object-locator"] == {"schema-name": "cutover", "table-name": "sentinel"}  # never transformed
    assert transformation == {
        "rule-type": "transformation", "rule-id": "3", "rule-name": "add-migration_timestamp",
        "rule-target": "column", "object-locator": {"schema-name": "billing", "table-name": "%"},
        "rule-action": "add-column", "value": "migration_timestamp", "expression": "$AR_H_COMMIT_TIMESTAMP",
        "data-type": {"type": "datetime", "precision": 6}}


@pytest.mark.parametrize("settings", [{"NotASection": {}}, {"Logging": {"EnableLogging": float("nan")}},
                                      {"Logging": {"When": object()}}])
def test_dms_rejects_settings_dms_would_refuse(settings):
    with pytest.raises(ValueError, match="task_settings"):
        dms_props(task_settings={**default_task_settings(), **settings})


# --- replicated bucket ---------------------------------------------------------------------------------------

def test_replica_bucket_is_in_the_replica_region_and_replication_waits_for_versioning():
    stack = new_stack()
    replica = AwsProvider(stack, "aws-replica", region="us-west-2", alias="replica")
    ReplicatedBucketPair(stack, "logs", ReplicatedBucketPairProps(
        "paymig-dev-txlog-us-east-1", "paymig-dev-txlog-us-west-2", "paymig-dev-s3-replication",
        Lifecycle(90, 2555), replica))
    synthesized = Testing.synth(stack)
    assert Testing.to_have_provider_with_properties(synthesized, "aws", {"region": "us-west-2", "alias": "replica"})
    document = json.loads(synthesized)
    buckets = {b["bucket"]: b for b in resources(document, "aws_s3_bucket").values()}
    assert buckets["paymig-dev-txlog-us-west-2"]["provider"] == "aws.replica"
    assert "provider" not in buckets["paymig-dev-txlog-us-east-1"]
    assert len(resources(document, S3BucketVersioningA.TF_RESOURCE_TYPE)) == 2
    replication = next(iter(resources(document, S3BucketReplicationConfigurationA.TF_RESOURCE_TYPE).values()))
    assert len(replication["depends_on"]) == 2 and all("versioning" in d for d in replication["depends_on"])
    rule = replication["rule"][0]
    assert rule["delete_marker_replication"] == {"status": "Enabled"}
    assert rule["destination"]["replication_time"] == {"status": "Enabled", "time": {"minutes": 15}}
    assert rule["destination"]["metrics"]["status"] == "Enabled"
    policy = json.loads(next(iter(resources(document, "aws_iam_role_policy").values()))["policy"])
    actions = {a for s in policy["Statement"] for a in s["Action"]}
    assert "s3:*" not in actions and "s3:ReplicateObject" in actions
    assert len(resources(document, "aws_s3_bucket_public_access_block")) == 2
    for bucket_policy in resources(document, "aws_s3_bucket_policy").values():
        assert json.loads(bucket_policy["policy"])["Statement"][0]["Condition"] == {
            "Bool": {"aws:SecureTransport": "false"}}


# --- fargate service -----------------------------------------------------------------------------------------

def fargate_props(**overrides) -> FargateServiceProps:
    values = dict(cluster_name="paymig-dev-cluster", service_name="paymig-dev-payments-api",
                  task_family="paymig-dev-payments-api", alb_name="paymig-dev-alb", target_group_name="paymig-dev-tg",
                  execution_role_name="exec", task_role_name="task", log_group_name="/ecs/paymig-dev/payments-api",
                  region="us-east-1", vpc_id="vpc-1", public_subnet_ids=("subnet-a",), private_subnet_ids=("subnet-b",),
                  alb_security_group_id="sg-alb", service_security_group_id="sg-svc",
                  container_image="public.ecr.aws/nginx/nginx:1.27", container_port=8080, cpu=512, memory_mib=1024,
                  desired_count=2, min_count=2, max_count=6,
                  secrets={"DB_PASSWORD": "arn:aws:secretsmanager:us-east-1:123456789012:secret:db:password::"},
                  secret_arns=("arn:aws:secretsmanager:us-east-1:123456789012:secret:db",))
    values.update(overrides)
    return FargateServiceProps(**values)


def test_fargate_service_waits_for_listener_and_scales_on_cpu_and_memory():
    stack = new_stack()
    FargateService(stack, "api", fargate_props())
    synthesized = Testing.synth(stack)
    assert Testing.to_have_resource_with_properties(synthesized, EcsCluster.TF_RESOURCE_TYPE, {
        "setting": [{"name": "containerInsights", "value": "enabled"}]})
    assert Testing.to_have_resource_with_properties(synthesized, Lb.TF_RESOURCE_TYPE, {
        "name": "paymig-dev-alb", "load_balancer_type": "application", "drop_invalid_header_fields": True})
    document = json.loads(synthesized)
    service = next(iter(resources(document, EcsService.TF_RESOURCE_TYPE).values()))
    assert any("aws_lb_listener" in d for d in service["depends_on"])
    assert service["network_configuration"]["assign_public_ip"] is False
    metrics = sorted(p["target_tracking_scaling_policy_configuration"]["predefined_metric_specification"]
                     ["predefined_metric_type"] for p in resources(document, AppautoscalingPolicy.TF_RESOURCE_TYPE).values())
    assert metrics == ["ECSServiceAverageCPUUtilization", "ECSServiceAverageMemoryUtilization"]
    task = next(iter(resources(document, "aws_ecs_task_definition").values()))
    container = json.loads(task["container_definitions"])[0]
    assert container["secrets"] == [{"name": "DB_PASSWORD",
                                     "valueFrom": "arn:aws:secretsmanager:us-east-1:123456789012:secret:db:password::"}]
    assert container["readonlyRootFilesystem"] is True and container["privileged"] is False
    policies = [json.loads(p["policy"]) for p in resources(document, "aws_iam_role_policy").values()]
    secret_statements = [s for p in policies for s in p["Statement"] if "secretsmanager:GetSecretValue" in s["Action"]]
    assert secret_statements[0]["Resource"] == ["arn:aws:secretsmanager:us-east-1:123456789012:secret:db"]


def test_fargate_https_listener_redirects_http_when_a_certificate_is_set():
    stack = new_stack()
    FargateService(stack, "api", fargate_props(
        certificate_arn="arn:aws:acm:us-east-1:123456789012:certificate/0f0e0d0c-aaaa-bbbb-cccc-111122223333"))
    synthesized = Testing.synth(stack)
    assert Testing.to_have_resource_with_properties(synthesized, LbListener.TF_RESOURCE_TYPE, {
        "port": 443, "protocol": "HTTPS", "ssl_policy": "ELBSecurityPolicy-TLS13-1-2-2021-06"})
    assert Testing.to_have_resource_with_properties(synthesized, LbListener.TF_RESOURCE_TYPE, {
        "port": 80, "default_action": [{"type": "redirect", "redirect": {"port": "443", "protocol": "HTTPS",
                                                                          "status_code": "HTTP_301"}}]})


@pytest.mark.parametrize("field", ["alb_name", "target_group_name"])
def test_fargate_rejects_overlong_load_balancer_names(field):
    with pytest.raises(ValueError, match=f"{field} = 'paymig-production-payments-api-xx': is 33 characters, limit 32"):
        fargate_props(**{field: "paymig-production-payments-api-xx"})


@pytest.mark.parametrize("name", ["DB_PASSWORD", "api_key", "STRIPE_SECRET", "AUTH_TOKEN"])
def test_fargate_rejects_credentials_in_plain_environment(name):
    with pytest.raises(ValueError, match=f"environment\\[{name!r}\\]: looks like a credential"):
        fargate_props(environment={name: "value"})


# --- weighted dns --------------------------------------------------------------------------------------------

def test_weighted_records_have_distinct_identifiers_weights_and_health_checks():
    stack = new_stack()
    WeightedDns(stack, "dns", WeightedDnsProps(
        zone_name="payments.example.com", record_name="api",
        legacy=AliasTarget("legacy.elb.amazonaws.com", "Z35SXDOTRQ7X7K"),
        new=AliasTarget("new.elb.amazonaws.com", "Z1H1FL5HABSF5", "HTTP", 80), legacy_weight=90, new_weight=10))
    synthesized = Testing.synth(stack)
    for side, weight, target in (("legacy", 90, "legacy.elb.amazonaws.com"), ("new", 10, "new.elb.amazonaws.com")):
        assert Testing.to_have_resource_with_properties(synthesized, Route53Record.TF_RESOURCE_TYPE, {
            "name": "api.payments.example.com", "type": "A", "set_identifier": side,
            "weighted_routing_policy": {"weight": weight},
            "alias": {"name": target, "evaluate_target_health": side == "new"}})
    document = json.loads(synthesized)
    records = {r["set_identifier"]: r for r in resources(document, "aws_route53_record").values()}
    # only the new side is health-evaluated: a failing legacy check must not send traffic to a zero weight
    assert records["new"]["health_check_id"].startswith("${aws_route53_health_check.")
    assert "health_check_id" not in records["legacy"]
    assert sorted(h["type"] for h in resources(document, "aws_route53_health_check").values()) == ["HTTP", "HTTPS"]


@pytest.mark.parametrize(("legacy", "new"), [(0, 0), (256, 0), (-1, 10)])
def test_weighted_dns_rejects_bad_weights(legacy, new):
    with pytest.raises(ValueError, match="weight"):
        WeightedDnsProps("payments.example.com", "api", AliasTarget("a.example.com", "Z1"),
                         AliasTarget("b.example.com", "Z2"), legacy, new)


# --- observability -------------------------------------------------------------------------------------------

def test_alarms_carry_dms_rds_alb_and_ecs_dimensions():
    stack = new_stack()
    MigrationObservability(stack, "obs", ObservabilityProps(
        name_prefix="paymig-dev", topic_name="paymig-dev-alarms", dashboard_name="paymig-dev-migration",
        email="oncall@example.com", region="us-east-1", dms_instance_id="paymig-dev-dms",
        dms_task_resource_id="paymig-dev-cdc", db_instance_ids=("paymig-dev-source", "paymig-dev-target"),
        alb_arn_suffix="app/paymig-dev-alb/123", target_group_arn_suffix="targetgroup/paymig-dev-tg/456",
        ecs_cluster_name="paymig-dev-cluster", ecs_service_name="paymig-dev-payments-api"))
    synthesized = Testing.synth(stack)
    for metric in ("CDCLatencySource", "CDCLatencyTarget"):
        assert Testing.to_have_resource_with_properties(synthesized, CloudwatchMetricAlarm.TF_RESOURCE_TYPE, {
            "namespace": "AWS/DMS", "metric_name": metric, "threshold": 60,
            "dimensions": {"ReplicationInstanceIdentifier": "paymig-dev-dms",
                           "ReplicationTaskIdentifier": "paymig-dev-cdc"}})
    assert Testing.to_have_resource_with_properties(synthesized, CloudwatchMetricAlarm.TF_RESOURCE_TYPE, {
        "metric_name": "UnHealthyHostCount", "dimensions": {"LoadBalancer": "app/paymig-dev-alb/123",
                                                            "TargetGroup": "targetgroup/paymig-dev-tg/456"}})
    assert Testing.to_have_resource_with_properties(synthesized, CloudwatchMetricAlarm.TF_RESOURCE_TYPE, {
        "metric_name": "FreeStorageSpace", "comparison_operator": "LessThanThreshold",
        "threshold": 10 * 1024**3, "dimensions": {"DBInstanceIdentifier": "paymig-dev-target"}})
    assert Testing.to_have_resource(synthesized, SnsTopic.TF_RESOURCE_TYPE)
    document = json.loads(synthesized)
    alarms = resources(document, "aws_cloudwatch_metric_alarm").values()
    assert len(alarms) == 10
    assert all(a["alarm_actions"] == a["ok_actions"] and a["alarm_actions"][0].startswith("${aws_sns_topic.")
               for a in alarms)
    dashboard = json.loads(next(iter(resources(document, "aws_cloudwatch_dashboard").values()))["dashboard_body"])
    assert len(dashboard["widgets"]) == 10 + 4  # one per alarm, then the graphs without an alarm
    graphs = {w["properties"]["title"]: w["properties"]["metrics"] for w in dashboard["widgets"][10:]}
    assert graphs == {
        "Database connections": [["AWS/RDS", "DatabaseConnections", "DBInstanceIdentifier", "paymig-dev-source"],
                                 ["AWS/RDS", "DatabaseConnections", "DBInstanceIdentifier", "paymig-dev-target"]],
        "ECS service memory %": [["AWS/ECS", "MemoryUtilization", "ClusterName", "paymig-dev-cluster",
                                  "ServiceName", "paymig-dev-payments-api"]],
        "ALB requests": [["AWS/ApplicationELB", "RequestCount", "LoadBalancer", "app/paymig-dev-alb/123"]],
        "Healthy targets": [["AWS/ApplicationELB", "HealthyHostCount", "LoadBalancer", "app/paymig-dev-alb/123",
                             "TargetGroup", "targetgroup/paymig-dev-tg/456"]],
    }
    assert len({(w["x"], w["y"]) for w in dashboard["widgets"]}) == 14  # no two widgets overlap


def test_iam_roles_have_no_wildcard_actions():
    stack = new_stack()
    DmsMigration(stack, "dms", dms_props())
    FargateService(stack, "api", fargate_props())
    document = stack_json(stack)
    for policy in resources(document, "aws_iam_role_policy").values():
        for statement in json.loads(policy["policy"])["Statement"]:
            assert all("*" not in action for action in statement["Action"]), statement


def test_max_slot_wal_keep_size_must_stay_below_the_allocated_storage():
    """Negative control: a slot limit as large as the disk would not keep a stopped slot from filling it."""
    with pytest.raises(ValueError, match=r"max_slot_wal_keep_size_mb = 51200: must be positive and below the "
                                         r"allocated storage \(50 GiB = 51200 MB\)"):
        postgres_props(allocated_storage_gib=50,
                       logical_replication=LogicalReplication(max_slot_wal_keep_size_mb=51200)).parameters()


def test_dms_reverse_source_endpoint_names_the_slot_the_switch_creates_and_heartbeats_every_minute():
    """The reverse task starts from a native CDC start point: its source endpoint names the slot (DMS checks it
    exists); the forward one names none (DMS creates its own for the full load and CDC)."""
    from cutover.replication.dms import DEFAULT_SLOT
    from modules.dms import REVERSE_SLOT_NAME

    stack = new_stack()
    DmsMigration(stack, "dms", dms_props(reverse_task_id="paymig-dev-reverse",
                                         reverse_source_endpoint_id="paymig-dev-reverse-source",
                                         reverse_target_endpoint_id="paymig-dev-reverse-target"))
    endpoints = {e["endpoint_id"]: e for e in resources(stack_json(stack), "aws_dms_endpoint").values()}
    assert endpoints["paymig-dev-reverse-source"]["postgres_settings"]["slot_name"] == REVERSE_SLOT_NAME \
        == DEFAULT_SLOT.format(name="reverse")
    assert "slot_name" not in endpoints["paymig-dev-source"]["postgres_settings"]
    for name in ("paymig-dev-source", "paymig-dev-reverse-source"):
        assert endpoints[name]["postgres_settings"]["heartbeat_frequency"] == 1
    # what a forward CDC restart after a rollback changes (SlotName, MigrationType) is the tool's: no drift
    document = stack_json(stack)
    assert endpoints["paymig-dev-source"]["lifecycle"] == {"ignore_changes": ["postgres_settings[0].slot_name"]}
    assert "lifecycle" not in endpoints["paymig-dev-reverse-source"]  # its slot is Terraform's, never modified
    tasks = {t["replication_task_id"]: t for t in resources(document, "aws_dms_replication_task").values()}
    assert tasks["paymig-dev-cdc"]["lifecycle"] == {"ignore_changes": ["migration_type"]}
    assert "lifecycle" not in tasks["paymig-dev-reverse"]
