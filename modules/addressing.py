"""Stable Terraform addresses for the resources a module creates.

cdktf names a resource after its construct path plus a hash (``aws_db_instance.target_instance_F9233CBD``), so
wrapping or renaming a construct changes its address and Terraform plans to destroy and re-create it. A module
whose props carry an ``address`` gives its stateful resources (and those other stacks read) fixed names instead,
with cdktf's ``override_logical_id``. The name must be set before anything reads an attribute of the resource
(cdktf fixes a resource's name the first time a reference to it is made), so modules call ``with_address``
on the new resource at once. The stacks choose the names; ``stacks/stateful.toml`` is the reviewed list of them.

Example::

    from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket
    from modules.addressing import with_address

    bucket = with_address(S3Bucket(stack, "bucket", bucket="paymig-dev-example"), "example")
    assert bucket.friendly_unique_id == "example"  # Terraform address aws_s3_bucket.example

Follows: https://developer.hashicorp.com/terraform/language/resources/syntax (resource names).
"""

from __future__ import annotations

import re
from typing import TypeVar

from cdktf import TerraformResource

RESOURCE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
"""A fixed resource name: a lowercase letter, then lowercase letters, digits and ``_``."""

Resource = TypeVar("Resource", bound=TerraformResource)


def with_address(resource: Resource, name: str | None) -> Resource:
    """Give the new ``resource`` the Terraform name ``name`` (address ``<type>.<name>``); ``None`` keeps cdktf's
    path-derived name. Returns ``resource``.

    Raises:
        ValueError: ``name`` is not a lowercase identifier (``RESOURCE_NAME``).
    """
    if name is not None:
        if not RESOURCE_NAME.match(name):
            raise ValueError(f"address = {name!r}: must match {RESOURCE_NAME.pattern} (a Terraform resource name)")
        resource.override_logical_id(name)
    return resource


def suffixed(address: str | None, suffix: str) -> str | None:
    """``<address>_<suffix>`` for the second resource of a type in one module; ``None`` when ``address`` is."""
    return f"{address}_{suffix}" if address is not None else None
