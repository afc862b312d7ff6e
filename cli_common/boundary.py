"""The error boundary around every command line of the project: ``run`` for a typer app, ``guard`` for any other
entry point (``python -m emulator.server``'s argparse), ``run_command`` for a script's single typer function.

An expected failure (``cli_common.failures.describe``) is printed by the CLI's terminal as one line on stderr,
``error: <what failed>; <what to do>`` (details indented below it), and the process exits with the CLI's code for
its kind; no traceback, no local variables. Anything else is a bug: its plain Python traceback is printed (typer's
pretty exceptions, which can show local variables, are off in every app of the project) and the exit code is 1.
Usage errors are click's: its message on stderr and exit code 2. Ctrl-C: ``Aborted!`` and exit code 1 (click).

Follows click's exception handling (https://click.palletsprojects.com/en/stable/exceptions/) and typer's
``pretty_exceptions_enable`` (https://typer.tiangolo.com/tutorial/exceptions/).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any, NoReturn

from cli_common.failures import Failure, Kind, describe
from cli_common.terminal import Terminal

SCRIPT_EXIT_CODES: dict[Kind, int] = {kind: 1 for kind in Kind} | {Kind.USAGE: 2, Kind.CONFIGURATION: 2}
"""Exit codes of a script with no codes of its own (``bench/``, ``python -m emulator.server``): 0 done, 1 failed,
2 bad usage or configuration."""

SCRIPT_EXIT_CODES_HELP = "Exit codes: 0 done; 1 failed; 2 bad usage. Errors go to stderr, one line each."


def guard(call: Callable[[], Any], *, terminal: Terminal, exit_codes: Mapping[Kind, int] = SCRIPT_EXIT_CODES,
          own: Callable[[BaseException], Failure | None] = lambda error: None) -> NoReturn:
    """Call ``call`` and exit with its return value (an ``int`` exit status, None for 0), or report an expected
    failure on ``terminal`` and exit with ``exit_codes`` of its kind.

    Args:
        call: the entry point, without arguments.
        terminal: the CLI's terminal, which prints the failure.
        exit_codes: the CLI's exit code for every ``Kind`` (default ``SCRIPT_EXIT_CODES``).
        own: the CLI's own describer, tried before ``describe``.
    """
    try:
        status = call()
    except Exception as error:  # the boundary: expected failures are reported, anything else is a bug
        failure = own(error) or describe(error)
        if failure is None:
            raise
        terminal.failure(failure)
        sys.exit(failure.exit_code if failure.exit_code is not None else int(exit_codes[failure.kind]))
    sys.exit(status or 0)


def run(app: Callable[..., Any], argv: list[str] | None, *, prog_name: str, terminal: Terminal,
        exit_codes: Mapping[Kind, int], own: Callable[[BaseException], Failure | None] = lambda error: None,
        ) -> NoReturn:
    """Run ``app`` (a typer app) with ``argv`` (None: ``sys.argv[1:]``) under ``guard``.

    Args:
        app: the typer application (called with ``args`` and ``prog_name``; it exits itself when it is done).
        prog_name: the program name shown in usage and help, e.g. ``python -m ops``.
        terminal / exit_codes / own: as for ``guard``.
    """
    guard(lambda: app(args=argv, prog_name=prog_name), terminal=terminal, exit_codes=exit_codes, own=own)


def run_command(function: Callable[..., Any], *, prog_name: str, epilog: str = "") -> NoReturn:
    """Run one typer command function as a script (``typer.run``, with the boundary): exit codes
    ``SCRIPT_EXIT_CODES``, shown in ``--help`` with ``epilog``."""
    import typer

    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, pretty_exceptions_show_locals=False)
    app.command(epilog=" ".join(filter(None, [epilog, SCRIPT_EXIT_CODES_HELP])))(function)
    run(app, None, prog_name=prog_name, terminal=Terminal(), exit_codes=SCRIPT_EXIT_CODES)
