"""``cutover replication start|stop|resume``: the forward (source -> target) or reverse replication."""

from __future__ import annotations

from typing import Annotated

import typer

from cutover.cli.app import app
from cutover.cli.options import (
    AppRole, Environment, LegacyRoles, ReplicationKind, SourceDsn, StateDir, TargetDsn, context,
)
from cutover.cli.terminal import UsageError, terminal
from cutover.roles import APP_ROLE

replication_app = typer.Typer(no_args_is_help=True, help="Start, stop or resume replication between the databases.")
app.add_typer(replication_app, name="replication")

Direction = Annotated[str, typer.Option("--direction", help="forward (source -> target) or reverse")]


def _act(action: str, direction: str, environment: str, source_dsn: str | None, target_dsn: str | None,
         replication: str, app_role: str, state_dir, legacy_roles: list[str] | None) -> None:
    if direction not in ("forward", "reverse"):
        raise UsageError("--direction", direction, "must be forward or reverse")
    ctx = context(environment, source_dsn, target_dsn, replication, app_role, state_dir, legacy_roles=legacy_roles)
    repl = ctx.replication(direction)
    subscriber = ctx.database("target" if direction == "forward" else "source")
    if action in ("start", "resume"):
        _refuse_writing_into_the_writer(direction, subscriber, ctx.writer.value())
    journal = ctx.journal
    with journal:
        run = f"replication-{action}-{direction}"
        journal.write(run, "replication", action, "begin", direction=direction, kind=replication)
        if action == "start":
            subscriber.freeze()  # the database replication writes into refuses application writes: not the writer
            repl.start(initial_copy=direction == "forward")
        else:
            getattr(repl, action)()
        journal.write(run, "replication", action, "done", direction=direction)
        journal.write(run, "replication", "end", "end", outcome="completed")
    status = repl.status()
    terminal.print(f"replication {direction}: {status.state}"
                   + (f", lag {status.lag_bytes} bytes" if status.lag_bytes is not None else ""))


def _refuse_writing_into_the_writer(direction: str, subscriber, writer: str | None) -> None:  # noqa: ANN001
    """Replication writes into its subscriber, whose application role it freezes: never the writer, or no database
    would accept payment writes (and the writer's rows would be overwritten from the other side).

    Raises:
        CutoverError: (exit 1) the writer name points at the subscriber; nothing was done.
    """
    from cutover.cli.terminal import CutoverError, ExitCode

    if writer == subscriber.address:
        other = "reverse" if direction == "forward" else "forward"
        raise CutoverError(f"refused: the writer name points at the {subscriber.name}, which {direction} replication "
                           f"would write into and freeze; with the {subscriber.name} as the writer, `cutover "
                           f"replication start --direction {other}` is the direction that runs (`cutover status`)",
                           exit_code=ExitCode.DIFFERENT)


@replication_app.command("start")
def start(environment: Environment = "local", direction: Direction = "forward", source_dsn: SourceDsn = None,
          target_dsn: TargetDsn = None, replication: ReplicationKind = "native", app_role: AppRole = APP_ROLE,
          state_dir: StateDir = None, legacy_role: LegacyRoles = None) -> None:
    """Start replication: forward = full load then changes (the target's application role is frozen first)."""
    _act("start", direction, environment, source_dsn, target_dsn, replication, app_role, state_dir, legacy_role)


@replication_app.command("stop")
def stop(environment: Environment = "local", direction: Direction = "forward", source_dsn: SourceDsn = None,
         target_dsn: TargetDsn = None, replication: ReplicationKind = "native", app_role: AppRole = APP_ROLE,
         state_dir: StateDir = None, legacy_role: LegacyRoles = None) -> None:
    """Stop applying changes; the position is kept."""
    _act("stop", direction, environment, source_dsn, target_dsn, replication, app_role, state_dir, legacy_role)


@replication_app.command("resume")
def resume(environment: Environment = "local", direction: Direction = "forward", source_dsn: SourceDsn = None,
           target_dsn: TargetDsn = None, replication: ReplicationKind = "native", app_role: AppRole = APP_ROLE,
           state_dir: StateDir = None, legacy_role: LegacyRoles = None) -> None:
    """Continue applying changes from the kept position."""
    _act("resume", direction, environment, source_dsn, target_dsn, replication, app_role, state_dir, legacy_role)
