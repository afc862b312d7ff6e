"""HCL exit path: what ``cdktf synth --hcl`` needs so that its HCL is valid Terraform.

cdktf 0.21's HCL renderer (``cdktf/lib/hcl/render.js``, archived upstream) writes a string attribute that holds
both double quotes and ``${...}`` references unescaped: every JSON document built in Python with ``json.dumps``
around a reference (IAM and KMS key policies, bucket policies, ECS container definitions, the CloudWatch
dashboard body) comes out as invalid HCL. ``JsonDocumentsAsJsonencode`` turns exactly those attributes into
Terraform's ``jsonencode({...})`` when, and only when, HCL output is requested: the JSON output
(``cdktf.out``) stays as it is. ``jsonencode`` yields the same JSON document (keys sorted, no white space);
the AWS provider compares these attributes as JSON documents, so a state created from either output plans clean.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from typing import Any

import jsii
from cdktf import Aspects, Fn, IAspect, TerraformDataSource, TerraformResource, TerraformStack
from constructs import IConstruct

HCL_OUTPUT_VARIABLE = "SYNTH_HCL_OUTPUT"
"""Set to ``true`` by ``cdktf synth --hcl`` for the app process; cdktf's stacks read it the same way."""


def hcl_output_requested(environ: dict[str, str] | None = None) -> bool:
    """Whether this synthesis writes HCL (``$SYNTH_HCL_OUTPUT`` is ``true`` or ``1``, as cdktf 0.21 reads it)."""
    return (environ if environ is not None else os.environ).get(HCL_OUTPUT_VARIABLE) in ("true", "1")


def embedded_json_document(value: Any) -> dict[str, Any] | list[Any] | None:
    """The JSON object or array ``value`` holds, if it is a string that cdktf would render badly in HCL.

    Returns:
        The parsed document when ``value`` is a string holding both ``"`` and a ``${`` reference (an unresolved
        cdktf token) and parses as a JSON object or array; ``None`` otherwise.
    """
    if not isinstance(value, str) or '"' not in value or "${" not in value:
        return None
    try:
        document = json.loads(value)
    except ValueError:
        return None
    return document if isinstance(document, (dict, list)) else None


@jsii.implements(IAspect)
class JsonDocumentsAsJsonencode:
    """Aspect: top-level string attributes holding JSON documents with references become ``jsonencode({...})``."""

    def visit(self, node: IConstruct) -> None:
        """Override every such attribute of ``node`` (a resource or data source; other constructs are left)."""
        if not isinstance(node, (TerraformResource, TerraformDataSource)):
            return
        for items in next(iter(node.to_terraform().values())).values():
            for block in items.values():
                for name, value in block.items():
                    document = embedded_json_document(value)
                    if document is not None:
                        node.add_override(name, Fn.jsonencode(document))


def prepare_for_hcl(constructs: Iterable[IConstruct]) -> bool:
    """Add ``JsonDocumentsAsJsonencode`` to every stack among ``constructs`` (e.g. an app's children) when HCL
    output is requested (see module docstring). cdktf invokes aspects from each stack down, so they are added per
    stack, not to the app.

    Returns:
        Whether the aspect was added.
    """
    if not hcl_output_requested():
        return False
    for construct in constructs:
        if isinstance(construct, TerraformStack):
            Aspects.of(construct).add(JsonDocumentsAsJsonencode())
    return True
