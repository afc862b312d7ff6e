"""Stable addresses of stateful resources: the reviewed list (stacks/stateful.toml) against the synthesized dev and
prod JSON, the moved blocks from the previous addresses, prevent_destroy in protected environments, and a construct
rename that leaves every address as it was."""

from __future__ import annotations

import copy
import json

import pytest
from cdktf import Testing, TerraformStack
from cdktf_cdktf_provider_aws.provider import AwsProvider
from constructs import Construct

from modules.addressing import with_address
from modules.postgres import PostgresDatabase
from ops.plan_summary import STATEFUL_TYPES
from stacks.addresses import PinnedAddress, parse_reviewed, review_problems, reviewed_addresses
from tests.conftest import stack_json
from tests.test_modules import postgres_props


@pytest.fixture(scope="module")
def environments(synthesized, prod_synthesized):
    return {"dev": synthesized, "prod": prod_synthesized}


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_every_stack_agrees_with_the_reviewed_list(environments, environment):
    problems = [problem for name, stack in environments[environment].items()
                for problem in review_problems(name, stack.document)]
    assert problems == []


def test_every_listed_address_exists_in_some_environment_and_every_listed_output_is_written(environments):
    reviewed = reviewed_addresses()
    for name, listed in reviewed.pinned.items():
        present = {f"{kind}.{resource}" for stacks in environments.values()
                   for kind, items in stacks[name].resources().items() for resource in items}
        assert set(listed) <= present, name
        outputs = {output for stacks in environments.values() for output in stacks[name].document.get("output", {})}
        assert reviewed.cross_stack_outputs[name] <= outputs, name
    assert set(reviewed.pinned) == set(environments["dev"])


def test_the_stateful_types_are_the_plan_summarys():
    assert reviewed_addresses().stateful_types == frozenset(STATEFUL_TYPES)


def test_readable_addresses_of_the_payment_databases_and_their_moves(synthesized):
    data = synthesized["data"].document
    assert set(data["resource"]["aws_db_instance"]) == {"source", "target"}
    assert set(data["resource"]["aws_db_parameter_group"]) == {"source", "target"}
    moves = {block["to"]: block["from"] for block in data["moved"]}
    assert moves["aws_db_instance.target"] == "aws_db_instance.target_instance_F9233CBD"  # its address on main
    assert moves["aws_kms_key.database"] == "aws_kms_key.database-key_C4D88439"
    service = synthesized["service"].document
    secret = service["resource"]["aws_ecs_task_definition"]
    assert "cross-stack-output-aws_secretsmanager_secretdb_role_apparn" in json.dumps(secret)


def test_protected_environments_prevent_destroying_stateful_resources_and_disposable_ones_do_not(environments):
    stateful = reviewed_addresses().stateful_types
    for environment, stacks in environments.items():
        for stack in stacks.values():
            for kind, items in stack.resources().items():
                for name, config in items.items():
                    prevented = config.get("lifecycle", {}).get("prevent_destroy", False)
                    assert prevented == (environment == "prod" and kind in stateful), (environment, kind, name)


def test_a_renamed_or_dropped_database_fails_the_review_until_the_list_says_so(synthesized):
    document = copy.deepcopy(synthesized["data"].document)
    document["resource"]["aws_db_instance"]["primary"] = document["resource"]["aws_db_instance"].pop("target")
    document["moved"] = [block for block in document["moved"] if block["to"] != "aws_db_instance.target"]
    problems = review_problems("data", document)
    assert any("aws_db_instance.primary is stateful but not in stateful.toml" in p for p in problems)
    assert any("aws_db_instance.target is in stateful.toml but not synthesized" in p for p in problems)
    reviewed = reviewed_addresses()
    listed = dict(reviewed.pinned["data"])
    del listed["aws_db_instance.target"]
    listed["aws_db_instance.primary"] = PinnedAddress("data", "aws_db_instance.primary", "aws_db_instance.target")
    updated = type(reviewed)(reviewed.stateful_types, {**reviewed.pinned, "data": listed}, reviewed.cross_stack_outputs)
    problems = review_problems("data", document, updated)
    assert problems == ["data: moved block aws_db_instance.target -> aws_db_instance.primary is missing from the "
                        "synthesized stack"]
    document["moved"].append({"from": "aws_db_instance.target", "to": "aws_db_instance.primary"})
    assert review_problems("data", document, updated) == []


def test_an_unlisted_fixed_name_and_a_stray_moved_block_are_reported(synthesized):
    document = copy.deepcopy(synthesized["network"].document)
    document["resource"]["aws_route_table"]["main_public"] = {}
    document["moved"].append({"from": "aws_vpc.old", "to": "aws_vpc.main"})
    assert review_problems("network", document) == [
        "network: aws_route_table.main_public has a fixed name but is not in stateful.toml",
        "network: moved block aws_vpc.old -> aws_vpc.main is not in stateful.toml"]


def test_wrapping_or_renaming_the_construct_of_a_database_keeps_its_address():
    addresses = set()
    for wrap, construct_id in ((False, "target"), (True, "target"), (False, "renamed")):
        stack = TerraformStack(Testing.app(), "data")
        AwsProvider(stack, "aws", region="us-east-1")
        scope = Construct(stack, "databases") if wrap else stack
        PostgresDatabase(scope, construct_id, postgres_props(address="target", logical_replication=None))
        document = stack_json(stack)
        addresses.add((tuple(document["resource"]["aws_db_instance"]), tuple(document["resource"]["aws_db_parameter_group"])))
    assert addresses == {(("target",), ("target",))}


def test_malformed_entries_are_refused_with_stack_address_and_rule():
    with pytest.raises(ValueError) as refused:
        parse_reviewed({"stacks": {"data": {"pinned": {
            "aws_db_instance.Target-1": {}, "aws_kms_key.database": {"moved_from": "aws_s3_bucket.x"}}}}})
    assert "data.pinned.'aws_db_instance.Target-1': name must match" in str(refused.value)
    assert "data.pinned.'aws_kms_key.database'.moved_from = 'aws_s3_bucket.x': must be a aws_kms_key" in str(refused.value)
    with pytest.raises(ValueError, match=r"address = 'Bad-Name': must match"):
        with_address(None, "Bad-Name")  # type: ignore[arg-type]


@pytest.mark.terraform
def test_the_protected_data_stack_with_its_moved_blocks_and_prevent_destroy_is_valid_terraform(prod_synthesized):
    terraform = prod_synthesized["data"].terraform()
    terraform.init(backend=False)
    report = terraform.validate()
    assert report["valid"], report["diagnostics"]
    assert prod_synthesized["data"].document["moved"]
