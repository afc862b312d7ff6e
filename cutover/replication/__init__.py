"""Replication behind one interface (:class:`Replication`), with two implementations:

- :mod:`cutover.replication.native`: PostgreSQL logical replication (publication on the publishing database,
  subscription on the other), lag from the publisher's replication slot; it stands in for DMS where DMS cannot
  move data (the emulated AWS, the rehearsal);
- :mod:`cutover.replication.dms`: an AWS DMS task (boto3), CDC latency from CloudWatch.

A migration has two: ``forward`` (source -> target) and ``reverse`` (target -> source), never both running.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


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

    def to_json(self) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self)


class Replication(Protocol):
    """One direction of replication. Every method is idempotent (a resumed run calls it again).

    - ``start(initial_copy)``: set it up and start it. ``initial_copy=True`` copies the existing rows first (the
      forward full load); ``False`` streams only the changes made from now on: the publisher must be frozen, so
      that "now" misses nothing (a switchover starts the reverse direction that way).
    - ``stop()``: stop applying; the position is kept (``resume()`` continues from it).
    - ``resume()``: continue from the kept position.
    - ``status()``: see :class:`ReplicationStatus`.
    """

    name: str

    def start(self, *, initial_copy: bool) -> None: ...

    def stop(self) -> None: ...

    def resume(self) -> None: ...

    def status(self) -> ReplicationStatus: ...
