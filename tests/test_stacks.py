"""The whole app of the dev environment: stacks, backends, providers, cross-stack wiring, Terraform validation."""

from __future__ import annotations

import json

import pytest

from terraform_driver import Terraform, state_stack
from tests.conftest import LEGACY_KEY_ARN

pytestmark = pytest.mark.while_destroying  # slow, no emulator: runs while the session deployment is destroyed

STACKS = ("bootstrap", "network", "data", "storage", "service", "traffic", "observability")
"""The stacks the app synthesizes (the product's, so written down here as the expectation)."""
REMOTE_STACKS = [name for name in STACKS if name != "bootstrap"]


def only(resources: dict) -> dict:
    assert len(resources) == 1, list(resources)
    return next(iter(resources.values()))


def test_every_stack_is_synthesized_in_dependency_order(synthesized):
    assert set(synthesized) == set(STACKS)
    assert state_stack(synthesized).name == "bootstrap"  # the one stack with local state comes first
    order = list(synthesized)
    assert order[0] == "bootstrap"
    for stack in synthesized.values():
        assert all(order.index(dep) < order.index(stack.name) for dep in stack.dependencies)
    assert synthesized["service"].dependencies and set(synthesized["service"].dependencies) == {
        "network", "data", "storage"}


@pytest.mark.parametrize("name", REMOTE_STACKS)
def test_stacks_use_the_s3_backend_with_s3_native_locking(synthesized, name):
    """Locking as Terraform 1.11 recommends: a lock file beside the state, no deprecated ``dynamodb_table`` in the
    backend or in the ``terraform_remote_state`` lookups (Terraform warns about it in both)."""
    document = synthesized[name].document
    assert document["terraform"]["backend"]["s3"] == {
        "bucket": "paymig-dev-tfstate", "key": f"paymig/dev/{name}.tfstate", "region": "us-east-1", "encrypt": True,
        "use_lockfile": True}
    for source in document.get("data", {}).get("terraform_remote_state", {}).values():
        assert source["config"]["bucket"] == "paymig-dev-tfstate"
        assert not {"dynamodb_table", "use_lockfile"} & set(source["config"]), source


def test_bootstrap_creates_state_bucket_and_lock_table_with_local_state(synthesized):
    stack = synthesized["bootstrap"]
    assert stack.document["terraform"]["backend"]["local"]["path"].endswith(".state/dev/bootstrap.tfstate")
    table = only(stack.of_type("aws_dynamodb_table"))
    assert table["hash_key"] == "LockID" and table["attribute"] == [{"name": "LockID", "type": "S"}]
    assert sorted(b["bucket"] for b in stack.of_type("aws_s3_bucket").values()) == [
        "paymig-dev-tfstate", "paymig-dev-tfstate-logs"]
    assert all(v["versioning_configuration"] == {"status": "Enabled"}
               for v in stack.of_type("aws_s3_bucket_versioning").values())
    assert all(p["restrict_public_buckets"] for p in stack.of_type("aws_s3_bucket_public_access_block").values())


def test_providers_pin_aws_5_100_0_and_storage_has_a_replica_alias(synthesized):
    for stack in synthesized.values():
        assert stack.document["terraform"]["required_providers"]["aws"]["version"] == "5.100.0"
    providers = synthesized["storage"].document["provider"]["aws"]
    assert {(p["region"], p.get("alias")) for p in providers} == {("us-east-1", None), ("us-west-2", "replica")}
    assert all(p["default_tags"][0]["tags"]["Environment"] == "dev" for p in providers)


def test_replica_bucket_uses_replica_provider(synthesized):
    buckets = {b["bucket"]: b for b in synthesized["storage"].of_type("aws_s3_bucket").values()}
    assert buckets["paymig-dev-txlog-us-west-2"]["provider"] == "aws.replica"
    rule = only(synthesized["storage"].of_type("aws_s3_bucket_replication_configuration"))["rule"][0]
    assert rule["destination"]["bucket"] == "${aws_s3_bucket.transaction_logs_replica.arn}"


def test_security_groups_live_in_the_network_stack_only(synthesized):
    for name, stack in synthesized.items():
        groups = stack.of_type("aws_security_group")
        assert bool(groups) == (name == "network"), name
    service = only(synthesized["service"].of_type("aws_ecs_service"))
    assert service["network_configuration"]["security_groups"][0].startswith(
        "${data.terraform_remote_state.cross-stack-reference-input-network.outputs.")


def test_dns_records_are_wired_to_the_alb_of_the_service_stack(synthesized):
    traffic = synthesized["traffic"]
    records = {r["set_identifier"]: r for r in traffic.of_type("aws_route53_record").values()}
    assert set(records) == {"legacy", "new"}
    assert records["new"]["alias"]["name"].startswith("${data.terraform_remote_state.cross-stack-reference-input-service")
    assert records["legacy"]["alias"]["name"] == "legacy-payments-123456789.us-east-1.elb.amazonaws.com"
    assert (records["legacy"]["weighted_routing_policy"]["weight"], records["new"]["weighted_routing_policy"]["weight"]) == (100, 0)
    service_outputs = synthesized["service"].document["output"]
    assert any("dns_name" in json.dumps(o) for o in service_outputs.values())


def test_alarm_dimensions_match_the_dms_names_of_the_data_stack(synthesized):
    task = only({name: task for name, task in synthesized["data"].of_type("aws_dms_replication_task").items()
                 if task["replication_task_id"] == "paymig-dev-cdc"})  # the forward task (the reverse one: issue 15)
    instance = only(synthesized["data"].of_type("aws_dms_replication_instance"))
    alarms = [a for a in synthesized["observability"].of_type("aws_cloudwatch_metric_alarm").values()
              if a["namespace"] == "AWS/DMS"]
    assert len(alarms) == 2
    for alarm in alarms:
        assert alarm["dimensions"] == {"ReplicationInstanceIdentifier": instance["replication_instance_id"],
                                       "ReplicationTaskIdentifier": task["resource_identifier"]}


def test_source_database_is_created_with_logical_replication(synthesized):
    data = synthesized["data"]
    assert "import" not in data.document
    groups = {g["name"]: g for g in data.of_type("aws_db_parameter_group").values()}
    source = {p["name"]: p["value"] for p in groups["paymig-dev-source-postgres15"]["parameter"]}
    assert source["rds.logical_replication"] == "1"


def test_existing_source_database_is_imported_not_created(import_synthesized):
    data = import_synthesized["data"]
    imports = data.document["import"]
    assert imports == [{"id": "legacy-payments-db", "to": imports[0]["to"]}]
    assert imports[0]["to"] == "aws_db_instance.source"
    instances = {i["identifier"]: i for i in data.of_type("aws_db_instance").values()}
    assert set(instances) == {"legacy-payments-db", "paymig-dev-target"}
    # the imported instance keeps its own storage key (a different key would replace it); the target uses the stack's
    assert instances["legacy-payments-db"]["kms_key_id"] == LEGACY_KEY_ARN
    assert instances["paymig-dev-target"]["kms_key_id"] == "${aws_kms_key.database.arn}"


def test_outputs_include_endpoints_and_runbook(synthesized):
    outputs = {name: set(stack.document.get("output", {})) for name, stack in synthesized.items()}
    assert {"source_endpoint", "target_endpoint", "dms_replication_task_arn", "runbook_start_replication"} <= outputs["data"]
    assert {"alb_dns_name", "ecs_cluster_name"} <= outputs["service"]
    assert {"zone_id", "name_servers", "runbook_shift_traffic"} <= outputs["traffic"]
    assert {"state_bucket", "lock_table"} <= outputs["bootstrap"]


def test_synthesized_json_has_no_password(synthesized):
    for stack in synthesized.values():
        text = json.dumps(stack.document)
        assert '"password"' not in text and '"master_password"' not in text


@pytest.mark.terraform
def test_imported_data_stack_validates(import_synthesized):
    directory = import_synthesized["data"].directory
    terraform = Terraform(directory)
    terraform.init(backend=False)
    assert terraform.validate()["valid"]


KEY_RESOURCES = {
    "bootstrap": ("aws_dynamodb_table", {"hash_key": "LockID", "billing_mode": "PAY_PER_REQUEST"}),
    "network": ("aws_vpc", {"cidr_block": "10.20.0.0/16", "enable_dns_hostnames": True}),
    "data": ("aws_dms_replication_task", {"migration_type": "full-load-and-cdc", "replication_task_id": "paymig-dev-cdc"}),
    "storage": ("aws_s3_bucket", {"bucket": "paymig-dev-txlog-us-west-2", "provider": "aws.replica"}),
    "service": ("aws_ecs_service", {"name": "paymig-dev-payments-api", "launch_type": "FARGATE"}),
    "traffic": ("aws_route53_zone", {"name": "payments.example.com"}),
    "observability": ("aws_sns_topic", {"name": "paymig-dev-alarms"}),
}


@pytest.mark.parametrize("name", STACKS)
def test_each_stack_has_its_key_resource(synthesized, name):
    from cdktf import Testing

    resource_type, properties = KEY_RESOURCES[name]
    assert Testing.to_have_resource_with_properties(json.dumps(synthesized[name].document), resource_type, properties)


@pytest.mark.terraform
def test_every_stack_is_valid_terraform_against_aws_5_100_0(synthesized):
    """cdktf's matcher runs `terraform init` (offline: -backend=false, see conftest) and `terraform validate`
    in every stack of the output directory; the lock files it leaves show the provider that validated."""
    from cdktf import Testing

    outdir = synthesized["network"].directory.parent.parent
    assert Testing.to_be_valid_terraform(str(outdir))
    for name in STACKS:
        lock = (synthesized[name].directory / ".terraform.lock.hcl").read_text()
        assert 'provider "registry.terraform.io/hashicorp/aws"' in lock and 'version     = "5.100.0"' in lock, name
