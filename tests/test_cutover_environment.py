"""``--environment``: DSNs from the data stack's outputs and the validation role's secrets (moto for Secrets
Manager); the data stack outputs what they need."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from cutover import environment
from cutover.cli.terminal import CutoverError


def test_the_data_stack_outputs_endpoints_and_database_names(synthesized) -> None:
    outputs = synthesized["data"].document["output"]
    assert {"source_endpoint", "target_endpoint", "source_database_name", "target_database_name"} <= set(outputs)
    assert outputs["source_database_name"]["value"] == "payments"


@mock_aws
def test_environment_dsns_come_from_outputs_and_validation_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    outputs = {"source_endpoint": "src.example:5432", "target_endpoint": "tgt.example:5433",
               "source_database_name": "payments", "target_database_name": "payments"}
    monkeypatch.setattr(environment, "stack_outputs", lambda env, stack="data": outputs)
    client = boto3.client("secretsmanager", region_name="us-east-1")
    for side in ("source", "target"):
        name = environment.VALIDATION_SECRET.format(project="paymig", environment="dev", side=side)
        client.create_secret(Name=name, SecretString=json.dumps({"username": "cutover_validation",
                                                                 "password": f"p@ss/{side}"}))
    source, target = environment.environment_dsns("dev")
    assert source == "postgresql://cutover_validation:p%40ss%2Fsource@src.example:5432/payments?sslmode=prefer"
    assert target.startswith("postgresql://cutover_validation:p%40ss%2Ftarget@tgt.example:5433/payments")


@mock_aws
def test_a_missing_validation_secret_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setattr(environment, "stack_outputs", lambda env, stack="data": {
        "source_endpoint": "h:1", "target_endpoint": "h:2", "source_database_name": "d", "target_database_name": "d"})
    with pytest.raises(CutoverError, match="paymig-dev/db/source/validation"):
        environment.environment_dsns("dev")
