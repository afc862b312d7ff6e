"""Customer-managed KMS keys with automatic rotation, one per purpose and region.

The key policy delegates administration and use to IAM in the owning account (the ``root`` principal statement
AWS recommends as the default key policy) and, where a service encrypts on its own behalf, lets that service
principal use the key: CloudWatch Logs (scoped by the ``aws:logs:arn`` encryption context to this account and
region), CloudWatch alarms and EventBridge rules publishing to an encrypted SNS topic.

Follows: https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html,
https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html,
https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#sns-what-permissions-for-sse,
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-sns-permissions.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import TerraformProvider
from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.data_aws_partition import DataAwsPartition
from cdktf_cdktf_provider_aws.kms_alias import KmsAlias
from cdktf_cdktf_provider_aws.kms_key import KmsKey
from constructs import Construct

from modules.iam import policy_document

USE_ACTIONS = ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"]


@dataclass(frozen=True)
class EncryptionKeyProps:
    """Props of ``EncryptionKey``.

    Attributes:
        alias: alias name without the ``alias/`` prefix, e.g. ``paymig-dev-database``.
        description: what the key protects.
        region: region of the key (for the CloudWatch Logs encryption context).
        cloudwatch_logs: let CloudWatch Logs of this account and region use the key (log groups).
        cloudwatch_alarms: let CloudWatch alarms use the key (publishing to an encrypted SNS topic).
        eventbridge: let EventBridge use the key (rule targets publishing to an encrypted SNS topic).
        deletion_window_days: waiting period before a scheduled deletion, days (7-30).
        provider: AWS provider of the key's region; None uses the stack's default provider.
    """

    alias: str
    description: str
    region: str
    cloudwatch_logs: bool = False
    cloudwatch_alarms: bool = False
    eventbridge: bool = False
    deletion_window_days: int = 30
    provider: TerraformProvider | None = None


class EncryptionKey(Construct):
    """KMS key (rotation on) with its alias and policy. Attributes: ``key``, ``arn`` (token)."""

    def __init__(self, scope: Construct, id_: str, props: EncryptionKeyProps):
        super().__init__(scope, id_)
        provider = props.provider
        account = DataAwsCallerIdentity(self, "account", provider=provider).account_id
        partition = DataAwsPartition(self, "partition", provider=provider).partition
        statements = [{
            "Sid": "AccountAdministration", "Effect": "Allow",
            "Principal": {"AWS": f"arn:{partition}:iam::{account}:root"}, "Action": "kms:*", "Resource": "*",
        }]
        if props.cloudwatch_logs:
            statements.append({
                "Sid": "CloudWatchLogs", "Effect": "Allow",
                "Principal": {"Service": f"logs.{props.region}.amazonaws.com"}, "Action": USE_ACTIONS, "Resource": "*",
                "Condition": {"ArnLike": {
                    "kms:EncryptionContext:aws:logs:arn": f"arn:{partition}:logs:{props.region}:{account}:*"}},
            })
        if props.cloudwatch_alarms:
            statements.append({
                "Sid": "CloudWatchAlarmsToSns", "Effect": "Allow", "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*",
            })
        if props.eventbridge:
            statements.append({
                "Sid": "EventBridgeToSns", "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
                "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*",
            })
        self.key = KmsKey(
            self, "key", description=props.description, enable_key_rotation=True,
            deletion_window_in_days=props.deletion_window_days, policy=policy_document(statements), provider=provider,
        )
        KmsAlias(self, "alias", name=f"alias/{props.alias}", target_key_id=self.key.key_id, provider=provider)
        self.arn = self.key.arn
