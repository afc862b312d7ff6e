"""terraform_driver: one Terraform working directory driven through the CLI and read through its JSON output.

Runs the Terraform on PATH on a configuration of built-in ``terraform_data`` resources (no provider, no network),
with a local backend in the test's folder; and reads the synthesized dev app for the stack graph.
"""

from __future__ import annotations

import json

import pytest

from terraform_driver import Terraform, TerraformError, UnknownStack, prerequisites, stack_named, state_stack

CONFIG = {
    "terraform": {"backend": {"local": {"path": "default.tfstate"}}},
    "variable": {"size": {"type": "number", "default": 2}},
    "resource": {"terraform_data": {
        "kept": {"input": "same"},
        "numbered": {"count": "${var.size}", "input": "${count.index}"},
    }},
    "output": {"id": {"value": "${terraform_data.kept.id}"},
               "secret": {"value": "not-for-people", "sensitive": True}},
}


@pytest.fixture
def terraform(tmp_path):
    (tmp_path / "main.tf.json").write_text(json.dumps(CONFIG), encoding="utf-8")
    driver = Terraform(tmp_path, name="sample")
    driver.init(backend_config={"path": str(tmp_path / "sample.tfstate")})
    return driver


@pytest.mark.terraform
def test_plan_apply_outputs_state_and_destroy_are_read_from_json(terraform, tmp_path):
    planned = terraform.plan(out=tmp_path / "first.plan")
    assert planned.has_changes and (planned.add, planned.change, planned.remove) == (3, 0, 0)
    assert sorted(planned.changes) == [("create", "terraform_data.kept"), ("create", "terraform_data.numbered[0]"),
                                       ("create", "terraform_data.numbered[1]")]
    shown = terraform.show_json(tmp_path / "first.plan")
    assert shown["format_version"].startswith("1.") and len(shown["resource_changes"]) == 3

    applied = terraform.apply(tmp_path / "first.plan")
    assert (applied.stack, applied.action, applied.added, applied.changed, applied.destroyed) == (
        "sample", "apply", 3, 0, 0)
    assert {address for address, _ in applied.slowest} == {"terraform_data.kept", "terraform_data.numbered[0]",
                                                           "terraform_data.numbered[1]"}
    assert (tmp_path / "sample.tfstate").is_file()  # the backend_config given to init
    outputs = terraform.output()
    assert set(outputs) == {"id", "secret"} and outputs["id"]
    assert terraform.output_json()["secret"]["sensitive"] is True
    assert terraform.state_list() == ["terraform_data.kept", "terraform_data.numbered[0]",
                                      "terraform_data.numbered[1]"]
    assert terraform.state_show("terraform_data.kept").startswith("# terraform_data.kept:")
    assert len(terraform.state_pull()["resources"]) == 2  # kept, numbered (with two instances)
    assert not terraform.plan().has_changes

    changed = terraform.apply(variables={"size": "1"})
    assert (changed.added, changed.destroyed) == (0, 1)
    destroyed = terraform.destroy()
    assert (destroyed.action, destroyed.destroyed) == ("destroy", 2)
    assert terraform.state_list() == []


@pytest.mark.terraform
def test_a_failure_carries_stack_command_and_diagnostics(terraform):
    with pytest.raises(TerraformError) as caught:
        terraform.state_show("terraform_data.nosuch")
    assert (caught.value.stack, caught.value.command) == ("sample", "state")
    with pytest.raises(TerraformError) as caught:
        terraform.plan(variables={"size": "many"})
    error = caught.value
    assert (error.stack, error.command) == ("sample", "plan")
    assert [d.severity for d in error.diagnostics] == ["error"]
    assert "size" in str(error) and "terraform plan failed in stack 'sample'" in str(error)


@pytest.mark.terraform
def test_validate_returns_terraforms_report(tmp_path):
    (tmp_path / "main.tf.json").write_text(json.dumps({"resource": {"terraform_data": {"x": {"nosuch": 1}}}}),
                                           encoding="utf-8")
    terraform = Terraform(tmp_path)
    terraform.init(backend=False)
    report = terraform.validate()
    assert report["valid"] is False and report["error_count"] == 1
    assert "nosuch" in report["diagnostics"][0]["summary"] + report["diagnostics"][0].get("detail", "")


def test_the_stack_graph_comes_from_the_manifest(synthesized):
    holder = state_stack(synthesized)
    assert holder is not None and holder.backend == "local"
    assert all(stack.backend == "s3" for stack in synthesized.values() if stack is not holder)
    waits = prerequisites(synthesized)
    assert waits[holder.name] == set()
    assert all(holder.name in waits[name] and set(synthesized[name].dependencies) <= waits[name]
               for name in synthesized if name != holder.name)
    assert prerequisites({name: synthesized[name] for name in ("network", "data")}) == {"network": set(),
                                                                                         "data": {"network"}}
    outdir = holder.directory.parent.parent
    assert stack_named(outdir, "data").name == "data"
    with pytest.raises(UnknownStack, match="no stack 'nosuch'"):
        stack_named(outdir, "nosuch")


@pytest.mark.terraform
def test_a_plan_keeps_terraforms_warnings(terraform, tmp_path):
    assert terraform.plan().warnings == ()
    (tmp_path / "terraform.tfvars").write_text("undeclared = 1\n", encoding="utf-8")  # a warning, not an error
    (warning,) = terraform.plan().warnings
    assert (warning.severity, warning.summary) == ("warning", "Value for undeclared variable")
