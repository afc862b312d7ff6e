"""``cutover checkpoint show|drop``: the verify slots that hold the switches' checkpoint (:mod:`cutover.narrow`).

Each database keeps one logical slot, ``cutover_verify_<database OID>``, at the point where both were last proved
equal. It keeps the WAL written since on disk (PostgreSQL 15 docs 49.2.2 "Replication Slots": "Replication slots
persist across crashes and know nothing about the state of their consumer(s). They will prevent removal of
required resources even when there is no connection using them"), up to ``max_slot_wal_keep_size``. ``show`` says
how much, and whether the journal's checkpoint is still usable; ``drop`` drops both slots, journalled before it
acts: at the end of the migration, or to release a checkpoint far in the past (the next switch then compares every
table before its freeze, as the first one did).
"""

from __future__ import annotations

import json
from typing import Any

import typer

from cli_common.terminal import shown
from cutover.cli.app import app
from cutover.cli.options import (
    AppRole, AsJson, Environment, LegacyRoles, ReplicationKind, SourceDsn, StateDir, TargetDsn, context,
)
from cutover.cli.replication import refuse_while_a_run_is_interrupted
from cutover.cli.terminal import terminal
from cutover.roles import APP_ROLE

checkpoint_app = typer.Typer(no_args_is_help=True, help="The verify slots that hold the switches' checkpoint: "
                                                          "show them, drop them at the end of the migration.")
app.add_typer(checkpoint_app, name="checkpoint")



def _read(ctx) -> dict[str, Any]:  # noqa: ANN001 - cutover.context.Context
    """:func:`cutover.recovery.checkpoint_state` of the command's environment."""
    from cutover.recovery import checkpoint_state

    return checkpoint_state(ctx.journal, ctx.database("source"), ctx.database("target"))


@checkpoint_app.command("show")
def show(environment: Environment = "local", as_json: AsJson = False, source_dsn: SourceDsn = None,
         target_dsn: TargetDsn = None, replication: ReplicationKind = None, app_role: AppRole = APP_ROLE,
         state_dir: StateDir = None, legacy_role: LegacyRoles = None) -> None:
    """Each database's verify slot (position, WAL kept) and the journal's checkpoint (read-only: takes no lock)."""
    ctx = context(environment, source_dsn, target_dsn, replication, app_role, state_dir, legacy_roles=legacy_role)
    document = _read(ctx)
    if as_json:
        terminal.print(json.dumps(document, indent=2, sort_keys=True))
        return
    last = document["checkpoint"]
    terminal.fields("cutover checkpoint", (
        ("checkpoint", f"#{last['seq']} {last['run']} at {last['time']}" if last else "none"),
        ("usable", "yes: the next switch compares the rows changed since" if document["usable"]
         else "no: the next switch compares every table first"),
    ))
    terminal.listing("verify slots", ("database", "slot", "position", "WAL status", "WAL kept bytes"),
                     ((side, s["slot"], shown(s["confirmed_flush_lsn"]) if s["exists"] else "absent",
                       shown(s["wal_status"]), shown(s["retained_bytes"]))
                      for side, s in document["slots"].items()))


@checkpoint_app.command("drop")
def drop(environment: Environment = "local", source_dsn: SourceDsn = None, target_dsn: TargetDsn = None,
         replication: ReplicationKind = None, app_role: AppRole = APP_ROLE, state_dir: StateDir = None,
         legacy_role: LegacyRoles = None) -> None:
    """Drop both verify slots (the WAL they keep is released); the next switch compares every table first.
    Refused while a switch is interrupted."""
    from cutover import narrow

    ctx = context(environment, source_dsn, target_dsn, replication, app_role, state_dir, legacy_roles=legacy_role)
    with ctx.journal as journal:
        document = _read(ctx)
        names = {side: s["slot"] for side, s in document["slots"].items()}
        refuse_while_a_run_is_interrupted(journal, " and ".join(names.values()))
        run = "checkpoint-drop"
        with journal.one_step(run, "checkpoint", "drop-slots", slots=names,
                              retained_bytes={side: s["retained_bytes"] for side, s in document["slots"].items()}
                              ) as done, narrow.Sides({db.name: db.admin_dsn for db in
                                                      (ctx.database("source"), ctx.database("target"))}) as sides:
            dropped = narrow.drop_slots(sides)  # PostgreSQL refused (a slot in use): journalled failed
            done["dropped"] = dropped
    for side, was in dropped.items():
        terminal.print(f"checkpoint: verify slot {names[side]} on the {side} "
                       + ("dropped" if was else "absent: nothing dropped"))
