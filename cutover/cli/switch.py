"""``cutover shift``, ``cutover switchover``, ``cutover rollback``, ``cutover resume``: the migration's moves.

Each holds the operator lock for its whole run (a second operator is refused) and journals every step before it
acts (:mod:`cutover.journal`). Progress (what a step waits for) goes to stderr, the result to stdout.
"""

from __future__ import annotations

from typing import Annotated

import typer

from cutover.cli.app import app
from cutover.cli.options import (
    AppRole, Environment, FreezeLimit, LegacyRoles, ReplicationKind, SourceDsn, StateDir, TargetDsn, context,
)
from cutover.errors import UsageError
from cutover.cli.terminal import terminal
from cutover.roles import APP_ROLE

Steps = Annotated[str, typer.Option("--steps", help="Percentages of traffic to the new side, increasing, ending at 100")]
Bake = Annotated[float, typer.Option("--bake", help="Seconds each step is held while the gates are checked "
                                     "(at least the record TTL, 60 s for an alias)")]


def _shift_factory(ctx, steps: str = "10,25,50,100", bake: float = 300.0):  # noqa: ANN001, ANN202
    from cutover.traffic import Shift, parse_steps

    def build(run: str | None = None) -> Shift:
        shift = Shift(ctx.records, ctx.gates(), ctx.journal, steps=parse_steps(steps), bake_seconds=bake,
                      progress=terminal.step)
        if run:
            shift.run = run
        return shift
    return build


def _refuse_if_interrupted(journal) -> None:  # noqa: ANN001
    """A new run while another was interrupted would act on top of a half-done one.

    Raises:
        CutoverError: (exit 1) the journal's last run has no end; nothing was done.
    """
    from cutover.errors import CutoverError, ExitCode
    from cutover.switchover import incomplete_run

    pending = incomplete_run(journal)
    if pending:
        raise CutoverError(f"run {pending[0].run} ({pending[0].operation}) was interrupted at step {pending[-1].step}: "
                           "`cutover resume` continues it, `cutover rollback` undoes it", exit_code=ExitCode.DIFFERENT)


@app.command("shift")
def shift(environment: Environment = "local", steps: Steps = "10,25,50,100", bake: Bake = 300.0,
          source_dsn: SourceDsn = None, target_dsn: TargetDsn = None, replication: ReplicationKind = None,
          app_role: AppRole = APP_ROLE, state_dir: StateDir = None, legacy_role: LegacyRoles = None) -> None:
    """Phase 1: move the public traffic to the new ALB step by step; any gate failing moves it all back."""
    from cutover.traffic import ALIAS_TTL_SECONDS, parse_steps

    parse_steps(steps)  # bad options are named before anything is contacted
    if bake < ALIAS_TTL_SECONDS:
        raise UsageError("--bake", bake, f"must be at least the record TTL ({ALIAS_TTL_SECONDS} s)")
    ctx = context(environment, source_dsn, target_dsn, replication, app_role, state_dir, legacy_roles=legacy_role)
    build = _shift_factory(ctx, steps, bake)
    with ctx.journal:
        _refuse_if_interrupted(ctx.journal)
        weights = build().execute()
    terminal.print(f"traffic shifted: legacy={weights['legacy']} new={weights['new']}")


@app.command("switchover")
def switchover(environment: Environment = "local", source_dsn: SourceDsn = None, target_dsn: TargetDsn = None,
               replication: ReplicationKind = None, app_role: AppRole = APP_ROLE,
               state_dir: StateDir = None, freeze_limit: FreezeLimit = 30.0, legacy_role: LegacyRoles = None) -> None:
    """Phase 2: freeze the source, drain, verify, sync sequences, point the writer name at the target, start the
    reverse replication, unfreeze the target."""
    from cutover.switchover import Refused, switch

    ctx = context(environment, source_dsn, target_dsn, replication, app_role, state_dir, freeze_limit, legacy_role)
    weights = ctx.records.weights()
    if weights.get("legacy", 0) != 0:  # phase 2 only once phase 1 is done: the legacy application would be refused
        raise Refused(f"the legacy endpoint still has weight {weights['legacy']} (new {weights['new']}): "
                      "`cutover shift` moves all the traffic to the new side first")
    with ctx.journal:
        result = switch(ctx.migration(terminal.step), "switchover")
    terminal.print(f"switchover completed: the target is the writer (write freeze {result.parts_text()})")


@app.command("rollback")
def rollback(environment: Environment = "local", source_dsn: SourceDsn = None, target_dsn: TargetDsn = None,
             replication: ReplicationKind = None, app_role: AppRole = APP_ROLE, state_dir: StateDir = None,
             freeze_limit: FreezeLimit = 30.0, legacy_role: LegacyRoles = None) -> None:
    """Undo the last move: an interrupted run, the switchover (writer back to the source), then the weights."""
    from cutover.recovery import rollback as roll_back

    ctx = context(environment, source_dsn, target_dsn, replication, app_role, state_dir, freeze_limit, legacy_role)
    with ctx.journal:
        done = roll_back(ctx.migration(terminal.step), ctx.records, terminal.step)
    terminal.print("\n".join(done) if done else "nothing to roll back")


@app.command("resume")
def resume(environment: Environment = "local", source_dsn: SourceDsn = None, target_dsn: TargetDsn = None,
           replication: ReplicationKind = None, app_role: AppRole = APP_ROLE, state_dir: StateDir = None,
           freeze_limit: FreezeLimit = 30.0, steps: Steps = "10,25,50,100", bake: Bake = 300.0,
           legacy_role: LegacyRoles = None) -> None:
    """Continue an interrupted switchover, rollback or shift from where the journal says it stopped."""
    from cutover.recovery import resume_any

    ctx = context(environment, source_dsn, target_dsn, replication, app_role, state_dir, freeze_limit, legacy_role)
    with ctx.journal:
        terminal.print(resume_any(ctx.migration(terminal.step), _shift_factory(ctx, steps, bake)))
