"""The entry point and error boundary: registers every command group, runs the app, maps failures to exit codes."""

from __future__ import annotations

from cli_common.boundary import run
from cli_common.failures import Failure
from cutover.cli.app import app
from cutover.cli.terminal import EXIT_CODES, terminal


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; an expected failure (a :class:`CutoverError`, or one of ``cli_common.failures``: AWS
    credentials or access, an unreachable emulator or database, Terraform) prints one line to stderr and exits with
    its code.

    A statement PostgreSQL refused (a missing role, table or privilege) is one line too, naming the side, the
    object and what to run (:func:`cutover.postgres.statement_failure`).

    Exit codes (:class:`ExitCode`): 0 success, 1 a difference or a failed check, 2 bad usage or configuration
    (click's usage errors exit 2 as well), 3 a connection or internal error.
    """
    import cutover.cli.commands  # noqa: F401  (registers every command group on ``app``)
    from cli_common.failures import describe
    from cutover.postgres import statement_failure

    def own(error: BaseException) -> Failure | None:  # a refused statement: its side, object and what to run
        failure = statement_failure(error)
        return describe(failure) if failure is not None else None

    run(app, argv, prog_name="cutover", terminal=terminal, exit_codes=EXIT_CODES, own=own)
