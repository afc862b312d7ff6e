"""A hardened S3 bucket: versioned, encrypted, public access blocked, TLS-only, access-logged, with lifecycle.

Used for the transaction-log buckets (both regions) and the Terraform state bucket.

Example::

    from modules.secure_bucket import Lifecycle, SecureBucket, SecureBucketProps

    archive = SecureBucket(stack, "archive", SecureBucketProps(
        "paymig-dev-archive", Lifecycle(glacier_transition_days=30, expiration_days=365), address="archive"))
    archive_arn = archive.bucket.arn  # aws_s3_bucket.archive

Follows: https://registry.terraform.io/providers/hashicorp/aws/5.100.0/docs/resources/s3_bucket (and the split
``s3_bucket_*`` resources), https://docs.aws.amazon.com/AmazonS3/latest/userguide/security-best-practices.html.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cdktf import TerraformProvider
from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket
from cdktf_cdktf_provider_aws.s3_bucket_lifecycle_configuration import (
    S3BucketLifecycleConfiguration,
    S3BucketLifecycleConfigurationRule,
    S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload,
    S3BucketLifecycleConfigurationRuleExpiration,
    S3BucketLifecycleConfigurationRuleFilter,
    S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration,
    S3BucketLifecycleConfigurationRuleTransition,
)
from cdktf_cdktf_provider_aws.s3_bucket_logging import S3BucketLoggingA
from cdktf_cdktf_provider_aws.s3_bucket_policy import S3BucketPolicy
from cdktf_cdktf_provider_aws.s3_bucket_public_access_block import S3BucketPublicAccessBlock
from cdktf_cdktf_provider_aws.s3_bucket_server_side_encryption_configuration import (
    S3BucketServerSideEncryptionConfigurationA,
    S3BucketServerSideEncryptionConfigurationRuleA,
    S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA,
)
from cdktf_cdktf_provider_aws.s3_bucket_versioning import S3BucketVersioningA, S3BucketVersioningVersioningConfiguration
from constructs import Construct

from modules.addressing import with_address
from modules.iam import policy_document


@dataclass(frozen=True)
class Lifecycle:
    """Lifecycle in days: move current objects to Glacier, expire them, and expire old versions.

    ``None`` for ``glacier_transition_days`` / ``expiration_days`` keeps current objects where and as long as
    they are (the state bucket keeps every current state, and only old versions expire).
    """

    glacier_transition_days: int | None
    expiration_days: int | None
    noncurrent_expiration_days: int = 90


@dataclass(frozen=True)
class SecureBucketProps:
    """Props of ``SecureBucket``.

    Attributes:
        bucket_name: globally unique bucket name (3-63 characters).
        lifecycle: transition/expiry rules; None keeps objects forever (state bucket).
        kms_key_arn: SSE-KMS key; None uses SSE-S3 (AES256).
        provider: the AWS provider (region) the bucket lives in; None uses the stack's default provider.
        force_destroy: let Terraform delete a non-empty bucket (never for payment data outside dev).
        access_log_bucket: bucket (same region) that receives this bucket's S3 server access logs; None for a
            bucket that is itself an access-log target.
        policy_statements: statements added to the bucket policy after the TLS-only deny (e.g. log delivery).
    """

    bucket_name: str
    lifecycle: Lifecycle | None = None
    kms_key_arn: str | None = None
    provider: TerraformProvider | None = None
    force_destroy: bool = False
    access_log_bucket: str | None = None
    policy_statements: tuple[dict[str, Any], ...] = ()
    address: str | None = None


class SecureBucket(Construct):
    """S3 bucket with versioning, default encryption, public access block, TLS-only policy and lifecycle.

    Attributes: ``bucket`` (S3Bucket), ``versioning`` (S3BucketVersioningA, for resources that need versioning
    enabled first, such as replication rules).
    """

    bucket: S3Bucket
    """The ``aws_s3_bucket``."""
    versioning: S3BucketVersioningA
    """Its versioning (resources that need versioning first depend on it)."""

    def __init__(self, scope: Construct, id_: str, props: SecureBucketProps):
        super().__init__(scope, id_)
        provider = props.provider
        self.bucket = with_address(S3Bucket(self, "bucket", bucket=props.bucket_name, force_destroy=props.force_destroy,
                                            provider=provider), props.address)
        bucket_id = self.bucket.id
        self.versioning = S3BucketVersioningA(
            self, "versioning", bucket=bucket_id, provider=provider,
            versioning_configuration=S3BucketVersioningVersioningConfiguration(status="Enabled"),
        )
        algorithm = "aws:kms" if props.kms_key_arn else "AES256"
        S3BucketServerSideEncryptionConfigurationA(
            self, "encryption", bucket=bucket_id, provider=provider,
            rule=[S3BucketServerSideEncryptionConfigurationRuleA(
                bucket_key_enabled=bool(props.kms_key_arn),
                apply_server_side_encryption_by_default=(
                    S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
                        sse_algorithm=algorithm, kms_master_key_id=props.kms_key_arn)),
            )],
        )
        public_access = S3BucketPublicAccessBlock(
            self, "public-access-block", bucket=bucket_id, provider=provider, block_public_acls=True,
            block_public_policy=True, ignore_public_acls=True, restrict_public_buckets=True,
        )
        S3BucketPolicy(
            self, "tls-only", bucket=bucket_id, provider=provider, depends_on=[public_access],
            policy=policy_document([{
                "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                "Resource": [self.bucket.arn, f"{self.bucket.arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }, *props.policy_statements]),
        )
        if props.lifecycle:
            self._lifecycle(props.lifecycle, provider)
        if props.access_log_bucket:
            S3BucketLoggingA(self, "access-logging", bucket=bucket_id, provider=provider,
                             target_bucket=props.access_log_bucket, target_prefix=f"s3/{props.bucket_name}/")

    def _lifecycle(self, lifecycle: Lifecycle, provider: TerraformProvider | None) -> None:
        S3BucketLifecycleConfiguration(
            self, "lifecycle", bucket=self.bucket.id, provider=provider, depends_on=[self.versioning],
            rule=[S3BucketLifecycleConfigurationRule(
                id="lifecycle", status="Enabled",
                filter=[S3BucketLifecycleConfigurationRuleFilter(prefix="")],
                transition=[S3BucketLifecycleConfigurationRuleTransition(
                    days=lifecycle.glacier_transition_days, storage_class="GLACIER")]
                if lifecycle.glacier_transition_days else None,
                expiration=[S3BucketLifecycleConfigurationRuleExpiration(days=lifecycle.expiration_days)]
                if lifecycle.expiration_days else None,
                noncurrent_version_expiration=[S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration(
                    noncurrent_days=lifecycle.noncurrent_expiration_days)],
                abort_incomplete_multipart_upload=[
                    S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload(days_after_initiation=7)],
            )],
        )
