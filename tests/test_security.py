"""Security gates: checkov clean on every stack (dev and prod), hardening asserted, no secrets in synthesized JSON."""

from __future__ import annotations

import json
import re

import pytest

from ops.security_scan import Finding, Skip, evaluate, load_skips, run_checkov

PASSWORD_KEY = re.compile(r'"(password|master_password|master_user_password|secret_string|db_password)"\s*:',
                          re.IGNORECASE)


def all_of(stacks, resource_type):
    return [r for stack in stacks.values() for r in stack.of_type(resource_type).values()]


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_checkov_finds_nothing_outside_the_reviewed_skips(environment, synthesized, prod_synthesized, capsys):
    stacks = synthesized if environment == "dev" else prod_synthesized
    stacks_dir = next(iter(stacks.values())).directory.parent
    results, stale = evaluate(run_checkov(stacks_dir), environment, load_skips())
    with capsys.disabled():
        print(f"\ncheckov {environment}: " + ", ".join(
            f"{name} {r.passed} passed/{len(r.failed)} failed/{len(r.skipped)} skipped"
            for name, r in sorted(results.items())))
    assert set(results) == set(stacks)
    assert [f for r in results.values() for f in r.failed] == []
    assert stale == []
    assert all(r.passed > 0 for r in results.values())


def test_skip_list_entries_all_give_a_reason_and_are_not_blanket():
    skips = load_skips()
    assert skips
    for skip in skips:
        assert len(skip.reason) > 20
        assert skip.stacks or skip.environments or skip.resources != ("*",), skip.check


def test_an_unreviewed_finding_fails_and_an_unused_skip_is_stale():
    finding = Finding("CKV_AWS_999", "data", "aws_db_instance.x", "made up")
    report = {"results": {"failed_checks": [{"check_id": finding.check, "file_path": "/data/cdk.tf.json",
                                             "resource": finding.resource, "check_name": finding.title}]}}
    unused = Skip("CKV_AWS_1", "a reason long enough to be a reason")
    results, stale = evaluate([report], "dev", [unused])
    assert results["data"].failed == [finding]
    assert stale == [unused]


# --- hardening, asserted on the synthesized prod environment ------------------------------------------------

def test_customer_managed_keys_with_rotation_for_every_purpose(prod_synthesized):
    aliases = {a["name"] for a in all_of(prod_synthesized, "aws_kms_alias")}
    assert aliases == {f"alias/paymig-prod-{purpose}" for purpose in (
        "terraform-state", "flow-logs", "database", "transaction-logs", "transaction-logs-replica", "app-logs",
        "alarms")}
    assert all(k["enable_key_rotation"] is True for k in all_of(prod_synthesized, "aws_kms_key"))
    replica_key = [k for k in prod_synthesized["storage"].of_type("aws_kms_key").values() if k.get("provider")]
    assert [k["provider"] for k in replica_key] == ["aws.replica"]


def test_databases_encrypt_everything_with_the_database_key(prod_synthesized):
    for instance in prod_synthesized["data"].of_type("aws_db_instance").values():
        for attribute in ("kms_key_id", "performance_insights_kms_key_id", "master_user_secret_kms_key_id"):
            assert instance[attribute].startswith("${aws_kms_key.database-key_"), attribute
        assert instance["enabled_cloudwatch_logs_exports"] == ["postgresql", "upgrade"]
        assert instance["deletion_protection"] is True and instance["skip_final_snapshot"] is False
        assert instance["backup_retention_period"] == 30 and instance["multi_az"] is True
    for group in prod_synthesized["data"].of_type("aws_db_parameter_group").values():
        assert {"name": "rds.force_ssl", "value": "1", "apply_method": "pending-reboot"} in group["parameter"]


def test_dms_endpoints_require_tls(prod_synthesized):
    endpoints = prod_synthesized["data"].of_type("aws_dms_endpoint").values()
    assert {e["ssl_mode"] for e in endpoints} == {"require"}
    assert all(e["kms_key_arn"].startswith("${aws_kms_key.database-key") for e in endpoints)


def test_transaction_logs_are_sse_kms_in_both_regions_and_replicated_as_such(prod_synthesized):
    storage = prod_synthesized["storage"]
    algorithms = {}
    for config in storage.of_type("aws_s3_bucket_server_side_encryption_configuration").values():
        default = config["rule"][0]["apply_server_side_encryption_by_default"]
        algorithms[config["bucket"]] = default["sse_algorithm"]
    assert sorted(algorithms.values()) == ["AES256", "AES256", "aws:kms", "aws:kms"]  # access logs must be SSE-S3
    rule = next(iter(storage.of_type("aws_s3_bucket_replication_configuration").values()))["rule"][0]
    assert rule["source_selection_criteria"]["sse_kms_encrypted_objects"]["status"] == "Enabled"
    assert rule["destination"]["encryption_configuration"]["replica_kms_key_id"].startswith(
        "${aws_kms_key.transaction-logs-replica-key")
    role_policy = json.loads(next(iter(storage.of_type("aws_iam_role_policy").values()))["policy"])
    sids = {s["Sid"] for s in role_policy["Statement"]}
    assert {"DecryptSource", "EncryptReplica"} <= sids


def test_every_bucket_denies_plain_http_and_is_access_logged(prod_synthesized):
    buckets = {name for stack in prod_synthesized.values() for name in stack.of_type("aws_s3_bucket")}
    policies = [p for stack in prod_synthesized.values() for p in stack.of_type("aws_s3_bucket_policy").values()]
    assert len(policies) == len(buckets) == 6
    for policy in policies:
        first = json.loads(policy["policy"])["Statement"][0]
        assert first["Effect"] == "Deny" and first["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    logged = all_of(prod_synthesized, "aws_s3_bucket_logging")
    assert len(logged) == 3  # state, transaction logs, replica; the three log buckets are the chain's end


def test_https_listener_with_modern_tls_and_http_redirect(prod_synthesized):
    listeners = {listener["port"]: listener for listener in all_of(prod_synthesized, "aws_lb_listener")}
    assert listeners[443]["ssl_policy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    assert listeners[80]["default_action"][0]["type"] == "redirect"
    alb = next(iter(prod_synthesized["service"].of_type("aws_lb").values()))
    assert alb["access_logs"]["enabled"] is True and alb["enable_deletion_protection"] is True


def test_only_the_alb_accepts_traffic_from_anywhere(prod_synthesized):
    ingress = all_of(prod_synthesized, "aws_vpc_security_group_ingress_rule")
    world = [r for r in ingress if r.get("cidr_ipv4") == "0.0.0.0/0" or r.get("cidr_ipv6") == "::/0"]
    assert sorted(r["from_port"] for r in world) == [80, 443]
    assert all("alb-sg" in r["security_group_id"] for r in world)
    default = next(iter(prod_synthesized["network"].of_type("aws_default_security_group").values()))
    assert "ingress" not in default and "egress" not in default


def test_vpc_flow_logs_go_to_an_encrypted_log_group(prod_synthesized):
    flow_log = next(iter(prod_synthesized["network"].of_type("aws_flow_log").values()))
    assert flow_log["traffic_type"] == "ALL"
    for group in all_of(prod_synthesized, "aws_cloudwatch_log_group"):
        assert group["kms_key_id"].startswith("${aws_kms_key.") and group["retention_in_days"] >= 365


def test_sns_topic_is_encrypted_with_a_key_cloudwatch_may_use(prod_synthesized):
    observability = prod_synthesized["observability"]
    topic = next(iter(observability.of_type("aws_sns_topic").values()))
    assert topic["kms_master_key_id"].startswith("${aws_kms_key.alarms-key")
    policy = json.loads(next(iter(observability.of_type("aws_kms_key").values()))["policy"])
    assert any(s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"} for s in policy["Statement"])


def test_containers_are_read_only_unprivileged_and_get_secrets_by_reference(prod_synthesized):
    service = prod_synthesized["service"]
    container = json.loads(next(iter(service.of_type("aws_ecs_task_definition").values()))["container_definitions"])[0]
    assert container["readonlyRootFilesystem"] is True and container["privileged"] is False
    assert {s["name"] for s in container["secrets"]} == {"DB_USERNAME", "DB_PASSWORD"}
    assert not any(re.search(r"pass|secret", e["name"], re.IGNORECASE) for e in container["environment"])
    policies = {p["name"]: json.loads(p["policy"]) for p in service.of_type("aws_iam_role_policy").values()}
    execution = policies["read-injected-secrets"]["Statement"]
    assert [s["Action"] for s in execution] == [["secretsmanager:GetSecretValue"], ["kms:Decrypt"]]
    # the app database role's secret, never the RDS master secret
    assert [r.split("cross-stack-output-")[1] for r in execution[0]["Resource"]] == [
        next(o for o in prod_synthesized["data"].document["output"] if "db-role-secrets_app" in o).split(
            "cross-stack-output-")[1] + "}"]
    assert execution[1]["Condition"] == {"StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}}


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_no_password_anywhere_in_synthesized_json(environment, synthesized, prod_synthesized):
    stacks = synthesized if environment == "dev" else prod_synthesized
    for stack in stacks.values():
        text = (stack.directory / "cdk.tf.json").read_text()
        assert not PASSWORD_KEY.search(text), stack.name
        for output in stack.document.get("output", {}).values():
            assert "password" not in json.dumps(output).lower() or "secret_arn" in json.dumps(output)
