"""``cutover replication start|stop|resume|drop-slot``: the forward (source -> target) or reverse replication."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from cutover.cli.app import app
from cutover.cli.options import (
    AppRole, Environment, LegacyRoles, ReplicationKind, SourceDsn, StateDir, TargetDsn, context,
)
from cutover.errors import CutoverError, ExitCode, UsageError
from cutover.cli.terminal import terminal
from cutover.replication import RUNNING_STATES
from cutover.roles import APP_ROLE

replication_app = typer.Typer(no_args_is_help=True, help="Start, stop or resume replication between the databases; drop a "
                                                            "stopped direction's slot.")
app.add_typer(replication_app, name="replication")

def check_direction(value: str) -> str:
    """``--direction``'s rule: ``forward`` or ``reverse``.

    Raises:
        UsageError: ``--direction = 'sideways': must be forward or reverse``.
    """
    if value not in ("forward", "reverse"):
        raise UsageError("--direction", value, "must be forward or reverse")
    return value


Direction = Annotated[str, typer.Option("--direction", callback=check_direction,
                                        help="forward (source -> target) or reverse")]


def _act(action: str, direction: str, environment: str, source_dsn: str | None, target_dsn: str | None,
         replication: str, app_role: str, state_dir, legacy_roles: list[str] | None) -> None:
    ctx = context(environment, source_dsn, target_dsn, replication, app_role, state_dir, legacy_roles=legacy_roles)
    repl = ctx.replication(direction)
    subscriber = ctx.database("target" if direction == "forward" else "source")
    if action in ("start", "resume"):
        _refuse_writing_into_the_writer(direction, subscriber, ctx.writer.value())
    journal = ctx.journal
    with journal:
        run = f"replication-{action}-{direction}"
        initial_copy = direction == "forward" and not writer_moved_back(journal)
        with journal.one_step(run, "replication", action, direction=direction, kind=ctx.options.replication,
                              **({"initial_copy": initial_copy} if action == "start" else {})) as done:
            if action == "start":
                subscriber.freeze()  # the database replication writes into refuses application writes: not the writer
                if not initial_copy:
                    _refuse_a_slot_older_than_the_switch(repl, journal)
                repl.start(initial_copy=initial_copy)
                if not initial_copy:  # CDC only, from the slot of the last switch's freeze: running before it returns
                    from cutover.switchover import START_REPLICATION_TIMEOUT_SECONDS

                    repl.wait_running(START_REPLICATION_TIMEOUT_SECONDS)
            else:
                getattr(repl, action)()
            done["direction"] = direction
    status = repl.status()
    terminal.print(f"replication {direction}: {status.state}"
                   + (f", lag {status.lag_bytes} bytes" if status.lag_bytes is not None else ""))


def last_writer_move(journal) -> list:  # noqa: ANN001
    """The entries of the last switch run that moved the writer name (its ``switch-writer`` step done); ``[]``
    when none did."""
    from cutover.switchover import POINT_OF_NO_RETURN, SWITCH_OPERATIONS

    entries = journal.entries()
    runs = [e.run for e in entries
            if e.operation in SWITCH_OPERATIONS and e.step == POINT_OF_NO_RETURN and e.status == "done"]
    return [e for e in entries if e.run == runs[-1]] if runs else []


def writer_moved_back(journal) -> bool:  # noqa: ANN001
    """Whether the last switch that moved the writer name was a rollback (:func:`last_writer_move`): the forward
    direction ran before it and is restarted CDC-only (``start(initial_copy=False)``) from the slot the rollback
    created during its freeze (as the rollback's own ``start-replication`` step does), never by loading every table
    again into a target that holds them. False when no switch ever moved it (the first start: the full load) or the
    last one was a switchover."""
    move = last_writer_move(journal)
    return bool(move) and move[0].operation == "rollback"


def _refuse_a_slot_older_than_the_switch(repl, journal) -> None:  # noqa: ANN001
    """A CDC-only start continues from the slot the last switch created during its freeze. A slot whose
    ``confirmed_flush_lsn`` is before that switch's ``verify`` checkpoint on the publisher (taken in the freeze,
    before ``start-replication``; ``cutover.narrow``) was not created there: it predates the switch, and its
    changes include the rows the other direction applied (sent back, they stop a DMS task on the first duplicate
    or a native apply worker). Without a recorded checkpoint (``verify`` without the verify slots) nothing is
    checked; a missing slot is refused by ``start`` itself.

    Raises:
        CutoverError: (exit 1) the slot is older than the switch's checkpoint; nothing was started.
    """
    from cutover.database import lsn_to_int
    from cutover.replication.dms import DmsReplication

    verify = [e for e in last_writer_move(journal)
              if e.step == "verify" and e.status == "done" and "checkpoint" in e.details]
    if not verify:
        return
    floor = verify[-1].details["checkpoint"][repl.publisher.name]
    slot = repl.cdc_slot() if isinstance(repl, DmsReplication) else repl.slot
    with repl.publisher.connect() as conn:
        row = conn.execute("SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = %s "
                           "AND database = current_database()", (slot,)).fetchone()
    if row and row[0] and lsn_to_int(row[0]) < lsn_to_int(floor):
        raise CutoverError(f"refused: slot {slot} on the {repl.publisher.name} is at {row[0]}, before run "
                           f"{verify[-1].run}'s checkpoint {floor} there: it predates that switch's freeze and would "
                           f"send the {'reverse' if repl.name == 'forward' else 'forward'} direction's rows back; "
                           "not started", exit_code=ExitCode.DIFFERENT)


def _refuse_writing_into_the_writer(direction: str, subscriber, writer: str | None) -> None:  # noqa: ANN001
    """Replication writes into its subscriber, whose application role it freezes: never the writer, or no database
    would accept payment writes (and the writer's rows would be overwritten from the other side).

    Raises:
        CutoverError: (exit 1) the writer name points at the subscriber; nothing was done.
    """
    if writer == subscriber.address:
        other = "reverse" if direction == "forward" else "forward"
        raise CutoverError(f"refused: the writer name points at the {subscriber.name}, which {direction} replication "
                           f"would write into and freeze; with the {subscriber.name} as the writer, `cutover "
                           f"replication start --direction {other}` is the direction that runs (`cutover status`)",
                           exit_code=ExitCode.DIFFERENT)


@replication_app.command("start")
def start(environment: Environment = "local", direction: Direction = "forward", source_dsn: SourceDsn = None,
          target_dsn: TargetDsn = None, replication: ReplicationKind = None, app_role: AppRole = APP_ROLE,
          state_dir: StateDir = None, legacy_role: LegacyRoles = None) -> None:
    """Start replication: forward = full load then changes (the target's application role is frozen first); reverse,
    and forward after a rollback = changes only, from the slot of the last switch's freeze, waited for until
    running."""
    _act("start", direction, environment, source_dsn, target_dsn, replication, app_role, state_dir, legacy_role)


@replication_app.command("stop")
def stop(environment: Environment = "local", direction: Direction = "forward", source_dsn: SourceDsn = None,
         target_dsn: TargetDsn = None, replication: ReplicationKind = None, app_role: AppRole = APP_ROLE,
         state_dir: StateDir = None, legacy_role: LegacyRoles = None) -> None:
    """Stop applying changes; the position is kept."""
    _act("stop", direction, environment, source_dsn, target_dsn, replication, app_role, state_dir, legacy_role)


@replication_app.command("resume")
def resume(environment: Environment = "local", direction: Direction = "forward", source_dsn: SourceDsn = None,
           target_dsn: TargetDsn = None, replication: ReplicationKind = None, app_role: AppRole = APP_ROLE,
           state_dir: StateDir = None, legacy_role: LegacyRoles = None) -> None:
    """Continue applying changes from the kept position."""
    _act("resume", direction, environment, source_dsn, target_dsn, replication, app_role, state_dir, legacy_role)


Slot = Annotated[Optional[str], typer.Option(
    "--slot", help="The slot's name, where the direction does not know it (a DMS task whose source endpoint sets no "
                   "slot_name); given with a direction that knows its slot, it must be that one")]


@replication_app.command("drop-slot")
def drop_slot(environment: Environment = "local", direction: Direction = "forward", slot: Slot = None,
              source_dsn: SourceDsn = None, target_dsn: TargetDsn = None, replication: ReplicationKind = None,
              app_role: AppRole = APP_ROLE, state_dir: StateDir = None, legacy_role: LegacyRoles = None) -> None:
    """Drop the replication slot of a stopped direction (its publisher keeps WAL for it while it exists); refused
    while the direction runs."""
    ctx = context(environment, source_dsn, target_dsn, replication, app_role, state_dir, legacy_roles=legacy_role)
    repl = ctx.replication(direction)
    _name_the_slot(repl, slot)
    with ctx.journal as journal:
        name, status = repl.slot, repl.status()  # under the lock: no other operator starts it meanwhile
        refuse_while_a_run_is_interrupted(journal, name)
        if status.state in RUNNING_STATES:
            raise CutoverError(f"refused: replication {direction} is {status.state}; slot {name} on the "
                               f"{repl.publisher.name} kept (`cutover replication stop --direction {direction}` "
                               "first)", exit_code=ExitCode.DIFFERENT)
        run = f"replication-drop-slot-{direction}"
        with journal.one_step(run, "replication", "drop-slot", direction=direction, kind=ctx.options.replication,
                              slot=name, publisher=repl.publisher.name, state=status.state,
                              retained_bytes=status.retained_bytes) as done:
            dropped = repl.drop_slot()  # refused by PostgreSQL (slot in use): nothing dropped, journalled failed
            done.update(direction=direction, slot=name, dropped=dropped)
    where = f"slot {name} on the {repl.publisher.name}"
    terminal.print(f"replication {direction}: {where} dropped" if dropped else
                   f"replication {direction}: no {where}: nothing dropped")


def refuse_while_a_run_is_interrupted(journal, slot: str) -> None:  # noqa: ANN001
    """An interrupted switch is undone by resuming the direction it stopped, from its slot, and resumes its
    ``verify`` from the verify slots: never drop a slot then (``cutover replication drop-slot``, ``cutover
    checkpoint drop``).

    Raises:
        CutoverError: (exit 1) the journal's last run has no end; nothing was dropped.
    """
    from cutover.switchover import incomplete_run

    pending = incomplete_run(journal)
    if pending:
        raise CutoverError(f"refused: run {pending[0].run} ({pending[0].operation}) was interrupted at step "
                           f"{pending[-1].step} and may need slot {slot}: `cutover resume` or `cutover rollback` "
                           "first", exit_code=ExitCode.DIFFERENT)


def _name_the_slot(repl, slot: str | None) -> None:  # noqa: ANN001
    """``--slot`` where the direction does not know its slot; else it must be the direction's own.

    Raises:
        UsageError: ``--slot`` names another slot than the direction's.
    """
    if slot is None:
        return
    from cutover.replication.dms import DmsReplication

    if isinstance(repl, DmsReplication) and repl._slot_name() is None:  # noqa: SLF001 - the one unnamed case
        repl.slot_name = slot
    elif repl.slot != slot:
        raise UsageError("--slot", slot, f"must be replication {repl.name}'s own slot, {repl.slot}")
