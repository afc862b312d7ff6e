"""A pair of hardened buckets in two regions with same-account cross-region replication.

Versioning is enabled on both buckets before the replication rule is created (S3 rejects a rule whose source or
destination is not versioned). The rule replicates delete markers, uses Replication Time Control (15 minutes)
with replication metrics, and the replication role may only read the source and replicate into the
destination.

Follows: https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-walkthrough1.html,
https://docs.aws.amazon.com/AmazonS3/latest/userguide/setting-repl-config-perm-overview.html,
https://registry.terraform.io/providers/hashicorp/aws/5.100.0/docs/resources/s3_bucket_replication_configuration.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import TerraformProvider
from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.s3_bucket_replication_configuration import (
    S3BucketReplicationConfigurationA,
    S3BucketReplicationConfigurationRule,
    S3BucketReplicationConfigurationRuleDeleteMarkerReplication,
    S3BucketReplicationConfigurationRuleDestination,
    S3BucketReplicationConfigurationRuleDestinationMetrics,
    S3BucketReplicationConfigurationRuleDestinationMetricsEventThreshold,
    S3BucketReplicationConfigurationRuleDestinationReplicationTime,
    S3BucketReplicationConfigurationRuleDestinationReplicationTimeTime,
    S3BucketReplicationConfigurationRuleDestinationEncryptionConfiguration,
    S3BucketReplicationConfigurationRuleFilter,
    S3BucketReplicationConfigurationRuleSourceSelectionCriteria,
    S3BucketReplicationConfigurationRuleSourceSelectionCriteriaSseKmsEncryptedObjects,
)
from constructs import Construct

from modules.iam import assume_role_policy, policy_document, statement, via_service
from modules.secure_bucket import Lifecycle, SecureBucket, SecureBucketProps

REPLICATION_MINUTES = 15  # the only value S3 Replication Time Control accepts


@dataclass(frozen=True)
class ReplicatedBucketPairProps:
    """Props of ``ReplicatedBucketPair``.

    Attributes:
        source_bucket_name / replica_bucket_name: bucket names (3-63 characters).
        replication_role_name: IAM role S3 assumes to replicate (64 characters at most).
        lifecycle: lifecycle of both buckets (days).
        replica_provider: the aliased AWS provider of the replica region (must differ from the stack's region).
        source_kms_key_arn / replica_kms_key_arn: SSE-KMS keys of each bucket (each in its bucket's region);
            None for SSE-S3. The rule replicates SSE-KMS objects and re-encrypts them with the replica key.
        source_access_log_bucket / replica_access_log_bucket: access-log buckets in each region.
        source_region / replica_region: regions of the two buckets; with them the replication role may use each
            key only through S3 of that region (``kms:ViaService``). None: no such condition.
        force_destroy: let Terraform delete both buckets with their objects (disposable environments only).
    """

    source_bucket_name: str
    replica_bucket_name: str
    replication_role_name: str
    lifecycle: Lifecycle
    replica_provider: TerraformProvider
    source_kms_key_arn: str | None = None
    replica_kms_key_arn: str | None = None
    source_access_log_bucket: str | None = None
    replica_access_log_bucket: str | None = None
    source_region: str | None = None
    replica_region: str | None = None
    force_destroy: bool = False


class ReplicatedBucketPair(Construct):
    """Source bucket (stack's provider), replica bucket (``replica_provider``), replication role and rule.

    Attributes: ``source``, ``replica`` (SecureBucket), ``role``, ``replication``.
    """

    def __init__(self, scope: Construct, id_: str, props: ReplicatedBucketPairProps):
        super().__init__(scope, id_)
        self.source = SecureBucket(self, "source", SecureBucketProps(
            props.source_bucket_name, props.lifecycle, kms_key_arn=props.source_kms_key_arn,
            access_log_bucket=props.source_access_log_bucket, force_destroy=props.force_destroy))
        self.replica = SecureBucket(self, "replica", SecureBucketProps(
            props.replica_bucket_name, props.lifecycle, kms_key_arn=props.replica_kms_key_arn,
            provider=props.replica_provider, access_log_bucket=props.replica_access_log_bucket,
            force_destroy=props.force_destroy))
        source_arn, replica_arn = self.source.bucket.arn, self.replica.bucket.arn
        account = DataAwsCallerIdentity(self, "account").account_id
        # confused deputy: S3 may assume the role only to replicate this account's source bucket
        self.role = IamRole(self, "replication-role", name=props.replication_role_name,
                            assume_role_policy=assume_role_policy("s3.amazonaws.com", source_account=account,
                                                                  source_arn=source_arn),
                            description="S3 cross-region replication of the transaction logs")
        IamRolePolicy(self, "replication-policy", role=self.role.id, name="replicate-transaction-logs",
                      policy=policy_document([
                          statement(["s3:GetReplicationConfiguration", "s3:ListBucket"], [source_arn], "ReadSource"),
                          statement(["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl",
                                     "s3:GetObjectVersionTagging"], [f"{source_arn}/*"], "ReadSourceVersions"),
                          statement(["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
                                    [f"{replica_arn}/*"], "WriteReplica"),
                          *self._kms_statements(props),
                      ]))
        self.replication = S3BucketReplicationConfigurationA(
            self, "replication", bucket=self.source.bucket.id, role=self.role.arn,
            depends_on=[self.source.versioning, self.replica.versioning],
            rule=[S3BucketReplicationConfigurationRule(
                id="transaction-logs-to-replica", status="Enabled", priority=1,
                filter=S3BucketReplicationConfigurationRuleFilter(prefix=""),
                delete_marker_replication=S3BucketReplicationConfigurationRuleDeleteMarkerReplication(status="Enabled"),
                source_selection_criteria=S3BucketReplicationConfigurationRuleSourceSelectionCriteria(
                    sse_kms_encrypted_objects=S3BucketReplicationConfigurationRuleSourceSelectionCriteriaSseKmsEncryptedObjects(
                        status="Enabled")) if props.source_kms_key_arn else None,
                destination=S3BucketReplicationConfigurationRuleDestination(
                    bucket=replica_arn, storage_class="STANDARD",
                    encryption_configuration=S3BucketReplicationConfigurationRuleDestinationEncryptionConfiguration(
                        replica_kms_key_id=props.replica_kms_key_arn) if props.replica_kms_key_arn else None,
                    replication_time=S3BucketReplicationConfigurationRuleDestinationReplicationTime(
                        status="Enabled",
                        time=S3BucketReplicationConfigurationRuleDestinationReplicationTimeTime(minutes=REPLICATION_MINUTES)),
                    metrics=S3BucketReplicationConfigurationRuleDestinationMetrics(
                        status="Enabled",
                        event_threshold=S3BucketReplicationConfigurationRuleDestinationMetricsEventThreshold(
                            minutes=REPLICATION_MINUTES)),
                ),
            )],
        )

    @staticmethod
    def _kms_statements(props: ReplicatedBucketPairProps) -> list[dict]:
        """Decrypt with the source key, encrypt with the replica key (only the keys in use), each only through S3
        of its bucket's region (S3 user guide, "Replicating objects created with server-side encryption")."""
        statements = []
        if props.source_kms_key_arn:
            statements.append(statement(["kms:Decrypt"], [props.source_kms_key_arn], "DecryptSource",
                                        via_service("s3", props.source_region) if props.source_region else None))
        if props.replica_kms_key_arn:
            statements.append(statement(["kms:Encrypt", "kms:GenerateDataKey"], [props.replica_kms_key_arn],
                                        "EncryptReplica",
                                        via_service("s3", props.replica_region) if props.replica_region else None))
        return statements
