"""The one object that owns the operator CLI's output: results on stdout, errors on stderr.

Commands print through ``terminal``; the error boundary (``ops.cli.main``) turns an expected failure into one
message on stderr and an exit code (``ExitCode``), never a traceback. Text from Terraform, AWS or the
configuration is printed as text, never read as Rich markup.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any

from rich.console import Console
from rich.text import Text


class ExitCode(IntEnum):
    """The CLI's exit codes."""

    OK = 0
    FAILED = 1
    """Terraform, the emulator or a check failed, or a stack was not found."""
    USAGE = 2
    """Bad usage or configuration (the message names the field, the value and the rule)."""
    STATEFUL_CHANGE = 3
    """``ops diff``: the plan replaces, destroys or disables a stateful resource that no ``--allow-destroy``
    acknowledges."""


class Terminal:
    """Owns stdout (``out``: results, tables) and stderr (``err``: errors)."""

    def __init__(self) -> None:
        self.out = Console(highlight=False)
        self.err = Console(stderr=True, highlight=False)

    def print(self, *renderables: Any) -> None:
        """Print results to stdout: ``str`` as plain text (no markup), Rich renderables (tables, Markdown) as such."""
        self.out.print(*(Text(item) if isinstance(item, str) else item for item in renderables))

    def error(self, message: object) -> None:
        """Print ``message`` to stderr in red, as plain text."""
        self.err.print(Text(str(message), style="red"))


terminal = Terminal()


def expected_error(error: BaseException) -> ExitCode | None:
    """The exit code of an expected failure (its message is the whole report), or None for a bug.

    The error classes are imported here, on failure only, so that starting the CLI stays fast.
    """
    from config import ConfigError
    from emulator import EmulatorError
    from terraform_driver import TerraformError, UnknownStack

    if isinstance(error, ConfigError):
        return ExitCode.USAGE
    if isinstance(error, (EmulatorError, TerraformError, UnknownStack, FileNotFoundError)):
        return ExitCode.FAILED
    return None
