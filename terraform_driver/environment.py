"""The process environment of every Terraform command this project runs.

Terraform reads its settings from the environment: the CLI configuration file (``TF_CLI_CONFIG_FILE``, here with the
offline provider mirror), no version checks or prompts (``CHECKPOINT_DISABLE``, ``TF_IN_AUTOMATION``,
``TF_INPUT``), a provider cache when providers come from the registry, and a lighter Go garbage collector.
``terraform_environment`` returns these as a mapping; ``cdktf_runtime.environment`` adds cdktf's and jsii's own.

Follows: https://developer.hashicorp.com/terraform/cli/config/config-file (``provider_installation`` with a
``filesystem_mirror``) and https://developer.hashicorp.com/terraform/cli/config/environment-variables.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
"""Absolute path of the project checkout (caches live in its ``.cache/``)."""

PROVIDER_MIRROR = Path(os.environ.get("TF_PROVIDER_MIRROR", "/opt/tf-plugins"))
"""Offline filesystem mirror of registry providers (hashicorp/aws 5.100.0 on the build machines)."""

MIRROR_TFRC = Path(__file__).resolve().parent / "mirror.tfrc"
REGISTRY_TFRC = Path(__file__).resolve().parent / "registry.tfrc"

TERRAFORM_GOGC = "400"
"""``GOGC`` of Terraform and provider processes unless the user sets one (Go's default is 100)."""

QUIET = {
    "CHECKPOINT_DISABLE": "1",  # Terraform's version check (HashiCorp checkpoint service)
    "TF_IN_AUTOMATION": "1",
    "TF_INPUT": "0",
}
"""Variables that switch off Terraform's version checks and prompts."""


def terraform_cli_config() -> Path:
    """Return the Terraform CLI configuration file this project uses.

    Returns:
        ``terraform_driver/mirror.tfrc`` when the offline provider mirror (``TF_PROVIDER_MIRROR``, default
        ``/opt/tf-plugins``) holds hashicorp/aws, else ``terraform_driver/registry.tfrc``.
    """
    if (PROVIDER_MIRROR / "registry.terraform.io" / "hashicorp" / "aws").is_dir():
        return MIRROR_TFRC
    return REGISTRY_TFRC


def terraform_environment() -> dict[str, str]:
    """The variables every Terraform command of the project runs with (on top of the process environment).

    ``TF_CLI_CONFIG_FILE`` is the project's own configuration unless it already names a file that exists (the
    machine may set it to a missing ``~/.terraformrc``); without the offline mirror, ``TF_PLUGIN_CACHE_DIR`` points
    at ``.cache/terraform-plugins`` in the project so that repeated ``terraform init`` runs link providers instead
    of downloading them again; ``GOGC`` is ``TERRAFORM_GOGC`` unless set.
    """
    values = dict(QUIET)
    configured = os.environ.get("TF_CLI_CONFIG_FILE", "")
    values["TF_CLI_CONFIG_FILE"] = configured if configured and Path(configured).is_file() \
        else str(terraform_cli_config())
    # Terraform and the AWS provider are Go programs; every command starts the provider up to three times, and
    # each start builds the provider's whole schema, mostly garbage-collection work on a 2-core machine. A
    # lighter collector (https://go.dev/doc/gc-guide#GOGC) makes each command ~15% faster for ~10% more memory.
    values["GOGC"] = os.environ.get("GOGC", TERRAFORM_GOGC)
    if values["TF_CLI_CONFIG_FILE"] != str(MIRROR_TFRC):
        # Registry installs: cache the downloaded provider once. With the unpacked mirror, `init` links the
        # provider straight from the mirror, and a cache would only add a shared directory that concurrent
        # `terraform init` runs race on ("failed to create directory ... file exists").
        values["TF_PLUGIN_CACHE_DIR"] = os.environ.get(
            "TF_PLUGIN_CACHE_DIR", str(PROJECT_ROOT / ".cache" / "terraform-plugins"))
    return values


def process_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment with ``terraform_environment`` and then ``extra`` on top."""
    return {**os.environ, **terraform_environment(), **(extra or {})}
