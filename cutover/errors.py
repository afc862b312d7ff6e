"""The migration's errors and exit codes: what the core raises (``CutoverError``, ``UsageError``) and the fixed
``ExitCode`` each carries.

The core of ``cutover/`` raises these and knows nothing of a command line; the command line (``cutover/cli/``)
reports one as a single line on stderr and exits with its ``exit_code`` (``cutover.cli.main``,
``cli_common.boundary.run``).
"""

from __future__ import annotations

from enum import IntEnum

from cli_common.failures import ExpectedFailure, Kind


class ExitCode(IntEnum):
    """The tool's fixed exit codes."""

    OK = 0
    DIFFERENT = 1
    """A difference was found, or a check failed."""
    USAGE = 2
    """Bad usage or configuration: the message names the field, the value and the rule."""
    INTERNAL = 3
    """Nothing could be concluded: a database, AWS or the emulator could not be reached or refused the credentials
    or access, Terraform could not read the stack's outputs, or an internal error."""


class CutoverError(ExpectedFailure):
    """An expected failure, reported as one line on stderr (no traceback) and its exit code."""

    def __init__(self, message: str, *, exit_code: ExitCode = ExitCode.INTERNAL, hint: str = "") -> None:
        super().__init__(message, kind=Kind.USAGE if exit_code == ExitCode.USAGE else Kind.FAILED, hint=hint)
        self.exit_code = exit_code


class UsageError(CutoverError):
    """Bad input, named as ``field = value: rule``; raised before anything reaches AWS or a database."""

    def __init__(self, field: str, value: object, rule: str) -> None:
        super().__init__(f"{field} = {value!r}: {rule}", exit_code=ExitCode.USAGE)
        self.field, self.value, self.rule = field, value, rule
