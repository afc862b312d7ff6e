"""Shared fixtures. The provider bindings are loaded once per test process (session-scoped app synthesis)."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import os

import cdktf_runtime  # noqa: F401  (environment before cdktf)

# cdktf's Testing.to_be_valid_terraform runs a plain `terraform init` in its node process, which copied the
# environment when jsii started (at `import cdktf`): give that process `-backend=false` so that stacks with an S3
# backend validate offline, and keep it out of this process, whose Terraform runs must reach their backend.
os.environ["TF_CLI_ARGS_init"] = "-backend=false"
import cdktf  # noqa: E402  (starts the jsii node process with the variable above)

del os.environ["TF_CLI_ARGS_init"]

import pytest  # noqa: E402
from cdktf import App, Testing  # noqa: E402

from config import MigrationConfig, load_config, parse_config
from config.settings import config_path
from ops.synthesized import SynthesizedStack, read_stacks
from stacks.app import build_stacks


def config_data(environment: str = "dev") -> dict[str, Any]:
    """The parsed TOML of ``config/<environment>.toml`` (a fresh dict to modify)."""
    return tomllib.loads(config_path(environment).read_text(encoding="utf-8"))


def synth_app(config: MigrationConfig, outdir: Path) -> dict[str, SynthesizedStack]:
    """Synthesize every stack of ``config`` into ``outdir`` and read them back."""
    app = App(outdir=str(outdir))
    build_stacks(app, config)
    app.synth()
    return read_stacks(outdir)


@pytest.fixture(scope="session")
def dev_config() -> MigrationConfig:
    return load_config("dev")


@pytest.fixture(scope="session")
def synthesized(dev_config: MigrationConfig, tmp_path_factory: pytest.TempPathFactory) -> dict[str, SynthesizedStack]:
    """Every stack of the dev environment, synthesized once per session."""
    return synth_app(dev_config, tmp_path_factory.mktemp("dev-synth"))


@pytest.fixture(scope="session")
def import_synthesized(tmp_path_factory: pytest.TempPathFactory) -> dict[str, SynthesizedStack]:
    """The dev environment with an existing source instance to import."""
    data = config_data()
    data["source_database"]["existing_instance_identifier"] = "legacy-payments-db"
    return synth_app(parse_config(data), tmp_path_factory.mktemp("import-synth"))


def stack_json(stack) -> dict[str, Any]:
    """Synthesize a single stack built on ``Testing.app()`` and parse its JSON."""
    return json.loads(Testing.synth(stack))
