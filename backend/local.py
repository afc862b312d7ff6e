"""Local backend of the bootstrap stack: it creates the state bucket and lock table, so its own state cannot be in
them and stays in a file of the checkout.

Follows: https://developer.hashicorp.com/terraform/language/backend/local (``path``).
"""

from __future__ import annotations

from cdktf import LocalBackend, TerraformStack

from cdktf_runtime import PROJECT_ROOT
from config import MigrationConfig


def local_state_path(config: MigrationConfig, stack_name: str) -> str:
    """Absolute path of a stack's local state file in the checkout: ``.state/<environment>/<stack_name>.tfstate``,
    or ``<stack_name>-<suffix>.tfstate`` for a per-change environment (``MigrationConfig.suffix``)."""
    name = f"{stack_name}-{config.suffix}" if config.suffix else stack_name
    return str(PROJECT_ROOT / ".state" / config.environment / f"{name}.tfstate")


def use_local_backend(stack: TerraformStack, config: MigrationConfig, stack_name: str) -> LocalBackend:
    """Keep ``stack``'s state in ``local_state_path`` (deploy tools may point ``path`` elsewhere at ``init``)."""
    return LocalBackend(stack, path=local_state_path(config, stack_name))
