"""The operator CLI's terminal (``cli_common.terminal.Terminal``) and its exit codes.

Commands print through ``terminal``; the error boundary (``ops.cli.main``, ``cli_common.boundary.run``) reports an
expected failure as one line on stderr, ``error: <what failed>; <what to do>``, and exits with ``EXIT_CODES`` of
its kind, never with a traceback. Text from Terraform, AWS or the configuration is printed as text, never read as
Rich markup.
"""

from __future__ import annotations

from enum import IntEnum

import typer

from cli_common.failures import Kind
from cli_common.terminal import Terminal


class ExitCode(IntEnum):
    """The operator CLI's exit codes (docs/reference.md "Errors, exit codes and output", ``python -m ops --help``)."""

    OK = 0
    FAILED = 1
    """Terraform failed, a check failed (validate, security-scan, a stack that could not be planned), AWS refused a
    call, or something needed is missing (nothing synthesized, no ``terraform`` on PATH)."""
    USAGE = 2
    """Bad usage or configuration: the message names the field, the value and the rule (or the unknown stack)."""
    UNAVAILABLE = 3
    """AWS could not be used: no or rejected credentials, access denied, or the endpoint (the local emulator) does
    not answer."""
    STATEFUL_CHANGE = 4
    """``ops diff``: the plan replaces, destroys or disables a stateful resource that no ``--allow-destroy``
    acknowledges."""


EXIT_CODES: dict[Kind, int] = {
    Kind.USAGE: ExitCode.USAGE, Kind.CONFIGURATION: ExitCode.USAGE,
    Kind.CREDENTIALS: ExitCode.UNAVAILABLE, Kind.ACCESS_DENIED: ExitCode.UNAVAILABLE,
    Kind.UNREACHABLE: ExitCode.UNAVAILABLE,
    Kind.AWS: ExitCode.FAILED, Kind.TERRAFORM: ExitCode.FAILED, Kind.MISSING: ExitCode.FAILED,
    Kind.FAILED: ExitCode.FAILED,
}
"""Exit code of each kind of expected failure."""

EXIT_CODES_HELP = ("Exit codes: 0 done; 1 Terraform or a check failed, AWS refused a call, or nothing was "
                   "synthesized; 2 bad usage or configuration; 3 AWS unusable: no or rejected credentials, access "
                   "denied, the endpoint (local emulator) not answering; 4 (ops diff) a stateful resource would be replaced or "
                   "destroyed and no --allow-destroy acknowledges it. Errors go to stderr, one line each.")
"""The exit codes as the help text shows them."""

JSON = typer.Option(False, "--json", help="Print one JSON document on stdout (for scripts); messages go to stderr.")
"""The ``--json`` flag of every command whose result a script may read."""

terminal = Terminal()
