"""IAM policy documents as Python dicts, serialized with ``json.dumps`` (IAM JSON policy reference)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any


def assume_role_policy(*services: str, source_account: str | None = None, source_arn: str | None = None) -> str:
    """Trust policy that lets the given AWS service principals (e.g. ``ecs-tasks.amazonaws.com``) assume a role.

    Args:
        services: service principals.
        source_account: account ID (token) the service must act for (``aws:SourceAccount``); None: no condition.
        source_arn: ARN pattern (``*`` allowed, token) of the resource the service must act for
            (``ArnLike aws:SourceArn``); None: no condition.

    The two conditions protect against the cross-service confused deputy: another account cannot make the
    service assume this role on its behalf (IAM user guide, "The confused deputy problem").

    Returns:
        The policy as a JSON string.
    """
    trust: dict[str, Any] = {"Effect": "Allow", "Principal": {"Service": sorted(services)}, "Action": "sts:AssumeRole"}
    condition: dict[str, Any] = {}
    if source_account:
        condition["StringEquals"] = {"aws:SourceAccount": source_account}
    if source_arn:
        condition["ArnLike"] = {"aws:SourceArn": source_arn}
    if condition:
        trust["Condition"] = condition
    return policy_document([trust])


def statement(actions: Sequence[str], resources: Sequence[Any], sid: str | None = None,
              condition: dict[str, Any] | None = None) -> dict[str, Any]:
    """An ``Allow`` statement for ``actions`` on ``resources`` (ARNs or cdktf tokens), with an optional
    ``Condition`` block (IAM JSON policy reference, "Condition")."""
    result: dict[str, Any] = {"Effect": "Allow", "Action": sorted(actions), "Resource": list(resources)}
    if sid:
        result["Sid"] = sid
    if condition:
        result["Condition"] = condition
    return result


def via_service(service: str, region: str) -> dict[str, Any]:
    """Condition that limits a KMS grant to requests ``service`` makes on the caller's behalf in ``region``
    (``kms:ViaService``, e.g. ``secretsmanager.us-east-1.amazonaws.com``).

    Follows: https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service.
    """
    return {"StringEquals": {"kms:ViaService": f"{service}.{region}.amazonaws.com"}}


def policy_document(statements: Iterable[dict[str, Any]]) -> str:
    """A policy document (Version 2012-10-17) of ``statements`` as a JSON string.

    cdktf tokens inside the statements are kept as they are and resolved by Terraform.
    """
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, sort_keys=True)
