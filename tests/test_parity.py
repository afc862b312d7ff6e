"""What the seed's users had, in the synthesized dev and prod stacks: outputs and runbook commands, dashboard
widgets, default tags on every provider, DMS task logging, the opt-in migration_timestamp column, force_destroy on
disposable environments only, and per-change environments (``suffix``)."""

from __future__ import annotations

import json
import re
import subprocess
from typing import Any

import pytest

from cdktf_runtime.environment import PROJECT_ROOT
from config import load_config, parse_config
from config.models import DMS_LOG_SEVERITY_DEFAULTS, PROJECT_TAG_KEYS
from terraform_driver import SynthesizedStack
from tests.aws_cli import parse_aws, parse_curl
from tests.conftest import config_data, synth_app

Stacks = dict[str, SynthesizedStack]


@pytest.fixture(scope="module")
def prod_synthesized(tmp_path_factory: pytest.TempPathFactory) -> Stacks:
    return synth_app(load_config("prod"), tmp_path_factory.mktemp("prod-synth"))


@pytest.fixture(scope="module")
def suffixed(tmp_path_factory: pytest.TempPathFactory) -> Stacks:
    """dev as the per-change environment ``pr123``, with the migration_timestamp column and a [tags] entry."""
    data = config_data("dev")
    data.update(suffix="pr123", migration_phase="replication", tags={"Owner": "team-a", "Ticket": "PAY-123"})
    data["dms"].update(add_migration_timestamp=True, log_severity={"SOURCE_CAPTURE": "LOGGER_SEVERITY_DEBUG"})
    return synth_app(parse_config(data), tmp_path_factory.mktemp("suffixed-synth"))


@pytest.fixture(params=["dev", "prod"])
def environment(request, synthesized, prod_synthesized) -> tuple[str, Stacks]:
    return request.param, {"dev": synthesized, "prod": prod_synthesized}[request.param]


def outputs(stacks: Stacks) -> dict[str, str]:
    """Every stack's own outputs (``<stack>.<name>`` -> value), without cdktf's cross-stack plumbing."""
    return {f"{name}.{key}": output["value"] for name, stack in stacks.items()
            for key, output in stack.document.get("output", {}).items() if not key.startswith("cross-stack-output")}


def only(resources: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    assert len(resources) == 1, list(resources)
    return next(iter(resources.items()))


def forward_task(data: SynthesizedStack) -> tuple[str, dict[str, Any]]:
    """The forward (source to target) DMS task of a data stack; the reverse task replicates CDC only."""
    return only({key: task for key, task in data.of_type("aws_dms_replication_task").items()
                 if task["migration_type"] != "cdc"})


def ref(stack: SynthesizedStack, resource_type: str, attribute: str, **match: Any) -> str:
    """``${<type>.<name>.<attribute>}`` of the one resource of ``resource_type`` whose settings include ``match``."""
    names = [name for name, settings in stack.of_type(resource_type).items()
             if all(settings.get(key) == value for key, value in match.items())]
    assert len(names) == 1, (resource_type, match, names)
    return f"${{{resource_type}.{names[0]}.{attribute}}}"


# --- outputs ---------------------------------------------------------------------------------------------------

def test_outputs_a_user_looks_for_reference_their_resources(environment):
    name, stacks = environment
    found = outputs(stacks)
    data, storage, service, traffic = (stacks[s] for s in ("data", "storage", "service", "traffic"))
    instances = {i["identifier"]: key for key, i in data.of_type("aws_db_instance").items()}
    expected = {
        "network.vpc_cidr": ref(stacks["network"], "aws_vpc", "cidr_block"),
        "data.source_instance_identifier": f"${{aws_db_instance.{instances[f'paymig-{name}-source']}.identifier}}",
        "data.target_instance_identifier": f"${{aws_db_instance.{instances[f'paymig-{name}-target']}.identifier}}",
        "data.dms_source_endpoint_arn": ref(data, "aws_dms_endpoint", "endpoint_arn", endpoint_id=f"paymig-{name}-source"),
        "data.dms_target_endpoint_arn": ref(data, "aws_dms_endpoint", "endpoint_arn", endpoint_id=f"paymig-{name}-target"),
        "storage.transaction_log_bucket_arn": ref(storage, "aws_s3_bucket", "arn",
                                                  bucket=f"paymig-{name}-txlog-us-east-1"),
        "storage.transaction_log_replica_bucket_arn": ref(storage, "aws_s3_bucket", "arn",
                                                          bucket=f"paymig-{name}-txlog-us-west-2"),
        "service.ecs_task_definition_arn": ref(service, "aws_ecs_service", "task_definition"),
        "service.alb_arn": ref(service, "aws_lb", "arn"),
        "service.target_group_arn": ref(service, "aws_lb_target_group", "arn"),
        "traffic.legacy_health_check_id": ref(traffic, "aws_route53_health_check", "id",
                                              fqdn="legacy-payments-123456789.us-east-1.elb.amazonaws.com"),
    }
    assert {key: found.get(key) for key in expected} == expected
    assert found["traffic.new_health_check_id"].startswith("${aws_route53_health_check.")
    assert found["traffic.new_health_check_id"] != found["traffic.legacy_health_check_id"]
    assert len(found) >= 31  # the seed's count


def test_runbook_aws_commands_are_valid_cli_commands(environment):
    name, stacks = environment
    found = outputs(stacks)
    task_arn = ref(stacks["data"], "aws_dms_replication_task", "replication_task_arn",
                   replication_task_id=f"paymig-{name}-cdc")
    commands = {key: parse_aws(value) for key, value in found.items()
                if key.split(".")[1].startswith("runbook_") and value.startswith("aws ")}
    assert {key: (c.service, c.operation) for key, c in commands.items()} == {
        "data.runbook_start_replication": ("dms", "StartReplicationTask"),
        "data.runbook_stop_replication": ("dms", "StopReplicationTask"),
        "data.runbook_replication_status": ("dms", "DescribeReplicationTasks"),
        "data.runbook_validation_status": ("dms", "DescribeTableStatistics"),
        "storage.runbook_replication_canary": ("s3", "PutObject"),
        "storage.runbook_replication_check": ("s3", "HeadObject"),
    }
    assert commands["data.runbook_stop_replication"].parameters == {"ReplicationTaskArn": task_arn}
    assert commands["data.runbook_replication_status"].parameters == {
        "Filters": [{"Name": "replication-task-arn", "Values": [task_arn]}]}
    put, check = commands["storage.runbook_replication_canary"], commands["storage.runbook_replication_check"]
    assert (put.region, check.region) == ("us-east-1", "us-west-2") and put.parameters["Key"] == check.parameters["Key"]
    assert check.parameters["Bucket"] == ref(stacks["storage"], "aws_s3_bucket", "bucket",
                                             bucket=f"paymig-{name}-txlog-us-west-2")


def test_runbook_curl_commands_test_the_health_check_through_the_alb_and_the_record(environment):
    name, stacks = environment
    found = outputs(stacks)
    alb, record = parse_curl(found["service.runbook_test_alb"]), parse_curl(found["traffic.runbook_test_record"])
    scheme = "https" if name == "prod" else "http"  # prod has a certificate: the ALB redirects HTTP to HTTPS
    _, target_group = only(stacks["service"].of_type("aws_lb_target_group"))
    health_path = target_group["health_check"]["path"]  # the container's health path, as the ALB checks it
    assert (alb.scheme, alb.host, alb.path) == (scheme, ref(stacks["service"], "aws_lb", "dns_name"), health_path)
    checked = {check["resource_path"] for check in stacks["traffic"].of_type("aws_route53_health_check").values()}
    assert (record.scheme, record.host) == (scheme, "api.payments.example.com") and record.path in checked
    assert "--fail" in alb.options and "--max-time" in record.options


# --- dashboard, tags, DMS --------------------------------------------------------------------------------------

def test_dashboard_graphs_connections_memory_requests_and_healthy_hosts(environment):
    name, stacks = environment
    _, dashboard = only(stacks["observability"].of_type("aws_cloudwatch_dashboard"))
    lines = [line for widget in json.loads(dashboard["dashboard_body"])["widgets"]
             for line in widget["properties"]["metrics"]]
    by_metric: dict[str, list[list[str]]] = {}
    for line in lines:
        by_metric.setdefault(line[1], []).append(line[2:])
    assert sorted(by_metric["DatabaseConnections"]) == [["DBInstanceIdentifier", f"paymig-{name}-source"],
                                                        ["DBInstanceIdentifier", f"paymig-{name}-target"]]
    assert by_metric["MemoryUtilization"] == [["ClusterName", f"paymig-{name}-cluster",
                                               "ServiceName", f"paymig-{name}-payments-api"]]
    assert by_metric["RequestCount"][0][0] == "LoadBalancer"
    assert by_metric["HealthyHostCount"][0][::2] == ["LoadBalancer", "TargetGroup"]
    assert len(by_metric["CDCLatencySource"]) == 1  # the alarm graphs are still there


def test_every_provider_of_every_stack_sets_the_default_tags(environment):
    name, stacks = environment
    providers = 0
    for stack in stacks.values():
        for provider in stack.document["provider"]["aws"]:
            providers += 1
            assert provider["default_tags"] == [{"tags": {
                "Project": "paymig", "Environment": name, "ManagedBy": "cdktf", "Stack": stack.name,
                "MigrationPhase": "preparation", "CostCenter": "payments", "Owner": "payments-platform"}}]
    assert providers == len(stacks) + 1  # and the aliased replica provider of the storage stack


def test_suffixed_environment_tags_with_its_phase_and_extra_tags(suffixed):
    replica = next(p for p in suffixed["storage"].document["provider"]["aws"] if p.get("alias") == "replica")
    tags = replica["default_tags"][0]["tags"]
    assert (tags["MigrationPhase"], tags["Owner"], tags["Ticket"]) == ("replication", "team-a", "PAY-123")
    assert set(PROJECT_TAG_KEYS) <= set(tags)


def test_dms_task_logs_the_seed_components_at_their_severity(environment):
    _, stacks = environment
    _, task = forward_task(stacks["data"])
    logging = json.loads(task["replication_task_settings"])["Logging"]
    assert logging["EnableLogging"] is True
    assert {c["Id"]: c["Severity"] for c in logging["LogComponents"]} == DMS_LOG_SEVERITY_DEFAULTS


def test_migration_timestamp_column_is_off_unless_opted_in(environment, suffixed):
    _, stacks = environment
    _, task = forward_task(stacks["data"])
    rules = json.loads(task["table_mappings"])["rules"]  # prod also loads payments in parallel (table-settings)
    # the schema and the drain's sentinel (cutover.sentinel) selected; no transformation
    assert [rule["rule-type"] for rule in rules if rule["rule-type"] != "table-settings"] == ["selection"] * 2
    _, opted_in = forward_task(suffixed["data"])
    rules = json.loads(opted_in["table_mappings"])["rules"]
    assert [(r["rule-type"], r["rule-action"]) for r in rules] == [("selection", "include"), ("selection", "include"),
                                                                   ("transformation", "add-column")]
    added = rules[2]
    assert (added["value"], added["expression"]) == ("migration_timestamp", "$AR_H_COMMIT_TIMESTAMP")
    assert added["object-locator"] == rules[0]["object-locator"]  # the migrated schema's tables, not the sentinel
    severities = {c["Id"]: c["Severity"] for c in json.loads(opted_in["replication_task_settings"])["Logging"][
        "LogComponents"]}
    assert severities == {**DMS_LOG_SEVERITY_DEFAULTS, "SOURCE_CAPTURE": "LOGGER_SEVERITY_DEBUG"}


# --- teardown and per-change environments ----------------------------------------------------------------------

def test_buckets_are_force_destroyed_in_disposable_environments_only(environment, suffixed):
    name, stacks = environment
    force = {bucket["bucket"]: bucket.get("force_destroy", False)
             for stack in stacks.values() for bucket in stack.of_type("aws_s3_bucket").values()}
    assert len(force) == 6  # state + its access logs, transaction logs + replica, access logs in both regions
    if name == "prod":
        assert not any(force.values()), force
    else:  # every bucket but the environment's own state bucket, which refuses while it holds state
        assert [bucket for bucket, forced in force.items() if not forced] == ["paymig-dev-tfstate"]
    # a per-change environment's own state bucket (and its access logs) goes with it
    assert [b.get("force_destroy") for b in suffixed["bootstrap"].of_type("aws_s3_bucket").values()] == [True, True]


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


def test_a_suffix_names_every_resource_and_state_key(synthesized, suffixed):
    for name, stack in suffixed.items():
        document = stack.document
        # but the account-wide DMS roles (fixed names): the environment's serve its per-change environments
        fewer = 4 if name == "data" else 0
        assert stack.resource_count() == synthesized[name].resource_count() - fewer, name
        unsuffixed = [n for s in _strings(document) for n in re.findall(r"paymig-dev[\w.-]*", s) if "pr123" not in n]
        assert unsuffixed == [], (name, unsuffixed[:5])
        backend = document["terraform"]["backend"]
        if name == "bootstrap":
            assert backend["local"]["path"].endswith(".state/dev/bootstrap-pr123.tfstate")
        else:
            assert backend["s3"] == {"bucket": "paymig-dev-tfstate-pr123", "key": f"paymig/dev/pr123/{name}.tfstate",
                                     "region": "us-east-1", "use_lockfile": True, "encrypt": True}
    assert {r["name"] for r in suffixed["data"].of_type("aws_iam_role").values()} == {
        "paymig-dev-pr123-dms-secrets", "paymig-dev-pr123-rds-monitoring"}
    table = only(suffixed["bootstrap"].of_type("aws_dynamodb_table"))[1]
    assert table["name"] == "paymig-dev-tflock-pr123"
    found = outputs(suffixed)
    assert found["data.runbook_roles"] == "make roles ENVIRONMENT=dev SUFFIX=pr123"
    assert found["traffic.runbook_shift_traffic"] == 'make cutover ARGS="shift --environment dev" SUFFIX=pr123'


def test_make_and_the_local_deployment_pass_the_suffix_through_paymig_suffix(monkeypatch, tmp_path):
    from ops.local import synthesize

    monkeypatch.setenv("PAYMIG_SUFFIX", "pr9")
    assert load_config("dev").state.key_prefix == "paymig/dev/pr9"
    stacks = synthesize("http://127.0.0.1:9", tmp_path / "out")  # synthesis only: nothing is contacted
    assert stacks["network"].document["terraform"]["backend"]["s3"]["key"] == "paymig/local/pr9/network.tfstate"
    assert outputs(stacks)["traffic.runbook_shift_traffic"] == 'make cutover ARGS="shift --environment local" SUFFIX=pr9'
    monkeypatch.delenv("PAYMIG_SUFFIX")
    # `make <target> SUFFIX=pr7` exports PAYMIG_SUFFIX=pr7 to every command of the target
    printed = subprocess.run(["make", "-s", "--no-print-directory", "-f", "-", "show-suffix", "SUFFIX=pr7"],
                             input="include Makefile\nshow-suffix:\n\t@echo $$PAYMIG_SUFFIX\n", cwd=PROJECT_ROOT,
                             capture_output=True, text=True, check=True)
    assert printed.stdout.strip() == "pr7"
