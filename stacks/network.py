"""Network stack: VPC, subnets, routing, flow logs and every security group (created before any reference)."""

from __future__ import annotations

from constructs import Construct

from config import MigrationConfig
from modules.kms import EncryptionKey, EncryptionKeyProps
from modules.network import Network, NetworkProps
from stacks.base import MigrationStack


class NetworkStack(MigrationStack):
    """VPC and security groups of one environment. Attribute: ``network`` (modules.network.Network)."""

    def __init__(self, scope: Construct, config: MigrationConfig):
        super().__init__(scope, "network", config)
        region = config.regions.primary
        flow_logs_key = EncryptionKey(self, "flow-logs-key", EncryptionKeyProps(
            alias=f"{self.names.kms_alias_prefix}-flow-logs", description="VPC flow logs", region=region,
            cloudwatch_logs=True))
        self.network = Network(self, "network", NetworkProps(
            name_prefix=config.name_prefix, region=region,
            vpc_cidr=config.network.vpc_cidr, az_count=config.network.az_count,
            container_port=config.service.container_port, legacy_cidrs=config.network.legacy_cidrs,
            legacy_database_cidrs=config.source_database.existing_network_cidrs,
            legacy_database_port=config.source_database.existing_port,
            flow_log_group_name=self.names.flow_log_group,
            flow_logs_role_name=self.names.flow_logs_role, flow_log_kms_key_arn=flow_logs_key.arn,
        ))
        self.output("vpc_id", self.network.vpc.id, "VPC ID")
        self.output("vpc_cidr", self.network.vpc.cidr_block, "VPC CIDR block")
