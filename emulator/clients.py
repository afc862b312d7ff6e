"""AWS SDK clients on the emulated AWS, and the clean-up that only the emulator allows."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

EMULATOR_CREDENTIALS = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}
"""moto accepts any credentials: these are placeholders, not secrets."""


def emulator_client(endpoint: str, service: str, region: str = "us-east-1") -> Any:
    """A boto3 client of ``service`` on the emulator at ``endpoint`` (placeholder credentials, that endpoint only).

    Args:
        endpoint: ``http://127.0.0.1:<port>`` of a running emulator.
        service: boto3 service name, e.g. ``s3``.
        region: AWS region (default us-east-1).
    """
    import boto3

    return boto3.client(service, endpoint_url=endpoint, region_name=region, **EMULATOR_CREDENTIALS)


def empty_buckets(endpoint: str, buckets: Iterable[str]) -> None:
    """Delete every object version and delete marker of ``buckets`` on the emulator, so that Terraform can delete
    versioned buckets (on AWS: a lifecycle rule, or ``force_destroy``). Never used against an AWS account."""
    s3 = emulator_client(endpoint, "s3")
    for bucket in buckets:
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
            versions = page.get("Versions", []) + page.get("DeleteMarkers", [])
            if versions:
                s3.delete_objects(Bucket=bucket, Delete={"Objects": [
                    {"Key": version["Key"], "VersionId": version["VersionId"]} for version in versions]})
