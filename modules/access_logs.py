"""An S3 bucket that receives access logs: S3 server access logs and, optionally, ALB access logs.

Log delivery only writes to buckets encrypted with SSE-S3 (neither S3 server access logging nor Elastic Load
Balancing can use SSE-KMS targets), so this bucket is SSE-S3; it is itself the end of the logging chain.

Example::

    from modules.access_logs import AccessLogBucket, AccessLogBucketProps

    logs = AccessLogBucket(stack, "access-logs", AccessLogBucketProps(
        "paymig-dev-access-logs", allow_alb=True, force_destroy=True, address="access_logs"))
    # logs.name: bucket name (token) for S3 server access logging or an ALB's access_logs

Follows: https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html#grant-log-delivery-permissions-general
and https://docs.aws.amazon.com/elasticloadbalancing/latest/application/enable-access-logging.html.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import TerraformProvider
from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.data_aws_elb_service_account import DataAwsElbServiceAccount
from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket
from constructs import Construct

from modules.secure_bucket import Lifecycle, SecureBucket, SecureBucketProps

ALB_LOG_PREFIX = "alb"


@dataclass(frozen=True)
class AccessLogBucketProps:
    """Props of ``AccessLogBucket``.

    Attributes:
        bucket_name: bucket name (3-63 characters).
        retention: lifecycle of the logs, days.
        allow_alb: also accept ALB access logs under ``alb/`` from this region's Elastic Load Balancing.
        provider: AWS provider of the bucket's region; None uses the stack's default provider.
        force_destroy: let Terraform empty the bucket on destroy (dev and local only).
        address: fixed Terraform name of the ``aws_s3_bucket`` (``modules.addressing``); None: cdktf's path-derived name.
    """

    bucket_name: str
    retention: Lifecycle = Lifecycle(glacier_transition_days=90, expiration_days=400)
    allow_alb: bool = False
    provider: TerraformProvider | None = None
    force_destroy: bool = False
    address: str | None = None


class AccessLogBucket(Construct):
    """Hardened SSE-S3 bucket whose policy lets S3 log delivery (and ELB) of this account write to it.

    Attributes: ``bucket`` (S3Bucket), ``name`` (token of the bucket name).
    """

    bucket: S3Bucket
    """The ``aws_s3_bucket``."""
    name: str
    """Token of the bucket name (``bucket``), for ``access_log_bucket`` / ALB access logs."""

    def __init__(self, scope: Construct, id_: str, props: AccessLogBucketProps):
        super().__init__(scope, id_)
        account = DataAwsCallerIdentity(self, "account", provider=props.provider).account_id
        arn = f"arn:aws:s3:::{props.bucket_name}"
        statements = [{
            "Sid": "S3ServerAccessLogs", "Effect": "Allow", "Principal": {"Service": "logging.s3.amazonaws.com"},
            "Action": "s3:PutObject", "Resource": f"{arn}/s3/*",
            "Condition": {"StringEquals": {"aws:SourceAccount": account}},
        }]
        if props.allow_alb:
            elb = DataAwsElbServiceAccount(self, "elb-account", provider=props.provider)
            statements.append({
                "Sid": "AlbAccessLogs", "Effect": "Allow",
                "Principal": {"AWS": elb.arn}, "Action": "s3:PutObject",
                "Resource": f"{arn}/{ALB_LOG_PREFIX}/AWSLogs/{account}/*",
            })
        secure = SecureBucket(self, "logs", SecureBucketProps(
            props.bucket_name, props.retention, provider=props.provider, force_destroy=props.force_destroy,
            policy_statements=tuple(statements), address=props.address))
        self.bucket = secure.bucket
        self.name = secure.bucket.bucket
