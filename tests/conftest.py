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


LEGACY_KEY_ARN = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
"""The (made-up) KMS key of the legacy source instance that import tests name."""


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
    data["source_database"]["existing_kms_key_arn"] = LEGACY_KEY_ARN
    return synth_app(parse_config(data), tmp_path_factory.mktemp("import-synth"))


def stack_json(stack) -> dict[str, Any]:
    """Synthesize a single stack built on ``Testing.app()`` and parse its JSON."""
    return json.loads(Testing.synth(stack))


def _deploys_locally(item: pytest.Item) -> bool:
    module = getattr(item, "module", None)
    return module is not None and module.__name__.endswith("test_deploy_local")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run tests/test_deploy_local.py last: its deployment on the emulated AWS starts in the background right after
    collection (``pytest_collection_finish``), so the provider's minutes of fixed waits overlap the other tests."""
    items.sort(key=_deploys_locally)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start the emulated deployment when a selected test needs it (see ``pytest_collection_modifyitems``)."""
    for item in session.items:
        if _deploys_locally(item) and "deployment" in getattr(item, "fixturenames", ()):
            item.module.start_in_background()
            return
