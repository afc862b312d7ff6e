"""Builds the cdktf App of one environment: the bootstrap stack and the six lifecycle stacks."""

from __future__ import annotations

from cdktf import App, TerraformStack

from config import MigrationConfig
from stacks.bootstrap import BootstrapStack
from stacks.data import DataStack
from stacks.network import NetworkStack
from stacks.observability import ObservabilityStack
from stacks.service import ServiceStack
from stacks.storage import StorageStack
from stacks.traffic import TrafficStack

STACK_ORDER = ("bootstrap", "network", "data", "storage", "service", "traffic", "observability")
"""Deployment order (each stack only depends on stacks before it); destroy in reverse."""


def build_stacks(app: App, config: MigrationConfig) -> dict[str, TerraformStack]:
    """Add every stack of ``config``'s environment to ``app``.

    Returns:
        Stack name -> stack, in ``STACK_ORDER``.
    """
    network = NetworkStack(app, config)
    data = DataStack(app, config, network.network)
    storage = StorageStack(app, config)
    service = ServiceStack(app, config, network.network, data.target, storage,
                           data.role_secrets.arn("app"), data.key.arn, db_host=data.writer.record.fqdn)
    traffic = TrafficStack(app, config, service.service)
    observability = ObservabilityStack(app, config, service.service, data.dms)
    stacks = [BootstrapStack(app, config), network, data, storage, service, traffic, observability]
    return {stack.node.id: stack for stack in stacks}


def build_app(config: MigrationConfig, outdir: str | None = None) -> App:
    """A cdktf App with every stack of ``config``'s environment (call ``synth()`` on it to write JSON).

    Args:
        config: validated configuration.
        outdir: output directory (default ``cdktf.out``).
    """
    app = App(outdir=outdir) if outdir else App()
    build_stacks(app, config)
    return app
