"""S3 backend with DynamoDB locking for every stack but the bootstrap stack.

Follows: https://developer.hashicorp.com/terraform/language/backend/s3 (``bucket``, ``key``, ``region``,
``dynamodb_table``, ``encrypt``).
"""

from __future__ import annotations

from cdktf import S3Backend, TerraformStack

from config import MigrationConfig


def state_key(config: MigrationConfig, stack_name: str) -> str:
    """S3 key of a stack's state: ``<key_prefix>/<stack_name>.tfstate``."""
    return f"{config.state.key_prefix}/{stack_name}.tfstate"


def use_s3_backend(stack: TerraformStack, config: MigrationConfig, stack_name: str) -> S3Backend:
    """Configure ``stack`` to keep its state in the environment's state bucket, locked by its DynamoDB table."""
    return S3Backend(
        stack,
        bucket=config.state.bucket,
        key=state_key(config, stack_name),
        region=config.regions.primary,
        dynamodb_table=config.state.lock_table,
        encrypt=True,
    )
