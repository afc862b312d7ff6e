"""Running the real Terraform CLI in a synthesized stack's directory, with the project's environment."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from cdktf_runtime.environment import environment_overrides


def terraform_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The process environment plus the project's Terraform settings (and ``extra``)."""
    env = dict(os.environ)
    env.update(environment_overrides())
    env.update(extra or {})
    return env


def terraform(directory: Path, args: Sequence[str], *, extra_env: Mapping[str, str] | None = None,
              capture: bool = True, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``terraform <args>`` in ``directory``.

    Raises:
        subprocess.CalledProcessError: Terraform exited non-zero and ``check`` is set (its output is attached).
    """
    return subprocess.run(["terraform", *args], cwd=directory, env=terraform_env(extra_env), text=True,
                          capture_output=capture, check=check)


def init_offline(directory: Path) -> None:
    """``terraform init -backend=false``: providers from the mirror (or registry), no backend access."""
    terraform(directory, ["init", "-backend=false", "-input=false", "-no-color"])


def validate(directory: Path) -> subprocess.CompletedProcess[str]:
    """``terraform validate -json`` in an initialized directory (never raises; read ``returncode``)."""
    return terraform(directory, ["validate", "-json", "-no-color"], check=False)
