"""VPC with public, private and database subnets, routing, flow logs and the security groups of every tier.

Security groups are created here, in the network stack, before any stack references them; rules between tiers
use ``aws_vpc_security_group_ingress_rule`` / ``egress_rule`` resources (one rule each, as the AWS provider
recommends) so that groups can reference each other without cycles.

Example::

    from modules.network import Network, NetworkProps

    network = Network(stack, "network", NetworkProps(
        name_prefix="paymig-dev", region="us-east-1", vpc_cidr="10.20.0.0/16", az_count=2, container_port=8080,
        address="main"))
    private_subnet_ids = network.subnet_ids["private"]  # aws_subnet.main_private_0 and _1
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.default_security_group import DefaultSecurityGroup
from cdktf_cdktf_provider_aws.eip import Eip
from cdktf_cdktf_provider_aws.flow_log import FlowLog
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.internet_gateway import InternetGateway
from cdktf_cdktf_provider_aws.nat_gateway import NatGateway
from cdktf_cdktf_provider_aws.route import Route
from cdktf_cdktf_provider_aws.route_table import RouteTable
from cdktf_cdktf_provider_aws.route_table_association import RouteTableAssociation
from cdktf_cdktf_provider_aws.security_group import SecurityGroup
from cdktf_cdktf_provider_aws.subnet import Subnet
from cdktf_cdktf_provider_aws.vpc import Vpc
from cdktf_cdktf_provider_aws.vpc_security_group_egress_rule import VpcSecurityGroupEgressRule
from cdktf_cdktf_provider_aws.vpc_security_group_ingress_rule import VpcSecurityGroupIngressRule
from constructs import Construct

from modules.addressing import suffixed, with_address
from modules.iam import assume_role_policy, policy_document, statement

POSTGRES_PORT = 5432
TIERS = ("public", "private", "database")


@dataclass(frozen=True)
class NetworkProps:
    """Props of ``Network``.

    Attributes:
        name_prefix: prefix of the Name tags and security group names, e.g. ``paymig-dev``.
        region: AWS region; availability zones are ``<region>a``, ``<region>b``, ...
        vpc_cidr: VPC IPv4 CIDR, /16 to /20; each tier gets one subnet of 1/16 of it per AZ.
        az_count: number of availability zones (2 or 3).
        container_port: TCP port of the application containers (ALB -> service rule).
        legacy_cidrs: legacy application networks allowed to reach PostgreSQL (until cutover).
        legacy_database_cidrs / legacy_database_port: the network and port of an imported legacy source instance
            that lives outside this VPC; the DMS security group may reach them (its own security group must
            admit the private subnets, where DMS runs: see docs/infrastructure.md "Importing the legacy source
            database").
        flow_log_group_name / flow_logs_role_name: VPC flow log destination and the role that writes it; None
            turns flow logs off (tests of other modules only).
        flow_log_kms_key_arn: key of the flow log group; flow_log_retention_days: retention, days.
        address: fixed Terraform name of the VPC; subnets are ``<address>_<tier>_<index>``, security groups
            ``<address>_<alb|service|database|dms>`` (``modules.addressing``). None: cdktf's path-derived names.
    """

    name_prefix: str
    region: str
    vpc_cidr: str
    az_count: int
    container_port: int
    legacy_cidrs: tuple[str, ...] = ()
    legacy_database_cidrs: tuple[str, ...] = ()
    legacy_database_port: int = POSTGRES_PORT
    flow_log_group_name: str | None = None
    flow_logs_role_name: str | None = None
    flow_log_kms_key_arn: str | None = None
    flow_log_retention_days: int = 365
    address: str | None = None

    def subnet_cidrs(self, tier: str) -> list[str]:
        """CIDR blocks of ``tier`` (``public``, ``private`` or ``database``), one per AZ.

        Raises:
            ValueError: unknown tier.
        """
        network = ipaddress.IPv4Network(self.vpc_cidr)
        blocks = list(network.subnets(new_prefix=network.prefixlen + 4))
        offset = TIERS.index(tier) * 4
        return [str(block) for block in blocks[offset : offset + self.az_count]]

    @property
    def availability_zones(self) -> list[str]:
        """Availability zone names, e.g. ``["us-east-1a", "us-east-1b"]``."""
        return [f"{self.region}{letter}" for letter in "abc"[: self.az_count]]


class Network(Construct):
    """VPC, three subnet tiers, an internet gateway, one NAT gateway and the tier security groups.

    Attributes exposed: ``vpc``, ``subnet_ids`` (tier -> list of tokens), ``alb_security_group``,
    ``service_security_group``, ``database_security_group``, ``dms_security_group``.

    Follows: https://registry.terraform.io/providers/hashicorp/aws/5.100.0/docs/resources/vpc and
    .../vpc_security_group_ingress_rule.
    """

    props: NetworkProps
    """The props it was built from."""
    vpc: Vpc
    """The VPC."""
    subnets: dict[str, list[Subnet]]
    """Tier (``public``, ``private``, ``database``) -> its subnets, one per AZ."""
    subnet_ids: dict[str, list[str]]
    """Tier -> tokens of its subnet IDs."""
    alb_security_group: SecurityGroup
    """Group of the ALB (80/443 from anywhere)."""
    service_security_group: SecurityGroup
    """Group of the ECS tasks (from the ALB only)."""
    database_security_group: SecurityGroup
    """Group of the databases (PostgreSQL from the tasks and DMS)."""
    dms_security_group: SecurityGroup
    """Group of the DMS replication instance."""

    def __init__(self, scope: Construct, id_: str, props: NetworkProps):
        super().__init__(scope, id_)
        self.props = props
        prefix = props.name_prefix
        self.vpc = with_address(Vpc(
            self, "vpc", cidr_block=props.vpc_cidr, enable_dns_hostnames=True, enable_dns_support=True,
            tags={"Name": f"{prefix}-vpc"},
        ), props.address)
        # The VPC's default security group is taken over with no rules, so nothing can use it by accident.
        DefaultSecurityGroup(self, "default-sg", vpc_id=self.vpc.id, tags={"Name": f"{prefix}-default-deny-all"})
        self.subnets = {tier: [
            with_address(Subnet(self, f"{tier}-subnet-{index}", vpc_id=self.vpc.id, cidr_block=cidr,
                                availability_zone=zone, map_public_ip_on_launch=False,
                                tags={"Name": f"{prefix}-{tier}-{zone}", "Tier": tier}),
                         suffixed(props.address, f"{tier}_{index}"))
            for index, (zone, cidr) in enumerate(zip(props.availability_zones, props.subnet_cidrs(tier)))]
            for tier in TIERS}
        self.subnet_ids = {tier: [subnet.id for subnet in subnets] for tier, subnets in self.subnets.items()}
        self._routing(prefix)
        self._security_groups(prefix)
        if props.flow_log_group_name and props.flow_logs_role_name:
            self._flow_logs(props.flow_log_group_name, props.flow_logs_role_name)

    def _flow_logs(self, group_name: str, role_name: str) -> None:
        """Every accepted and rejected flow of the VPC to an encrypted CloudWatch Logs group.

        The role trusts VPC Flow Logs only for flow logs of this account and region (``aws:SourceAccount``,
        ``aws:SourceArn``; VPC user guide, "IAM role for publishing flow logs to CloudWatch Logs").
        """
        group = CloudwatchLogGroup(self, "flow-log-group", name=group_name, kms_key_id=self.props.flow_log_kms_key_arn,
                                   retention_in_days=self.props.flow_log_retention_days)
        account = DataAwsCallerIdentity(self, "account").account_id
        role = IamRole(self, "flow-logs-role", name=role_name, assume_role_policy=assume_role_policy(
            "vpc-flow-logs.amazonaws.com", source_account=account,
            source_arn=f"arn:aws:ec2:{self.props.region}:{account}:vpc-flow-log/*"))
        IamRolePolicy(self, "flow-logs-policy", role=role.id, name="write-flow-logs", policy=policy_document([
            statement(["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
                      [group.arn, f"{group.arn}:*"], "WriteFlowLogs")]))
        FlowLog(self, "flow-log", vpc_id=self.vpc.id, traffic_type="ALL", log_destination_type="cloud-watch-logs",
                log_destination=group.arn, iam_role_arn=role.arn, max_aggregation_interval=60)

    def _routing(self, prefix: str) -> None:
        gateway = InternetGateway(self, "igw", vpc_id=self.vpc.id, tags={"Name": f"{prefix}-igw"})
        nat_ip = Eip(self, "nat-eip", domain="vpc", tags={"Name": f"{prefix}-nat"})
        nat = NatGateway(
            self, "nat", allocation_id=nat_ip.id, subnet_id=self.subnet_ids["public"][0],
            tags={"Name": f"{prefix}-nat"}, depends_on=[gateway],
        )
        default_routes = {"public": {"gateway_id": gateway.id}, "private": {"nat_gateway_id": nat.id}, "database": None}
        for tier, target in default_routes.items():
            table = RouteTable(self, f"{tier}-routes", vpc_id=self.vpc.id, tags={"Name": f"{prefix}-{tier}"})
            if target:
                Route(self, f"{tier}-default-route", route_table_id=table.id, destination_cidr_block="0.0.0.0/0", **target)
            for index, subnet_id in enumerate(self.subnet_ids[tier]):
                RouteTableAssociation(self, f"{tier}-routes-{index}", route_table_id=table.id, subnet_id=subnet_id)

    def _group(self, name: str, purpose: str, prefix: str) -> SecurityGroup:
        return with_address(SecurityGroup(
            self, f"{name}-sg", name=f"{prefix}-{name}", description=purpose, vpc_id=self.vpc.id,
            tags={"Name": f"{prefix}-{name}"},
        ), suffixed(self.props.address, name))

    def _ingress(self, id_: str, group: SecurityGroup, port: int, description: str, *, cidr: str | None = None,
                 source: SecurityGroup | None = None) -> None:
        VpcSecurityGroupIngressRule(
            self, id_, security_group_id=group.id, ip_protocol="tcp", from_port=port, to_port=port,
            cidr_ipv4=cidr, referenced_security_group_id=source.id if source else None, description=description,
        )

    def _egress(self, id_: str, group: SecurityGroup, port: int, description: str, *, cidr: str | None = None,
                destination: SecurityGroup | None = None) -> None:
        VpcSecurityGroupEgressRule(
            self, id_, security_group_id=group.id, ip_protocol="tcp", from_port=port, to_port=port,
            cidr_ipv4=cidr, referenced_security_group_id=destination.id if destination else None,
            description=description,
        )

    def _security_groups(self, prefix: str) -> None:
        port = self.props.container_port
        self.alb_security_group = self._group("alb", "Application Load Balancer: HTTP/HTTPS from the internet", prefix)
        self.service_security_group = self._group("service", "ECS tasks of the payments API", prefix)
        self.database_security_group = self._group("database", "RDS PostgreSQL source and target", prefix)
        self.dms_security_group = self._group("dms", "DMS replication instance", prefix)
        alb, service, database, dms = (
            self.alb_security_group, self.service_security_group, self.database_security_group, self.dms_security_group
        )
        self._ingress("alb-http-in", alb, 80, "HTTP from the internet (redirected to HTTPS when enabled)", cidr="0.0.0.0/0")
        self._ingress("alb-https-in", alb, 443, "HTTPS from the internet", cidr="0.0.0.0/0")
        self._egress("alb-to-service", alb, port, "ALB to the containers", destination=service)
        self._ingress("service-from-alb", service, port, "Containers from the ALB", source=alb)
        self._egress("service-https-out", service, 443, "Containers to AWS APIs and the image registry", cidr="0.0.0.0/0")
        self._egress("service-to-database", service, POSTGRES_PORT, "Containers to PostgreSQL", destination=database)
        self._ingress("database-from-service", database, POSTGRES_PORT, "PostgreSQL from the containers", source=service)
        self._ingress("database-from-dms", database, POSTGRES_PORT, "PostgreSQL from DMS", source=dms)
        for index, cidr in enumerate(self.props.legacy_cidrs):
            self._ingress(f"database-from-legacy-{index}", database, POSTGRES_PORT,
                          f"PostgreSQL from the legacy application network {cidr} (until cutover)", cidr=cidr)
        self._egress("dms-to-database", dms, POSTGRES_PORT, "DMS to PostgreSQL", destination=database)
        for index, cidr in enumerate(self.props.legacy_database_cidrs):
            self._egress(f"dms-to-legacy-database-{index}", dms, self.props.legacy_database_port,
                         f"DMS to the legacy source database in {cidr}", cidr=cidr)
        self._egress("dms-https-out", dms, 443, "DMS to Secrets Manager and CloudWatch", cidr="0.0.0.0/0")
