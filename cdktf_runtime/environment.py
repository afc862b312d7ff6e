"""Process environment for cdktf, jsii and Terraform.

cdktf's jsii runtime starts a node process that copies the environment at start-up, and the cdktf CLI and
Terraform read their settings from the environment. Everything here must therefore run before ``cdktf`` is
imported. ``prepare_environment`` is idempotent and only fills in variables that the user has not set.

Terraform's own settings (CLI configuration with the offline mirror, ``GOGC``, no checks) are
``terraform_driver.environment``'s, shared with every Terraform command the project runs.
"""

from __future__ import annotations

import os
from pathlib import Path

from terraform_driver.environment import (
    MIRROR_TFRC,
    PROJECT_ROOT,
    PROVIDER_MIRROR,
    TERRAFORM_GOGC,
    terraform_cli_config,
    terraform_environment,
)

__all__ = ["MIRROR_TFRC", "PROJECT_ROOT", "PROVIDER_MIRROR", "TERRAFORM_GOGC", "environment_overrides",
           "prepare_environment", "terraform_cli_config"]

# Variables that switch off telemetry, update checks and warnings of cdktf and jsii (Terraform's own come from
# terraform_driver.environment).
_QUIET = {
    "CDKTF_DISABLE_TELEMETRY": "true",  # not documented everywhere, kept for older CLIs
    "DISABLE_VERSION_CHECK": "1",  # cdktf CLI "newer version available" check
    "JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION": "1",
    "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "18,20",  # node 20 is what the build machines have
    "PIPENV_VERBOSITY": "-1",
}


def environment_overrides() -> dict[str, str]:
    """Return the variables ``prepare_environment`` sets, as a mapping (for shells and subprocesses).

    Terraform's (``terraform_driver.environment.terraform_environment``: CLI configuration with the mirror,
    ``GOGC``, provider cache, no checks), then cdktf's and jsii's: ``CDKTF_HOME`` and
    ``JSII_RUNTIME_PACKAGE_CACHE_ROOT`` keep the cdktf CLI's files and jsii's unpacked assemblies in ``.cache/``
    instead of the home folder, and telemetry and version warnings are off.
    """
    values = {**terraform_environment(), **_QUIET}
    values["CDKTF_HOME"] = os.environ.get("CDKTF_HOME", str(PROJECT_ROOT / ".cache" / "cdktf"))
    # jsii unpacks the provider assembly (~380 MB) into a package cache: keep it in the project, not in ~/.cache.
    values["JSII_RUNTIME_PACKAGE_CACHE_ROOT"] = os.environ.get(
        "JSII_RUNTIME_PACKAGE_CACHE_ROOT", str(PROJECT_ROOT / ".cache" / "jsii"))
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
