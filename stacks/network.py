"""Network stack: VPC, subnets, routing and every security group (so they exist before any reference)."""

from __future__ import annotations

from constructs import Construct

from config import MigrationConfig
from modules.network import Network, NetworkProps
from stacks.base import MigrationStack


class NetworkStack(MigrationStack):
    """VPC and security groups of one environment. Attribute: ``network`` (modules.network.Network)."""

    def __init__(self, scope: Construct, config: MigrationConfig):
        super().__init__(scope, "network", config)
        self.network = Network(self, "network", NetworkProps(
            name_prefix=f"{config.project}-{config.environment}", region=config.regions.primary,
            vpc_cidr=config.network.vpc_cidr, az_count=config.network.az_count,
            container_port=config.service.container_port,
        ))
        self.output("vpc_id", self.network.vpc.id, "VPC ID")
