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
os.environ.pop("PAYMIG_SUFFIX", None)  # tests that want a per-change environment set it themselves

import pytest  # noqa: E402
from cdktf import App, Testing  # noqa: E402

from config import MigrationConfig, config_path, load_config, parse_config
from terraform_driver import SynthesizedStack, read_stacks
from stacks.app import build_stacks
from tests import local_deployment

pytest_plugins = ("tests.postgres",)  # real PostgreSQL servers: postgres_source, postgres_target, fresh_databases

LEGACY_KEY_ARN = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
"""The (made-up) KMS key of the legacy source instance that import tests name."""

LEGACY_SOURCE = {"existing_instance_identifier": "legacy-payments-db", "existing_kms_key_arn": LEGACY_KEY_ARN,
                 "existing_db_subnet_group_name": "legacy-payments-db-subnets",
                 "existing_security_group_ids": ["sg-0123456789abcdef0"], "existing_port": 5433,
                 "existing_network_cidrs": ["172.16.32.0/20"]}
"""``[source_database]`` settings that import the (made-up) legacy instance where it lives: its key, subnet group,
security group, port and network."""


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
    data["source_database"].update(LEGACY_SOURCE)
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


def _uses_deployment(item: pytest.Item) -> bool:
    return bool(set(getattr(item, "fixturenames", ())) & set(DEPLOYMENT_FIXTURES))


def _destroys(item: pytest.Item) -> bool:
    return "deployment_to_destroy" in getattr(item, "fixturenames", ())


def _deployment_order(item: pytest.Item, order: tuple[str, ...], destroying: bool) -> tuple[int, int]:
    """Sort key: tests without the deployment first, then by where the stacks they wait for come in the
    dependency ``order`` (the synthesized manifest's); when the destroy is checked (``destroying``), the tests
    marked ``while_destroying`` next (they run while it goes on in the background), the destroy's test last."""
    if _destroys(item):
        return (3, 0)
    if _uses_deployment(item):
        stacks = _needed_stacks(item)
        return (1, max((order.index(name) for name in stacks if name in order), default=len(order)))
    if destroying and item.get_closest_marker("while_destroying"):
        return (2, 0)
    return (0, 0)


_LAST_DEPLOYMENT_TEST: list[str] = []
"""The node id of the last test that uses the deployment when a later test checks its destroy (set at collection)."""


@pytest.hookimpl(trylast=True)  # after -k/-m deselection
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests that use the session's deployment run after the others, each as early as its stacks are ready. When
    a selected test needs the deployment (and the tests are to run), it starts here, right after collection:
    synthesis in this thread, then the applies in the background, so the provider's minutes of fixed waits
    overlap the other tests; its manifest gives the order. The destroy, minutes of waits too, starts in the
    background once the last of them is done (``pytest_runtest_logfinish``), and the ``while_destroying`` tests
    run meanwhile."""
    order: tuple[str, ...] = ()
    if not config.option.collectonly and any(_uses_deployment(item) for item in items):
        order = local_deployment.session_deployment().order
    destroying = any(_destroys(item) for item in items)
    items.sort(key=lambda item: _deployment_order(item, order, destroying))
    users = [item for item in items if _uses_deployment(item) and not _destroys(item)]
    _LAST_DEPLOYMENT_TEST[:] = [users[-1].nodeid] if destroying and users else []


def pytest_runtest_logfinish(nodeid: str, location: tuple[str, int | None, str]) -> None:
    """After the last test that uses the deployment: destroy it in the background."""
    if _LAST_DEPLOYMENT_TEST and nodeid == _LAST_DEPLOYMENT_TEST[0]:
        local_deployment.session_deployment().start_destroy()


def pytest_sessionfinish(session: pytest.Session) -> None:
    local_deployment.stop_session_deployment()


@pytest.fixture
def deployment(request: pytest.FixtureRequest) -> local_deployment.Deployment:
    """The session's deployment once the stacks of the test's ``stacks`` marker (unmarked: all) are ready."""
    return local_deployment.session_deployment().wait_for(*_needed_stacks(request.node))


@pytest.fixture
def deployment_to_destroy() -> tuple[local_deployment.Deployment, local_deployment.Destroyed]:
    """The session's whole deployment once destroyed (in the background, from the end of the last test that used
    it), with what the destroy saw."""
    return local_deployment.session_deployment().destroyed()
