"""Expected failures and the line that reports each: what failed, and what to do about it.

``describe(error)`` turns an exception an operator can meet in normal use into a ``Failure`` (its ``Kind``, a
one-line ``message``, a ``hint`` and, where there is more to read, ``details``: every configuration problem,
Terraform's diagnostics). Anything else is a bug and gets ``None`` (the boundary lets its traceback through).

The kinds and what raises them:

- ``CONFIGURATION``: ``config.ConfigError`` (every problem, ``field = value: rule``);
- ``USAGE``: an unknown stack (``terraform_driver.UnknownStack``), an ``ExpectedFailure`` of that kind;
- ``CREDENTIALS``: no AWS credentials (botocore ``NoCredentialsError``, ``PartialCredentialsError``, ...) or
  credentials AWS rejects (``ClientError`` ``ExpiredToken``, ``InvalidClientTokenId``, ...);
- ``ACCESS_DENIED``: ``ClientError`` ``AccessDenied*``, ``UnauthorizedOperation`` (the caller lacks a permission);
- ``AWS``: any other ``ClientError`` (AWS answered, e.g. a resource that does not exist);
- ``UNREACHABLE``: an endpoint that does not answer (botocore ``EndpointConnectionError``, ``ConnectTimeoutError``,
  ``ConnectionRefusedError``), no emulator running (``emulator.EmulatorError``), PostgreSQL not reachable or
  refusing the login (psycopg ``OperationalError``);
- ``TERRAFORM``: ``terraform_driver.TerraformError`` (the stack, the command, Terraform's diagnostics);
- ``MISSING``: a file or program that is not there (``FileNotFoundError``: nothing synthesized, no ``terraform``);
- ``FAILED``: an ``ExpectedFailure`` raised by the project's own code.

Error classes of other folders and libraries are recognised by their module and name, and only once that module is
loaded (an exception of a class cannot exist before its module is imported): reporting a failure imports nothing,
and this module depends on no other folder of the project.

Follows botocore's exceptions (https://botocore.amazonaws.com/v1/documentation/api/latest/client_upgrades.html,
``botocore/exceptions.py``) and AWS's common error codes
(https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html#CommonErrors).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from enum import Enum


class Kind(str, Enum):
    """What kind of expected failure it is; each CLI maps a kind to its exit code."""

    USAGE = "usage"
    CONFIGURATION = "configuration"
    CREDENTIALS = "credentials"
    ACCESS_DENIED = "access-denied"
    UNREACHABLE = "unreachable"
    AWS = "aws"
    TERRAFORM = "terraform"
    MISSING = "missing"
    FAILED = "failed"


class ExpectedFailure(Exception):
    """An expected failure raised by the project's own code: reported as ``error: <message>`` (+ ``hint``).

    Args:
        message: what failed, one line (further lines are reported as details).
        kind: its ``Kind`` (default ``FAILED``).
        hint: what to do, e.g. ``run `make deploy-local` first`` (default: none).
    """

    def __init__(self, message: str, *, kind: Kind = Kind.FAILED, hint: str = "") -> None:
        super().__init__(message)
        self.kind, self.hint = kind, hint


@dataclass(frozen=True)
class Failure:
    """The report of an expected failure.

    Attributes:
        kind: the ``Kind``.
        message: what failed, one line, plain text (AWS's, Terraform's or PostgreSQL's words are kept as they are).
        hint: what to do, one sentence, or ``""``.
        details: further lines to read (configuration problems, Terraform's diagnostics), or none.
        exit_code: overrides the CLI's code for ``kind`` (a CLI's own error that carries its code).
    """

    kind: Kind
    message: str
    hint: str = ""
    details: tuple[str, ...] = ()
    exit_code: int | None = None

    def line(self) -> str:
        """``error: <message>[; <hint>]`` on one line."""
        return f"error: {self.message}" + (f"; {self.hint}" if self.hint else "")


def describe(error: BaseException) -> Failure | None:
    """The ``Failure`` that reports ``error``, or None when it is not an expected failure (a bug).

    Args:
        error: the exception that reached a CLI's boundary.
    """
    for describer in _DESCRIBERS:
        failure = describer(error)
        if failure is not None:
            return failure
    return None


def split(message: object, kind: Kind, hint: str = "", exit_code: int | None = None) -> Failure:
    """A ``Failure`` from a possibly multi-line message: the first line is the message, the others details."""
    lines = [line.rstrip() for line in str(message).strip().splitlines() if line.strip()] or ["(no message)"]
    return Failure(kind, lines[0], hint, tuple(lines[1:]), exit_code)


def _loaded(module: str, name: str) -> type | None:
    """The class ``module.name`` if ``module`` is imported, else None (then no exception of it exists)."""
    loaded = sys.modules.get(module)
    found = getattr(loaded, name, None) if loaded is not None else None
    return found if isinstance(found, type) else None


def _is(error: BaseException, module: str, *names: str) -> bool:
    return any((cls := _loaded(module, name)) is not None and isinstance(error, cls) for name in names)


def _own(error: BaseException) -> Failure | None:
    if isinstance(error, ExpectedFailure):
        code = getattr(error, "exit_code", None)
        return split(error, error.kind, error.hint, int(code) if code is not None else None)
    return None


def _configuration(error: BaseException) -> Failure | None:
    if not _is(error, "config.errors", "ConfigError"):
        return None
    problems = tuple(getattr(error, "problems", ()))
    source = getattr(error, "source", "the configuration")
    hint = "fix it and run the command again"
    if len(problems) == 1:
        return Failure(Kind.CONFIGURATION, f"invalid configuration {source}: {problems[0]}", hint)
    return Failure(Kind.CONFIGURATION, f"invalid configuration {source}: {len(problems)} problems", hint,
                   tuple(f"- {problem}" for problem in problems))


def _unknown_stack(error: BaseException) -> Failure | None:
    if _is(error, "terraform_driver.synthesized", "UnknownStack"):
        return Failure(Kind.USAGE, str(error), "give one of the stacks listed")
    return None


def _terraform(error: BaseException) -> Failure | None:
    if not _is(error, "terraform_driver.terraform", "TerraformError"):
        return None
    command, stack = getattr(error, "command", "?"), getattr(error, "stack", "?")
    errors = [d for d in getattr(error, "diagnostics", ()) if d.severity == "error"]
    if errors:
        first = errors[0]
        reason = first.summary + (f" ({first.address})" if first.address else "")
        details = tuple(line for diagnostic in errors for line in _diagnostic_lines(diagnostic))
    else:
        lines = [line for line in str(getattr(error, "output", "")).strip().splitlines() if line.strip()]
        reason, details = "no diagnostic (Terraform's last output below)", tuple(lines[-20:])
    hint = ("another run holds the state lock: wait for it, or release a stale lock with `terraform force-unlock`"
            if errors and errors[0].summary == "Error acquiring the state lock" else
            "Terraform's diagnostics follow")
    return Failure(Kind.TERRAFORM, f"terraform {command} failed in stack {stack!r}: {reason}", hint, details)


def _diagnostic_lines(diagnostic: object) -> list[str]:
    summary, detail = getattr(diagnostic, "summary", ""), getattr(diagnostic, "detail", "")
    return [f"{summary}:", *(f"  {line}" for line in str(detail).splitlines() if line.strip())]


_CREDENTIALS_ERRORS = ("NoCredentialsError", "PartialCredentialsError", "CredentialRetrievalError",
                       "NoAuthTokenError", "TokenRetrievalError", "SSOTokenLoadError", "UnauthorizedSSOTokenError")
_CREDENTIALS_HINT = ("set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or sign in with "
                     "`aws sso login`, then run the command again")
_REJECTED_CREDENTIALS = frozenset({"ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId",
                                   "UnrecognizedClientException", "InvalidAccessKeyId", "SignatureDoesNotMatch",
                                   "AuthFailure", "RequestExpired", "InvalidToken"})
_DENIED = frozenset({"UnauthorizedOperation", "AuthorizationError", "Forbidden", "403"})
_UNREACHABLE_ERRORS = ("EndpointConnectionError", "ConnectTimeoutError", "ConnectionClosedError",
                       "ProxyConnectionError", "ReadTimeoutError")
_UNREACHABLE_HINT = ("check the endpoint and the network; for the local environment, `make deploy-local` starts the "
                     "emulated AWS")


def _aws(error: BaseException) -> Failure | None:
    if _is(error, "botocore.exceptions", *_CREDENTIALS_ERRORS):
        return Failure(Kind.CREDENTIALS, f"no usable AWS credentials: {_one_line(error)}", _CREDENTIALS_HINT)
    if _is(error, "botocore.exceptions", "NoRegionError"):
        return Failure(Kind.CONFIGURATION, f"no AWS region: {_one_line(error)}", "set AWS_REGION")
    if _is(error, "botocore.exceptions", *_UNREACHABLE_ERRORS):
        endpoint = getattr(error, "kwargs", {}).get("endpoint_url", "")
        return Failure(Kind.UNREACHABLE, f"cannot reach AWS{' at ' + endpoint if endpoint else ''}: "
                       f"{_one_line(error)}", _UNREACHABLE_HINT)
    if not _is(error, "botocore.exceptions", "ClientError"):
        return None
    response = getattr(error, "response", {}) or {}
    code = str(response.get("Error", {}).get("Code", "") or "")
    text = str(response.get("Error", {}).get("Message", "") or "")
    operation = getattr(error, "operation_name", "") or "a call"
    said = f"{code}: {_one_line(text)}" if text else code
    if code.startswith("AccessDenied") or code in _DENIED:
        return Failure(Kind.ACCESS_DENIED, f"AWS denied {operation}: {said}",
                       f"the identity in use (`aws sts get-caller-identity`) needs permission for {operation}")
    if code in _REJECTED_CREDENTIALS:
        return Failure(Kind.CREDENTIALS, f"AWS rejected the credentials ({operation}): {said}", _CREDENTIALS_HINT)
    return Failure(Kind.AWS, f"AWS {operation} failed: {said}")


def _connection(error: BaseException) -> Failure | None:
    if isinstance(error, ConnectionRefusedError):
        return Failure(Kind.UNREACHABLE, f"connection refused: {_one_line(error)}", _UNREACHABLE_HINT)
    if _is(error, "emulator.process", "EmulatorError"):
        return split(error, Kind.UNREACHABLE)
    if _is(error, "psycopg", "OperationalError"):
        return Failure(Kind.UNREACHABLE, f"cannot connect to PostgreSQL: {_one_line(error)}",
                       "check the host, port, database and role, and that the server accepts connections")
    return None


def _missing(error: BaseException) -> Failure | None:
    if not isinstance(error, FileNotFoundError):
        return None
    name = str(error.filename or "")
    if name.endswith("manifest.json"):
        return Failure(Kind.MISSING, f"nothing synthesized: {name} does not exist",
                       "run `make synth` (or `make deploy-local` for the local environment) first")
    if name and "/" not in name:  # a program, e.g. terraform, pg_dump
        return Failure(Kind.MISSING, f"{name}: command not found", "install it (`make install`) or put it on PATH")
    return Failure(Kind.MISSING, f"{name or _one_line(error)}: no such file or directory")


def _one_line(text: object) -> str:
    """``text`` (a message or an exception) on one line, its lines joined with `` / ``; an exception without a
    message by its class name."""
    joined = " / ".join(line.strip() for line in str(text).splitlines() if line.strip())
    return joined or ("" if isinstance(text, str) else type(text).__name__)


_DESCRIBERS = (_own, _configuration, _unknown_stack, _terraform, _aws, _connection, _missing)
