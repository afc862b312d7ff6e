"""Kept so that ``from ops.terraform import ...`` (code written before ``terraform_driver``) still works: each
function is a thin wrapper over ``terraform_driver``. New code uses ``terraform_driver.Terraform``."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from terraform_driver import Terraform
from terraform_driver.environment import process_environment


def terraform_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The process environment plus the project's Terraform settings (and ``extra``)."""
    return process_environment(dict(extra or {}))


def terraform(directory: Path, args: Sequence[str], *, extra_env: Mapping[str, str] | None = None,
              capture: bool = True, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``terraform <args>`` in ``directory`` (``Terraform(directory, extra_env).run(args)``).

    Raises:
        subprocess.CalledProcessError: Terraform exited non-zero and ``check`` is set.
    """
    return subprocess.run(["terraform", *args], cwd=directory, env=terraform_env(extra_env), text=True,
                          capture_output=capture, check=check)


def init_offline(directory: Path) -> None:
    """``terraform init -backend=false`` (``Terraform(directory).init(backend=False)``)."""
    Terraform(directory).init(backend=False)


def validate(directory: Path) -> subprocess.CompletedProcess[str]:
    """``terraform validate -json`` in an initialized directory (never raises; read ``returncode``)."""
    return Terraform(directory).run(["validate", "-json", "-no-color"], check=False)
