"""The writer name ``db.<private zone>``: read it and point it at another database (Route 53 UPSERT).

Terraform created the record and ignores its value (``modules/writer_dns.py``); this module owns the value. The
TTL stays what Terraform set. A change waits until Route 53 reports it ``INSYNC``.

Follows: https://docs.aws.amazon.com/Route53/latest/APIReference/API_ChangeResourceRecordSets.html and
https://docs.aws.amazon.com/Route53/latest/APIReference/API_GetChange.html.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

from cutover.errors import CutoverError


def _fqdn(name: str) -> str:
    return name if name.endswith(".") else f"{name}."


def find_record(route53: Any, zone_id: str, name: str, record_type: str,
                set_identifier: str | None = None) -> dict[str, Any]:
    """The record set ``name``/``record_type`` (and ``set_identifier``) of the zone.

    Raises:
        CutoverError: no such record (the stacks are not deployed, or another zone was named).
    """
    pages = route53.get_paginator("list_resource_record_sets").paginate(HostedZoneId=zone_id)
    for page in pages:
        for record in page["ResourceRecordSets"]:
            if (record["Name"] == _fqdn(name) and record["Type"] == record_type
                    and record.get("SetIdentifier") == set_identifier):
                return record
    raise CutoverError(f"record {name} {record_type}{' ' + set_identifier if set_identifier else ''}: not found in "
                       f"hosted zone {zone_id} (is the stack deployed?)")


def wait_insync(route53: Any, change: dict[str, Any], *, timeout_seconds: float = 120.0) -> None:
    """Wait until a Route 53 change is ``INSYNC``.

    Raises:
        CutoverError: still pending after ``timeout_seconds``.
    """
    deadline = time.monotonic() + timeout_seconds
    info = change["ChangeInfo"]
    while info["Status"] != "INSYNC":
        if time.monotonic() > deadline:
            raise CutoverError(f"Route 53 change {info['Id']}: still {info['Status']} after {timeout_seconds:.0f} s")
        time.sleep(1.0)
        info = route53.get_change(Id=info["Id"])["ChangeInfo"]


class WriterRecord(Protocol):
    """The writer name as a switch uses it: where it points, and pointing it elsewhere
    (:class:`Route53WriterRecord`; a test or the rehearsal may give its own)."""

    def value(self) -> str:
        """The address the name points at now (without a trailing dot)."""
        ...

    def point_at(self, address: str) -> None:
        """Point the name at ``address`` and return once clients resolving it get ``address``; idempotent."""
        ...


class Route53WriterRecord:
    """The writer CNAME in the private hosted zone.

    Args:
        route53: a boto3 Route 53 client.
        zone_id: the private hosted zone (data stack output ``private_zone_id``).
        name: the writer name (output ``writer_fqdn``), e.g. ``db.payment-migration-dev.internal``.
    """

    def __init__(self, route53: Any, zone_id: str, name: str) -> None:
        self.route53, self.zone_id, self.name = route53, zone_id, name

    def value(self) -> str:
        """The address the name points at now (without a trailing dot)."""
        record = find_record(self.route53, self.zone_id, self.name, "CNAME")
        return record["ResourceRecords"][0]["Value"].rstrip(".")

    def ttl(self) -> int:
        """The record's TTL, seconds (Terraform's)."""
        return int(find_record(self.route53, self.zone_id, self.name, "CNAME")["TTL"])

    def point_at(self, address: str) -> None:
        """UPSERT the CNAME to ``address`` (TTL kept) and wait until the change is in sync; idempotent."""
        record = find_record(self.route53, self.zone_id, self.name, "CNAME")
        change = self.route53.change_resource_record_sets(HostedZoneId=self.zone_id, ChangeBatch={
            "Comment": f"cutover: writer -> {address}",
            "Changes": [{"Action": "UPSERT", "ResourceRecordSet": {
                "Name": record["Name"], "Type": "CNAME", "TTL": record["TTL"],
                "ResourceRecords": [{"Value": address}]}}]})
        wait_insync(self.route53, change)
