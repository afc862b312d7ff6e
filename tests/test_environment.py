"""The settings every Terraform, cdktf and jsii process of the project gets (``terraform_driver.environment``,
``cdktf_runtime.environment``)."""

from __future__ import annotations

from cdktf_runtime.environment import environment_overrides
from terraform_driver.environment import TERRAFORM_GOGC, process_environment, terraform_cli_config


def test_terraform_runs_with_a_lighter_garbage_collector_unless_the_user_sets_one(monkeypatch):
    monkeypatch.delenv("GOGC", raising=False)
    assert environment_overrides()["GOGC"] == TERRAFORM_GOGC == "400"
    assert process_environment()["GOGC"] == TERRAFORM_GOGC
    monkeypatch.setenv("GOGC", "150")
    assert environment_overrides()["GOGC"] == "150"
    assert process_environment()["GOGC"] == "150"


def test_a_cli_config_that_does_not_exist_is_replaced_by_the_projects(monkeypatch, tmp_path):
    monkeypatch.setenv("TF_CLI_CONFIG_FILE", str(tmp_path / "missing.tfrc"))
    assert environment_overrides()["TF_CLI_CONFIG_FILE"] == str(terraform_cli_config())
    own = tmp_path / "own.tfrc"
    own.write_text("disable_checkpoint = true\n", encoding="utf-8")
    monkeypatch.setenv("TF_CLI_CONFIG_FILE", str(own))
    assert environment_overrides()["TF_CLI_CONFIG_FILE"] == str(own)
