"""The migration's infrastructure (issue 15), synthesized: writer name, reverse task, journal, tool-owned values."""

from __future__ import annotations

import json

import pytest

from cutover.traffic import route53_weighted_shares
from modules.writer_dns import WriterDnsProps


def only(resources: dict) -> dict:
    assert len(resources) == 1, list(resources)
    return next(iter(resources.values()))


def test_private_zone_is_associated_with_the_vpc_and_the_writer_record_points_at_the_source(synthesized):
    data = synthesized["data"]
    zone = only(data.of_type("aws_route53_zone"))
    assert zone["name"] == "payment-migration-dev.internal"
    assert zone["vpc"] == [{"vpc_id": "${data.terraform_remote_state.cross-stack-reference-input-network.outputs."
                                      "cross-stack-output-aws_vpcnetwork_vpc_4E8F0223id}"}]
    record = only(data.of_type("aws_route53_record"))
    source = next(name for name, r in data.of_type("aws_db_instance").items() if r["identifier"].endswith("-source"))
    assert (record["name"], record["type"], record["ttl"]) == ("db.payment-migration-dev.internal", "CNAME", 5)
    assert record["records"] == [f"${{aws_db_instance.{source}.address}}"]
    # the tool owns the value after creation: a deploy after a switchover neither drifts nor switches back
    assert record["lifecycle"] == {"ignore_changes": ["records"]}
    outputs = data.document["output"]
    assert {"writer_fqdn", "private_zone_id", "source_address", "target_address", "cutover_journal_table",
            "dms_reverse_replication_task_arn"} <= set(outputs)


def test_the_service_reaches_the_database_through_the_writer_name(synthesized):
    task = only(synthesized["service"].of_type("aws_ecs_task_definition"))
    environment = {e["name"]: e["value"] for e in json.loads(task["container_definitions"])[0]["environment"]}
    assert "writer-dns_writer" in environment["DB_HOST"] and environment["DB_HOST"].endswith("fqdn}")
    assert "aws_db_instance" not in environment["DB_HOST"]


def test_the_target_parameter_group_has_logical_replication_for_the_reverse_task(synthesized):
    groups = {g["name"]: {p["name"]: p["value"] for p in g["parameter"]}
              for g in synthesized["data"].of_type("aws_db_parameter_group").values()}
    assert groups["paymig-dev-target-postgres15"]["rds.logical_replication"] == "1"
    assert groups["paymig-dev-source-postgres15"]["rds.logical_replication"] == "1"


def test_the_reverse_task_replicates_target_to_source_and_is_created_stopped(synthesized):
    data = synthesized["data"]
    tasks = {t["replication_task_id"]: t for t in data.of_type("aws_dms_replication_task").values()}
    forward, reverse = tasks["paymig-dev-cdc"], tasks["paymig-dev-rev"]
    assert reverse["migration_type"] == "cdc" and forward["migration_type"] == "full-load-and-cdc"
    assert reverse["start_replication_task"] is False and forward["start_replication_task"] is False
    endpoints = {f"${{aws_dms_endpoint.{name}.endpoint_arn}}": e for name, e in data.of_type("aws_dms_endpoint").items()}
    secrets = {f"${{aws_secretsmanager_secret.{name}.arn}}": s["name"]
               for name, s in data.of_type("aws_secretsmanager_secret").items()}
    read, written = endpoints[reverse["source_endpoint_arn"]], endpoints[reverse["target_endpoint_arn"]]
    assert (read["endpoint_type"], secrets[read["secrets_manager_arn"]]) == ("source", "paymig-dev/dms/target-endpoint")
    assert (written["endpoint_type"], secrets[written["secrets_manager_arn"]]) == (
        "target", "paymig-dev/dms/source-endpoint")
    assert read["postgres_settings"]["heartbeat_enable"] is True  # the target is now a CDC source


def test_the_journal_table_is_encrypted_with_a_customer_key_and_recoverable(synthesized):
    table = only(synthesized["data"].of_type("aws_dynamodb_table"))
    assert table["name"] == "paymig-dev-cutover-journal"
    assert (table["hash_key"], table["range_key"]) == ("pk", "sk")
    assert table["server_side_encryption"]["enabled"] is True
    assert table["server_side_encryption"]["kms_key_arn"].startswith("${aws_kms_key.database-key")
    assert table["point_in_time_recovery"] == {"enabled": True}


def test_weights_belong_to_the_tool_and_only_the_new_side_is_health_evaluated(synthesized):
    records = {r["set_identifier"]: r for r in synthesized["traffic"].of_type("aws_route53_record").values()}
    assert all(r["lifecycle"] == {"ignore_changes": ["weighted_routing_policy"]} for r in records.values())
    assert "health_check_id" in records["new"] and records["new"]["alias"]["evaluate_target_health"] is True
    assert "health_check_id" not in records["legacy"] and records["legacy"]["alias"]["evaluate_target_health"] is False


@pytest.mark.parametrize("legacy_healthy", [True, False])
def test_before_phase_1_nothing_reaches_the_new_side_whatever_the_health_checks_say(synthesized, legacy_healthy):
    """Route 53's documented choice among weighted records (zero weights answer when every positive weight is
    unhealthy), applied to the synthesized records with the legacy side's health check failing or not."""
    records = {r["set_identifier"]: r for r in synthesized["traffic"].of_type("aws_route53_record").values()}
    weighted = [(side, r["weighted_routing_policy"]["weight"], "health_check_id" in r) for side, r in records.items()]
    shares = route53_weighted_shares(weighted, healthy={"legacy": legacy_healthy, "new": True})
    assert shares == {"legacy": 1.0, "new": 0.0}


def test_route53_model_sends_zero_weight_traffic_when_positive_weights_are_unhealthy():
    """The model itself: had the legacy record been tied to its failing check, the new side would get it all."""
    shares = route53_weighted_shares([("legacy", 100, True), ("new", 0, True)], healthy={"legacy": False, "new": True})
    assert shares == {"legacy": 0.0, "new": 1.0}


def test_writer_record_ttl_is_bounded():
    with pytest.raises(ValueError, match="ttl_seconds = 600: must be 1-300"):
        WriterDnsProps("payment-migration-dev.internal", "vpc-1", "source.example", ttl_seconds=600)
