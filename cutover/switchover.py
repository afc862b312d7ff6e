"""Phase 2: switch the database writer, and roll it back, under one invariant.

**At every moment exactly one database accepts payment writes, and nothing acknowledged is lost.** The database
that is not the writer keeps the application role frozen (:meth:`cutover.database.Database.freeze`); a switch
moves the writer in these journalled steps (``STEPS``), each written to the journal before it acts:

=====================  ==========================================================================================
``check``              refuse before freezing anything: the old direction's replication must be ``running`` with
                       lag under ``Policy.max_lag_bytes`` (or, a DMS task's own slot unknown, its CDC latency under
                       ``Policy.max_latency_seconds``); the writer name must point at the old writer; the new
                       writer is (made) frozen
``checkpoint``         before freezing, writes going on (:mod:`cutover.narrow`): both databases proved equal up to
                       a checkpoint, each one's verify slot position: the window since the last checkpoint
                       compared (its rows in flight re-read once replication passed it), or, with none usable,
                       the verify slots created, every table compared (``cutover validate`` with its re-check),
                       then the window of the writes made meanwhile
``freeze``             old writer: application role read-only, its sessions ended in rounds (abandoned when one
                       survives); a deadline armed in the database; the freeze LSN is recorded
``drain``              wait until replication applied everything committed before the freeze: a sentinel row
                       written on the old writer after the freeze, seen on the new writer (native replication;
                       as gh-ost does), else the slot's ``confirmed_flush_lsn`` at the freeze LSN; at most until
                       the freeze limit
``verify``             the window since the ``checkpoint`` step: the rows changed there on either database (their
                       keys decoded from the verify slots) compared on both sides, tables truncated or rewritten
                       compared whole: must be equal; the slots advance (the next checkpoint). Without a usable
                       checkpoint (a slot moved, a session older than the freeze): the tables changed since the
                       last full validation (:mod:`cutover.baseline`) compared whole
                       (:func:`cutover.checks.compare_tables`)
``sequences``          every sequence of the new writer past the old one's (:func:`cutover.checks.advance_sequences`)
``stop-replication``   the old direction stops (its position kept: an abandoned switch resumes it)
``switch-writer``      the old writer's deadline disarmed (abandoned if it fired); the writer name points at the
                       new writer (Route 53 UPSERT): the point of no return
``start-replication``  the other direction starts from the new writer's current LSN (nothing is written there yet)
                       and is waited for until ``running`` (``START_REPLICATION_TIMEOUT_SECONDS``); a start that
                       fails is journalled (``started: false``) and printed with what to run, and the switch goes on
``unfreeze``           the new writer accepts application writes: the freeze ends; the sessions of the freeze on
                       the new writer and the application's sessions on the old one are ended
=====================  ==========================================================================================

The freeze is measured (``freeze`` began -> ``unfreeze`` done) and bounded: once it passes ``Policy.freeze_limit``
before the point of no return, the switch is abandoned: the steps done are undone in reverse (replication
resumed, the old writer unfrozen), each undo journalled, and nothing acknowledged was lost because the old writer
never stopped being the only writer. Past the point of no return a switch only goes forward (``cutover resume``).

A rollback of phase 2 is the same switch in the other direction (target -> source, through the reverse
replication). An interrupted switch is found in the journal: :func:`resume` continues it from its first step not
done; :func:`abandon` undoes it (only before the point of no return).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from cutover.database import Database, SessionsSurvived
from cutover.errors import CutoverError, ExitCode, UsageError
from cutover.journal import Entry, Journal
from cutover.replication import Replication, ReplicationStatus
from cutover.writer import WriterRecord

if TYPE_CHECKING:
    from cutover import narrow

DEADLINE_FACTOR = 2
"""The old writer's freeze lifts itself at ``freeze began + DEADLINE_FACTOR x freeze limit`` (in the database,
:meth:`cutover.database.Database.arm_deadline`) unless ``switch-writer`` disarmed it first."""
STEPS = ("check", "checkpoint", "freeze", "drain", "verify", "sequences", "stop-replication", "switch-writer",
         "start-replication", "unfreeze")
POINT_OF_NO_RETURN = "switch-writer"
CHECKPOINT_RECHECK_SECONDS = 2.0
"""Before the freeze, a table compared whole is compared again after this many seconds where it differed (rows
in flight, ``cutover validate --recheck-after``)."""
CHECKPOINT_WAIT_SECONDS = 60.0
"""Before the freeze, how long the ``checkpoint`` step waits for the old direction to apply its window's end when
keys differed (they may be in flight), seconds."""
SWITCH_OPERATIONS = ("switchover", "rollback")
START_REPLICATION_TIMEOUT_SECONDS = 300.0
"""How long ``start-replication`` waits for the new direction to be ``running`` with its slot before it unfreezes
the new writer anyway and says what to run, seconds (a DMS task starts in tens of seconds to minutes)."""


class Refused(CutoverError):
    """A precondition failed before anything was frozen."""

    def __init__(self, message: str) -> None:
        super().__init__(f"refused before freezing: {message}", exit_code=ExitCode.DIFFERENT)


class Abandoned(CutoverError):
    """The switch was abandoned and undone (the old writer writes again)."""

    def __init__(self, message: str) -> None:
        super().__init__(f"switch abandoned, old writer unfrozen: {message}", exit_code=ExitCode.DIFFERENT)


class PastPointOfNoReturn(CutoverError):
    """An interrupted switch already moved the writer name: it can only be finished (``cutover resume``)."""


class _FreezeLimit(Exception):
    """The freeze passed its limit before the point of no return."""


@dataclass(frozen=True)
class Policy:
    """Bounds of a switch.

    Attributes:
        freeze_limit_seconds: longest write freeze before the point of no return, seconds; default 30.
        max_lag_bytes: replication lag (WAL bytes not yet confirmed) allowed before freezing; default 16 MiB.
        max_latency_seconds: where the lag in bytes is unknown (a DMS task's own slot), its CDC latency allowed
            before freezing, seconds; default 10.
        poll_seconds: how often the drain looks at the slot, seconds; default 0.01.
        verify_slots: whether ``checkpoint`` and ``verify`` use the verify slots (:mod:`cutover.narrow`: the freeze
            compares the rows changed since a checkpoint); default True. False: no slot is created and ``verify``
            compares whole every table changed since the last full validation (:mod:`cutover.baseline`), a freeze
            that grows with those tables (for a database that cannot hold one more logical slot).

    Raises:
        UsageError: a bound that is not positive.
    """

    freeze_limit_seconds: float = 30.0
    max_lag_bytes: int = 16 * 1024 * 1024
    max_latency_seconds: float = 10.0
    poll_seconds: float = 0.01
    verify_slots: bool = True

    def __post_init__(self) -> None:
        for name in ("freeze_limit_seconds", "max_lag_bytes", "max_latency_seconds", "poll_seconds"):
            if getattr(self, name) <= 0:
                raise UsageError(name, getattr(self, name), "must be positive")


Fault = Callable[[str, str], None]
"""A test hook called as ``fault(step, "before")`` after a step is journalled and before it acts, and
``fault(step, "after")`` after it acted and before it is journalled done (an injected crash)."""


@dataclass
class Migration:
    """Everything a switch acts on.

    Attributes:
        source / target: the two databases.
        forward / reverse: replication source -> target and target -> source.
        writer: the writer name (``value()``, ``point_at(address)``), e.g. :class:`cutover.writer.Route53WriterRecord`.
        journal: the journal (its lock must be held by the caller).
        policy: the bounds.
        fault: test hook (see ``Fault``); None in production.
        progress: called with one line of text for each step and wait (the CLI prints it).
    """

    source: Database
    target: Database
    forward: Replication
    reverse: Replication
    writer: WriterRecord
    journal: Journal
    policy: Policy = field(default_factory=Policy)
    fault: Fault | None = None
    progress: Callable[[str], None] = lambda line: None

    def direction(self, operation: str) -> tuple[Database, Database, Replication, Replication]:
        """``(old writer, new writer, old direction, new direction)`` of ``switchover`` or ``rollback``."""
        if operation == "switchover":
            return self.source, self.target, self.forward, self.reverse
        return self.target, self.source, self.reverse, self.forward


FREEZE_PARTS = STEPS[STEPS.index("freeze"):]
"""The steps inside the write freeze (``freeze`` to ``unfreeze``): the parts of a switch's freeze time."""


@dataclass(frozen=True)
class SwitchResult:
    """A finished switch.

    Attributes:
        run: the run's id. operation: ``switchover`` or ``rollback``. outcome: ``completed`` (or ``abandoned``).
        freeze_seconds: the write freeze (``freeze`` began -> ``unfreeze`` done), seconds.
        freeze_parts_ms: where the freeze went: each step of :data:`FREEZE_PARTS` -> its duration, milliseconds
            (as journalled in its ``done`` entry's ``duration_ms``; a step done before an interruption keeps the
            duration it had; the time between steps, journal writes included, is the rest of the freeze).
    """

    run: str
    operation: str
    outcome: str
    freeze_seconds: float | None
    freeze_parts_ms: dict[str, int] = field(default_factory=dict)

    def parts_text(self) -> str:
        """The freeze and its parts on one line, e.g. ``1.112 s: freeze 21 ms, drain 310 ms, ...``."""
        parts = ", ".join(f"{step} {ms} ms" for step, ms in self.freeze_parts_ms.items())
        return f"{self.freeze_seconds} s" + (f": {parts}" if parts else "")


def _run_id(operation: str) -> str:
    return f"{operation}-{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%S%f')}"


def incomplete_run(journal: Journal) -> list[Entry]:
    """The entries of the last run that has no ``end`` entry (an interrupted one), else ``[]``."""
    entries = journal.entries()
    if not entries or entries[-1].status == "end":
        return []
    run = entries[-1].run
    return [e for e in entries if e.run == run]


def _steps(entries: list[Entry], status: str) -> dict[str, Entry]:
    """Step -> its entry of ``status`` (the first ``begin``, the last ``done``) in a run's entries."""
    found: dict[str, Entry] = {}
    for entry in entries:
        if entry.status == status and not (status == "begin" and entry.step in found):
            found[entry.step] = entry
    return found


class _Switch:
    """One run of a switch (new or resumed)."""

    def __init__(self, migration: Migration, operation: str, run: str, entries: list[Entry]) -> None:
        self.m, self.operation, self.run = migration, operation, run
        self.done = _steps(entries, "done")
        self.begun = _steps(entries, "begin")
        self.old, self.new, self.old_repl, self.new_repl = migration.direction(operation)
        self.journal = migration.journal

    # --- helpers ---------------------------------------------------------------------------------------------
    def _fault(self, step: str, when: str) -> None:
        if self.m.fault:
            self.m.fault(step, when)

    @property
    def frozen_at(self) -> float | None:
        """When the freeze began: the first ``begin`` of the freeze step (a resumed freeze keeps it)."""
        entry = self.begun.get("freeze")
        return entry.at if entry else None

    def _past_return(self) -> bool:
        """Whether the writer name may already point at the new writer."""
        if POINT_OF_NO_RETURN in self.done:
            return True
        return POINT_OF_NO_RETURN in self.begun and self.m.writer.value() == self.new.address

    def _over_limit(self) -> bool:
        frozen_at = self.frozen_at
        return frozen_at is not None and time.time() - frozen_at > self.m.policy.freeze_limit_seconds

    # --- the steps ----------------------------------------------------------------------------------------
    def check(self) -> dict[str, Any]:
        current = self.m.writer.value()
        if current == self.new.address:
            raise Refused(f"the writer name points at the {self.new.name} already: this {self.operation} is done "
                          f"(`cutover status`){'; `cutover rollback` moves it back' if self.operation == 'switchover' else ''}")
        status = self.old_repl.status()
        if status.state != "running":
            fix = "resume" if status.state == "stopped" else "start"
            raise Refused(f"replication {status.name} is {status.state}, not running: the {self.old.name}'s last "
                          f"writes must reach the {self.new.name} first (`cutover replication {fix} --direction "
                          f"{status.name}`)")
        lag = self._lag_within_bounds(status)
        for database in (self.old, self.new):  # a role the freeze names must exist before anything is frozen
            missing = database.missing_roles()
            if missing:
                raise Refused(f"the {database.name} database has no role {', '.join(missing)} (--app-role, "
                              "--legacy-role)")
        if current != self.old.address:
            raise Refused(f"the writer name points at {current!r}, neither database's address: point it at the "
                          f"{self.old.name} ({self.old.address!r}) after checking which one holds the latest writes")
        self.new.freeze()  # the new writer refuses application writes until the very end (idempotent)
        return lag

    def _lag_within_bounds(self, status: ReplicationStatus) -> dict[str, Any]:
        """The old direction's lag, within the policy's bounds: its slot's lag in WAL bytes; where the slot is not
        known (a DMS task whose source endpoint names none: DMS created and named it), the task's CDC latency
        (CloudWatch ``CDCLatencySource`` and ``CDCLatencyTarget``, the larger; DMS user guide "Monitoring AWS DMS
        tasks", https://docs.aws.amazon.com/dms/latest/userguide/CHAP_Monitoring.html#CHAP_Monitoring.Metrics.Task).

        Raises:
            Refused: the lag passes its bound, or neither reading is known.
        """
        policy = self.m.policy
        if status.lag_bytes is not None:
            if status.lag_bytes > policy.max_lag_bytes:
                raise Refused(f"replication {status.name} lag is {status.lag_bytes} bytes (bound "
                              f"{policy.max_lag_bytes})")
            return {"lag_bytes": status.lag_bytes}
        latency = status.latency_seconds
        if latency is None:
            raise Refused(f"replication {status.name} lag is unknown: no slot is named for it and no CDC latency "
                          "is reported (`cutover status`)")
        if latency > policy.max_latency_seconds:
            raise Refused(f"replication {status.name} CDC latency is {latency:g} s (bound "
                          f"{policy.max_latency_seconds:g} s)")
        return {"lag_bytes": None, "latency_seconds": latency}

    def freeze(self) -> dict[str, Any]:
        deadline = self.frozen_at + DEADLINE_FACTOR * self.m.policy.freeze_limit_seconds  # type: ignore[operator]
        lsn, ended = self.old.freeze(deadline)
        return {"freeze_lsn": lsn, "sessions_ended": ended, "roles": list(self.old.frozen_roles),
                "deadline": round(deadline, 3)}

    def drain(self) -> dict[str, Any]:
        """Wait until the old direction applied everything committed before the freeze (:func:`cutover.replication.
        barrier.wait_applied`: a sentinel written now, else the slot at the freeze LSN), at most until the freeze
        limit. ``check`` saw it running: no status read here (a DMS one reads CloudWatch)."""
        from cutover.replication.barrier import wait_applied

        freeze_lsn = self.done["freeze"].details["freeze_lsn"]
        self.m.progress(f"drain: waiting until {self.old_repl.name} replication applied {freeze_lsn}")
        left = self.frozen_at + self.m.policy.freeze_limit_seconds - time.time()  # type: ignore[operator]
        applied = wait_applied(self.old_repl, freeze_lsn, max(0.0, left), self.m.policy.poll_seconds,
                               purpose=self.run, require_running=False)
        if applied is None:
            raise _FreezeLimit(f"the freeze passed its limit of {self.m.policy.freeze_limit_seconds} s before "
                               f"replication {self.old_repl.name} applied {freeze_lsn} (`cutover status`)")
        return applied

    def _dsns(self) -> dict[str, str]:
        return {"source": self.m.source.admin_dsn, "target": self.m.target.admin_dsn}

    def _compare_whole(self, tables: list[str], recheck_after: float = 0) -> list[str]:
        """Compare ``tables`` whole (:func:`cutover.checks.compare_tables`; empty: every table); those that differ."""
        from cutover.checks import compare_tables

        return sorted(v.table.split(".", 1)[1] for v in compare_tables(
            self.m.source.admin_dsn, self.m.target.admin_dsn, tables=tables, recheck_after=recheck_after)
            if not v.equal)

    def checkpoint(self) -> dict[str, Any]:
        from cutover import narrow

        if not self.m.policy.verify_slots:
            return {"mode": "off"}
        last = narrow.last_checkpoint(self.journal.entries())
        with narrow.Sides(self._dsns()) as sides:
            if not narrow.usable(narrow.checkpoint_of(last), sides):
                full = self._full_checkpoint(sides)
                # the full comparison took as long as the tables are large: the writes made meanwhile are compared
                # now too, before the freeze, so that the freeze's window is the seconds since, whatever the size
                narrowed = self._narrow_checkpoint(sides, full["counters"])
                return {**narrowed, "mode": "full", "full": True, "tables": full["tables"]}
            return self._narrow_checkpoint(sides, last.details.get("counters"))  # type: ignore[union-attr]

    def _full_checkpoint(self, sides: narrow.Sides) -> dict[str, Any]:
        """No usable checkpoint: the verify slots created, then every table compared (with a re-check)."""
        from cutover import narrow
        from cutover.baseline import counters_of

        self.m.progress("checkpoint: no usable checkpoint: verify slots created, every table compared")
        checkpoint = narrow.create_slots(sides)
        counters = {side: counters_of(sides[side])[0] for side in narrow.SIDES}  # after the slots, before compare
        unequal = self._compare_whole([], recheck_after=CHECKPOINT_RECHECK_SECONDS)
        if unequal:
            raise Refused(f"tables differ at the checkpoint: {', '.join(unequal)} (`cutover validate`)")
        tables = len({t for side in counters.values() for t in side["tables"]})
        return {"mode": "full", "full": True, "tables": tables, "checkpoint": checkpoint.to_json(),
                "counters": counters}

    def _narrow_checkpoint(self, sides: narrow.Sides, baseline: dict[str, Any] | None) -> dict[str, Any]:
        """The window since the last checkpoint compared while payments go on; the slots advanced to its end."""
        from cutover import narrow
        from cutover.decoding import Changes
        from cutover.replication.barrier import wait_applied

        window = narrow.compare_window(
            sides, baseline, lambda tables: self._compare_whole(tables, recheck_after=CHECKPOINT_RECHECK_SECONDS))
        if window.unequal_tables:
            raise Refused(f"tables differ at the checkpoint: {', '.join(window.unequal_tables)} (`cutover validate`)")
        deferred, applied_by = 0, None
        if window.differing:  # rows in flight: once replication applied the window, what still differs is real
            end = window.upto.of(self.old.name)
            self.m.progress(f"checkpoint: {sum(len(k) for k in window.differing.values())} key(s) differ: waiting "
                            f"until {self.old_repl.name} replication applied {end}")
            applied = wait_applied(self.old_repl, end, CHECKPOINT_WAIT_SECONDS, purpose=self.run)
            if applied is None:
                raise Refused(f"replication {self.old_repl.name} did not apply {end} within "
                              f"{CHECKPOINT_WAIT_SECONDS} s")
            catalogs = narrow.catalogs_now(sides)
            still = narrow.compare_keys(sides, Changes(keys=window.differing), catalogs)
            later = narrow.read_window(sides, narrow.upto_now(sides), catalogs)[0] if still else Changes()
            real = {t: k - later.keys.get(t, set()) for t, k in still.items() if t not in later.whole}
            real = {t: k for t, k in real.items() if k}
            if real:
                raise Refused(f"rows differ at the checkpoint and did not change since: "
                              f"{', '.join(f'{t} ({len(k)} keys)' for t, k in sorted(real.items()))} "
                              "(`cutover validate`)")
            deferred = sum(len(k) for k in still.values())
            applied_by = "sentinel" if "sentinel" in applied else "slot"
        return {"mode": "narrow", "full": False, **window.facts(), "deferred_keys": deferred,
                "applied_by": applied_by, "counters": window.counters}

    def verify(self) -> dict[str, Any]:
        from cutover import narrow
        from cutover.baseline import sessions_older_than_on

        frozen_since = {self.old.name: self.frozen_at, self.new.name: self.begun["check"].at}
        checkpoint = self.done.get("checkpoint")
        with narrow.Sides(self._dsns()) as sides:
            unended = {db.name: sessions_older_than_on(sides[db.name], db.frozen_roles,
                                                       time.time() - frozen_since[db.name])  # type: ignore[operator]
                       for db in (self.old, self.new)}
            if (self.m.policy.verify_slots and not any(unended.values())
                    and narrow.usable(narrow.checkpoint_of(checkpoint), sides)):
                self.m.progress("verify: the rows changed since the checkpoint")
                window = narrow.compare_window(sides, checkpoint.details["counters"],  # type: ignore[union-attr]
                                               self._compare_whole)
                if window.differing or window.unequal_tables:
                    raise _Unequal(sorted(set(window.differing) | set(window.unequal_tables)))
                return {"mode": "narrow", "full": False, "reason": "the rows changed since the checkpoint",
                        **window.facts(), "counters": window.counters}
        return self._verify_tables(unended)

    def _verify_tables(self, unended: dict[str, int]) -> dict[str, Any]:
        """Without a usable checkpoint: the tables changed since the last full validation compared whole."""
        from cutover.baseline import Plan, last_baseline, plan, read_both
        from cutover.checks import compare_tables

        source, target = (self.old, self.new) if self.old.name == "source" else (self.new, self.old)
        counters = read_both(source.admin_dsn, target.admin_dsn)  # before the validation's snapshot
        check = plan(last_baseline(self.journal.entries()), counters)
        for db in (self.old, self.new):
            if unended[db.name] and not check.full:
                check = Plan(None, f"{unended[db.name]} session(s) of {', '.join(db.frozen_roles)} older than the "
                                   f"freeze on the {db.name}")
        if self.m.policy.verify_slots and not check.full and not any(unended.values()):
            check = Plan(check.tables, f"no usable checkpoint: {check.reason}")
        self.m.progress(f"verify: {check.reason}")
        tables = (compare_tables(self.old.admin_dsn, self.new.admin_dsn, tables=check.tables or ())
                  if check.full or check.tables else [])
        different = [t.table for t in tables if not t.equal]
        if different:
            raise _Unequal(different)
        total = len({t for side in counters.values() for t in side["tables"]})
        checked = {"checked": [t.table for t in tables]} if not check.full else {}
        return {"mode": "tables", "tables": len(tables), "of": total, "full": check.full or len(tables) == total,
                "reason": check.reason, **checked, "rows": sum(t.rows_source for t in tables), "counters": counters}

    def sequences(self) -> dict[str, Any]:
        from cutover.checks import advance_sequences

        return {"sequences": advance_sequences(self.old.admin_dsn, self.new.admin_dsn)}

    def stop_replication(self) -> dict[str, Any]:
        self.old_repl.stop()
        return {}

    def switch_writer(self) -> dict[str, Any]:
        if self.m.writer.value() != self.new.address:  # the deadline can never unfreeze the old writer after this
            self.old.disarm_deadline()
            if not self.old.frozen():
                raise _FreezeLimit(f"the freeze deadline lifted the {self.old.name}'s freeze before the writer moved")
        self.m.writer.point_at(self.new.address)
        return {"writer": self.new.name}

    def start_replication(self) -> dict[str, Any]:
        """Past the point of no return: a start that fails leaves the new writer to be unfrozen anyway (the old
        one stays frozen), journalled and printed with what to run; never both databases frozen."""
        try:
            self.new_repl.start(initial_copy=False)
            self.new_repl.wait_running(START_REPLICATION_TIMEOUT_SECONDS)
        except Exception as error:  # noqa: BLE001 (whatever failed, the switch must reach unfreeze)
            message = (f"replication {self.new_repl.name} did not start ({error}); the {self.new.name} accepts "
                       f"payments, the {self.old.name} stays frozen: run `cutover replication start --direction "
                       f"{self.new_repl.name}`")
            self.m.progress(f"{self.operation}: start-replication: {message}")
            return {"started": False, "error": message}
        return {"started": True}

    def unfreeze(self) -> dict[str, Any]:
        self.new.unfreeze()  # also ends the freeze-era sessions there (read-only until they reconnect)
        try:  # the old writer's sessions end: pools reconnect and resolve the name again (RDS Blue/Green does so)
            ended = self.old.end_sessions()
        except SessionsSurvived:
            ended = -1  # read-only: they refuse writes; past the point of no return the switch goes on
        return {"old_sessions_ended": ended, "freeze_seconds": round(time.time() - self.frozen_at, 3)}  # type: ignore[operator]

    # --- run and undo -----------------------------------------------------------------------------------------
    def execute(self) -> SwitchResult:
        for step in STEPS:
            if step in self.done:
                continue
            if step != "check" and not self._past_return() and self._over_limit():
                return self.abandon(f"the freeze passed its limit of {self.m.policy.freeze_limit_seconds} s "
                                    f"before {step}")
            begin = self.journal.write(self.run, self.operation, step, "begin",
                                       **({"from": self.old.name, "to": self.new.name} if step == "check" else {}))
            self.begun.setdefault(step, begin)
            self.m.progress(f"{self.operation}: {step}")
            self._fault(step, "before")
            started = time.monotonic()
            try:
                facts = getattr(self, step.replace("-", "_"))()
            except Refused as error:
                self.journal.write(self.run, self.operation, step, "failed", reason=str(error))
                self.journal.write(self.run, self.operation, "end", "end", outcome="refused")
                raise
            except (_FreezeLimit, _Unequal, SessionsSurvived) as error:
                self.journal.write(self.run, self.operation, step, "failed", reason=str(error))
                return self.abandon(str(error))
            self._fault(step, "after")
            self.done[step] = self.journal.write(self.run, self.operation, step, "done",
                                                 duration_ms=round((time.monotonic() - started) * 1000), **facts)
        freeze = self.done["unfreeze"].details["freeze_seconds"]
        parts = {step: int(self.done[step].details.get("duration_ms", 0)) for step in FREEZE_PARTS}
        self.journal.write(self.run, self.operation, "end", "end", outcome="completed", freeze_seconds=freeze,
                           freeze_parts_ms=parts, writer=self.new.name)
        result = SwitchResult(self.run, self.operation, "completed", freeze, parts)
        self.m.progress(f"{self.operation}: write freeze {result.parts_text()}")
        return result

    def abandon(self, reason: str) -> SwitchResult:
        """Undo every step begun, in reverse (only before the point of no return), then raise :class:`Abandoned`.

        A step that began may have acted even if it was not journalled done (a crash in between), so every begun
        step with an effect is undone; each undo is idempotent.
        """
        if self._past_return():
            raise PastPointOfNoReturn(f"{self.operation} {self.run} is past {POINT_OF_NO_RETURN}: it can only go "
                                      "forward (`cutover resume`)")
        undo = {"stop-replication": self.old_repl.resume, "freeze": self.old.unfreeze}
        for step in reversed(STEPS):
            if step in self.begun:
                if step in undo:
                    undo[step]()
                self.journal.write(self.run, self.operation, step, "undone")
                self.done.pop(step, None)
                del self.begun[step]
        self.journal.write(self.run, self.operation, "end", "end", outcome="abandoned", reason=reason)
        raise Abandoned(reason)


class _Unequal(Exception):
    def __init__(self, tables: list[str]) -> None:
        super().__init__(f"tables differ after the drain: {', '.join(tables)}")


def switch(migration: Migration, operation: str) -> SwitchResult:
    """Run a new switch: ``switchover`` (source -> target) or ``rollback`` (target -> source).

    Raises:
        Refused: a precondition failed; nothing was frozen.
        Abandoned: the freeze passed its limit (or the tables differed) before the point of no return; undone.
        CutoverError: an interrupted run exists (``cutover resume`` or ``cutover rollback`` it first).
    """
    if operation not in SWITCH_OPERATIONS:
        raise ValueError(f"operation = {operation!r}: must be one of {SWITCH_OPERATIONS}")
    pending = incomplete_run(migration.journal)
    if pending:
        raise CutoverError(f"run {pending[0].run} ({pending[0].operation}) was interrupted at step "
                           f"{pending[-1].step}: `cutover resume` or `cutover rollback` it first")
    return _Switch(migration, operation, _run_id(operation), []).execute()


def resume(migration: Migration) -> SwitchResult | None:
    """Continue the interrupted switch from its first step not done (None when there is none)."""
    pending = incomplete_run(migration.journal)
    if not pending or pending[0].operation not in SWITCH_OPERATIONS:
        return None
    return _Switch(migration, pending[0].operation, pending[0].run, pending).execute()


def abandon(migration: Migration) -> SwitchResult | None:
    """Undo the interrupted switch (before the point of no return); None when there is none.

    Raises:
        Abandoned: always, once undone (the switch did not happen).
        CutoverError: the interrupted switch is past the point of no return (resume it instead).
    """
    pending = incomplete_run(migration.journal)
    if not pending or pending[0].operation not in SWITCH_OPERATIONS:
        return None
    run = _Switch(migration, pending[0].operation, pending[0].run, pending)
    return run.abandon("rolled back by the operator after an interruption")
