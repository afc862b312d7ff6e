"""``--environment``: DSNs from the data stack's outputs and the validation role's secrets (moto for Secrets
Manager); the data stack outputs what they need."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from cutover import environment
from cutover.errors import CutoverError


def test_the_data_stack_outputs_endpoints_and_database_names(synthesized) -> None:
    outputs = synthesized["data"].document["output"]
    assert {"source_endpoint", "target_endpoint", "source_database_name", "target_database_name",
            environment.VALIDATION_SECRET_OUTPUT.format(side="source"),
            environment.VALIDATION_SECRET_OUTPUT.format(side="target")} <= set(outputs)
    assert outputs["source_database_name"]["value"] == "payments"


@mock_aws
def test_environment_dsns_come_from_outputs_and_validation_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    outputs = {"source_endpoint": "src.example:5432", "target_endpoint": "tgt.example:5433",
               "source_database_name": "payments", "target_database_name": "payments"}
    client = boto3.client("secretsmanager", region_name="us-east-1")
    for side in ("source", "target"):  # the secrets the data stack creates, found through its outputs
        created = client.create_secret(Name=f"paymig-dev/db/validation-{side}", SecretString=json.dumps(
            {"username": "paymig_validation", "password": f"p@ss/{side}"}))
        outputs[environment.VALIDATION_SECRET_OUTPUT.format(side=side)] = created["ARN"]
    monkeypatch.setattr(environment, "stack_outputs", lambda env, stack="data": outputs)
    source, target = environment.environment_dsns("dev")
    assert source == "postgresql://paymig_validation:p%40ss%2Fsource@src.example:5432/payments?sslmode=prefer"
    assert target.startswith("postgresql://paymig_validation:p%40ss%2Ftarget@tgt.example:5433/payments")


@mock_aws
def test_a_missing_validation_secret_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setattr(environment, "stack_outputs", lambda env, stack="data": {
        "source_endpoint": "h:1", "target_endpoint": "h:2", "source_database_name": "d", "target_database_name": "d",
        "db_validation_source_secret_arn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:paymig-dev/db/x"})
    with pytest.raises(CutoverError, match="paymig-dev/db/x"):
        environment.environment_dsns("dev")


def test_local_outputs_without_the_emulator_say_how_to_start_it(monkeypatch, tmp_path, capsys) -> None:
    from emulator import process
    from cutover.cli.main import main

    (tmp_path / "stacks" / "data" / ".terraform").mkdir(parents=True)  # deployed once, emulator stopped since
    monkeypatch.setattr(environment, "stack_directory", lambda env, stack="data": tmp_path / "stacks" / stack)
    monkeypatch.setattr(process.LocalSession, "running_endpoint", lambda session: None)  # stopped
    monkeypatch.delenv("PAYMIG_CUTOVER_OUTPUTS", raising=False)
    monkeypatch.setenv("PAYMIG_SOURCE_DSN", "host=127.0.0.1 port=1 dbname=x user=x")
    monkeypatch.setenv("PAYMIG_TARGET_DSN", "host=127.0.0.1 port=1 dbname=x user=x")
    with pytest.raises(SystemExit) as exited:
        main(["status", "-e", "local"])
    assert exited.value.code == 3 and capsys.readouterr().err.splitlines() == [
        "error: no local emulator is running: `make deploy-local` starts one and deploys onto it"]
