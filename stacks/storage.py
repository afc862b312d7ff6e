"""Storage stack: transaction-log buckets in the primary and replica regions (two AWS providers)."""

from __future__ import annotations

from constructs import Construct

from config import MigrationConfig
from modules.replicated_bucket import ReplicatedBucketPair, ReplicatedBucketPairProps
from modules.secure_bucket import Lifecycle
from stacks.base import MigrationStack, aws_provider


class StorageStack(MigrationStack):
    """Transaction-log bucket pair; the replica bucket uses the ``replica`` provider alias in the replica region.

    Attributes: ``replica_provider``, ``buckets`` (ReplicatedBucketPair).
    """

    def __init__(self, scope: Construct, config: MigrationConfig):
        super().__init__(scope, "storage", config)
        self.replica_provider = aws_provider(self, config, config.regions.replica, alias="replica")
        self.buckets = ReplicatedBucketPair(self, "transaction-logs", ReplicatedBucketPairProps(
            source_bucket_name=self.names.txlog_bucket, replica_bucket_name=self.names.txlog_replica_bucket,
            replication_role_name=self.names.replication_role,
            lifecycle=Lifecycle(config.storage.glacier_transition_days, config.storage.expiration_days),
            replica_provider=self.replica_provider,
        ))
        self.output("transaction_log_bucket", self.buckets.source.bucket.bucket, "Transaction-log bucket (primary)")
        self.output("transaction_log_replica_bucket", self.buckets.replica.bucket.bucket,
                    f"Transaction-log replica bucket ({config.regions.replica})")
