"""Process environment for cdktf, jsii and Terraform.

cdktf's jsii runtime starts a node process that copies the environment at start-up, and the cdktf CLI and
Terraform read their settings from the environment. Everything here must therefore run before ``cdktf`` is
imported. ``prepare_environment`` is idempotent and only fills in variables that the user has not set.

Terraform CLI configuration: https://developer.hashicorp.com/terraform/cli/config/config-file
(``provider_installation`` with a ``filesystem_mirror``) and ``TF_CLI_CONFIG_FILE``.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
"""Absolute path of the project checkout."""

PROVIDER_MIRROR = Path(os.environ.get("TF_PROVIDER_MIRROR", "/opt/tf-plugins"))
"""Offline filesystem mirror of registry providers (hashicorp/aws 5.100.0 on the build machines)."""

_MIRROR_TFRC = Path(__file__).resolve().parent / "mirror.tfrc"
_REGISTRY_TFRC = Path(__file__).resolve().parent / "registry.tfrc"

# Variables that switch off telemetry, update checks and upgrade prompts of Terraform, cdktf and jsii.
_QUIET = {
    "CHECKPOINT_DISABLE": "1",  # Terraform and cdktf version checks (HashiCorp checkpoint service)
    "CDKTF_DISABLE_TELEMETRY": "true",  # not documented everywhere, kept for older CLIs
    "DISABLE_VERSION_CHECK": "1",  # cdktf CLI "newer version available" check
    "JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION": "1",
    "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "18,20",  # node 20 is what the build machines have
    "TF_IN_AUTOMATION": "1",
    "TF_INPUT": "0",
    "PIPENV_VERBOSITY": "-1",
}


TERRAFORM_GOGC = "400"
"""``GOGC`` of Terraform and provider processes unless the user sets one (Go's default is 100)."""


def terraform_cli_config() -> Path:
    """Return the Terraform CLI configuration file this project uses.

    Returns:
        ``cdktf_runtime/mirror.tfrc`` when the offline provider mirror (``TF_PROVIDER_MIRROR``, default
        ``/opt/tf-plugins``) holds hashicorp/aws, else ``cdktf_runtime/registry.tfrc``.
    """
    if (PROVIDER_MIRROR / "registry.terraform.io" / "hashicorp" / "aws").is_dir():
        return _MIRROR_TFRC
    return _REGISTRY_TFRC


def environment_overrides() -> dict[str, str]:
    """Return the variables ``prepare_environment`` sets, as a mapping (for shells and subprocesses).

    ``TF_CLI_CONFIG_FILE`` is set to the project's own configuration unless it already names a file that exists
    (the machine may set it to a missing ``~/.terraformrc``); without the offline mirror, ``TF_PLUGIN_CACHE_DIR`` points at
    ``.cache/terraform-plugins`` in the project so that repeated ``terraform init`` runs link providers instead
    of downloading them again; ``CDKTF_HOME`` and ``JSII_RUNTIME_PACKAGE_CACHE_ROOT`` keep the cdktf CLI's files and jsii's
    unpacked assemblies in ``.cache/`` instead of the home folder; ``GOGC`` is ``TERRAFORM_GOGC`` unless set.
    """
    values = dict(_QUIET)
    configured = os.environ.get("TF_CLI_CONFIG_FILE", "")
    if not configured or not Path(configured).is_file():
        values["TF_CLI_CONFIG_FILE"] = str(terraform_cli_config())
    else:
        values["TF_CLI_CONFIG_FILE"] = configured
    values["CDKTF_HOME"] = os.environ.get("CDKTF_HOME", str(PROJECT_ROOT / ".cache" / "cdktf"))
    # jsii unpacks the provider assembly (~380 MB) into a package cache: keep it in the project, not in ~/.cache.
    values["JSII_RUNTIME_PACKAGE_CACHE_ROOT"] = os.environ.get(
        "JSII_RUNTIME_PACKAGE_CACHE_ROOT", str(PROJECT_ROOT / ".cache" / "jsii"))
    # Terraform and the AWS provider are Go programs; every command starts the provider up to three times, and
    # each start builds the provider's whole schema, mostly garbage-collection work on a 2-core machine. A
    # lighter collector (https://go.dev/doc/gc-guide#GOGC) makes each command ~15% faster for ~10% more memory.
    values["GOGC"] = os.environ.get("GOGC", TERRAFORM_GOGC)
    if values["TF_CLI_CONFIG_FILE"] != str(_MIRROR_TFRC):
        # Registry installs: cache the downloaded provider once. With the unpacked mirror, `init` links the
        # provider straight from the mirror, and a cache would only add a shared directory that concurrent
        # `terraform init` runs race on ("failed to create directory ... file exists").
        values["TF_PLUGIN_CACHE_DIR"] = os.environ.get(
            "TF_PLUGIN_CACHE_DIR", str(PROJECT_ROOT / ".cache" / "terraform-plugins"))
    return values


def prepare_environment() -> None:
    """Set the process environment for Terraform, cdktf and jsii (see module docstring). Idempotent."""
    for key, value in environment_overrides().items():
        if key == "TF_CLI_CONFIG_FILE":
            os.environ[key] = value  # already resolved against the user's own setting
        else:
            os.environ.setdefault(key, value)
    if "TF_PLUGIN_CACHE_DIR" in os.environ:
        Path(os.environ["TF_PLUGIN_CACHE_DIR"]).mkdir(parents=True, exist_ok=True)
