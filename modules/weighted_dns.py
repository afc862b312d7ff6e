"""Route 53 hosted zone, health checks and two weighted alias records: legacy endpoint and new ALB.

Both records share the name and type and carry distinct set identifiers (``legacy``, ``new``); the weights decide
the share of traffic (0-255 each, not both 0).

- Ownership of the weights: Terraform creates both records with the configured weights and then ignores them
  (``lifecycle { ignore_changes = [weighted_routing_policy] }``); ``cutover shift`` and ``cutover rollback`` own
  them, change both in one atomic change batch and record each change in the cutover journal. So ``make diff``
  shows no drift after a step, and a later ``cdktf deploy traffic`` cannot undo a traffic shift.
- Health: the new record is tied to its health check (an unhealthy new side loses its share to the legacy side).
  The legacy record is *not* tied to its health check, on purpose: Route 53 answers with zero-weight records when
  every record with a positive weight is unhealthy, so a failing legacy check would otherwise send traffic to the
  new side before the migration moved any weight there. The legacy check still exists for dashboards and the
  shift gates.

Follows: https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/routing-policy-weighted.html,
https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/health-checks-how-route-53-chooses-records.html and
https://registry.terraform.io/providers/hashicorp/aws/5.100.0/docs/resources/route53_record.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import TerraformResourceLifecycle
from cdktf_cdktf_provider_aws.route53_health_check import Route53HealthCheck
from cdktf_cdktf_provider_aws.route53_record import (
    Route53Record,
    Route53RecordAlias,
    Route53RecordWeightedRoutingPolicy,
)
from cdktf_cdktf_provider_aws.route53_zone import Route53Zone
from constructs import Construct

TOOL_OWNED_ATTRIBUTES = ("weighted_routing_policy",)
"""Attributes of the weighted records that the migration tool owns and Terraform ignores after creation."""


@dataclass(frozen=True)
class AliasTarget:
    """An alias target: DNS name and hosted zone ID (e.g. an ALB's ``dns_name`` and ``zone_id``), plus how its
    health is checked (``protocol`` HTTP or HTTPS, ``port``, ``health_check_path``: the path its application
    answers with 2xx/3xx; for the new ALB the container's, ``FargateServiceProps.health_check_path``)."""

    dns_name: str
    zone_id: str
    protocol: str = "HTTPS"
    port: int = 443
    health_check_path: str = "/health"


@dataclass(frozen=True)
class WeightedDnsProps:
    """Props of ``WeightedDns``.

    Attributes:
        zone_name: hosted zone, e.g. ``payments.example.com``.
        record_name: record label, e.g. ``api``.
        legacy / new: the two alias targets.
        legacy_weight / new_weight: weights, 0-255 each.

    Raises:
        ValueError: a weight outside 0-255, or both 0.
    """

    zone_name: str
    record_name: str
    legacy: AliasTarget
    new: AliasTarget
    legacy_weight: int
    new_weight: int

    def __post_init__(self) -> None:
        for name in ("legacy_weight", "new_weight"):
            if not 0 <= getattr(self, name) <= 255:
                raise ValueError(f"{name} = {getattr(self, name)}: must be 0-255")
        if self.legacy_weight == 0 and self.new_weight == 0:
            raise ValueError("legacy_weight = 0, new_weight = 0: at least one must be positive")


class WeightedDns(Construct):
    """Hosted zone, one health check per side, two weighted alias A records.

    Attributes: ``zone``, ``records`` (set identifier -> Route53Record), ``health_checks`` (same keys).
    """

    def __init__(self, scope: Construct, id_: str, props: WeightedDnsProps):
        super().__init__(scope, id_)
        self.zone = Route53Zone(self, "zone", name=props.zone_name, comment="Payments API migration")
        self.records: dict[str, Route53Record] = {}
        self.health_checks: dict[str, Route53HealthCheck] = {}
        for side, target, weight in (("legacy", props.legacy, props.legacy_weight), ("new", props.new, props.new_weight)):
            check = Route53HealthCheck(
                self, f"{side}-health", type=target.protocol, fqdn=target.dns_name, port=target.port,
                resource_path=target.health_check_path, failure_threshold=3, request_interval=30,
                tags={"Name": f"{props.record_name}.{props.zone_name} {side}"},
            )
            self.health_checks[side] = check
            self.records[side] = Route53Record(
                self, f"{side}-record", zone_id=self.zone.zone_id, name=f"{props.record_name}.{props.zone_name}",
                type="A", set_identifier=side, health_check_id=check.id if side == "new" else None,
                weighted_routing_policy=Route53RecordWeightedRoutingPolicy(weight=weight),
                alias=Route53RecordAlias(name=target.dns_name, zone_id=target.zone_id,
                                         evaluate_target_health=side == "new"),
                lifecycle=TerraformResourceLifecycle(ignore_changes=list(TOOL_OWNED_ATTRIBUTES)),
            )
