"""The database writer name: a Route 53 private hosted zone associated with the VPC and one short-TTL CNAME.

Writers (the ECS service, the rehearsal's payment workload) reach the database through ``db.<zone>``, never an
instance address, so that the migration tool can move every writer from the source to the target with one
Route 53 change (``cutover switchover``) and back (``cutover rollback``).

Ownership: Terraform creates the zone and the record, pointing at the source, and then ignores the record's value
(``lifecycle { ignore_changes = [records] }``): the value belongs to the migration tool, which records every change
in its journal. A later ``cdktf deploy`` therefore neither shows drift after a switchover nor points the writers
back at the source behind the operator's back. The TTL stays Terraform's (``ttl_seconds``, default 5 s): a
switchover waits at least one TTL before it lifts the freeze on the new writer.

Example::

    dns = WriterDns(stack, "writer-dns", WriterDnsProps(
        zone_name="payment-migration-dev.internal", vpc_id=vpc.id, initial_target=source.address))
    dns.fqdn  # "db.payment-migration-dev.internal"

Follows: https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/hosted-zones-private.html,
https://registry.terraform.io/providers/hashicorp/aws/5.100.0/docs/resources/route53_zone and
https://developer.hashicorp.com/terraform/language/meta-arguments/lifecycle#ignore_changes.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import TerraformResourceLifecycle
from cdktf_cdktf_provider_aws.route53_record import Route53Record
from cdktf_cdktf_provider_aws.route53_zone import Route53Zone, Route53ZoneVpc
from constructs import Construct

TOOL_OWNED_ATTRIBUTES = ("records",)
"""Attributes of the writer record that the migration tool owns and Terraform ignores after creation."""


@dataclass(frozen=True)
class WriterDnsProps:
    """Props of ``WriterDns``.

    Attributes:
        zone_name: private hosted zone, e.g. ``payment-migration-dev.internal``.
        vpc_id: the VPC the zone is associated with (only resolvers in it see the zone).
        initial_target: DNS name the record points at when created (the source instance's address).
        record_label: label of the writer record; default ``db``.
        ttl_seconds: record TTL, seconds (1-300); default 5, so writers follow a switch within seconds.

    Raises:
        ValueError: ``ttl_seconds`` outside 1-300.
    """

    zone_name: str
    vpc_id: str
    initial_target: str
    record_label: str = "db"
    ttl_seconds: int = 5

    def __post_init__(self) -> None:
        if not 1 <= self.ttl_seconds <= 300:
            raise ValueError(f"ttl_seconds = {self.ttl_seconds}: must be 1-300 (a short TTL lets writers follow a "
                             "switchover)")

    @property
    def fqdn(self) -> str:
        """The writer name, e.g. ``db.payment-migration-dev.internal``."""
        return f"{self.record_label}.{self.zone_name}"


class WriterDns(Construct):
    """Private hosted zone + writer CNAME whose value the migration tool owns (see module docstring).

    Attributes: ``zone`` (Route53Zone), ``record`` (Route53Record), ``fqdn`` (str).
    """

    zone: Route53Zone
    record: Route53Record
    fqdn: str

    def __init__(self, scope: Construct, id_: str, props: WriterDnsProps):
        super().__init__(scope, id_)
        self.fqdn = props.fqdn
        self.zone = Route53Zone(self, "zone", name=props.zone_name, comment="Database writer name (private)",
                                vpc=[Route53ZoneVpc(vpc_id=props.vpc_id)])
        self.record = Route53Record(
            self, "writer", zone_id=self.zone.zone_id, name=props.fqdn, type="CNAME", ttl=props.ttl_seconds,
            records=[props.initial_target],
            lifecycle=TerraformResourceLifecycle(ignore_changes=list(TOOL_OWNED_ATTRIBUTES)),
        )
