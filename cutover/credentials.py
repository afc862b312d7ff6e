"""The roles' secrets: Terraform creates them without a value, ``cutover roles`` writes them.

Each secret holds ``{"engine", "host", "port", "dbname", "username", "password"}`` (the Secrets Manager database
secret structure DMS endpoints read). A new password is written as the ``AWSPENDING`` version first, set in
PostgreSQL, then promoted to ``AWSCURRENT`` (the Secrets Manager rotation protocol): when PostgreSQL refuses,
consumers keep the current, still valid version.

Rotation: the roles' passwords are their own, independent of the RDS master password. When RDS rotates the
master secret (every 7 days by default) nothing here goes stale: ``cutover roles`` reads the master secret only to
connect. Re-running it without ``--rotate`` keeps every role's password (read back from its secret) and re-applies
the grants; ``--rotate`` generates new passwords. After a rotation the ECS service needs a new deployment (tasks
read their secret at start) and DMS reconnects with the new secret on its next connection.

Follows: https://docs.aws.amazon.com/secretsmanager/latest/userguide/reference_secret_json_structure.html,
https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_how.html (staging labels) and
https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-secrets-manager.html.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from cutover.roles import ROLES


@dataclass(frozen=True)
class Endpoint:
    """Where a database is reached: host, port, database name (what goes into each secret)."""

    host: str
    port: int
    dbname: str


def role_secrets(names: Any) -> dict[str, list[tuple[str, str]]]:
    """Role key -> [(secret name, ``source``/``target``)], from ``config.Names``.

    The application has one secret (its endpoint: the target) for its role on both databases: the ECS service
    connects through the writer name, wherever it points, with that one password (``cutover.roles``).
    """
    return {
        "app": [(names.app_db_secret, "target")],
        "dms_source": [(names.dms_source_secret, "source")],
        "dms_target": [(names.dms_target_secret, "target")],
        "validation": [(names.validation_source_secret, "source"), (names.validation_target_secret, "target")],
    }


def current_password(secretsmanager: Any, secret_name: str) -> str | None:
    """The password of the secret's ``AWSCURRENT`` version; None while the secret has no value yet.

    Raises:
        botocore.exceptions.ClientError: the secret does not exist or access is denied.
    """
    try:
        # the stage named explicitly: what AWS answers by default, and what moto answers only when asked
        value = secretsmanager.get_secret_value(SecretId=secret_name, VersionStage="AWSCURRENT")
    except secretsmanager.exceptions.ResourceNotFoundException:
        stages = secretsmanager.describe_secret(SecretId=secret_name).get("VersionIdsToStages", {})
        if not any("AWSCURRENT" in labels for labels in stages.values()):
            return None  # created by Terraform, no value yet (describe_secret raises if it does not exist)
        raise
    return json.loads(value["SecretString"]).get("password")


def choose_passwords(secretsmanager: Any, secrets: dict[str, list[tuple[str, str]]], rotate: bool,
                     generate: Any) -> dict[str, str]:
    """Role key -> password: the current one (from the role's first secret) unless ``rotate`` or none yet."""
    passwords = {}
    for role in ROLES:
        existing = None if rotate else current_password(secretsmanager, secrets[role.key][0][0])
        passwords[role.key] = existing or generate()
    return passwords


def stage_secrets(secretsmanager: Any, secrets: dict[str, list[tuple[str, str]]], passwords: dict[str, str],
                  endpoints: dict[str, Endpoint]) -> list[tuple[str, str]]:
    """Write every secret's new value as its ``AWSPENDING`` version. Returns [(secret name, version id)]."""
    staged = []
    names = {role.key: role.name for role in ROLES}
    for key, targets in secrets.items():
        for secret_name, kind in targets:
            endpoint = endpoints[kind]
            value = {"engine": "postgres", "host": endpoint.host, "port": endpoint.port, "dbname": endpoint.dbname,
                     "username": names[key], "password": passwords[key]}
            version = secretsmanager.put_secret_value(SecretId=secret_name, SecretString=json.dumps(value),
                                                      VersionStages=["AWSPENDING"])["VersionId"]
            staged.append((secret_name, version))
    return staged


def promote(secretsmanager: Any, staged: list[tuple[str, str]]) -> None:
    """Move ``AWSCURRENT`` to each staged version (and drop its ``AWSPENDING`` label)."""
    for secret_name, version in staged:
        described = secretsmanager.describe_secret(SecretId=secret_name)
        current = [v for v, stages in described.get("VersionIdsToStages", {}).items() if "AWSCURRENT" in stages]
        if current != [version]:  # the first version of a secret is AWSCURRENT at once (PutSecretValue)
            secretsmanager.update_secret_version_stage(SecretId=secret_name, VersionStage="AWSCURRENT",
                                                       MoveToVersionId=version,
                                                       **({"RemoveFromVersionId": current[0]} if current else {}))
        secretsmanager.update_secret_version_stage(SecretId=secret_name, VersionStage="AWSPENDING",
                                                   RemoveFromVersionId=version)


def master_connection(rds: Any, secretsmanager: Any, db_instance_identifier: str, dbname: str) -> tuple[str, Endpoint]:
    """(conninfo as the RDS master user with ``sslmode=require``, endpoint) of an RDS instance.

    Raises:
        LookupError: the instance has no RDS-managed master secret (``manage_master_user_password`` off).
    """
    from psycopg.conninfo import make_conninfo

    instance = rds.describe_db_instances(DBInstanceIdentifier=db_instance_identifier)["DBInstances"][0]
    secret_arn = instance.get("MasterUserSecret", {}).get("SecretArn")
    if not secret_arn:
        raise LookupError(f"{db_instance_identifier}: no RDS-managed master user secret "
                          "(manage_master_user_password must be on)")
    master = json.loads(secretsmanager.get_secret_value(SecretId=secret_arn)["SecretString"])
    endpoint = Endpoint(instance["Endpoint"]["Address"], int(instance["Endpoint"]["Port"]), dbname)
    conninfo = make_conninfo(host=endpoint.host, port=endpoint.port, dbname=dbname, user=master["username"],
                             password=master["password"], sslmode="require", connect_timeout=10)
    return conninfo, endpoint


def endpoint_of(conninfo: str) -> Endpoint:
    """The endpoint a conninfo/DSN names (``--source-dsn``/``--target-dsn``)."""
    from psycopg.conninfo import conninfo_to_dict

    parts = conninfo_to_dict(conninfo)
    return Endpoint(str(parts.get("host", "localhost")), int(parts.get("port", 5432)), str(parts.get("dbname", "")))


def aws_clients(config: Any) -> tuple[Any, Any]:
    """boto3 RDS and Secrets Manager clients of ``config``'s primary region (the local emulator for ``local``).

    Raises:
        emulator.process.EmulatorError: the emulator environment with no emulator running.
    """
    import os

    import boto3

    from config.loading import EMULATOR_ENDPOINT_VARIABLE

    options: dict[str, Any] = {"region_name": config.regions.primary}
    if config.emulator:
        from emulator.process import LocalSession

        options.update(endpoint_url=os.environ.get(EMULATOR_ENDPOINT_VARIABLE) or LocalSession().require_endpoint(),
                       aws_access_key_id="test", aws_secret_access_key="test")
    return boto3.client("rds", **options), boto3.client("secretsmanager", **options)


def provision(secretsmanager: Any, secrets: dict[str, list[tuple[str, str]]], admin: dict[str, str],
              endpoints: dict[str, Endpoint], schema: str, *, rotate: bool = False,
              origins: dict[str, str] | None = None) -> list[str]:
    """Create/update every role on both databases and write the secrets, without printing any value.

    Steps: connect to both databases (a connection refused changes nothing); choose passwords (kept unless
    ``rotate``); stage every secret (``AWSPENDING``); apply the roles on the source, then the target (one
    transaction each, as the master user); promote the staged versions. If a database refuses, the current secrets
    stay current.

    Args:
        admin: ``source``/``target`` -> conninfo as the master user (or a superuser).
        endpoints: ``source``/``target`` -> what the secrets say (host, port, dbname).
        schema: the payment schema.
        origins: ``source``/``target`` -> where ``admin``'s conninfo came from, named in a connection error as
            what to check (default: ``--<side>-dsn``/``$PAYMIG_<SIDE>_DSN``).

    Returns:
        The names of the secrets written (never their values).

    Raises:
        ValueError: ``schema`` is not a PostgreSQL identifier (before anything is written).
        CutoverError: (exit 3) a database cannot be reached (:func:`cutover.postgres.connection_error`: side,
            host, port, what to check; nothing was written).
        cutover.roles.RoleError / psycopg.Error: a database refused (no secret was promoted).
    """
    from contextlib import ExitStack

    from cutover.postgres import connect
    from cutover.roles import apply_roles, check_schema_name, generate_password

    check_schema_name(schema)
    with ExitStack() as stack:
        connections = {}
        for kind in ("source", "target"):
            connections[kind] = stack.enter_context(connect(admin[kind], side=kind, autocommit=True,
                                                            check=(origins or {}).get(kind)))
        passwords = choose_passwords(secretsmanager, secrets, rotate, generate_password)
        staged = stage_secrets(secretsmanager, secrets, passwords, endpoints)
        for kind, conn in connections.items():
            apply_roles(conn, endpoints[kind].dbname, kind, schema, passwords)
    promote(secretsmanager, staged)
    return [name for name, _ in staged]
