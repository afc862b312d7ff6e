"""Throttling: pause between chunks while the source is busy or its replication lags (pt-table-checksum's
``--max-load`` and ``--max-lag``, https://docs.percona.com/percona-toolkit/pt-table-checksum.html).

Read on the source before each chunk is started, at most every :data:`CHECK_INTERVAL` seconds, in one statement:

- load: the client sessions whose ``pg_stat_activity.state`` is ``active`` (running a statement, or waiting for a
  lock in one), this run's own sessions left out; PostgreSQL docs 28.2.3 "pg_stat_activity";
- lag: bytes of WAL written on the source and not yet replayed by a standby (``replay_lsn`` of
  ``pg_stat_replication``) or not yet confirmed by the consumer of a logical replication slot of the database
  (``confirmed_flush_lsn`` of ``pg_replication_slots``: AWS DMS's CDC reads through such a slot), the largest of
  them, ``pg_wal_lsn_diff(pg_current_wal_lsn(), ...)``. A slot nobody consumes (a stopped DMS task) lags more and
  more: the run waits, as pt-table-checksum waits for a stopped replica, and says why; PostgreSQL docs 28.2.4
  "pg_stat_replication", 54.19 "pg_replication_slots" and 9.27.3 "Backup Control Functions". Both readings need
  ``pg_monitor`` (the validation role has it), else other roles' sessions show no state and no LSN.
  A bound on load, not a proof of what was applied: a native subscriber reports the WAL end it has received as
  flushed when no applied transaction awaits its flush (PostgreSQL's ``worker.c``, ``send_feedback``), so while
  its apply worker waits inside a transaction the reading can already be past it (found while testing; the
  re-check therefore waits for a sentinel, :mod:`cutover.replication.barrier`, not for these positions);
- DMS CDC latency (with ``--environment`` and a DMS replication): the larger of the task's ``CDCLatencySource`` and
  ``CDCLatencyTarget`` (CloudWatch ``AWS/DMS``, seconds; DMS user guide, "Replication task metrics"),
  as :meth:`cutover.replication.Replication.status` reads them. CloudWatch has one datapoint a minute: it is read at
  most every :data:`CDC_CHECK_INTERVAL` seconds, running or paused (a few calls an hour, not one per chunk).

While any passes its bound, the run waits :data:`CHECK_INTERVAL` and reads again; the time spent waiting is
reported (``throttled_seconds``). A run may wait indefinitely, as pt-table-checksum does: the operator sees why on
the progress line.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

CHECK_INTERVAL = 1.0
"""Seconds between two readings while paused, and at least between two readings while running."""
READINGS = """
SELECT (SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND backend_type = 'client backend'
          AND pid <> ALL(%s)),
       (SELECT coalesce(max(lag), 0)::bigint FROM (
          SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn) AS lag FROM pg_stat_replication
          UNION ALL SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn) FROM pg_replication_slots
          WHERE slot_type = 'logical' AND database = current_database()) l)
"""

CDC_CHECK_INTERVAL = 60.0
"""Seconds between two readings of the DMS CDC latency (CloudWatch's datapoints are a minute apart)."""


def cdc_latency(replication: Any) -> Callable[[], float | None]:
    """A reader of ``replication``'s CDC latency, seconds: the larger of ``latency_source_seconds`` and
    ``latency_target_seconds`` of its :meth:`~cutover.replication.Replication.status` (``None``: not reported, as
    for native replication, or the reading failed: CloudWatch unreachable is no reason to stop a validation)."""

    def read() -> float | None:
        try:
            return replication.status().latency_seconds
        except Exception:  # noqa: BLE001 - an unknown latency bounds nothing; the other bounds still hold
            return None

    return read


class Throttle:
    """Bounds ``max_load`` (active sessions; ``None``: unbounded) and ``max_lag`` (bytes; ``None``: unbounded), read
    on ``conn`` (an autocommit connection to the source); ``own_pids``: this run's backends, not counted;
    ``max_cdc_latency`` (seconds; ``None``: unbounded) read with ``latency`` (:func:`cdc_latency`; ``None``: none)."""

    def __init__(self, conn: Any, max_load: int | None, max_lag: int | None, own_pids: list[int],
                 notify: Callable[[str], None] | None = None, *, latency: Callable[[], float | None] | None = None,
                 max_cdc_latency: float | None = None) -> None:
        self.conn, self.max_load, self.max_lag, self.own_pids = conn, max_load, max_lag, own_pids
        self.notify = notify or (lambda reason: None)
        self.latency = latency
        self.max_cdc_latency = max_cdc_latency if latency is not None else None
        self.seconds = 0.0
        self._last = float("-inf")
        self._latency_at, self._latency = float("-inf"), None

    def _cdc_latency(self) -> float | None:
        if time.monotonic() - self._latency_at >= CDC_CHECK_INTERVAL:
            self._latency, self._latency_at = self.latency(), time.monotonic()  # type: ignore[misc]
        return self._latency

    def reason(self) -> str | None:
        """Why the run should pause now (``None``: it may go on)."""
        load, lag = (self.conn.execute(READINGS, (self.own_pids,)).fetchone()
                     if self.max_load is not None or self.max_lag is not None else (0, 0))
        if self.max_load is not None and load > self.max_load:
            return f"{load} active sessions on the source > --max-load {self.max_load}"
        if self.max_lag is not None and lag > self.max_lag:
            return (f"replication lag {lag} bytes (pg_stat_replication, logical slots) > --max-lag {self.max_lag}")
        if self.max_cdc_latency is not None:
            latency = self._cdc_latency()
            if latency is not None and latency > self.max_cdc_latency:
                return f"DMS CDC latency {latency:g} s (CloudWatch) > --max-cdc-latency {self.max_cdc_latency:g}"
        return None

    def wait(self) -> None:
        """Return when every reading is within its bound (at once when none is set or the last reading is recent)."""
        unbounded = self.max_load is None and self.max_lag is None and self.max_cdc_latency is None
        if unbounded or time.monotonic() - self._last < CHECK_INTERVAL:
            return
        started = time.monotonic()
        reason = self.reason()
        paused = reason is not None
        while reason is not None:
            self.notify(f"paused: {reason}")
            time.sleep(CHECK_INTERVAL)
            reason = self.reason()
        self._last = time.monotonic()
        if paused:
            self.seconds += self._last - started
            self.notify("")
