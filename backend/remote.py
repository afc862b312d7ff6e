"""S3 backend with S3 native state locking for every stack but the bootstrap stack.

Locking as Terraform 1.11 recommends: ``use_lockfile = true`` (a ``<key>.tflock`` object written with a
conditional PUT beside the state). DynamoDB locking (``dynamodb_table``) is deprecated since Terraform 1.11, which
warns about it at every ``init``; the bootstrap stack still creates the lock table, and ``[state]
dynamodb_locking = true`` takes both locks while someone still runs Terraform < 1.10. cdktf's ``S3Backend``
(0.21) has no ``use_lockfile``: it is set with an override, as is ``dynamodb_table``, so that neither reaches the
``terraform_remote_state`` data sources (reading state takes no lock; Terraform warns about ``dynamodb_table``
there too).

Follows: https://developer.hashicorp.com/terraform/language/backend/s3 (``bucket``, ``key``, ``region``,
``use_lockfile``, ``encrypt``; for the emulated AWS ``endpoints``, ``use_path_style`` and the ``skip_*`` checks).

cdktf copies a stack's backend configuration (without overrides) into the ``terraform_remote_state`` data sources
of the stacks that reference it, so cross-stack lookups reach the same bucket (and, locally, the same emulator).
"""

from __future__ import annotations

from typing import Any

from cdktf import S3Backend, S3BackendEndpointConfig, TerraformStack

from config import MigrationConfig, emulator_endpoint

EMULATOR_CREDENTIALS = {"access_key": "test", "secret_key": "test"}
"""Credentials of the emulated AWS: moto accepts any; these are placeholders, not secrets."""

EMULATOR_MAX_RETRIES = 2
"""Attempts at a failed AWS call of the provider on the emulator: moto answers an unimplemented call with
HTTP 500, which the provider would otherwise retry for many minutes."""

EMULATOR_BACKEND_MAX_RETRIES = 6
"""Attempts at a failed state or lock call of the S3 backend on the emulator. Every call it makes is implemented,
so a failure is transient: under load moto's development server sometimes resets a kept-alive connection
("use of closed network connection"), and a lock that could not be released would block the next command."""

EMULATOR_NO_EGRESS = {"http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9",
                      "no_proxy": "127.0.0.1,localhost,::1"}
"""Proxy settings for the emulated AWS: a call to any host but loopback goes to a closed loopback port and fails
at once, so nothing (a service without an endpoint override, say) ever leaves this machine."""


def state_key(config: MigrationConfig, stack_name: str) -> str:
    """S3 key of a stack's state: ``<key_prefix>/<stack_name>.tfstate``."""
    return f"{config.state.key_prefix}/{stack_name}.tfstate"


def emulator_backend_settings(config: MigrationConfig) -> dict[str, Any]:
    """S3 backend settings that point an ``emulator`` environment at the emulated AWS; ``{}`` for any other.

    S3, DynamoDB, IAM and STS at ``$PAYMIG_AWS_ENDPOINT_URL``, path-style S3 addressing, placeholder
    credentials, no credential, region or instance-metadata checks, ``EMULATOR_BACKEND_MAX_RETRIES`` attempts, no
    traffic off loopback.

    Raises:
        config.ConfigError: an emulator environment without a valid ``$PAYMIG_AWS_ENDPOINT_URL``.
    """
    if not config.emulator:
        return {}
    endpoint = emulator_endpoint()
    return {
        "endpoints": S3BackendEndpointConfig(s3=endpoint, dynamodb=endpoint, iam=endpoint, sts=endpoint),
        "use_path_style": True, "skip_credentials_validation": True, "skip_region_validation": True,
        "skip_metadata_api_check": True, "skip_requesting_account_id": True,
        "max_retries": EMULATOR_BACKEND_MAX_RETRIES,
        **EMULATOR_CREDENTIALS, **EMULATOR_NO_EGRESS,
    }


def use_s3_backend(stack: TerraformStack, config: MigrationConfig, stack_name: str) -> S3Backend:
    """Configure ``stack`` to keep its state in the environment's state bucket, locked by a lock file beside it
    (and by the DynamoDB table too with ``[state] dynamodb_locking``).

    Raises:
        config.ConfigError: an emulator environment without a valid ``$PAYMIG_AWS_ENDPOINT_URL``.
    """
    backend = S3Backend(
        stack,
        bucket=config.state.bucket,
        key=state_key(config, stack_name),
        region=config.regions.primary,
        encrypt=True,
        **emulator_backend_settings(config),
    )
    stack.add_override("terraform.backend.s3.use_lockfile", True)
    if config.state.dynamodb_locking:
        stack.add_override("terraform.backend.s3.dynamodb_table", config.state.lock_table)
    return backend
