"""Evaluates the access paths of ``security/access_paths.py`` against synthesized stacks with a policy evaluator.

The evaluator is Principal Mapper's local policy simulation (NCC Group, PyPI ``principalmapper``:
``principalmapper.querying.query_interface.local_check_authorization_full`` and
``local_policy_simulation.resource_policy_authorization``): identity policies, explicit denies, resource policies,
the KMS rule that a key policy must allow the principal or its account, cross-account rules and the condition
operators (``StringEquals``, ``StringLike``, ``ArnLike``, ``Bool``, ...). AWS-managed policies come from the copy
moto ships (``moto.iam.aws_managed_policies``).

Synthesized policies hold Terraform references (``${aws_kms_key.x.arn}``, ``${data.aws_caller_identity...}``,
cross-stack ``terraform_remote_state`` outputs); ``Resolver`` turns each into the value AWS would have (ARNs
built from the resource's own name and region, one made-up account ``ACCOUNT``). A reference it does not know
raises ``KeyError``: nothing is guessed silently.

Works on ``terraform_driver.SynthesizedStack`` (plain JSON); never imports cdktf.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from typing import Any

from security.access_paths import (
    ACCESS_PATHS, ACCOUNT_ROOT_DELEGATION, MANAGED_POLICIES, AccessPath, Outside, Ref, Role, Service,
)

ACCOUNT = "111122223333"
TOKEN = re.compile(r"\$\{([^}]+)\}")
REMOTE = re.compile(r"data\.terraform_remote_state\.cross-stack-reference-input-(?P<stack>[\w-]+)\.outputs\.(?P<out>.+)")
ELB_ACCOUNTS = {"us-east-1": "127311923021", "us-west-2": "797873946194"}


def _principalmapper() -> tuple[Any, Any, Any, Any, Any]:
    """Principal Mapper's evaluator. Its 1.1.5 release imports ``Mapping``/``MutableMapping`` from
    ``collections`` (moved to ``collections.abc`` in Python 3.3, removed in 3.10): alias them before import."""
    import collections
    import collections.abc

    for name in ("Mapping", "MutableMapping"):
        if not hasattr(collections, name):
            setattr(collections, name, getattr(collections.abc, name))
    from principalmapper.common import Node, Policy
    from principalmapper.querying.local_policy_simulation import ResourcePolicyEvalResult, resource_policy_authorization
    from principalmapper.querying.query_interface import local_check_authorization_full

    return Node, Policy, ResourcePolicyEvalResult, resource_policy_authorization, local_check_authorization_full


@functools.lru_cache(maxsize=1)
def managed_policy_documents() -> dict[str, dict[str, Any]]:
    """AWS-managed policy name -> document (moto's copy of AWS's managed policies)."""
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    return {name: entry["Document"] for name, entry in json.loads(aws_managed_policies_data).items()}


class Resolver:
    """Resolves Terraform references in synthesized stacks to the values AWS would give them.

    Args:
        stacks: stack name -> ``SynthesizedStack``.
        primary / replica: regions; ``env``: ``<project>-<environment>`` (for placeholders).
    """

    def __init__(self, stacks: dict[str, Any], primary: str, replica: str, env: str):
        self.stacks, self.primary, self.replica, self.env = stacks, primary, replica, env
        self.by_path: dict[tuple[str, str], tuple[str, str]] = {}
        for stack in stacks.values():
            for resource_type, resources in stack.resources().items():
                for name, config in resources.items():
                    path = config["//"]["metadata"]["path"].split("/", 1)[1]
                    self.by_path[(stack.name, path)] = (resource_type, name)

    # --- values ---------------------------------------------------------------------------------------------
    def text(self, stack: str, value: str) -> str:
        """``value`` with placeholders (``{account}``...) filled and every ``${...}`` reference resolved."""
        value = value.replace("{account}", ACCOUNT).replace("{primary}", self.primary) \
            .replace("{replica}", self.replica).replace("{env}", self.env)
        return TOKEN.sub(lambda match: self.reference(stack, match.group(1)), value)

    def ref(self, ref: Ref | str) -> str:
        """The value of a ``Ref`` (or a placeholder string)."""
        if isinstance(ref, str):
            return self.text("", ref)
        resource_type, name = self.address(ref.stack, ref.path)
        return self.attribute(ref.stack, resource_type, name, ref.attribute) + self.text(ref.stack, ref.suffix)

    def address(self, stack: str, path: str) -> tuple[str, str]:
        """(resource type, name) of the resource at construct ``path`` of ``stack``.

        Raises:
            KeyError: no such resource.
        """
        try:
            return self.by_path[(stack, path)]
        except KeyError:
            raise KeyError(f"{stack}/{path}: no such resource in the synthesized stack") from None

    def config(self, stack: str, resource_type: str, name: str) -> dict[str, Any]:
        return self.stacks[stack].of_type(resource_type)[name]

    def reference(self, stack: str, expression: str) -> str:
        remote = REMOTE.fullmatch(expression)
        if remote:
            producer = remote.group("stack")
            value = self.stacks[producer].document["output"][remote.group("out")]["value"]
            return self.text(producer, value)
        parts = expression.split(".")
        if parts[0] == "data":
            kind = parts[1]
            if kind == "aws_caller_identity":
                return ACCOUNT
            if kind == "aws_partition":
                return "aws"
            if kind == "aws_elb_service_account":
                return f"arn:aws:iam::{ELB_ACCOUNTS[self.primary]}:root"
            raise KeyError(f"{expression}: unknown data source reference")
        resource_type, name, attribute = parts[0], parts[1], ".".join(parts[2:])
        return self.attribute(stack, resource_type, name, attribute)

    def attribute(self, stack: str, resource_type: str, name: str, attribute: str) -> str:
        """The value of ``resource_type.name.attribute`` in ``stack``.

        Raises:
            KeyError: an attribute this resolver does not know (so no path is evaluated against a guess).
        """
        config = self.config(stack, resource_type, name)
        region = self.replica if config.get("provider") == "aws.replica" else self.primary

        def own(key: str) -> str:
            return self.text(stack, str(config[key]))

        arns = {
            "aws_kms_key": lambda: f"arn:aws:kms:{region}:{ACCOUNT}:key/{name}",
            "aws_s3_bucket": lambda: f"arn:aws:s3:::{own('bucket')}",
            "aws_secretsmanager_secret": lambda: f"arn:aws:secretsmanager:{region}:{ACCOUNT}:secret:{own('name')}-AbCdEf",
            "aws_cloudwatch_log_group": lambda: f"arn:aws:logs:{region}:{ACCOUNT}:log-group:{own('name')}",
            "aws_iam_role": lambda: f"arn:aws:iam::{ACCOUNT}:role/{own('name')}",
            "aws_dynamodb_table": lambda: f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/{own('name')}",
            "aws_sns_topic": lambda: f"arn:aws:sns:{region}:{ACCOUNT}:{own('name')}",
            "aws_flow_log": lambda: f"arn:aws:ec2:{region}:{ACCOUNT}:vpc-flow-log/fl-{name}",
            "aws_db_instance": lambda: f"arn:aws:rds:{region}:{ACCOUNT}:db:{own('identifier')}",
        }
        if attribute == "arn" and resource_type in arns:
            return arns[resource_type]()
        if (resource_type, attribute) in {("aws_s3_bucket", "bucket"), ("aws_s3_bucket", "id")}:
            return own("bucket")
        if (resource_type, attribute) in {("aws_iam_role", "name"), ("aws_iam_role", "id")}:
            return own("name")
        if (resource_type, attribute) == ("aws_dms_endpoint", "endpoint_arn"):
            return f"arn:aws:dms:{region}:{ACCOUNT}:endpoint:{name}"
        if (resource_type, attribute) == ("aws_db_instance", "master_user_secret[0].secret_arn"):
            return f"arn:aws:secretsmanager:{region}:{ACCOUNT}:secret:rds!db-{name}-AbCdEf"
        if (resource_type, attribute) == ("aws_kms_key", "key_id"):
            return name
        raise KeyError(f"{stack}: {resource_type}.{name}.{attribute}: unknown attribute reference")

    def policy(self, stack: str, text: str) -> dict[str, Any]:
        """A synthesized policy document with every reference resolved."""
        return json.loads(self.text(stack, text))

    # --- what the stacks grant --------------------------------------------------------------------------------
    def role_policies(self, role: Role) -> tuple[list[dict[str, Any]], list[str]]:
        """(inline policy documents, names of attached AWS-managed policies) of ``role``."""
        _, name = self.address(role.stack, role.path)
        stack = self.stacks[role.stack]
        inline = [self.policy(role.stack, p["policy"]) for p in stack.of_type("aws_iam_role_policy").values()
                  if p["role"] == f"${{aws_iam_role.{name}.id}}"]
        managed = [p["policy_arn"].rsplit("/", 1)[1]
                   for p in stack.of_type("aws_iam_role_policy_attachment").values()
                   if p["role"] == f"${{aws_iam_role.{name}.name}}"]
        return inline, managed

    def resource_policy(self, arn: str) -> dict[str, Any] | None:
        """The resource policy AWS evaluates for ``arn``: a KMS key policy, a bucket policy (bucket and objects)
        or a role's trust policy; None for a resource without one."""
        for stack in self.stacks.values():
            if arn.startswith("arn:aws:kms:"):
                for name, key in stack.of_type("aws_kms_key").items():
                    if self.attribute(stack.name, "aws_kms_key", name, "arn") == arn:
                        return self.policy(stack.name, key["policy"])
            elif arn.startswith("arn:aws:s3:::"):
                bucket = arn[len("arn:aws:s3:::"):].split("/", 1)[0]
                for policy in stack.of_type("aws_s3_bucket_policy").values():
                    if self.text(stack.name, policy["bucket"]) == bucket:
                        return self.policy(stack.name, policy["policy"])
            elif ":role/" in arn:
                for name, role in stack.of_type("aws_iam_role").items():
                    if self.attribute(stack.name, "aws_iam_role", name, "arn") == arn:
                        return self.policy(stack.name, role["assume_role_policy"])
        return None


@dataclass(frozen=True)
class Outcome:
    """Result of one (path, action): allowed or not, and what was evaluated (for the failure message)."""

    path: AccessPath
    action: str
    resource: str
    allowed: bool

    @property
    def as_expected(self) -> bool:
        return self.allowed != self.path.denied


def _node(arn: str, policies: list[dict[str, Any]], trust: dict[str, Any] | None = None) -> Any:
    Node, Policy, *_ = _principalmapper()
    return Node(arn, "AROAEXAMPLE" + str(abs(hash(arn)) % 10**8), [Policy(arn, f"p{i}", doc) for i, doc in
                                                                 enumerate(policies)],
                None, trust or {"Version": "2012-10-17", "Statement": []}, None, 0, False, False, None, False, None)


ALLOW_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def evaluate(resolver: Resolver, path: AccessPath) -> list[Outcome]:
    """Evaluate every action of ``path`` (``aws:SecureTransport`` is ``true`` unless the path says otherwise).

    Raises:
        KeyError: the path names a resource or reference the synthesized stacks do not have.
        ValueError: a service principal acting on a resource without a resource policy (nothing could allow it).
    """
    _, _, ResourcePolicyEvalResult, resource_policy_authorization, local_check_authorization_full = _principalmapper()
    resource = resolver.ref(path.resource)
    context = {"aws:SecureTransport": "true", **{k: resolver.ref(v) for k, v in path.context.items()}}
    policy = resolver.resource_policy(resource)
    outcomes = []
    for action in path.actions:
        if isinstance(path.principal, Service):
            if policy is None:
                raise ValueError(f"{path.name}: {resource} has no resource policy that could allow a service")
            result = resource_policy_authorization(resolver.text("", path.principal.name), ACCOUNT, policy, action,
                                                   resource, dict(context))
            allowed = result is ResourcePolicyEvalResult.SERVICE_MATCH
        else:
            if isinstance(path.principal, Role):
                inline, managed = resolver.role_policies(path.principal)
                documents = managed_policy_documents()
                node = _node(resolver.ref(Ref(path.principal.stack, path.principal.path)),
                             inline + [documents[name] for name in managed])
            else:
                node = _node(resolver.text("", path.principal.arn), [ALLOW_ALL])
            allowed = local_check_authorization_full(node, action, resource, dict(context), policy,
                                                     ACCOUNT if policy is not None else None)
        outcomes.append(Outcome(path, action, resource, allowed))
    return outcomes


def _matches(pattern: str, value: str) -> bool:
    regex = "^" + re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".") + "$"
    return re.match(regex, value, re.IGNORECASE) is not None


def _listify(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def unused_grants(resolver: Resolver, paths: tuple[AccessPath, ...] = ACCESS_PATHS) -> list[str]:
    """Grants in the synthesized stacks that no allowed access path uses (least privilege, the other way round).

    Checked: every action and every resource of each ``Allow`` statement of every inline role policy; every
    service or account principal (and each of its actions) of every ``Allow`` statement of a KMS key policy or
    bucket policy (the account delegation ``ACCOUNT_ROOT_DELEGATION`` excepted); every service a trust policy
    trusts; every AWS-managed policy attached (must be listed in ``MANAGED_POLICIES``).

    Returns:
        One line per unused grant (empty when every grant is used).
    """
    allowed = [p for p in paths if not p.denied and _present(resolver, p)]
    problems: list[str] = []
    resolved = {id(p): (resolver.ref(p.resource), p) for p in allowed}
    for stack in resolver.stacks.values():
        for name, role in stack.of_type("aws_iam_role").items():
            path = role["//"]["metadata"]["path"].split("/", 1)[1]
            role_ref = Role(stack.name, path)
            inline, managed = resolver.role_policies(role_ref)
            mine = [(r, p) for r, p in resolved.values() if p.principal == role_ref]
            for document in inline:
                for statement in _listify(document["Statement"]):
                    if statement["Effect"] != "Allow":
                        continue
                    label = f"{stack.name}/{path} {statement.get('Sid', '')}"
                    for action in _listify(statement["Action"]):
                        if not any(_matches(action, a) and any(_matches(res, r) for res in _listify(statement["Resource"]))
                                   for r, p in mine for a in p.actions):
                            problems.append(f"{label}: {action} is granted but no access path uses it")
                    for res in _listify(statement["Resource"]):
                        if not any(_matches(res, r) and any(_matches(action, a) for action in _listify(statement["Action"]))
                                   for r, p in mine for a in p.actions):
                            problems.append(f"{label}: resource {res} is granted but no access path uses it")
            for policy_name in managed:
                if policy_name not in MANAGED_POLICIES:
                    problems.append(f"{stack.name}/{path}: managed policy {policy_name} is not reviewed")
            if not mine:
                problems.append(f"{stack.name}/{path}: role that no access path uses")
            role_arn = resolver.attribute(stack.name, "aws_iam_role", name, "arn")
            trust = resolver.policy(stack.name, role["assume_role_policy"])
            for statement in _listify(trust["Statement"]):
                for service in _listify(statement.get("Principal", {}).get("Service", [])):
                    if not any(r == role_arn and isinstance(p.principal, Service)
                               and resolver.text("", p.principal.name) == service for r, p in resolved.values()):
                        problems.append(f"{stack.name}/{path}: trusts {service} but no access path assumes it")
        for kind, attribute in (("aws_kms_key", "policy"), ("aws_s3_bucket_policy", "policy")):
            for name, config in stack.of_type(kind).items():
                label = f"{stack.name}/{config['//']['metadata']['path'].split('/', 1)[1]}"
                document = resolver.policy(stack.name, config[attribute])
                for statement in _listify(document["Statement"]):
                    if statement["Effect"] != "Allow" or statement.get("Sid") == ACCOUNT_ROOT_DELEGATION:
                        continue
                    for action in _listify(statement["Action"]):
                        if not any(_statement_used(resolver, statement, action, resource, p)
                                   for resource, p in resolved.values()):
                            problems.append(f"{label} {statement.get('Sid', '')}: {action} granted to "
                                            f"{statement['Principal']} but no access path uses it")
    return problems


def _statement_used(resolver: Resolver, statement: dict[str, Any], action: str, resource: str,
                    path: AccessPath) -> bool:
    """Whether ``path`` uses ``action`` of a resource-policy ``statement`` on a resource it covers."""
    principal = statement["Principal"]
    if isinstance(path.principal, Service):
        if resolver.text("", path.principal.name) not in _listify(principal.get("Service", [])):
            return False
    elif isinstance(path.principal, Outside):
        account = resolver.text("", path.principal.arn).split(":")[4]
        if f"arn:aws:iam::{account}:root" not in _listify(principal.get("AWS", [])):
            return False
    else:
        return False
    covered = _listify(statement.get("Resource", ["*"]))
    return any(_matches(action, a) for a in path.actions) and any(_matches(c, resource) for c in covered)


def _present(resolver: Resolver, path: AccessPath) -> bool:
    """Whether the path's principal and resource exist in these stacks (the DMS account roles are optional)."""
    try:
        if isinstance(path.principal, Role):
            resolver.address(path.principal.stack, path.principal.path)
        resolver.ref(path.resource)
    except KeyError:
        return False
    return True


def applicable_paths(resolver: Resolver, paths: tuple[AccessPath, ...] = ACCESS_PATHS) -> list[AccessPath]:
    """The paths whose principal and resource exist in the synthesized stacks."""
    return [p for p in paths if _present(resolver, p)]
