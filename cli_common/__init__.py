"""What every command line of the project shares: one error boundary, one kind of terminal, one JSON form.

The operator runs ``python -m ops``, ``python -m cutover``, ``python -m emulator.server`` and the ``bench/`` scripts;
each keeps its own commands, its own ``terminal`` and its own documented exit codes, and gets from here:

- ``cli_common.failures``: which exceptions are expected failures (bad configuration, missing or rejected AWS
  credentials, AWS access denied, an endpoint, emulator or database that cannot be reached, Terraform failures)
  and the one line that reports each (``Failure``: what failed and what to do);
- ``cli_common.terminal``: ``Terminal``, results on stdout (a table on a terminal, plain lines in a log or a pipe,
  JSON for scripts), errors and progress on stderr, text from Terraform, AWS or PostgreSQL never read as Rich markup;
- ``cli_common.boundary``: ``run``, the error boundary around a typer app: an expected failure is reported by the
  terminal and exits with the CLI's code for its kind, never with a traceback or local variables.

A leaf: it imports no other folder of the project (error classes of ``config``, ``terraform_driver``,
``emulator`` and the libraries are recognised only once their module is loaded, see ``failures``), and no cdktf.
"""

from cli_common.failures import ExpectedFailure, Failure, Kind, describe

__all__ = ["ExpectedFailure", "Failure", "Kind", "describe"]
