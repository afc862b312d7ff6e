"""Bootstrap stack: the Terraform state bucket and DynamoDB lock table, itself kept in local state.

Deploy it once per environment before any other stack. Its state file lives in ``.state/<environment>/`` in the
checkout (keep it, or import the two resources again if it is lost).

Follows: https://developer.hashicorp.com/terraform/language/backend/s3#dynamodb-state-locking (hash key
``LockID`` of type string).
"""

from __future__ import annotations

from cdktf_cdktf_provider_aws.dynamodb_table import (
    DynamodbTable,
    DynamodbTableAttribute,
    DynamodbTablePointInTimeRecovery,
    DynamodbTableServerSideEncryption,
)
from constructs import Construct

from backend.local import use_local_backend
from config import MigrationConfig
from modules.access_logs import AccessLogBucket, AccessLogBucketProps
from modules.kms import EncryptionKey, EncryptionKeyProps
from modules.secure_bucket import Lifecycle, SecureBucket, SecureBucketProps
from stacks.base import MigrationStack

BOOTSTRAP_STACK = "bootstrap"
"""The bootstrap stack's name. Tools that read synthesized output find it without this name: it is the one stack
with a local backend (``terraform_driver.manifest``)."""


class BootstrapStack(MigrationStack):
    """State bucket (versioned, encrypted, public access blocked, TLS-only) and lock table (``LockID``, S).

    Attributes: ``state_bucket`` (SecureBucket), ``lock_table`` (DynamodbTable).
    """

    def __init__(self, scope: Construct, config: MigrationConfig):
        super().__init__(scope, BOOTSTRAP_STACK, config, local_state=True)
        use_local_backend(self, config, BOOTSTRAP_STACK)
        key = EncryptionKey(self, "state-key", EncryptionKeyProps(
            alias=f"{self.names.kms_alias_prefix}-terraform-state", description="Terraform state and lock table",
            region=config.regions.primary))
        logs = AccessLogBucket(self, "state-access-logs", AccessLogBucketProps(
            self.names.state_access_logs_bucket, force_destroy=config.disposable))
        # A per-change environment's state bucket goes with it; an environment's own keeps refusing to be destroyed
        # while it holds state (the safety net against destroying the backend of stacks that still exist).
        self.state_bucket = SecureBucket(self, "state", SecureBucketProps(
            config.state.bucket, Lifecycle(glacier_transition_days=None, expiration_days=None),
            kms_key_arn=key.arn, access_log_bucket=logs.name,
            force_destroy=config.disposable and config.suffix is not None))
        self.lock_table = DynamodbTable(
            self, "lock-table", name=config.state.lock_table, billing_mode="PAY_PER_REQUEST", hash_key="LockID",
            attribute=[DynamodbTableAttribute(name="LockID", type="S")],
            point_in_time_recovery=DynamodbTablePointInTimeRecovery(enabled=True),
            server_side_encryption=DynamodbTableServerSideEncryption(enabled=True, kms_key_arn=key.arn),
            deletion_protection_enabled=config.protected,
        )
        self.output("state_bucket", self.state_bucket.bucket.bucket, "Terraform state bucket")
        self.output("lock_table", self.lock_table.name, "Terraform state lock table")
