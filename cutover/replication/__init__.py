"""Replication behind one interface (:class:`Replication`), with two implementations:

- :mod:`cutover.replication.native`: PostgreSQL logical replication (publication on the publishing database,
  subscription on the other), lag from the publisher's replication slot; it stands in for DMS where DMS cannot
  move data (the emulated AWS, the rehearsal);
- :mod:`cutover.replication.dms`: an AWS DMS task (boto3), CDC latency from CloudWatch.

A migration has two: ``forward`` (source -> target) and ``reverse`` (target -> source), never both running.

Each direction reads its publisher through one named logical replication slot (``slot``): PostgreSQL keeps the WAL
the slot has not confirmed (``restart_lsn``) for as long as the slot exists, running or not, so a stopped direction's
slot grows the publisher's ``pg_wal`` until ``max_slot_wal_keep_size`` invalidates it or the disk is full.
``drop_slot()`` removes it (``cutover replication drop-slot``; the caller refuses while the direction runs).

Follows: https://www.postgresql.org/docs/15/logicaldecoding-explanation.html#LOGICALDECODING-REPLICATION-SLOTS and
https://www.postgresql.org/docs/15/functions-admin.html#FUNCTIONS-REPLICATION (``pg_drop_replication_slot``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from cutover.database import Database


@dataclass(frozen=True)
class TableProgress:
    """Per-table progress: full-load rows and validation counters (DMS ``TableStatistics`` terms)."""

    table: str
    state: str
    full_load_rows: int | None = None
    validation_state: str | None = None
    validation_failed: int | None = None


@dataclass(frozen=True)
class ReplicationStatus:
    """What a replication reports.

    Attributes:
        name: ``forward`` or ``reverse``.
        state: ``absent`` (not set up), ``stopped``, ``starting``, ``full-load``, ``running``, ``failed``.
        lag_bytes: WAL the subscriber has not confirmed (``pg_current_wal_insert_lsn() - confirmed_flush_lsn``), or None.
        retained_bytes: WAL the publisher keeps for the slot (``pg_current_wal_insert_lsn() - restart_lsn``), or None.
        latency_source_seconds / latency_target_seconds: DMS CDCLatencySource / CDCLatencyTarget, or None.
        applied_lsn: the slot's ``confirmed_flush_lsn``: everything up to it is applied on the subscriber.
        tables: per-table progress.
    """

    name: str
    state: str
    lag_bytes: int | None = None
    retained_bytes: int | None = None
    latency_source_seconds: float | None = None
    latency_target_seconds: float | None = None
    applied_lsn: str | None = None
    tables: tuple[TableProgress, ...] = field(default_factory=tuple)

    @property
    def latency_seconds(self) -> float | None:
        """The larger of the CDC latencies (source, target) reported, seconds; None when neither is (native)."""
        readings = [v for v in (self.latency_source_seconds, self.latency_target_seconds) if v is not None]
        return max(readings) if readings else None

    def to_json(self) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self)


class Replication(Protocol):
    """One direction of replication. Every method is idempotent (a resumed run calls it again).

    - ``start(initial_copy)``: set it up and start it. ``initial_copy=True`` copies the existing rows first (the
      forward full load); ``False`` streams only the changes made from now on: the publisher must be frozen, so
      that "now" misses nothing (a switch starts the other direction that way). With the publisher accepting
      writes again (``cutover replication start`` after a switch whose start failed), ``False`` continues from the
      slot that switch created during its freeze, and refuses when there is none. Either creates the drain's
      sentinel table (:mod:`cutover.replication.sentinel`) on both databases.
    - ``wait_running(timeout_seconds)``: return once it is ``running`` and reads its slot (a DMS task starts
      asynchronously); raise :class:`cutover.cli.terminal.CutoverError` naming what to run when it stopped, failed
      or did not get there in ``timeout_seconds``.
    - ``stop()``: stop applying; the position is kept (``resume()`` continues from it).
    - ``resume()``: continue from the kept position.
    - ``status()``: see :class:`ReplicationStatus`.
    - ``slot``: the name of the logical replication slot it reads on its publisher (``publisher``).
    - ``drop_slot()``: drop that slot (and what cannot work without it); True when there was one to drop.
    - ``mark(token)``: write the sentinel row ``token`` on the publisher (the old writer, frozen, after the freeze)
      and return True; False, writing nothing, when this direction does not replicate ``cutover.sentinel`` (a
      native subscription created before it was published, DMS table mappings that do not select it): the caller
      then waits on the slot's position (``status().applied_lsn``) instead.
    - ``marked(token, timeout_seconds=0, poll_seconds=0.05)``: whether that row is on the subscriber, looking every
      ``poll_seconds`` for at most ``timeout_seconds`` on one connection. Replication applies in commit order, so
      then every transaction committed on the publisher before :meth:`mark` is applied too (a switch's ``drain``
      and ``checkpoint``, a validation's re-check: :mod:`cutover.replication.barrier`).
    """

    name: str
    publisher: Database

    def start(self, *, initial_copy: bool) -> None: ...

    def wait_running(self, timeout_seconds: float) -> None: ...

    def stop(self) -> None: ...

    def resume(self) -> None: ...

    def status(self) -> ReplicationStatus: ...

    @property
    def slot(self) -> str: ...

    def drop_slot(self) -> bool: ...

    def mark(self, token: str) -> bool: ...

    def marked(self, token: str, timeout_seconds: float = 0.0, poll_seconds: float = 0.05) -> bool: ...


RUNNING_STATES = ("starting", "full-load", "running")
"""States of a :class:`ReplicationStatus` in which the direction reads its slot (or is about to)."""


def drop_slot(database: Database, slot: str) -> bool:
    """Drop the logical replication slot ``slot`` of ``database``'s own database (``pg_drop_replication_slot``).

    Args:
        database: a :class:`cutover.database.Database` (its admin role needs REPLICATION or rds_replication).
        slot: the slot's exact name (never a pattern).

    Returns:
        True when it was dropped, False when there was no such slot.

    Raises:
        CutoverError: the slot is in use by a process (``active_pid``): whatever reads it must stop first;
            the slot belongs to another database of the server; or PostgreSQL refused the drop.
    """
    from cutover.errors import CutoverError, ExitCode

    with database.connect() as conn:
        row = conn.execute("SELECT database = current_database(), slot_type, active_pid FROM pg_replication_slots "
                           "WHERE slot_name = %s", (slot,)).fetchone()
        if row is None:
            return False
        same_database, kind, pid = row
        if kind != "logical" or not same_database:
            raise CutoverError(f"slot {slot} on the {database.name} is not a logical slot of its database: not "
                               "dropped", exit_code=ExitCode.DIFFERENT)
        if pid is not None:
            raise CutoverError(f"slot {slot} on the {database.name} is in use by process {pid}: not dropped (stop "
                               "what reads it first)", exit_code=ExitCode.DIFFERENT)
        conn.execute("SELECT pg_drop_replication_slot(%s)", (slot,))
    return True
