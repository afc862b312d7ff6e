"""ops.plan_summary on real ``terraform show -json`` output (tests/fixtures/plans, see its README.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ops.plan_summary import (
    DatabaseAlert,
    PlanFormatError,
    failed_plan,
    is_database,
    render_markdown,
    summarize_plan,
)
from terraform_driver import Terraform

PLANS = Path(__file__).parent / "fixtures" / "plans"


def load_plan(name: str) -> dict:
    return json.loads((PLANS / f"{name}.json").read_text(encoding="utf-8"))


def terraform_lines() -> dict[str, str]:
    """Terraform's own summary line of each captured plan (``terraform show <planfile>``)."""
    pairs = (line.split(": ", 1) for line in (PLANS / "plan-lines.txt").read_text(encoding="utf-8").splitlines())
    return {name: text for name, text in pairs}


@pytest.mark.parametrize("name", ["initial", "no-changes", "changes", "destroy"])
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


def test_database_replacements_are_alerts_with_their_cause_and_other_replacements_are_not():
    summary = summarize_plan("data", load_plan("changes"))
    assert summary.database_alerts == (
        DatabaseAlert("aws_db_instance.target", "replaced", ("storage_encrypted",)),
        DatabaseAlert("aws_dms_endpoint.source", "replaced", ("endpoint_id",)),
    )


def test_destroying_a_database_is_an_alert():
    summary = summarize_plan("data", load_plan("destroy"))
    assert {(alert.address, alert.kind) for alert in summary.database_alerts} == {
        ("aws_db_instance.target", "destroyed"), ("aws_dms_endpoint.source", "destroyed")}


def test_no_changes_and_creates_raise_no_alert():
    assert summarize_plan("a", load_plan("no-changes")).has_changes is False
    initial = summarize_plan("a", load_plan("initial"))
    assert initial.create == 6 and initial.database_alerts == ()


def test_markdown_puts_the_database_warning_first_and_a_row_per_stack():
    plans = [summarize_plan("network", load_plan("no-changes")), summarize_plan("data", load_plan("changes")),
             failed_plan("service", "cdktf diff exited 1")]
    text = render_markdown(plans, "Terraform plan: dev")
    lines = text.splitlines()
    assert lines[0] == "## Terraform plan: dev"
    assert lines[2] == "> [!CAUTION]"
    assert "DATABASE REPLACEMENT" in lines[3]
    assert "> - `data`: `aws_db_instance.target` **REPLACED** (forced by `storage_encrypted`)" in lines
    assert "| network | 0 | 0 | 0 | 0 | 0 | no changes |" in lines
    assert "| data | 4 | 1 | 4 | 3 | 1 | **DATABASE REPLACED** |" in lines
    assert "| service | | | | | | **FAILED**: cdktf diff exited 1 |" in lines
    assert "**data**: Plan: 1 to import, 4 to add, 1 to change, 4 to destroy." in lines
    assert "- `<=` `aws_s3_bucket.legacy[0]`" in lines
    assert text.index("CAUTION") < text.index("| stack |")


def test_markdown_without_database_changes_has_no_warning():
    text = render_markdown([summarize_plan("bootstrap", load_plan("initial"))], "t")
    assert "CAUTION" not in text and "DATABASE" not in text
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


def test_database_types():
    assert is_database("aws_db_instance") and is_database("aws_dms_replication_task")
    assert not is_database("aws_db_subnet_group") and not is_database("aws_s3_bucket")


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
    assert summary.database_alerts == ()
