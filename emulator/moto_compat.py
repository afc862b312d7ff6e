"""Compatibility fixes that make moto 5.2.5 answer like AWS where hashicorp/aws 5.100.0 relies on it.

Applied in the emulator's own process by ``python -m emulator.server`` (``apply_all``), never in the stacks: each
fix restores one AWS behaviour that the provider needs for apply, re-plan, import or destroy to work, and its
docstring names that behaviour. They were measured with Terraform 1.11 and the aws provider 5.100.0: without
one, an apply fails or hangs in a provider waiter, or the next plan shows a change that AWS would not.

Not fixed here because AWS behaves the same way (they are the provider's own waits): about 55 s after writing an
S3 lifecycle configuration (ten equal reads five seconds apart), about 80 s per new RDS instance, 60 s for an ALB,
30 s per DMS replication instance and task, 15 s per Route 53 change, 12 s per KMS key.
"""

from __future__ import annotations

import datetime as _dt
import fnmatch
import json
import secrets
import string
from collections.abc import Callable
from typing import Any

_APPLIED: list[str] = []


def _wrap(owner: type, name: str, make: Callable[[Callable[..., Any]], Callable[..., Any]]) -> None:
    """Replace ``owner.name`` by ``make(original)`` (the wrapper keeps the original's name and docstring)."""
    original = getattr(owner, name)
    replacement = make(original)
    replacement.__name__, replacement.__doc__ = original.__name__, original.__doc__
    setattr(owner, name, replacement)


def _epoch(value: Any) -> Any:
    """An ISO-8601 timestamp string as epoch seconds (float); anything else unchanged."""
    if isinstance(value, str):
        try:
            parsed = _dt.datetime.fromisoformat(value)
        except ValueError:
            return value
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=_dt.timezone.utc)
        return parsed.timestamp()
    return value


def unique_rds_resource_ids() -> None:
    """RDS: every DB instance has its own ``DbiResourceId`` (``db-`` and 26 upper-case letters and digits).

    moto gives every instance the same one; the provider reads an instance back by its resource ID (the
    ``dbi-resource-id`` filter), so with two instances it would read the wrong one.
    """
    from moto.rds.models import DBInstance

    alphabet = string.ascii_uppercase + string.digits

    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
            original(self, *args, **kwargs)
            self.dbi_resource_id = "db-" + "".join(secrets.choice(alphabet) for _ in range(26))
        return __init__

    _wrap(DBInstance, "__init__", make)


def rds_parameter_source() -> None:
    """RDS: ``DescribeDBParameters`` answers each parameter's ``Source`` (``user`` for values set in a custom
    group) and honours the ``Source`` filter.

    moto omits both; the provider keeps only ``user`` parameters, so every parameter group showed a perpetual
    diff.
    """
    from moto.core.responses import ActionResult
    from moto.rds.exceptions import DBParameterGroupNotFoundError
    from moto.rds.responses import RDSResponse

    def describe_db_parameters(self: Any) -> Any:
        name = self.params.get("DBParameterGroupName")
        groups = self.backend.describe_db_parameter_groups({"db_parameter_group_name": name})
        if not groups:
            raise DBParameterGroupNotFoundError(name)
        parameters = [{"Source": "user", **parameter} for parameter in groups[0].parameters.values()]
        wanted = self.params.get("Source")
        if wanted:
            parameters = [parameter for parameter in parameters if parameter["Source"] == wanted]
        return ActionResult({"Parameters": parameters})

    RDSResponse.describe_db_parameters = describe_db_parameters


def dms_epoch_timestamps() -> None:
    """DMS: timestamps (``ReplicationTaskCreationDate``, ``InstanceCreateTime``, ...) are epoch seconds, as in
    every AWS JSON-protocol API.

    moto answers ISO-8601 strings, which the AWS SDK for Go cannot deserialize, so every read failed.
    """
    from moto.dms.models import FakeReplicationInstance, FakeReplicationTask

    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        def to_dict(self: Any) -> dict[str, Any]:
            result = original(self)
            for key in ("ReplicationTaskCreationDate", "ReplicationTaskStartDate", "InstanceCreateTime", "FreeUntil"):
                if key in result:
                    result[key] = _epoch(result[key])
            stats = result.get("ReplicationTaskStats")
            if isinstance(stats, dict):
                result["ReplicationTaskStats"] = {key: _epoch(value) for key, value in stats.items()}
            return result
        return to_dict

    _wrap(FakeReplicationTask, "to_dict", make)
    _wrap(FakeReplicationInstance, "to_dict", make)


def dms_tasks_become_ready() -> None:
    """DMS: a new replication task leaves ``creating`` for ``ready`` (it then waits to be started).

    moto leaves it ``creating`` for ever, and the provider waits for ``ready`` until its timeout.
    """
    from moto.dms.models import FakeReplicationTask

    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
            original(self, *args, **kwargs)
            self.status = "ready"
        return __init__

    _wrap(FakeReplicationTask, "__init__", make)


def dms_subnet_groups_keep_subnets() -> None:
    """DMS: a replication subnet group keeps the subnets it was given (with their VPC and availability zones),
    and ``ModifyReplicationSubnetGroup`` changes them.

    moto drops the subnet IDs (answering one fixed placeholder subnet), so every plan wanted to change the group,
    it does not implement the modify call the provider makes for that change, and it files the group's tags under
    its identifier instead of its ARN (``arn:aws:dms:<region>:<account>:subgrp:<id>``), where the provider reads
    them.
    """
    from moto.dms.models import DatabaseMigrationServiceBackend, FakeReplicationSubnetGroup
    from moto.dms.responses import DatabaseMigrationServiceResponse
    from moto.ec2.models import ec2_backends

    def make_create(original: Callable[..., Any]) -> Callable[..., Any]:
        def create_replication_subnet_group(self: Any, *args: Any, **kwargs: Any) -> Any:
            group = original(self, *args, **kwargs)
            group.subnetIds = list(kwargs.get("subnet_ids") or [])
            group.paymig_location = (self.account_id, self.region_name)
            if kwargs.get("tags"):  # moto tags the identifier; AWS (and the provider) use the ARN
                self.tagger.tag_resource(f"arn:aws:dms:{self.region_name}:{self.account_id}:subgrp:"
                                         f"{group.replication_subnet_group_identifier}", kwargs["tags"])
            return group
        return create_replication_subnet_group

    def make_to_dict(original: Callable[..., Any]) -> Callable[..., Any]:
        def to_dict(self: Any) -> dict[str, Any]:
            result = original(self)
            location = getattr(self, "paymig_location", None)
            if location is None:
                return result
            ec2 = ec2_backends[location[0]][location[1]]
            subnets = [ec2.get_subnet(subnet_id) for subnet_id in self.subnetIds]
            result["Subnets"] = [{"SubnetIdentifier": subnet.id, "SubnetStatus": "Active",
                                  "SubnetAvailabilityZone": {"Name": subnet.availability_zone}} for subnet in subnets]
            if subnets:
                result["VpcId"] = subnets[0].vpc_id
            return result
        return to_dict

    def modify_replication_subnet_group(self: Any) -> str:
        params = json.loads(self.body)
        group = self.dms_backend.replication_subnet_groups.get(params.get("ReplicationSubnetGroupIdentifier"))
        if group is None:
            from moto.dms.exceptions import ResourceNotFoundFault
            raise ResourceNotFoundFault("Replication subnet group could not be found.")
        if params.get("SubnetIds"):
            group.subnetIds = list(params["SubnetIds"])
        if params.get("ReplicationSubnetGroupDescription") is not None:
            group.description = params["ReplicationSubnetGroupDescription"]
        return json.dumps({"ReplicationSubnetGroup": group.to_dict()})

    _wrap(DatabaseMigrationServiceBackend, "create_replication_subnet_group", make_create)
    _wrap(FakeReplicationSubnetGroup, "to_dict", make_to_dict)
    DatabaseMigrationServiceResponse.modify_replication_subnet_group = modify_replication_subnet_group


def application_autoscaling_tags() -> None:
    """Application Auto Scaling: scalable targets carry tags (``RegisterScalableTarget`` ``Tags``,
    ``TagResource``, ``UntagResource``, ``ListTagsForResource``).

    moto implements none of the tag calls and answers HTTP 500, which the provider retries for 10+ minutes.
    """
    from moto.applicationautoscaling.models import ApplicationAutoscalingBackend
    from moto.applicationautoscaling.responses import ApplicationAutoScalingResponse

    def tags_of(backend: ApplicationAutoscalingBackend) -> dict[str, dict[str, str]]:
        if not hasattr(backend, "paymig_tags"):
            backend.paymig_tags = {}  # type: ignore[attr-defined]
        return backend.paymig_tags  # type: ignore[attr-defined]

    def make_register(original: Callable[..., Any]) -> Callable[..., Any]:
        def register_scalable_target(self: Any) -> str:
            answer = original(self)
            if self._get_param("Tags"):
                arn = json.loads(answer)["ScalableTargetARN"]
                tags_of(self.applicationautoscaling_backend).setdefault(arn, {}).update(self._get_param("Tags"))
            return answer
        return register_scalable_target

    def tag_resource(self: Any) -> str:
        tags = tags_of(self.applicationautoscaling_backend).setdefault(self._get_param("ResourceARN"), {})
        tags.update(self._get_param("Tags") or {})
        return "{}"

    def untag_resource(self: Any) -> str:
        tags = tags_of(self.applicationautoscaling_backend).get(self._get_param("ResourceARN"), {})
        for key in self._get_param("TagKeys") or []:
            tags.pop(key, None)
        return "{}"

    def list_tags_for_resource(self: Any) -> str:
        return json.dumps({"Tags": tags_of(self.applicationautoscaling_backend).get(self._get_param("ResourceARN"), {})})

    _wrap(ApplicationAutoScalingResponse, "register_scalable_target", make_register)
    ApplicationAutoScalingResponse.tag_resource = tag_resource
    ApplicationAutoScalingResponse.untag_resource = untag_resource
    ApplicationAutoScalingResponse.list_tags_for_resource = list_tags_for_resource


def s3_replication_rules_read_back() -> None:
    """S3: ``GetBucketReplication`` answers each rule's ``DeleteMarkerReplication`` and ``Filter`` as they were
    put.

    moto always answers delete-marker replication ``Disabled`` (and an empty prefix filter), so a rule that
    replicates delete markers showed a change in every plan.
    """
    from moto.core.responses import ActionResult
    from moto.s3.exceptions import ReplicationConfigurationNotFoundError
    from moto.s3.responses import S3Response

    def get_bucket_replication(self: Any) -> Any:
        self.data["Action"] = "GetBucketReplication"
        replication = self.backend.get_bucket_replication(self.bucket_name)
        if not replication:
            raise ReplicationConfigurationNotFoundError(bucket_name=self.bucket_name)
        rules = [{
            "ID": rule["ID"], "Priority": rule["Priority"], "Status": rule["Status"],
            "DeleteMarkerReplication": rule.get("DeleteMarkerReplication") or {"Status": "Disabled"},
            "Filter": rule.get("Filter") or {"Prefix": ""}, "Destination": rule["Destination"],
            **{key: rule[key] for key in ("SourceSelectionCriteria", "ExistingObjectReplication") if rule.get(key)},
        } for rule in replication["Rule"]]
        return self.serialized(ActionResult(
            {"ReplicationConfiguration": {"Role": replication["Role"], "Rules": rules}}))

    S3Response.get_bucket_replication = get_bucket_replication


def s3_logging_to_policy_governed_targets() -> None:
    """S3: ``PutBucketLogging`` accepts a target bucket whose ACLs are disabled (Object Ownership
    ``BucketOwnerEnforced``, the default of every new bucket since April 2023): for such a target, log delivery is
    allowed by the target's bucket policy (``logging.s3.amazonaws.com`` may ``s3:PutObject``), which S3 applies
    when it delivers logs; configuring logging does not wait for that policy.

    moto insists on the permission being in place already, so logging configured in the same apply as the target's
    policy (Terraform creates them side by side) was refused with ``InvalidTargetBucketForLogging``; its policy
    check also compares resources with three exact strings and fails with HTTP 500 on a ``"Principal": "*"``
    statement (such as a TLS-only deny). Policies are now matched the IAM way (wildcards, strings or lists).
    """
    from moto.s3.models import FakeBucket

    acl_check = FakeBucket._log_permissions_enabled_acl

    def as_list(value: Any) -> list[Any]:
        return value if isinstance(value, list) else [value]

    def allows_logging(target_bucket: Any) -> bool:
        ownership = target_bucket.ownership_rule or "BucketOwnerEnforced"  # moto keeps the ObjectOwnership value
        return ownership == "BucketOwnerEnforced" or acl_check(target_bucket)

    def policy_allows_logging(target_bucket: Any, target_prefix: str | None) -> bool:
        if not target_bucket.policy:
            return False
        wanted = f"arn:{target_bucket.partition}:s3:::{target_bucket.name}/{target_prefix or ''}x"
        for statement in as_list(json.loads(target_bucket.policy.decode()).get("Statement", [])):
            principal = statement.get("Principal")
            services = as_list(principal.get("Service", [])) if isinstance(principal, dict) else []
            if (statement.get("Effect") == "Allow" and "logging.s3.amazonaws.com" in services
                    and any(fnmatch.fnmatchcase("s3:PutObject", action) for action in as_list(statement.get("Action", [])))
                    and any(fnmatch.fnmatchcase(wanted, resource) for resource in as_list(statement.get("Resource", [])))):
                return True
        return False

    FakeBucket._log_permissions_enabled_acl = staticmethod(allows_logging)
    FakeBucket._log_permissions_enabled_policy = staticmethod(policy_allows_logging)


def tls_request_context() -> None:
    """S3 bucket policies: every request carries ``aws:SecureTransport = true``, as every request from Terraform
    and the AWS SDKs to AWS does (TLS), and a statement whose ``Bool`` condition on it does not hold does not
    apply to the request (IAM policy evaluation).

    moto does not evaluate the ``Bool`` operator and treats such a condition as always true, so a TLS-only bucket
    policy (``Deny`` ``s3:*`` when ``aws:SecureTransport`` is ``false``) refused every request: no Terraform state
    could be written to the state bucket. The emulator itself is reached over plain HTTP on loopback only.
    """
    from moto.iam.access_control import IAMPolicyStatement, PermissionResult

    context = {"aws:securetransport": "true"}

    def holds(conditions: dict[str, dict[str, Any]]) -> bool:
        for key, expected in conditions.get("Bool", {}).items():
            actual = context.get(key.lower())
            values = [str(value).lower() for value in (expected if isinstance(expected, list) else [expected])]
            if actual is not None and actual not in values:
                return False
        return True

    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        def is_action_permitted(self: Any, action: str, resource: str = "*", principal: str | None = None,
                                incoming_condition_values: dict[str, str] | None = None) -> Any:
            if not holds(self._statement.get("Condition") or {}):
                return PermissionResult.NEUTRAL
            return original(self, action, resource, principal, incoming_condition_values)
        return is_action_permitted

    _wrap(IAMPolicyStatement, "is_action_permitted", make)


def _keep(owner: type, name: str, attributes: tuple[str, ...], source: Callable[..., dict[str, Any]]) -> None:
    """Wrap ``owner.name`` so that each of ``attributes`` found in ``source(self, *args, **kwargs)`` (snake_case
    keys) is stored on the model it returns or initializes; moto's serializer answers snake_case attributes."""
    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        def keeping(self: Any, *args: Any, **kwargs: Any) -> Any:
            answer = original(self, *args, **kwargs)
            model = self if answer is None else answer
            values = source(self, *args, **kwargs)
            for attribute in attributes:
                if values.get(attribute) is not None:
                    setattr(model, attribute, values[attribute])
            return answer
        return keeping

    _wrap(owner, name, make)


RDS_PERFORMANCE_INSIGHTS = ("performance_insights_enabled", "performance_insights_kms_key_id",
                            "performance_insights_retention_period")
ECS_SERVICE_SETTINGS = ("health_check_grace_period_seconds", "availability_zone_rebalancing")


def rds_keeps_performance_insights() -> None:
    """RDS: a DB instance keeps its Performance Insights settings (enabled, KMS key, retention in days), as
    ``CreateDBInstance``/``ModifyDBInstance`` set them.

    moto drops them, so every plan wanted to enable Performance Insights again.
    """
    from moto.rds.models import DBInstance

    def request(self: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        # the request says EnablePerformanceInsights, the answer PerformanceInsightsEnabled
        return {**kwargs, "performance_insights_enabled": kwargs.get("enable_performance_insights")}

    _keep(DBInstance, "__init__", RDS_PERFORMANCE_INSIGHTS, request)
    _keep(DBInstance, "update", RDS_PERFORMANCE_INSIGHTS, request)


def rds_master_secret_survives_modify() -> None:
    """RDS: modifying an instance whose master password RDS already manages (``ManageMasterUserPassword`` with a
    new ``MasterUserSecretKmsKeyId``) keeps its secret and re-encrypts it with the new key; the secret's ARN stays.

    moto creates a new secret on every such modify (and orphans the old one), so the secret ARN that Terraform
    recorded at apply no longer matched the next read, and every output or reference to it changed on re-plan.
    """
    from moto.rds.models import DBInstance

    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        def update(self: Any, *args: Any, **kwargs: Any) -> Any:
            if kwargs.get("manage_master_user_password") is True and hasattr(self, "master_user_secret"):
                kwargs.pop("manage_master_user_password")
                key = kwargs.pop("master_user_secret_kms_key_id", None)
                if key:
                    self.master_user_secret.secret.kms_key_id = key
            return original(self, *args, **kwargs)
        return update

    _wrap(DBInstance, "update", make)


def ecs_services_keep_settings() -> None:
    """ECS: a service keeps ``healthCheckGracePeriodSeconds`` and ``availabilityZoneRebalancing`` as
    ``CreateService``/``UpdateService`` set them.

    moto drops them, so every plan wanted to set them again.
    """
    from moto.core.utils import camelcase_to_underscores
    from moto.ecs.responses import EC2ContainerServiceResponse

    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        def with_settings(self: Any) -> Any:
            answer = original(self)
            service = answer.result["service"]
            request = {camelcase_to_underscores(key): value for key, value in self._get_params().items()}
            for attribute in ECS_SERVICE_SETTINGS:
                if request.get(attribute) is not None:
                    setattr(service, attribute, request[attribute])
            return answer
        return with_settings

    _wrap(EC2ContainerServiceResponse, "create_service", make)
    _wrap(EC2ContainerServiceResponse, "update_service", make)


def security_group_rule_descriptions() -> None:
    """EC2: ``DescribeSecurityGroupRules`` answers the description of a rule whose source is another security
    group or a prefix list (given with ``UserIdGroupPairs``/``PrefixListIds``), not only of CIDR rules.

    moto reads the description from the CIDR range only, so every such rule showed a change in every plan.
    """
    from moto.ec2.models.security_groups import SecurityGroupRule

    def description(self: Any) -> str | None:
        return (self.ip_range.get("Description") or self.source_group.get("Description")
                or getattr(self, "paymig_prefix_list_description", None))

    SecurityGroupRule.description = property(description)


def route53_vpc_makes_a_private_zone() -> None:
    """Route 53: ``CreateHostedZone`` with a ``VPC`` creates a private hosted zone associated with that VPC (AWS
    infers it from the VPC; ``HostedZoneConfig.PrivateZone`` need not be sent, and the provider does not send it).

    moto creates a public zone and drops the VPC, so the next plan wanted to associate the VPC again, which then
    failed with ``PublicZoneVPCAssociation``.
    """
    from moto.route53.responses import Route53

    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        def create_hosted_zone(self: Any) -> Any:
            if self._get_param("VPC.VPCId"):
                get_bool = self._get_bool_param
                self._get_bool_param = lambda name, default=None: (
                    True if name == "HostedZoneConfig.PrivateZone" else get_bool(name, default))
            return original(self)
        return create_hosted_zone

    _wrap(Route53, "create_hosted_zone", make)


FIXES: tuple[Callable[[], None], ...] = (
    unique_rds_resource_ids,
    rds_parameter_source,
    dms_epoch_timestamps,
    dms_tasks_become_ready,
    dms_subnet_groups_keep_subnets,
    application_autoscaling_tags,
    s3_replication_rules_read_back,
    s3_logging_to_policy_governed_targets,
    rds_keeps_performance_insights,
    rds_master_secret_survives_modify,
    ecs_services_keep_settings,
    security_group_rule_descriptions,
    tls_request_context,
    route53_vpc_makes_a_private_zone,
)
"""Every fix, in the order ``apply_all`` applies them."""


def apply_all() -> list[str]:
    """Apply every fix in ``FIXES`` once per process (idempotent).

    Returns:
        The names of the fixes in force.
    """
    if not _APPLIED:
        for fix in FIXES:
            fix()
            _APPLIED.append(fix.__name__)
    return list(_APPLIED)
