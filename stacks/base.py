"""What every stack of the project shares: the AWS provider of its region, default tags, the S3 backend."""

from __future__ import annotations

from typing import Any

from cdktf import TerraformOutput, TerraformStack
from cdktf_cdktf_provider_aws.provider import AwsProvider, AwsProviderDefaultTags
from constructs import Construct

from backend.remote import use_s3_backend
from config import MigrationConfig, Names


def aws_provider(stack: TerraformStack, config: MigrationConfig, region: str, alias: str | None = None) -> AwsProvider:
    """An AWS provider for ``region`` with the project's default tags (``alias`` for a second region).

    Follows: https://registry.terraform.io/providers/hashicorp/aws/5.100.0/docs#argument-reference.
    """
    provider_id = f"aws-{alias}" if alias else "aws"
    return AwsProvider(
        stack, provider_id, region=region, alias=alias,
        default_tags=[AwsProviderDefaultTags(tags={
            "Project": config.project, "Environment": config.environment, "ManagedBy": "cdktf",
            "Stack": stack.node.id,
        })],
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
