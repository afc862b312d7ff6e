"""What the emulated AWS cannot see, checked on the synthesized JSON of dev and prod.

- the container contract across stacks (port, health path, non-root user, read-only root, writable /tmp);
- deploys that wait for the service and roll back a failed rollout;
- database versions and maintenance windows that stay deployable;
- an imported legacy source that keeps its network placement, and DMS reaching it there;
- DMS task events and WAL alarms that do not go quiet;
- S3 native state locking without deprecated settings.

No Docker engine runs here: that the image really listens and answers is taken from its documentation
(``modules.fargate_service``); these tests check that every resource agrees with it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from cdktf import Testing, TerraformStack

from config import load_config, parse_config
from config.models import windows_overlap
from modules.dms_events import ALERTING_EVENT_TYPES, TASK_STATE_CHANGE
from modules.fargate_service import CONTAINER_NAME, SCRATCH_INIT_CONTAINER
from terraform_driver import SynthesizedStack
from tests.conftest import LEGACY_SOURCE, config_data, stack_json, synth_app
from tests.test_config import _problems

ENVIRONMENTS = ["dev", "prod"]
IMAGE_ANSWERS = {"public.ecr.aws/nginx/nginx-unprivileged": ("/", "/index.html")}
"""Paths the default image's default site answers with 200 (nginx's stock ``default.conf``)."""


@pytest.fixture(scope="module")
def apps(synthesized, tmp_path_factory) -> dict[str, dict[str, SynthesizedStack]]:
    """Every stack of dev (the session's synthesis) and prod."""
    return {"dev": synthesized, "prod": synth_app(load_config("prod"), tmp_path_factory.mktemp("prod-synth"))}


def only(resources: dict[str, Any]) -> dict[str, Any]:
    assert len(resources) == 1, list(resources)
    return next(iter(resources.values()))


def by_path(stack: SynthesizedStack, resource_type: str) -> dict[str, dict[str, Any]]:
    """Resources of a type keyed by construct path (``network/network/service-from-alb``)."""
    return {r["//"]["metadata"]["path"]: r for r in stack.of_type(resource_type).values()}


# --- a container that runs ----------------------------------------------------------------------------------

@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_container_contract_holds_across_stacks(apps, environment):
    stacks, service_config = apps[environment], load_config(environment).service
    service = stacks["service"]
    task = only(service.of_type("aws_ecs_task_definition"))
    containers = {c["name"]: c for c in json.loads(task["container_definitions"])}
    app, init = containers[CONTAINER_NAME], containers[SCRATCH_INIT_CONTAINER]
    port = app["portMappings"][0]["containerPort"]
    # the image's documented contract: unprivileged port, non-root, read-only root with a writable /tmp volume
    assert port == service_config.container_port >= 1024
    assert app["user"].split(":")[0] not in {"0", "root"} and app["readonlyRootFilesystem"] is True
    assert app["mountPoints"] == [{"sourceVolume": "tmp", "containerPath": "/tmp", "readOnly": False}]
    assert task["volume"] == [{"name": "tmp"}]  # ephemeral task storage (bind mount), no host path
    # Fargate creates the volume root-owned 0755: the init container opens it before the app starts, then exits
    assert app["dependsOn"] == [{"containerName": SCRATCH_INIT_CONTAINER, "condition": "SUCCESS"}]
    assert init["essential"] is False and init["command"] == ["chmod", "1777", "/tmp"]
    assert init["readonlyRootFilesystem"] is True and init["linuxParameters"]["capabilities"]["drop"] == ["ALL"]
    assert init["mountPoints"] == app["mountPoints"]
    # container port = load balancer mapping = target group port = the rules between ALB and tasks
    ecs_service = only(service.of_type("aws_ecs_service"))
    assert ecs_service["load_balancer"][0]["container_port"] == port
    group = only(service.of_type("aws_lb_target_group"))
    assert group["port"] == port and group["target_type"] == "ip"
    rules = {**by_path(stacks["network"], "aws_vpc_security_group_ingress_rule"),
             **by_path(stacks["network"], "aws_vpc_security_group_egress_rule")}
    between = [rules["network/network/service-from-alb"], rules["network/network/alb-to-service"]]
    assert all((rule["from_port"], rule["to_port"], rule["ip_protocol"]) == (port, port, "tcp") for rule in between)
    # health: the path the image answers = the target group's = Route 53's check of the new side
    path = group["health_check"]["path"]
    assert group["health_check"]["matcher"] == "200-399"
    image = app["image"].rsplit(":", 1)[0]
    if image in IMAGE_ANSWERS:
        assert path in IMAGE_ANSWERS[image]
    checks = {c["tags"]["Name"].rsplit(" ", 1)[1]: c
              for c in stacks["traffic"].of_type("aws_route53_health_check").values()}
    assert checks["new"]["resource_path"] == path == service_config.health_check_path


def test_a_root_container_user_is_rejected():
    assert _problems(lambda d: d["service"].update(container_user="0")) == [
        "service.container_user = '0': must be a numeric non-root uid or uid:gid (not 0/root): the container runs "
        "unprivileged"]


# --- deploys that fail when the service fails --------------------------------------------------------------

@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_deploys_wait_for_steady_state_and_roll_back_a_failed_rollout(apps, environment):
    service = only(apps[environment]["service"].of_type("aws_ecs_service"))
    assert service["wait_for_steady_state"] is True
    assert service["deployment_circuit_breaker"] == {"enable": True, "rollback": True}


# --- database versions that stay deployable ------------------------------------------------------------------

@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_database_versions_follow_one_policy_and_windows_do_not_overlap(apps, environment):
    data = apps[environment]["data"]
    groups = {g["name"]: g for g in data.of_type("aws_db_parameter_group").values()}
    instances = {i["identifier"].rsplit("-", 1)[1]: i for i in data.of_type("aws_db_instance").values()}
    for instance in instances.values():
        major = instance["engine_version"]
        assert major.isdigit() and instance["auto_minor_version_upgrade"] is True  # major only, AWS picks minors
        assert instance["allow_major_version_upgrade"] is False
        assert instance["parameter_group_name"].startswith("${aws_db_parameter_group.")  # the group is created first
        assert not windows_overlap(instance["maintenance_window"], instance["backup_window"])
    for group in groups.values():
        assert group["name"].endswith(f"-{group['family']}") and group["family"] == f"postgres{major}"
        assert group["lifecycle"]["create_before_destroy"] is True
    assert not windows_overlap(instances["source"]["maintenance_window"], instances["target"]["maintenance_window"])


def test_a_major_upgrade_allows_it_and_moves_to_a_new_family_group():
    from modules.postgres import PostgresDatabase
    from tests.test_modules import new_stack, postgres_props

    stack = new_stack()
    PostgresDatabase(stack, "target", postgres_props(
        engine_version="16", parameter_group_name="paymig-dev-target-postgres16", allow_major_version_upgrade=True,
        logical_replication=None))
    document = stack_json(stack)
    instance = only(document["resource"]["aws_db_instance"])
    group = only(document["resource"]["aws_db_parameter_group"])
    assert instance["allow_major_version_upgrade"] is True and instance["engine_version"] == "16"
    assert (group["name"], group["family"]) == ("paymig-dev-target-postgres16", "postgres16")
    assert instance["parameter_group_name"].startswith("${aws_db_parameter_group.")
    assert group["lifecycle"] == {"create_before_destroy": True, "ignore_changes": ["description"]}


@pytest.mark.parametrize(("mutate", "expected"), [
    (lambda d: d["target_database"].update(maintenance_window="sun:05:00-sun:06:00"),
     "target_database.maintenance_window = 'sun:05:00-sun:06:00': must not overlap "
     "source_database.maintenance_window ('sun:04:30-sun:05:30')"),
    (lambda d: d["source_database"].update(maintenance_window="sunday 4am"),
     "source_database.maintenance_window = 'sunday 4am': must be an RDS window in UTC"),
    (lambda d: d["source_database"].update(maintenance_window="sun:04:30-sun:04:45"),
     "source_database.maintenance_window = 'sun:04:30-sun:04:45': lasts 15 minutes"),
    (lambda d: d["target_database"].update(maintenance_window="sun:03:30-sun:04:30"),
     "target_database.maintenance_window = 'sun:03:30-sun:04:30': must not overlap backup_window ('03:00-04:00')"),
    (lambda d: d["source_database"].update(engine_version="15.7"),
     "source_database.auto_minor_version_upgrade = True: engine_version '15.7' needs it False"),
    (lambda d: d["target_database"].update(auto_minor_version_upgrade=False),
     "target_database.auto_minor_version_upgrade = False: engine_version '15' needs it True"),
])
def test_version_and_window_rules_name_the_field(mutate, expected):
    problems = _problems(mutate)
    assert len(problems) == 1 and problems[0].startswith(expected), problems


def test_a_pinned_minor_without_automatic_upgrades_is_the_other_valid_policy():
    data = config_data()
    data["source_database"].update(engine_version="15.7", auto_minor_version_upgrade=False)
    assert parse_config(data).source_database.parameter_group_family == "postgres15"


# --- importing the legacy source does not touch the legacy application -----------------------------------

def test_imported_source_keeps_its_network_placement_and_dms_reaches_it(import_synthesized):
    data, network = import_synthesized["data"], import_synthesized["network"]
    instances = {i["identifier"]: i for i in data.of_type("aws_db_instance").values()}
    legacy, target = instances["legacy-payments-db"], instances["paymig-dev-target"]
    assert legacy["db_subnet_group_name"] == LEGACY_SOURCE["existing_db_subnet_group_name"]
    assert legacy["vpc_security_group_ids"] == LEGACY_SOURCE["existing_security_group_ids"]
    assert legacy["port"] == LEGACY_SOURCE["existing_port"]
    assert legacy["apply_immediately"] is False  # any change waits for its maintenance window
    assert legacy["lifecycle"] == {"ignore_changes": ["engine_version"]}  # the legacy engine stays its owner's
    assert "lifecycle" not in target
    assert target["db_subnet_group_name"].startswith("${aws_db_subnet_group.") and target["port"] == 5432
    egress = by_path(network, "aws_vpc_security_group_egress_rule")["network/network/dms-to-legacy-database-0"]
    assert (egress["cidr_ipv4"], egress["from_port"], egress["to_port"]) == (
        LEGACY_SOURCE["existing_network_cidrs"][0], 5433, 5433)
    assert egress["security_group_id"] == "${aws_security_group.main_dms.id}"
    runbook = data.document["output"]["runbook_legacy_source_ingress"]["value"]
    assert all("--port 5433" in command and "sg-0123456789abcdef0" in command for command in runbook)


def test_an_import_must_say_where_the_legacy_instance_lives():
    placement = {key: value for key, value in LEGACY_SOURCE.items()
                 if key in ("existing_instance_identifier", "existing_kms_key_arn")}
    problems = _problems(lambda d: d["source_database"].update(placement))
    assert len(problems) == 1 and problems[0].startswith(
        "source_database.existing_db_subnet_group_name = None: must be set exactly when existing_instance_identifier")
    problems = _problems(lambda d: d["source_database"].update(LEGACY_SOURCE, existing_network_cidrs=["10.20.5.0/24"]))
    assert problems == ["source_database.existing_network_cidrs = '10.20.5.0/24': must not overlap network.vpc_cidr "
                        "(10.20.0.0/16): DMS could not route to it"]
    problems = _problems(lambda d: d["source_database"].update(LEGACY_SOURCE, existing_security_group_ids=["default"]))
    assert problems == ["source_database.existing_security_group_ids = ['default']: 'default': must be a VPC security "
                        "group ID (sg- and 8 or 17 hex digits)"]


# --- nothing goes quiet ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_dms_task_events_reach_the_alarm_topic(apps, environment):
    stack = apps[environment]["observability"]
    rule = only(stack.of_type("aws_cloudwatch_event_rule"))
    pattern = json.loads(rule["event_pattern"])
    assert pattern["source"] == ["aws.dms"] and pattern["detail-type"] == [TASK_STATE_CHANGE]
    assert pattern["detail"]["eventType"] == list(ALERTING_EVENT_TYPES)
    assert pattern["resources"] == [
        "${data.terraform_remote_state.cross-stack-reference-input-data.outputs."
        "cross-stack-output-aws_dms_replication_taskmigrationreplication_task_arn}"]
    assert "data" in apps[environment]["observability"].dependencies
    topic_key = f"${{aws_sns_topic.{next(iter(stack.of_type('aws_sns_topic')))}.arn}}"
    target = only(stack.of_type("aws_cloudwatch_event_target"))
    assert target["arn"] == topic_key and target["rule"].startswith("${aws_cloudwatch_event_rule.")
    policy = json.loads(only(stack.of_type("aws_sns_topic_policy"))["policy"])
    publishers = {s["Principal"].get("Service"): s for s in policy["Statement"]}
    events = publishers["events.amazonaws.com"]
    assert events["Action"] == "sns:Publish" and events["Resource"] == topic_key
    assert events["Condition"]["ArnEquals"]["aws:SourceArn"].startswith("${aws_cloudwatch_event_rule.")
    assert "cloudwatch.amazonaws.com" in publishers  # replacing the default policy keeps the alarms publishing
    key_policy = json.loads(only(stack.of_type("aws_kms_key"))["policy"])
    key_users = {s["Principal"].get("Service"): s["Action"] for s in key_policy["Statement"]}
    assert set(key_users["events.amazonaws.com"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_cdc_latency_missing_is_breaching_and_the_sources_retained_wal_has_alarms(apps, environment):
    alarms = list(apps[environment]["observability"].of_type("aws_cloudwatch_metric_alarm").values())
    cdc = [a for a in alarms if a["namespace"] == "AWS/DMS"]
    assert len(cdc) == 2 and all(a["treat_missing_data"] == "breaching" for a in cdc)
    source = load_config(environment).source_database
    source_id = source.existing_instance_identifier or f"paymig-{environment}-source"
    wal = {a["metric_name"]: a for a in alarms if a["metric_name"] in ("OldestReplicationSlotLag",
                                                                        "TransactionLogsDiskUsage")}
    assert set(wal) == {"OldestReplicationSlotLag", "TransactionLogsDiskUsage"}
    for alarm in wal.values():
        assert alarm["dimensions"] == {"DBInstanceIdentifier": source_id}
        assert alarm["threshold"] == 5 * 1024**3 and alarm["comparison_operator"] == "GreaterThanThreshold"
        assert alarm["alarm_actions"] == cdc[0]["alarm_actions"]


# --- state locking as Terraform 1.11 recommends -----------------------------------------------------------------

@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_backend_locks_with_a_lock_file_and_no_deprecated_setting(apps, environment):
    for name, stack in apps[environment].items():
        backend = stack.document["terraform"]["backend"]
        if name == "bootstrap":
            assert set(backend) == {"local"}
            continue
        assert backend["s3"]["use_lockfile"] is True and "dynamodb_table" not in backend["s3"], name
        for source in stack.document.get("data", {}).get("terraform_remote_state", {}).values():
            assert not {"dynamodb_table", "use_lockfile"} & set(source["config"]), name


def test_dynamodb_locking_is_a_transition_option_kept_out_of_remote_state():
    from backend.remote import use_s3_backend

    data = config_data()
    data["state"]["dynamodb_locking"] = True
    stack = TerraformStack(Testing.app(), "test")
    use_s3_backend(stack, parse_config(data), "test")
    backend = stack_json(stack)["terraform"]["backend"]["s3"]
    assert (backend["use_lockfile"], backend["dynamodb_table"]) == (True, "paymig-dev-tflock")
