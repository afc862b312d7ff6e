"""ops dms-credentials: DMS endpoint secrets written from RDS-managed master secrets, on moto (in-process)."""

from __future__ import annotations

import hmac
import json

import boto3
import pytest
from moto import mock_aws

from config import load_config
from ops.dms_credentials import endpoints_of, write_dms_credentials


@pytest.fixture
def aws(monkeypatch):
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    with mock_aws():
        yield boto3.client("rds", region_name="us-east-1"), boto3.client("secretsmanager", region_name="us-east-1")


def test_endpoint_secrets_get_host_port_and_the_master_credentials(aws, capsys):
    rds, secretsmanager = aws
    endpoints = endpoints_of(load_config("dev"))
    for endpoint in endpoints:
        rds.create_db_instance(DBInstanceIdentifier=endpoint.db_instance_identifier, Engine="postgres",
                               DBInstanceClass="db.t4g.medium", MasterUsername="paymig_admin",
                               ManageMasterUserPassword=True, AllocatedStorage=50)
        secretsmanager.create_secret(Name=endpoint.secret_name)  # what the data stack creates: no value
    written = write_dms_credentials(rds, secretsmanager, endpoints)
    assert written == ["paymig-dev/dms/source-endpoint", "paymig-dev/dms/target-endpoint"]
    for endpoint in endpoints:
        value = json.loads(secretsmanager.get_secret_value(SecretId=endpoint.secret_name)["SecretString"])
        instance = rds.describe_db_instances(DBInstanceIdentifier=endpoint.db_instance_identifier)["DBInstances"][0]
        master = json.loads(secretsmanager.get_secret_value(
            SecretId=instance["MasterUserSecret"]["SecretArn"])["SecretString"])
        password = value.pop("password")
        # compare_digest: a failing assertion must not print the (emulator-generated) password
        assert hmac.compare_digest(password, master["password"])
        assert value == {"engine": "postgres", "host": instance["Endpoint"]["Address"], "port": 5432,
                         "dbname": "payments", "username": master["username"]}
        assert password not in capsys.readouterr().out


def test_instance_without_managed_master_secret_is_refused(aws):
    rds, secretsmanager = aws
    endpoint = endpoints_of(load_config("dev"))[0]
    rds.create_db_instance(DBInstanceIdentifier=endpoint.db_instance_identifier, Engine="postgres",
                           DBInstanceClass="db.t4g.medium", MasterUsername="paymig_admin",
                           MasterUserPassword="not-managed-here-123", AllocatedStorage=50)
    with pytest.raises(LookupError, match="paymig-dev-source: no RDS-managed master user secret"):
        write_dms_credentials(rds, secretsmanager, [endpoint])
