"""Write the DMS endpoint connection secrets from the RDS-managed master secrets, outside Terraform.

DMS needs host, port, username and password in one secret; RDS-managed master secrets hold only username and
password. This step reads each instance's address and master secret and writes the endpoint secret that the
data stack created without a value. Values only pass through memory: nothing is printed, logged or written to
Terraform state. Re-run it after RDS rotates a master password (then DMS reconnects with the new one).

Follows: https://docs.aws.amazon.com/dms/latest/userguide/security_iam_secretsmanager.html and
https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-secrets-manager.html.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from config import MigrationConfig, Names


@dataclass(frozen=True)
class EndpointCredentials:
    """Which RDS instance feeds which DMS endpoint secret (``kind`` is ``source`` or ``target``)."""

    kind: str
    db_instance_identifier: str
    database_name: str
    secret_name: str


def endpoints_of(config: MigrationConfig) -> list[EndpointCredentials]:
    """The two DMS endpoints of ``config``'s environment."""
    names = Names.of(config)
    return [
        EndpointCredentials("source", names.source_db, config.source_database.database_name, names.dms_source_secret),
        EndpointCredentials("target", names.target_db, config.target_database.database_name, names.dms_target_secret),
    ]


def write_dms_credentials(rds: Any, secretsmanager: Any, endpoints: list[EndpointCredentials]) -> list[str]:
    """Write each endpoint secret as ``{"engine", "host", "port", "dbname", "username", "password"}``.

    Args:
        rds / secretsmanager: boto3 clients of the environment's primary region.
        endpoints: from ``endpoints_of``.

    Returns:
        The names of the secrets written (never their values).

    Raises:
        LookupError: an instance has no RDS-managed master secret (``manage_master_user_password`` off).
        botocore.exceptions.ClientError: an instance or secret does not exist, or access is denied.
    """
    written = []
    for endpoint in endpoints:
        instance = rds.describe_db_instances(DBInstanceIdentifier=endpoint.db_instance_identifier)["DBInstances"][0]
        master_secret = instance.get("MasterUserSecret", {}).get("SecretArn")
        if not master_secret:
            raise LookupError(f"{endpoint.db_instance_identifier}: no RDS-managed master user secret "
                              "(manage_master_user_password must be on)")
        master = json.loads(secretsmanager.get_secret_value(SecretId=master_secret)["SecretString"])
        connection = {
            "engine": "postgres", "host": instance["Endpoint"]["Address"], "port": instance["Endpoint"]["Port"],
            "dbname": endpoint.database_name, "username": master["username"], "password": master["password"],
        }
        secretsmanager.put_secret_value(SecretId=endpoint.secret_name, SecretString=json.dumps(connection))
        written.append(endpoint.secret_name)
    return written


def clients(config: MigrationConfig) -> tuple[Any, Any]:
    """boto3 RDS and Secrets Manager clients of ``config``'s primary region.

    For the emulator environment they point at the running local emulator (``$PAYMIG_AWS_ENDPOINT_URL``, else
    the one ``make deploy-local`` recorded) with its test credentials; otherwise the default credential chain.

    Raises:
        emulator.process.EmulatorError: the emulator environment with no emulator running.
    """
    import os

    import boto3

    from config.settings import EMULATOR_ENDPOINT_VARIABLE

    options: dict[str, Any] = {"region_name": config.regions.primary}
    if config.emulator:
        from emulator.process import LocalSession

        options.update(endpoint_url=os.environ.get(EMULATOR_ENDPOINT_VARIABLE) or LocalSession().require_endpoint(),
                       aws_access_key_id="test", aws_secret_access_key="test")
    return boto3.client("rds", **options), boto3.client("secretsmanager", **options)
