"""A deployed environment's databases: endpoints from the data stack's outputs, credentials from Secrets Manager.

The one place that reads Terraform outputs is :func:`stack_outputs`: ``terraform output -json`` in the deployed
stack's directory, through the project's one Terraform driver (``terraform_driver.Terraform``, which sets the
project's Terraform environment itself).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

from cutover.errors import CutoverError, ExitCode, UsageError

ROOT = Path(__file__).resolve().parent.parent

VALIDATION_SECRET_OUTPUT = "db_validation_{side}_secret_arn"
"""The data stack's output with the ARN of the Secrets Manager secret that holds the read-only validation role's
credentials on ``side`` (``source`` or ``target``), JSON ``{"username": ..., "password": ...}``: the stack creates
it without a value, ``cutover roles`` writes it."""


def stack_directory(environment: str, stack: str = "data") -> Path:
    """Where the deployed ``stack`` of ``environment`` was synthesized: ``.state/local/cdktf.out/stacks/<stack>``
    for ``local`` (the emulated deployment), ``cdktf.out/stacks/<stack>`` otherwise."""
    base = ROOT / ".state" / "local" / "cdktf.out" if environment == "local" else ROOT / "cdktf.out"
    return base / "stacks" / stack


def stack_outputs(environment: str, stack: str = "data") -> dict[str, Any]:
    """Every output of ``stack`` as deployed (``terraform output -json``): name to value.

    Raises:
        CutoverError: (exit 2) the stack was never synthesized/initialised there; (exit 3) Terraform failed.
        emulator.EmulatorError: ``local``, and its emulator (which holds the state) is not running.
    """
    directory = stack_directory(environment, stack)
    if not (directory / ".terraform").exists():
        raise CutoverError(f"--environment = {environment!r}: no initialised {stack} stack in {directory} "
                           "(deploy it first)", exit_code=ExitCode.USAGE)
    if environment == "local":  # its state is on the emulator: say so, rather than Terraform's S3 retries
        from emulator.process import LocalSession

        LocalSession().require_endpoint()
    from terraform_driver import Terraform, TerraformError

    try:
        return Terraform(directory, name=stack).output()
    except TerraformError as error:
        raise CutoverError(str(error)) from None


def aws_client(environment: str, service: str) -> Any:
    """A boto3 client of ``service`` for ``environment``: its primary region (``[regions] primary``); for an
    emulator environment (``local``) the emulated AWS at ``$PAYMIG_AWS_ENDPOINT_URL``, else the one
    ``make deploy-local`` started (``.state/local/emulator.json``), with placeholder credentials.

    Raises:
        config.ConfigError: no such environment.
        emulator.EmulatorError: an emulator environment and no emulator is running.
    """
    import os

    import boto3

    from config import load_config
    from config.loading import EMULATOR_ENDPOINT_VARIABLE

    config = load_config(environment)
    options: dict[str, Any] = {"region_name": config.regions.primary}
    if config.emulator:
        from emulator.process import LocalSession

        options.update(endpoint_url=os.environ.get(EMULATOR_ENDPOINT_VARIABLE) or LocalSession().require_endpoint(),
                       aws_access_key_id="test", aws_secret_access_key="test")
    return boto3.client(service, **options)


def default_replication(environment: str) -> str:
    """The replication ``--replication`` defaults to in ``environment``: ``dms`` where its configuration deploys a
    DMS task that replicates changes onto real AWS (``[dms] migration_type`` with CDC: ``cdc`` or
    ``full-load-and-cdc``, and no ``emulator``: dev, prod), else ``native`` (PostgreSQL logical replication: the
    emulated AWS of ``local``, where DMS moves no data, or a full-load-only task, which stops before any change).

    Raises:
        config.ConfigError: no such environment, or its configuration is invalid.
    """
    from config import load_config

    config = load_config(environment)
    return "dms" if not config.emulator and config.dms.migration_type != "full-load" else "native"


def environment_dsns(environment: str) -> tuple[str, str]:
    """libpq connection strings of the source and the target of ``environment`` as the validation role.

    Host and port come from the data stack's outputs ``source_endpoint``/``target_endpoint`` (``host:port``),
    the database from ``source_database_name``/``target_database_name``, the credentials from the secret that
    :data:`VALIDATION_SECRET_OUTPUT` names. The password goes into the connection string only, never into output.

    Raises:
        UsageError: an unknown environment. CutoverError: outputs or secrets missing.
    """
    from config import ConfigError

    try:
        client = aws_client(environment, "secretsmanager")
    except ConfigError as error:
        raise UsageError("--environment", environment, str(error).splitlines()[0]) from None
    outputs = stack_outputs(environment)
    dsns = []
    for side in ("source", "target"):
        endpoint, dbname = outputs.get(f"{side}_endpoint"), outputs.get(f"{side}_database_name")
        if not endpoint or not dbname:
            raise CutoverError(f"data stack outputs {side}_endpoint / {side}_database_name missing: redeploy the "
                               "data stack", exit_code=ExitCode.USAGE)
        name = outputs.get(VALIDATION_SECRET_OUTPUT.format(side=side))
        if not name:
            raise CutoverError(f"data stack output {VALIDATION_SECRET_OUTPUT.format(side=side)} missing: redeploy the "
                               "data stack", exit_code=ExitCode.USAGE)
        try:
            secret = json.loads(client.get_secret_value(SecretId=name)["SecretString"])
        except Exception as error:  # noqa: BLE001  (botocore errors: name the secret, not its value)
            if _unusable_aws(error):
                raise  # no credentials, access denied, no endpoint: the boundary says which and what to do
            raise CutoverError(f"cannot read secret {name}: {type(error).__name__} (run `cutover roles` first)"
                               ) from None
        host, _, port = str(endpoint).rpartition(":")
        dsns.append(f"postgresql://{quote(secret['username'], safe='')}:{quote(secret['password'], safe='')}"
                    f"@{host}:{port}/{quote(dbname, safe='')}?sslmode=prefer")
    return dsns[0], dsns[1]


def _unusable_aws(error: BaseException) -> bool:
    """Whether ``error`` means AWS cannot be used at all (credentials, access, endpoint: ``cli_common.failures``),
    rather than that the secret is missing."""
    from cli_common import Kind, describe

    failure = describe(error)
    return failure is not None and failure.kind in (Kind.CREDENTIALS, Kind.ACCESS_DENIED, Kind.UNREACHABLE)
