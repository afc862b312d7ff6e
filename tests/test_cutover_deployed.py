"""The migration's infrastructure on the session's emulated deployment: the writer name, the journal table, and
the values the tool owns (after a switch and a shift, Terraform plans no change)."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import pytest

from cutover.traffic import WeightedRecords
from cutover.writer import Route53WriterRecord


def outputs(deployment, stack: str) -> dict:
    return deployment.stacks[stack].terraform().output()


@pytest.mark.stacks("data", "traffic")
def test_after_a_switchover_and_a_full_shift_terraform_plans_no_change(deployment):
    data, traffic, network = (outputs(deployment, stack) for stack in ("data", "traffic", "network"))
    route53 = deployment.client("route53")
    zone = route53.get_hosted_zone(Id=data["private_zone_id"])
    assert zone["HostedZone"]["Config"]["PrivateZone"] is True
    assert [v["VPCId"] for v in zone["VPCs"]] == [network["vpc_id"]]
    writer = Route53WriterRecord(route53, data["private_zone_id"], data["writer_fqdn"])
    records = WeightedRecords(route53, traffic["zone_id"], traffic["record_fqdn"])
    assert writer.value() == data["source_address"] and writer.ttl() == 5
    assert records.weights() == {"legacy": 100, "new": 0}
    try:
        writer.point_at(data["target_address"])  # what `cutover switchover` does
        records.set(0, 100)  # what `cutover shift` does
        with ThreadPoolExecutor(max_workers=2) as pool:
            plans = dict(zip(("data", "traffic"), pool.map(lambda name: deployment.stacks[name].terraform().plan(
                lock=False), ("data", "traffic"))))
        assert {name: (plan.has_changes, plan.changes) for name, plan in plans.items()} == {
            "data": (False, ()), "traffic": (False, ())}
    finally:
        writer.point_at(data["source_address"])
        records.set(100, 0)


@pytest.mark.stacks("data")
def test_the_journal_table_is_deployed_encrypted_with_its_keys(deployment):
    data = outputs(deployment, "data")
    table = deployment.client("dynamodb").describe_table(TableName=data["cutover_journal_table"])["Table"]
    assert table["TableName"] == f"{deployment.names.cutover_journal_table}"
    assert {k["AttributeName"]: k["KeyType"] for k in table["KeySchema"]} == {"pk": "HASH", "sk": "RANGE"}
    assert table["SSEDescription"]["Status"] == "ENABLED" and table["SSEDescription"]["SSEType"] == "KMS"
    tasks = deployment.client("dms").describe_replication_tasks()["ReplicationTasks"]
    reverse = next(t for t in tasks if t["ReplicationTaskArn"] == data["dms_reverse_replication_task_arn"])
    assert reverse["MigrationType"] == "cdc" and reverse["Status"] != "running"


@pytest.mark.stacks("data", "traffic")
def test_the_rehearsal_keeps_every_payment_on_the_session_deployment(deployment, tmp_path, monkeypatch):
    """``make rehearsal`` end to end on the emulated stacks: two real PostgreSQL servers, native replication, a
    payment workload through the writer name, shift to 100, switchover, rollback, switchover again."""
    import json

    from rehearsal.__main__ import rehearse

    data, traffic = outputs(deployment, "data"), outputs(deployment, "traffic")
    (tmp_path / "outputs.json").write_text(json.dumps({"data": data, "traffic": traffic}), encoding="utf-8")
    monkeypatch.setenv("PAYMIG_CUTOVER_OUTPUTS", str(tmp_path / "outputs.json"))
    monkeypatch.setenv("PAYMIG_AWS_ENDPOINT_URL", deployment.endpoint)  # rehearse() sets it: restored afterwards
    route53 = deployment.client("route53")
    writer = Route53WriterRecord(route53, data["private_zone_id"], data["writer_fqdn"])
    records = WeightedRecords(route53, traffic["zone_id"], traffic["record_fqdn"])
    try:
        report = rehearse(rate=50, preload=2000, bake=0, freeze_limit=30, report_path=tmp_path / "report.json",
                          endpoint=deployment.endpoint)
        # it leaves the deployment as before any migration, so that `cutover ... -e local` starts from the beginning
        assert writer.value() == data["source_address"] and records.weights() == {"legacy": 100, "new": 0}
    finally:
        writer.point_at(data["source_address"])
        records.set(100, 0)
    assert json.loads((tmp_path / "report.json").read_text()) == report
    assert (report["lost"], report["altered"], report["duplicated"], report["passed"]) == (0, 0, 0, True)
    assert report["payments_acknowledged"] > 0 and len(report["write_freeze_seconds"]) == 3
    assert report["payments_reconciled"] == 2000 + report["payments_acknowledged"] and report["failures"] == []
    assert len(report["client_write_gap_seconds"]) == 3
    assert report["final_writer"] == "target"
    assert [s["step"] for s in report["steps"]] == ["full load", "shift to 100", "switchover", "rollback",
                                                    "switchover", "validation"]
    verifies = [(s["verify"], s["verify_reason"]) for s in report["steps"] if "verify" in s]
    # each freeze compares the rows written since its checkpoint: payments only (merchants is only read)
    assert all(re.fullmatch(r"\d+ keys? of (0 tables|1 table) and 0 whole tables compared", v) for v, _ in verifies), verifies
    assert {reason for _, reason in verifies} == {"the rows changed since the checkpoint"}, verifies
    assert all(t["equal"] for t in report["validation"])
