"""Storage stack: transaction-log buckets in the primary and replica regions (two AWS providers)."""

from __future__ import annotations

from constructs import Construct

from config import MigrationConfig
from modules.access_logs import AccessLogBucket, AccessLogBucketProps
from modules.kms import EncryptionKey, EncryptionKeyProps
from modules.replicated_bucket import ReplicatedBucketPair, ReplicatedBucketPairProps
from modules.secure_bucket import Lifecycle
from stacks.base import MigrationStack, aws_provider


class StorageStack(MigrationStack):
    """Transaction-log bucket pair; the replica bucket uses the ``replica`` provider alias in the replica region.

    Each region has its own KMS key and access-log bucket; ALB access logs go to the primary one.

    Attributes: ``replica_provider``, ``key`` (transaction-log key, primary region), ``access_logs``
    (AccessLogBucket, primary region), ``buckets`` (ReplicatedBucketPair).
    """

    def __init__(self, scope: Construct, config: MigrationConfig):
        super().__init__(scope, "storage", config)
        names, regions = self.names, config.regions
        self.replica_provider = aws_provider(self, config, regions.replica, alias="replica")
        self.key = EncryptionKey(self, "transaction-logs-key", EncryptionKeyProps(
            alias=f"{names.kms_alias_prefix}-transaction-logs", description="Transaction-log bucket",
            region=regions.primary))
        replica_key = EncryptionKey(self, "transaction-logs-replica-key", EncryptionKeyProps(
            alias=f"{names.kms_alias_prefix}-transaction-logs-replica", description="Transaction-log replica bucket",
            region=regions.replica, provider=self.replica_provider))
        disposable = config.disposable
        self.access_logs = AccessLogBucket(self, "access-logs", AccessLogBucketProps(
            names.access_logs_bucket, allow_alb=True, force_destroy=disposable))
        replica_logs = AccessLogBucket(self, "access-logs-replica", AccessLogBucketProps(
            names.access_logs_replica_bucket, provider=self.replica_provider, force_destroy=disposable))
        self.buckets = ReplicatedBucketPair(self, "transaction-logs", ReplicatedBucketPairProps(
            source_bucket_name=names.txlog_bucket, replica_bucket_name=names.txlog_replica_bucket,
            replication_role_name=names.replication_role,
            lifecycle=Lifecycle(config.storage.glacier_transition_days, config.storage.expiration_days),
            replica_provider=self.replica_provider, source_kms_key_arn=self.key.arn,
            replica_kms_key_arn=replica_key.arn, source_access_log_bucket=self.access_logs.name,
            replica_access_log_bucket=replica_logs.name, source_region=regions.primary,
            replica_region=regions.replica, force_destroy=disposable,
        ))
        self.output("transaction_log_bucket", self.buckets.source.bucket.bucket, "Transaction-log bucket (primary)")
        self.output("transaction_log_replica_bucket", self.buckets.replica.bucket.bucket,
                    f"Transaction-log replica bucket ({config.regions.replica})")
        self.output("transaction_log_bucket_arn", self.buckets.source.bucket.arn, "Transaction-log bucket ARN")
        self.output("transaction_log_replica_bucket_arn", self.buckets.replica.bucket.arn,
                    "Transaction-log replica bucket ARN")
        canary = "runbook/replication-canary"
        self.output("runbook_replication_canary",
                    f"aws s3api put-object --region {regions.primary} --bucket {self.buckets.source.bucket.bucket} "
                    f"--key {canary}",
                    "Runbook: write an empty canary object into the transaction-log bucket")
        self.output("runbook_replication_check",
                    f"aws s3api head-object --region {regions.replica} --bucket {self.buckets.replica.bucket.bucket} "
                    f"--key {canary} --query '{{replication:ReplicationStatus,modified:LastModified}}'",
                    "Runbook: the canary reached the replica bucket (replication REPLICA; Not Found: not yet, "
                    "replication takes up to 15 minutes)")
