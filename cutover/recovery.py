"""What ``cutover rollback``, ``cutover resume`` and ``cutover status`` decide, from the journal and AWS.

- **rollback**: an interrupted switch is undone (before the point of no return) or finished and then switched
  back; an interrupted or finished traffic shift gets the weights back (legacy 100 / new 0, one change batch);
  a finished switchover is switched back (target -> source, :func:`cutover.switchover.switch` ``rollback``).
  Phase 2 is rolled back before phase 1: traffic cannot go back to the legacy application while the target is the
  writer (the legacy application writes to the source).
- **resume**: an interrupted switch continues from its first step not done; an interrupted shift holds its last
  step done for a whole bake again, then continues, with the steps and bake it was started with (journalled); an
  interrupted rollback of the weights is finished (the weights go back, never forward).
- **status**: one document of everything an operator looks at (see :func:`status`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cutover.journal import Journal
from cutover.switchover import (
    SWITCH_OPERATIONS, Abandoned, Migration, PastPointOfNoReturn, abandon, incomplete_run, resume, switch,
)

if TYPE_CHECKING:
    from cutover.database import Database
    from cutover.traffic import Gates, Shift, WeightedRecords


def writer_name(migration: Migration) -> str:
    """``source`` or ``target``: which database the writer name points at (``unknown`` otherwise)."""
    value = migration.writer.value()
    return next((db.name for db in (migration.source, migration.target) if db.address == value), "unknown")


def rollback(migration: Migration, records: WeightedRecords,
             progress: Callable[[str], None] = lambda line: None) -> list[str]:
    """Roll back what the journal and AWS say was done last (see the module docstring); returns what was done.

    Raises:
        CutoverError: a switch could not be undone (its own error says why).
    """
    done: list[str] = []
    pending = incomplete_run(migration.journal)
    if pending and pending[0].operation in SWITCH_OPERATIONS:
        operation = pending[0].operation
        try:
            abandon(migration)
        except Abandoned:
            return [f"interrupted {operation} undone: the writer is where it was before it"]
        except PastPointOfNoReturn:
            progress(f"{operation} is past the point of no return: finishing it first")
            resume(migration)
            done.append(f"interrupted {operation} finished")
            if operation == "rollback":
                return done
    elif pending and pending[0].operation == "shift":
        migration.journal.write(pending[0].run, "shift", "end", "end", outcome="interrupted")
    if writer_name(migration) == "target":
        result = switch(migration, "rollback")
        done.append(f"writer switched back to the source (write freeze {result.parts_text()})")
    weights = records.weights()
    if weights["new"] > 0:
        from cutover.traffic import Gates, Shift

        Shift(records, Gates(), migration.journal, min_bake_seconds=0, bake_seconds=0).roll_back("operator rollback")
        done.append(f"weights back to legacy=100 new=0 (were legacy={weights['legacy']} new={weights['new']})")
    return done


def resume_any(migration: Migration, shift_factory: Callable[[str], Shift]) -> str:
    """Resume what was interrupted: a switch, or a shift (``shift_factory(run)`` builds its :class:`Shift`).

    Returns:
        What was resumed, or ``nothing to resume``.
    """
    pending = incomplete_run(migration.journal)
    if not pending:
        return "nothing to resume"
    if pending[0].operation in SWITCH_OPERATIONS:
        result = resume(migration)
        return f"{pending[0].operation} {pending[0].run}: {result.outcome if result else 'nothing'}"
    if pending[0].operation == "shift":
        shift = shift_factory(pending[0].run)
        rolling_back = [e for e in pending if e.step == "rollback-weights"]
        if rolling_back:  # a rollback (a gate's or the operator's) was interrupted: finish it, never go forward
            shift.roll_back(str(rolling_back[0].details.get("reason", "resumed rollback")))
            return f"shift {pending[0].run}: rolled back (legacy=100 new=0)"
        begun = [e for e in pending if e.status == "begin" and e.step.startswith("weights-")]
        if begun and "steps" in begun[0].details:  # the interrupted run's own steps and bake, not today's options
            shift.steps = tuple(int(p) for p in begun[0].details["steps"])
            shift.bake_seconds = float(begun[0].details["bake_seconds"])
        done = [int(e.step.split("-")[1]) for e in pending if e.status == "done" and e.step.startswith("weights-")]
        shift.execute(start_after=max(done, default=0), rebake=True)
        return f"shift {pending[0].run}: completed"
    migration.journal.write(pending[0].run, pending[0].operation, "end", "end", outcome="interrupted")
    return f"{pending[0].operation} {pending[0].run}: closed (re-run the command)"


def journal_position(journal: Journal) -> dict[str, Any] | None:
    """The journal's last entry (seq, run, operation, step, status, time), or None."""
    entries = journal.entries()
    if not entries:
        return None
    last = entries[-1].to_json()
    return {key: last[key] for key in ("seq", "run", "operation", "step", "status", "time")}


def validations(entries: list[Any]) -> dict[str, Any]:
    """``last_validation``: the last full validation (every table equal: a ``cutover validate -e``, a switch's
    ``checkpoint`` that compared every table or a ``verify`` that did) and ``last_verify``: how many tables the last switch's ``verify`` compared
    and why; each ``{"time", "run", "step", "tables", ...}`` without the counters, or None."""
    def summary(entry: Any) -> dict[str, Any] | None:
        if entry is None:
            return None
        details = {k: v for k, v in entry.details.items() if k != "counters"}
        return {"time": entry.to_json()["time"], "run": entry.run, "step": entry.step, **details}

    done = [e for e in entries if e.status == "done" and e.step in ("verify", "validate", "checkpoint")]
    full = [e for e in done if e.details.get("full", True)]
    verified = [e for e in done if e.step == "verify"]
    return {"last_validation": summary(full[-1] if full else None),
            "last_verify": summary(verified[-1] if verified else None)}


def verify_compared(details: dict[str, Any]) -> str:
    """What a switch's ``verify`` compared, in words, from its journal entry's details: the keys of its window
    (``mode`` narrow: :mod:`cutover.narrow`) or the tables (``N of M tables compared``)."""
    if details.get("mode") == "narrow":
        keys, tables, whole = details.get("keys", 0), len(details.get("tables") or []), len(details.get("whole") or {})
        return f"{counted(keys, 'key')} of {counted(tables, 'table')} and {counted(whole, 'whole table')} compared"
    return f"{details.get('tables', '-')} of {counted(details.get('of', '-'), 'table')} compared"


def counted(number: Any, noun: str) -> str:
    """``1 table``, ``2 tables``, ``0 tables``; a number that is not an int (``-``: unknown) takes the plural."""
    return f"{number} {noun}{'' if number == 1 and isinstance(number, int) else 's'}"


def checkpoint_state(journal: Journal, source: Database, target: Database) -> dict[str, Any]:
    """The switches' checkpoint (``cutover checkpoint show``): the journal's last one (``checkpoint``: its seq, time,
    run and each side's LSN, or None), each database's verify slot (``slots``, :func:`cutover.narrow.slot_states`:
    name, whether it exists, position, WAL status, the WAL it keeps on disk in bytes) and whether the slots still
    sit at it (``usable``); reads, changes nothing."""
    from cutover import narrow

    last = narrow.last_checkpoint(journal.entries())
    with narrow.Sides({db.name: db.admin_dsn for db in (source, target)}) as sides:
        slots = narrow.slot_states(sides)
        usable = narrow.usable(narrow.checkpoint_of(last), sides)
    return {"checkpoint": None if last is None else {"seq": last.seq, "time": last.to_json()["time"], "run": last.run,
                                                     **last.details["checkpoint"]},
            "usable": usable, "slots": {side: vars(state) for side, state in slots.items()}}


def phase(migration: Migration, weights: dict[str, int]) -> str:
    """The migration's phase: ``interrupted``, ``before-shift``, ``shifting``, ``shifted`` or ``switched``."""
    if incomplete_run(migration.journal):
        return "interrupted"
    if writer_name(migration) == "target":
        return "switched"
    if weights.get("new", 0) == 0:
        return "before-shift"
    return "shifted" if weights.get("legacy", 0) == 0 else "shifting"


def status(migration: Migration, records: WeightedRecords, gates: Gates | None = None) -> dict[str, Any]:
    """Everything at once: phase, weights, gates (health, alarms), both replications (state, per-table progress,
    lag, CDC latency, WAL retained by the slot), the writer, the last full validation, what the last switch's
    ``verify`` compared (:func:`validations`), the verify slots (:func:`checkpoint_state`) and the journal's position."""
    weights = records.weights()
    entries = migration.journal.entries()
    document: dict[str, Any] = {
        "phase": phase(migration, weights),
        "weights": weights,
        "writer": {"name": writer_name(migration), "address": migration.writer.value()},
        "replication": {r.name: r.status().to_json() for r in (migration.forward, migration.reverse)},
        "frozen": {db.name: db.frozen() for db in (migration.source, migration.target)},
        **validations(entries),
        "verify_slots": checkpoint_state(migration.journal, migration.source, migration.target)["slots"],
        "journal": journal_position(migration.journal),
    }
    if gates is not None and document["phase"] in ("before-shift", "shifting", "shifted"):
        document["gate_problems"] = gates.problems()  # phase 1's gates: not what holds once the writer moved
    return document
