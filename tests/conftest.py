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
from tests import local_deployment


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
def prod_synthesized(tmp_path_factory: pytest.TempPathFactory) -> dict[str, SynthesizedStack]:
    """Every stack of the prod environment (protected: deletion protection, prevent_destroy), once per session."""
    return synth_app(load_config("prod"), tmp_path_factory.mktemp("prod-synth"))


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


DEPLOYMENT_FIXTURES = ("deployment", "deployment_to_destroy")
"""Fixtures that hand out the session's deployment on the emulated AWS (``tests/local_deployment.py``)."""


def _needed_stacks(item: pytest.Item) -> tuple[str, ...]:
    """The stacks a test waits for: ``@pytest.mark.stacks(...)`` names them, unmarked means every stack."""
    marker = item.get_closest_marker("stacks")
    return tuple(marker.args) if marker else ()


def _deployment_order(item: pytest.Item) -> tuple[int, int]:
    """Sort key: tests without the deployment first, then by when the stacks they wait for become ready, the
    destroying test last."""
    fixtures = set(getattr(item, "fixturenames", ()))
    if not fixtures & set(DEPLOYMENT_FIXTURES):
        return (0, 0)
    if "deployment_to_destroy" in fixtures:
        return (2, 0)
    stacks = _needed_stacks(item)
    ready = local_deployment.READY_ORDER
    return (1, max(ready.index(name) for name in stacks) if stacks else len(ready))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that use the session's deployment run after the others, each as early as its stacks are ready: the
    deployment starts in the background right after collection (``pytest_collection_finish``), so the provider's
    minutes of fixed waits overlap the other tests."""
    items.sort(key=_deployment_order)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start the session's deployment when a selected test needs it (and the tests are to run)."""
    if session.config.option.collectonly:
        return
    if any(_deployment_order(item)[0] for item in session.items):
        local_deployment.session_deployment()


def pytest_sessionfinish(session: pytest.Session) -> None:
    local_deployment.stop_session_deployment()


@pytest.fixture
def deployment(request: pytest.FixtureRequest) -> local_deployment.Deployment:
    """The session's deployment once the stacks of the test's ``stacks`` marker (unmarked: all) are ready."""
    return local_deployment.session_deployment().wait_for(*_needed_stacks(request.node))


@pytest.fixture
def deployment_to_destroy() -> local_deployment.Deployment:
    """The session's whole deployment, handed over to be destroyed (no later test may use it)."""
    return local_deployment.session_deployment().to_destroy()
