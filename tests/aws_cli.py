"""Printed runbook commands read as their programs would: ``aws ...`` as the AWS CLI, ``curl ...`` as curl.

An ``aws <service> <operation> --option value ...`` command is checked against botocore's service model (the model
the AWS CLI is generated from): the operation exists, every option is a parameter of it (or ``--region`` /
``--query``), required parameters are there, values have the parameter's type (``botocore.validate``) and the
``--query`` is valid JMESPath. ``AwsCommand.call`` then sends it through boto3 and applies the query, as the CLI
would. Values are read like the CLI reads them: JSON for ``[...]``/``{...}``, else its shorthand ``Key=value,...``
for a structure (one structure per list), a number for integers; that subset is all the runbook uses.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import urlsplit

import botocore.session
import jmespath
from botocore import xform_name
from botocore.model import Shape
from botocore.validate import validate_parameters

CLI_SERVICES = {"s3api": "s3"}
"""AWS CLI command names that differ from the API's service name."""


@dataclass(frozen=True)
class AwsCommand:
    """One parsed ``aws`` command: boto3 service, API operation, parameters, ``--region`` and ``--query``."""

    service: str
    operation: str
    parameters: dict[str, Any] = field(default_factory=dict)
    region: str | None = None
    query: str | None = None

    def call(self, client: Callable[[str, str], Any]) -> Any:
        """Send the command through ``client(service, region)`` (a boto3 client factory) and apply ``--query``."""
        response = getattr(client(self.service, self.region or "us-east-1"), xform_name(self.operation))(
            **self.parameters)
        response.pop("ResponseMetadata", None)
        return jmespath.search(self.query, response) if self.query else response


def parse_aws(command: str) -> AwsCommand:
    """Parse and check ``command`` against botocore's model of its service.

    Raises:
        ValueError: not an ``aws`` command, an unknown service, operation or option, a missing required
            parameter, a value of the wrong type, or a query that is not JMESPath.
    """
    argv = shlex.split(command)
    if len(argv) < 3 or argv[0] != "aws":
        raise ValueError(f"not an `aws <service> <operation>` command: {command!r}")
    service = CLI_SERVICES.get(argv[1], argv[1])
    model = botocore.session.get_session().get_service_model(service)
    operations = {xform_name(name, "-"): name for name in model.operation_names}
    if argv[2] not in operations:
        raise ValueError(f"aws {argv[1]} has no operation {argv[2]!r}")
    input_shape = model.operation_model(operations[argv[2]]).input_shape
    members = {xform_name(name, "-"): (name, shape) for name, shape in (input_shape.members if input_shape else {}).items()}
    parsed = AwsCommand(service, operations[argv[2]])
    options = argv[3:]
    while options:
        option, *options = options
        if not option.startswith("--"):
            raise ValueError(f"{option!r}: expected an option")
        name = option[2:]
        if name in ("region", "query"):
            value, *options = options
            if name == "query":
                jmespath.compile(value)
            parsed = AwsCommand(parsed.service, parsed.operation, parsed.parameters,
                                **{"region": parsed.region, "query": parsed.query, name: value})
            continue
        if name not in members:
            raise ValueError(f"aws {argv[1]} {argv[2]} has no option {option}")
        member, shape = members[name]
        if shape.type_name == "boolean":
            parsed.parameters[member] = True
            continue
        value, *options = options
        parsed.parameters[member] = _value(shape, value)
    missing = sorted(set(input_shape.required_members if input_shape else ()) - set(parsed.parameters))
    if missing:
        raise ValueError(f"aws {argv[1]} {argv[2]}: missing required {missing}")
    try:
        validate_parameters(parsed.parameters, input_shape)
    except Exception as error:  # botocore's ParamValidationError lists every problem
        raise ValueError(str(error)) from None
    return parsed


def _value(shape: Shape, text: str) -> Any:
    """``text`` as the CLI reads it for a parameter of ``shape``."""
    if text[:1] in "[{":
        import json

        return json.loads(text)
    if shape.type_name == "list":
        return [_value(shape.member, text)]
    if shape.type_name == "structure":
        pairs = dict(pair.split("=", 1) for pair in text.split(","))
        return {key: _value(shape.members[key], value) for key, value in pairs.items()}
    if shape.type_name in ("integer", "long"):
        return int(text)
    return text


@dataclass(frozen=True)
class CurlCommand:
    """A parsed ``curl`` command: its options and the URL's scheme, host and path."""

    options: tuple[str, ...]
    scheme: str
    host: str
    path: str


def parse_curl(command: str) -> CurlCommand:
    """Parse ``curl [options] <url>``.

    Raises:
        ValueError: not a curl command, or its last argument is not an http(s) URL.
    """
    argv = shlex.split(command)
    if len(argv) < 2 or argv[0] != "curl":
        raise ValueError(f"not a curl command: {command!r}")
    url = urlsplit(argv[-1])
    if url.scheme not in ("http", "https") or not url.netloc:
        raise ValueError(f"{argv[-1]!r}: expected an http(s) URL")
    return CurlCommand(tuple(argv[1:-1]), url.scheme, url.netloc, url.path)  # netloc: hostname lowercases
