"""What every stack of the project shares: the AWS provider of its region, default tags, the S3 backend."""

from __future__ import annotations

from typing import Any

from cdktf import TerraformOutput, TerraformStack
from cdktf_cdktf_provider_aws.provider import AwsProvider, AwsProviderDefaultTags, AwsProviderEndpoints
from constructs import Construct

from backend.remote import EMULATOR_CREDENTIALS, EMULATOR_MAX_RETRIES, EMULATOR_NO_EGRESS, use_s3_backend
from config import MigrationConfig, Names, emulator_endpoint

EMULATED_SERVICES = (
    "acm", "appautoscaling", "autoscaling", "cloudtrail", "cloudwatch", "dms", "dynamodb", "ec2", "ecr", "ecs",
    "efs", "elb", "elbv2", "events", "firehose", "iam", "kms", "lambda_", "logs", "rds", "route53", "s3",
    "s3_control", "secretsmanager", "servicediscovery", "sns", "sqs", "ssm", "sts", "wafv2",
)
"""Provider endpoint keys pointed at the emulated AWS: every service the stacks use, and neighbours they may
come to use (a call to any other service fails on loopback, see ``backend.remote.EMULATOR_NO_EGRESS``)."""


def emulator_provider_settings(config: MigrationConfig) -> dict[str, Any]:
    """AWS provider settings that point an ``emulator`` environment at the emulated AWS; ``{}`` for any other.

    Every service in ``EMULATED_SERVICES`` at ``$PAYMIG_AWS_ENDPOINT_URL``, placeholder credentials, path-style
    S3, no credential, region or instance-metadata checks, few retries, and the account ID requested from the
    emulator's STS (``skip_requesting_account_id = false``: ARNs the provider builds itself, such as security
    group rule ARNs, then carry the emulator's account and re-plan cleanly).

    Follows: https://registry.terraform.io/providers/hashicorp/aws/5.100.0/docs/guides/custom-service-endpoints.

    Raises:
        config.ConfigError: an emulator environment without a valid ``$PAYMIG_AWS_ENDPOINT_URL``.
    """
    if not config.emulator:
        return {}
    endpoint = emulator_endpoint()
    return {
        "endpoints": [AwsProviderEndpoints(**{service: endpoint for service in EMULATED_SERVICES})],
        "s3_use_path_style": True, "skip_credentials_validation": True, "skip_region_validation": True,
        "skip_metadata_api_check": "true", "skip_requesting_account_id": False, "max_retries": EMULATOR_MAX_RETRIES,
        **EMULATOR_CREDENTIALS, **EMULATOR_NO_EGRESS,
    }


def aws_provider(stack: TerraformStack, config: MigrationConfig, region: str, alias: str | None = None) -> AwsProvider:
    """An AWS provider for ``region`` with the project's default tags (``alias`` for a second region): the
    configuration's ``default_tags`` (``[tags]``, ``MigrationPhase``, ``CostCenter``, ``Project``, ...) and ``Stack``.

    In an ``emulator`` environment it also carries ``emulator_provider_settings``; no other environment does.

    Follows: https://registry.terraform.io/providers/hashicorp/aws/5.100.0/docs#argument-reference.

    Raises:
        config.ConfigError: an emulator environment without a valid ``$PAYMIG_AWS_ENDPOINT_URL``.
    """
    provider_id = f"aws-{alias}" if alias else "aws"
    return AwsProvider(
        stack, provider_id, region=region, alias=alias,
        default_tags=[AwsProviderDefaultTags(tags={**config.default_tags, "Stack": stack.node.id})],
        **emulator_provider_settings(config),
    )


class MigrationStack(TerraformStack):
    """A stack of one environment: primary-region AWS provider, default tags, S3 backend (unless ``local_state``).

    Attributes: ``config``, ``names`` (derived AWS names), ``provider`` (primary region).
    """

    def __init__(self, scope: Construct, stack_name: str, config: MigrationConfig, *, local_state: bool = False):
        super().__init__(scope, stack_name)
        self.config = config
        self.names = Names.of(config)
        self.provider = aws_provider(self, config, config.regions.primary)
        if not local_state:
            use_s3_backend(self, config, stack_name)

    def output(self, name: str, value: Any, description: str) -> TerraformOutput:
        """Declare a stack output ``name`` (shown by ``cdktf deploy`` / ``terraform output``)."""
        return TerraformOutput(self, name, value=value, description=description)

    @property
    def make_arguments(self) -> str:
        """``make`` arguments that select this environment in a printed runbook command, e.g.
        ``ENVIRONMENT=dev SUFFIX=pr123``."""
        suffix = f" SUFFIX={self.config.suffix}" if self.config.suffix else ""
        return f"ENVIRONMENT={self.config.environment}{suffix}"
