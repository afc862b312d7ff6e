"""The options every database command shares: ``--source``/``--target`` DSNs or ``--environment``."""

from __future__ import annotations

from typing import Optional

import typer

from cutover.cli.terminal import UsageError

SourceOption = typer.Option(None, "--source", help="libpq connection string or URI of the source database.",
                            envvar="CUTOVER_SOURCE_DSN", show_envvar=True)
TargetOption = typer.Option(None, "--target", help="libpq connection string or URI of the target database.",
                            envvar="CUTOVER_TARGET_DSN", show_envvar=True)
EnvironmentOption = typer.Option(None, "--environment", "-e",
                                 help="Deployed environment: endpoints from the data stack's outputs, credentials "
                                      "from the validation role's secret.")
SchemaOption = typer.Option("public", "--schema", help="Schema compared on both sides.")


def resolve(source: Optional[str], target: Optional[str], environment: Optional[str]) -> tuple[str, str]:
    """Source and target DSNs from either both DSNs or an environment (not both).

    Raises:
        UsageError: neither or both ways given, or only one DSN.
    """
    if environment and (source or target):
        raise UsageError("--environment", environment, "give either --environment or --source and --target")
    if environment:
        from cutover.environment import environment_dsns

        return environment_dsns(environment)
    if not source:
        raise UsageError("--source", source, "required (or --environment)")
    if not target:
        raise UsageError("--target", target, "required (or --environment)")
    return source, target
