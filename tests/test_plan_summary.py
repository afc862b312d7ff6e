"""ops.plan_summary on real ``terraform show -json`` output (tests/fixtures/plans, see its README.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ops.plan_summary import (
    StatefulAlert,
    PlanFormatError,
    failed_plan,
    is_stateful,
    render_markdown,
    summarize_plan,
    unacknowledged,
)
from terraform_driver import Terraform

PLANS = Path(__file__).parent / "fixtures" / "plans"


def load_plan(name: str) -> dict:
    return json.loads((PLANS / f"{name}.json").read_text(encoding="utf-8"))


def terraform_lines() -> dict[str, str]:
    """Terraform's own summary line of each captured plan (``terraform show <planfile>``)."""
    pairs = (line.split(": ", 1) for line in (PLANS / "plan-lines.txt").read_text(encoding="utf-8").splitlines())
    return {name: text for name, text in pairs}


@pytest.mark.parametrize("name", ["initial", "no-changes", "changes", "destroy", "stateful", "stateful-destroy"])
def test_counts_match_terraforms_own_summary_line(name):
    summary = summarize_plan("fixture", load_plan(name))
    expected = terraform_lines()[name]
    if expected.startswith("No changes."):
        expected = "No changes."
    assert summary.terraform_line() == expected


def test_every_kind_of_change_is_counted_once():
    summary = summarize_plan("data", load_plan("changes"))
    assert (summary.create, summary.update, summary.delete, summary.replace, summary.imports) == (1, 1, 1, 3, 1)
    assert (summary.to_add, summary.to_change, summary.to_destroy) == (4, 1, 4)
    assert dict((address, symbol) for symbol, address in summary.changes) == {
        "aws_db_instance.target": "-/+", "aws_dms_endpoint.source": "-/+", "aws_s3_bucket.renamed": "-/+",
        "aws_s3_bucket.added[0]": "+", "aws_s3_bucket.removed[0]": "-", "aws_s3_bucket.retagged": "~",
        "aws_s3_bucket.legacy[0]": "<=",
    }
    assert summary.error is None


def test_stateful_replacements_are_alerts_with_their_cause():
    summary = summarize_plan("data", load_plan("changes"))
    assert summary.stateful_alerts == (
        StatefulAlert("aws_db_instance.target", "replaced", ("storage_encrypted",)),
        StatefulAlert("aws_dms_endpoint.source", "replaced", ("endpoint_id",)),
        StatefulAlert("aws_s3_bucket.removed[0]", "destroyed", (), "its count index is gone"),
        StatefulAlert("aws_s3_bucket.renamed", "replaced", ("bucket",)),
    )


def test_destroying_a_key_a_bucket_a_secret_and_a_dms_task_are_alerts_with_the_key_deletion_window():
    summary = summarize_plan("data", load_plan("stateful"))
    alerts = {alert.address: alert for alert in summary.stateful_alerts}
    assert set(alerts) == {"aws_kms_key.database[0]", "aws_kms_key.logs", "aws_s3_bucket.transaction_logs[0]",
                           "aws_s3_bucket.renamed", "aws_secretsmanager_secret.dms_source[0]",
                           "aws_dms_replication_task.migration[0]"}
    assert alerts["aws_kms_key.database[0]"].kind == "destroyed"
    assert "`deletion_window_in_days` = 30" in alerts["aws_kms_key.database[0]"].reason
    assert (alerts["aws_kms_key.logs"].kind, alerts["aws_kms_key.logs"].forced_by) == ("disabled", ("is_enabled",))
    assert alerts["aws_s3_bucket.renamed"] == StatefulAlert("aws_s3_bucket.renamed", "replaced", ("bucket",))
    for address in ("aws_s3_bucket.transaction_logs[0]", "aws_secretsmanager_secret.dms_source[0]",
                    "aws_dms_replication_task.migration[0]"):
        assert (alerts[address].kind, alerts[address].reason) == ("destroyed", "its count index is gone")
    # creating the renamed secret, and the unchanged DMS instance and endpoints, raise nothing
    assert "aws_secretsmanager_secret.migration_source[0]" not in alerts


def test_a_destroy_plan_alerts_on_every_stateful_resource_and_nothing_else():
    summary = summarize_plan("data", load_plan("stateful-destroy"))
    destroyed = {alert.address for alert in summary.stateful_alerts}
    assert len(destroyed) == 9 and summary.delete == 13  # VPC, subnets and DMS subnet group are not stateful
    assert not any(address.startswith(("aws_vpc", "aws_subnet", "aws_dms_replication_subnet_group"))
                   for address in destroyed)
    keys = [alert for alert in summary.stateful_alerts if alert.address.startswith("aws_kms_key")]
    assert sorted(alert.reason for alert in keys) == [
        "key deletion scheduled: `deletion_window_in_days` = 30, then every object it encrypted is unreadable",
        "key deletion scheduled: `deletion_window_in_days` = 7, then every object it encrypted is unreadable"]


def test_each_alert_needs_its_own_acknowledgement():
    plans = [summarize_plan("data", load_plan("stateful"))]
    assert len(unacknowledged(plans)) == 6
    allowed = ["aws_kms_key.database[0]", "data:aws_kms_key.logs", "storage:aws_s3_bucket.renamed"]
    pending = {alert.address for _, alert in unacknowledged(plans, allowed)}
    assert pending == {"aws_s3_bucket.transaction_logs[0]", "aws_s3_bucket.renamed",  # other stack's address
                       "aws_secretsmanager_secret.dms_source[0]", "aws_dms_replication_task.migration[0]"}
    text = render_markdown(plans, "t", allowed)
    assert ("> - `data`: `aws_kms_key.database[0]` **DESTROYED** (its count index is gone; key deletion scheduled: "
            "`deletion_window_in_days` = 30, then every object it encrypted is unreadable) (acknowledged)") in text
    assert "> - `data`: `aws_dms_replication_task.migration[0]` **DESTROYED** (its count index is gone)\n" in text


def test_destroying_a_database_is_an_alert():
    summary = summarize_plan("data", load_plan("destroy"))
    assert {(alert.address, alert.kind) for alert in summary.stateful_alerts} == {
        ("aws_db_instance.target", "destroyed"), ("aws_dms_endpoint.source", "destroyed"),
        *((f"aws_s3_bucket.{name}", "destroyed") for name in ("kept", "retagged", "renamed", "removed[0]"))}


def test_no_changes_and_creates_raise_no_alert():
    assert summarize_plan("a", load_plan("no-changes")).has_changes is False
    initial = summarize_plan("a", load_plan("initial"))
    assert initial.create == 6 and initial.stateful_alerts == ()


def test_markdown_puts_the_database_warning_first_and_a_row_per_stack():
    plans = [summarize_plan("network", load_plan("no-changes")), summarize_plan("data", load_plan("changes")),
             failed_plan("service", "cdktf diff exited 1")]
    text = render_markdown(plans, "Terraform plan: dev")
    lines = text.splitlines()
    assert lines[0] == "## Terraform plan: dev"
    assert lines[2] == "> [!CAUTION]"
    assert "STATEFUL RESOURCE REPLACEMENT OR DELETION" in lines[3]
    assert "> - `data`: `aws_db_instance.target` **REPLACED** (forced by `storage_encrypted`)" in lines
    assert "| network | 0 | 0 | 0 | 0 | 0 | no changes |" in lines
    assert "| data | 4 | 1 | 4 | 3 | 1 | **STATEFUL DESTROYED + REPLACED** |" in lines
    assert "| service | | | | | | **FAILED**: cdktf diff exited 1 |" in lines
    assert "**data**: Plan: 1 to import, 4 to add, 1 to change, 4 to destroy." in lines
    assert "- `<=` `aws_s3_bucket.legacy[0]`" in lines
    assert text.index("CAUTION") < text.index("| stack |")


def test_markdown_without_stateful_changes_has_no_warning():
    text = render_markdown([summarize_plan("bootstrap", load_plan("initial"))], "t")
    assert "CAUTION" not in text and "STATEFUL" not in text
    assert "| bootstrap | 6 | 0 | 0 | 0 | 0 | changes |" in text


def test_unknown_format_or_action_is_refused():
    with pytest.raises(PlanFormatError, match="format_version"):
        summarize_plan("x", {"resource_changes": []})
    plan = load_plan("changes")
    plan["resource_changes"][0]["change"]["actions"] = ["teleport"]
    with pytest.raises(PlanFormatError, match="teleport"):
        summarize_plan("x", plan)


def test_errored_plan_is_reported_as_failed():
    plan = load_plan("initial") | {"errored": True}
    assert summarize_plan("x", plan).error


def test_stateful_types():
    assert all(is_stateful(kind) for kind in ("aws_db_instance", "aws_dms_replication_task", "aws_kms_key",
                                               "aws_s3_bucket", "aws_secretsmanager_secret", "aws_dynamodb_table"))
    assert not is_stateful("aws_db_subnet_group") and not is_stateful("aws_dms_replication_subnet_group")


LIVE_CONFIG = """
variable "phase" { type = string }
locals { after = var.phase == "after" }
resource "terraform_data" "kept" { input = "same" }
resource "terraform_data" "changed" { input = local.after ? "new" : "old" }
resource "terraform_data" "replaced" { triggers_replace = [local.after] }
resource "terraform_data" "removed" { count = local.after ? 0 : 1 }
resource "terraform_data" "added" { count = local.after ? 2 : 0 }
"""


@pytest.mark.terraform
def test_counts_match_the_installed_terraform(tmp_path):
    """A plan made now by the Terraform on PATH (built-in ``terraform_data``, no provider, no network)."""
    (tmp_path / "main.tf").write_text(LIVE_CONFIG, encoding="utf-8")
    terraform = Terraform(tmp_path)
    terraform.init()
    assert terraform.apply(variables={"phase": "before"}).added == 4
    planned = terraform.plan(out=tmp_path / "after.plan", variables={"phase": "after"})
    summary = summarize_plan("live", terraform.show_json(tmp_path / "after.plan"))
    # Terraform's own words, for people, compared once here with what the JSON says
    line = next(text for text in terraform.run(["show", "-no-color", "after.plan"]).stdout.splitlines()
                if text.startswith("Plan:"))
    assert summary.terraform_line() == line == "Plan: 3 to add, 1 to change, 2 to destroy."
    assert (planned.add, planned.change, planned.remove) == (summary.to_add, summary.to_change, summary.to_destroy)
    assert (summary.create, summary.update, summary.delete, summary.replace) == (2, 1, 1, 1)
    assert summary.stateful_alerts == ()


def test_diff_exits_3_until_every_stateful_change_is_acknowledged(monkeypatch, tmp_path):
    """``python -m ops diff`` over captured plans (the cdktf diff runs replaced by the fixtures)."""
    from typer.testing import CliRunner

    import ops.diff
    from ops.cli import app
    from ops.cli.terminal import ExitCode

    plans = [summarize_plan("network", load_plan("no-changes")), summarize_plan("data", load_plan("stateful"))]
    monkeypatch.setattr(ops.diff, "diff_all", lambda outdir, exclude=(): plans)
    monkeypatch.setenv("PAYMIG_ENVIRONMENT", "dev")
    base = ["diff", "--outdir", str(tmp_path), "--markdown", str(tmp_path / "summary.md")]
    alerts = [f"data:{alert.address}" for alert in plans[1].stateful_alerts]
    refused = CliRunner().invoke(app, base + [arg for address in alerts[1:] for arg in ("--allow-destroy", address)])
    assert refused.exit_code == ExitCode.STATEFUL_CHANGE
    assert f"--allow-destroy {alerts[0]}" in refused.output + (refused.stderr if refused.stderr_bytes else "")
    assert "CAUTION" in (tmp_path / "summary.md").read_text(encoding="utf-8")
    accepted = CliRunner().invoke(app, base + [arg for address in alerts for arg in ("--allow-destroy", address)])
    assert accepted.exit_code == 0, accepted.output
    quiet = CliRunner().invoke(app, base[:3])
    monkeypatch.setattr(ops.diff, "diff_all", lambda outdir, exclude=(): plans[:1])
    assert CliRunner().invoke(app, base[:3]).exit_code == 0 and quiet.exit_code == ExitCode.STATEFUL_CHANGE
