"""IAM policy documents as Python dicts, serialized with ``json.dumps`` (IAM JSON policy reference).

Example::

    from cdktf_cdktf_provider_aws.iam_role import IamRole
    from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
    from modules.iam import assume_role_policy, policy_document, statement

    role = IamRole(stack, "task-role", name="paymig-dev-task",
                   assume_role_policy=assume_role_policy("ecs-tasks.amazonaws.com"))
    IamRolePolicy(stack, "task-policy", role=role.id, name="write-logs", policy=policy_document([
        statement(["s3:PutObject"], ["arn:aws:s3:::paymig-dev-txlog-us-east-1/*"], "WriteTransactionLogs")]))
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any


def assume_role_policy(*services: str) -> str:
    """Trust policy that lets the given AWS service principals (e.g. ``ecs-tasks.amazonaws.com``) assume a role.

    Returns:
        The policy as a JSON string.
    """
    return policy_document(
        [{"Effect": "Allow", "Principal": {"Service": sorted(services)}, "Action": "sts:AssumeRole"}]
    )


def statement(actions: Sequence[str], resources: Sequence[Any], sid: str | None = None) -> dict[str, Any]:
    """An ``Allow`` statement for ``actions`` on ``resources`` (ARNs or cdktf tokens)."""
    result: dict[str, Any] = {"Effect": "Allow", "Action": sorted(actions), "Resource": list(resources)}
    if sid:
        result["Sid"] = sid
    return result


def policy_document(statements: Iterable[dict[str, Any]]) -> str:
    """A policy document (Version 2012-10-17) of ``statements`` as a JSON string.

    cdktf tokens inside the statements are kept as they are and resolved by Terraform.
    """
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, sort_keys=True)
