"""Traffic stack: Route 53 weighted records that move traffic from the legacy endpoint to the new ALB."""

from __future__ import annotations

from constructs import Construct

from config import MigrationConfig
from modules.fargate_service import FargateService
from modules.weighted_dns import AliasTarget, WeightedDns, WeightedDnsProps
from stacks.base import MigrationStack


class TrafficStack(MigrationStack):
    """Hosted zone, health checks and the two weighted records. Attribute: ``dns`` (WeightedDns)."""

    def __init__(self, scope: Construct, config: MigrationConfig, service: FargateService):
        super().__init__(scope, "traffic", config)
        dns = config.dns
        new_protocol, new_port = ("HTTPS", 443) if config.service.certificate_arn else ("HTTP", 80)
        self.dns = WeightedDns(self, "weighted-dns", WeightedDnsProps(
            zone_name=dns.zone_name, record_name=dns.record_name,
            legacy=AliasTarget(dns.legacy_dns_name, dns.legacy_zone_id, health_check_path=dns.health_check_path),
            new=AliasTarget(service.alb.dns_name, service.alb.zone_id, new_protocol, new_port,
                            service.props.health_check_path),  # what the container answers
            legacy_weight=dns.legacy_weight, new_weight=dns.new_weight,
        ))
        self.output("zone_id", self.dns.zone.zone_id, "Route 53 hosted zone ID")
        self.output("name_servers", self.dns.zone.name_servers, "Delegate the zone to these name servers")
        self.output("record_fqdn", dns.fqdn, "Weighted record that clients use")
        for side, check in self.dns.health_checks.items():
            self.output(f"{side}_health_check_id", check.id, f"Route 53 health check of the {side} endpoint")
        self.output("runbook_test_record", f"curl --fail --silent --show-error --max-time 10 "
                    f"{new_protocol.lower()}://{dns.fqdn}{dns.health_check_path}",
                    "Runbook: the weighted record answers (legacy or new, by weight) once the zone is delegated")
        # [dns] legacy_weight/new_weight are the weights the records are created with; after that the weights
        # belong to `cutover shift` / `cutover rollback` (Terraform ignores them, see modules/weighted_dns.py)
        suffix = f" SUFFIX={config.suffix}" if config.suffix else ""
        self.output("runbook_shift_traffic",
                    f'make cutover ARGS="shift --environment {config.environment}"{suffix}',
                    "Runbook: move traffic between legacy and new (weights owned by cutover, journalled)")
