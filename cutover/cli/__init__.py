"""The ``cutover`` command line: one module per command group, all registered on :data:`cutover.cli.app.app`.

Each command module keeps its heavy imports (psycopg, boto3) inside its functions, so that ``--help`` and
start-up stay fast; the one :class:`cutover.cli.terminal.Terminal` owns what reaches the screen and the exit code.
"""

from __future__ import annotations

from cutover.cli.app import app, main

# Command modules register themselves on ``app`` when imported (one line each, in the order of the runbook).
from cutover.cli import commands  # noqa: E402,F401

__all__ = ["app", "main"]
