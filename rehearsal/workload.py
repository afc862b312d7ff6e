"""A payment workload: a steady rate of payments with idempotency keys, written through the writer name.

Each payment has an idempotency key (uuid4), a merchant and an amount. It is sent with
``INSERT ... ON CONFLICT (idempotency_key) DO NOTHING`` and counted *acknowledged* only once a commit returned, or
once a retry finds the key already stored with the same merchant and amount (the first attempt committed but its
answer was lost). A failed attempt (the database frozen: read-only; its session ended; the connection lost) is
retried with the same key after reconnecting through the writer name, as the payments service does: the name is
resolved again on every reconnect (``resolve()``: the writer record's value -> a DSN), so a switchover is followed
as soon as it happened. Payments are scheduled at a steady rate; one delayed by a freeze goes out as soon as it can
and the schedule catches up, so nothing is skipped.

Only keys, counts and timings are kept for the report; amounts are compared, never printed.

A workload whose thread dies does not pass: any exception in the thread (a reused idempotency key, a ``KeyError``
or botocore error while resolving the writer, ...) is recorded in :attr:`WorkloadStats.errors` (its type and
message, never a row value) and :meth:`PaymentWorkload.stop` returns the statistics with it; the rehearsal's
``passed`` is false when it is not empty.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class WorkloadStats:
    """What the workload saw: acknowledged payments (key -> (merchant, amount)), attempts that failed, the longest
    time a payment waited between its first attempt and its acknowledgement (seconds)."""

    acknowledged: dict[str, tuple[int, int]] = field(default_factory=dict)
    rows: dict[str, tuple] = field(default_factory=dict)
    """Every column of each acknowledged payment as stored (id, key, merchant, amount, currency, created_at)."""
    attempted: set[str] = field(default_factory=set)
    """Keys sent at least once (a row under one of them that was never acknowledged is explained)."""
    errors: list[str] = field(default_factory=list)
    """Exceptions that ended the workload thread (``"<type>: <message>"``); not empty: the run fails."""
    acknowledged_at: list[float] = field(default_factory=list)
    """``time.monotonic()`` of each acknowledgement, in order (for :func:`write_gap_seconds`)."""
    failed_attempts: int = 0
    reconnects: int = 0
    longest_wait_seconds: float = 0.0


class PaymentWorkload:
    """Payments at ``rate`` per second through ``resolve()`` until :meth:`stop` (background threads).

    Args:
        resolve: returns the libpq DSN of the current writer (the writer name resolved; with
            :class:`rehearsal.dns.CachingResolver` through DNS and its TTL).
        rate: payments per second (steady schedule), > 0.
        seed: random seed of merchants and amounts.
        connections: 0 (default): one thread, one plain connection, re-resolved on every reconnect. ``n >= 1``: a
            ``psycopg_pool.ConnectionPool`` of ``n`` long-lived connections (``conninfo`` is ``resolve``: each new
            connection resolves the name again) and ``n`` threads writing ``rate / n`` each, as an application
            server holds them. A statement refused as read-only (SQLSTATE 25006: the server is not the writer, or
            the connection opened during a freeze) closes that connection so the pool replaces it.

    Raises:
        ValueError: ``rate`` not positive or ``connections`` negative (naming the field and the value).
    """

    def __init__(self, resolve: Callable[[], str], rate: float, *, seed: int = 15, connections: int = 0) -> None:
        if rate <= 0:
            raise ValueError(f"rate = {rate}: must be positive (payments per second)")
        if connections < 0:
            raise ValueError(f"connections = {connections}: must be 0 (one plain connection) or more")
        self.resolve, self.rate, self.connections = resolve, rate, connections
        self.stats = WorkloadStats()
        self._seed = seed
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(i,), name=f"payment-workload-{i}", daemon=True)
                         for i in range(max(connections, 1))]
        self._conn = None
        self._pool = None

    def start(self) -> PaymentWorkload:
        if self.connections:
            from psycopg_pool import ConnectionPool

            self._pool = ConnectionPool(self.resolve, min_size=self.connections, max_size=self.connections,
                                        kwargs={"autocommit": True, "connect_timeout": 5}, open=True,
                                        name="payment-workload")
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> WorkloadStats:
        """Stop after the payments in flight are acknowledged; returns the statistics."""
        self._stop.set()
        for thread in self._threads:
            thread.join()
        if self._conn is not None:
            self._conn.close()
        if self._pool is not None:
            self._pool.close()
        return self.stats

    @property
    def alive(self) -> bool:
        """Whether every workload thread still runs (they end on :meth:`stop` or on an exception)."""
        return all(thread.is_alive() for thread in self._threads)

    def _connect(self):  # noqa: ANN202
        import psycopg

        if self._conn is not None:
            self._conn.close()
        self.stats.reconnects += 1
        self._conn = psycopg.connect(self.resolve(), autocommit=True, connect_timeout=5)
        return self._conn

    def _insert(self, conn, key: str, merchant: int, amount: int) -> None:  # noqa: ANN001
        with self._lock:
            self.stats.attempted.add(key)
        row = conn.execute(
            f"INSERT INTO payments (idempotency_key, merchant_id, amount_cents, currency) VALUES (%s, %s, %s, "
            f"'EUR') ON CONFLICT (idempotency_key) DO NOTHING RETURNING {COLUMNS}", (key, merchant, amount)
        ).fetchone()
        if row is None:  # stored by an earlier attempt whose answer was lost: the same payment?
            row = conn.execute(f"SELECT {COLUMNS} FROM payments WHERE idempotency_key = %s", (key,)).fetchone()
            if tuple(row[2:5]) != (merchant, amount, "EUR"):
                raise RuntimeError(f"idempotency key {key} reused for another payment")
        with self._lock:
            self.stats.rows[key] = tuple(row)

    def _failed(self) -> bool:
        with self._lock:
            self.stats.failed_attempts += 1
        return False

    def _send(self, key: str, merchant: int, amount: int) -> bool:
        import psycopg

        if self._pool is not None:
            return self._send_pooled(key, merchant, amount)
        try:
            self._insert(self._conn or self._connect(), key, merchant, amount)
            return True
        except psycopg.Error:
            if self._conn is not None:
                self._conn.close()
            self._conn = None
            return self._failed()

    def _send_pooled(self, key: str, merchant: int, amount: int) -> bool:
        import psycopg
        from psycopg_pool import PoolTimeout

        try:
            with self._pool.connection(timeout=2) as conn:  # type: ignore[union-attr]
                try:
                    self._insert(conn, key, merchant, amount)
                    return True
                except psycopg.errors.ReadOnlySqlTransaction:
                    conn.close()  # not the writer (any more): the pool replaces it, resolving the name again
                    return self._failed()
        except (psycopg.Error, PoolTimeout):  # a broken connection is discarded by the pool
            return self._failed()

    def _run(self, index: int) -> None:
        try:
            self._payments(index)
        except BaseException as exc:  # noqa: BLE001 - recorded: a dead workload fails the run
            with self._lock:
                self.stats.errors.append(f"{type(exc).__name__}: {exc}")

    def _payments(self, index: int) -> None:
        rng = random.Random(self._seed + index)
        interval = len(self._threads) / self.rate
        next_at = time.monotonic()
        while not self._stop.is_set():
            key, merchant, amount = str(uuid.uuid4()), rng.randint(1, 97), rng.randint(100, 500000)
            first = time.monotonic()
            while not self._send(key, merchant, amount):
                time.sleep(0.01)  # retry the same payment (same key) until it is acknowledged
            now = time.monotonic()
            with self._lock:
                self.stats.acknowledged[key] = (merchant, amount)
                self.stats.acknowledged_at.append(now)
                self.stats.longest_wait_seconds = max(self.stats.longest_wait_seconds, now - first)
            next_at += interval
            delay = next_at - time.monotonic()
            if delay > 0:
                self._stop.wait(delay)


def write_gap_seconds(stats: WorkloadStats, start: float, end: float) -> float:
    """The client's view of a switch that ran from ``start`` to ``end`` (``time.monotonic()``): the longest time
    between two consecutive acknowledged writes in that window (including the last acknowledgement before it and
    the first after it), seconds; ``end - start`` when none was acknowledged in between."""
    import bisect

    times = sorted(stats.acknowledged_at)  # several threads append
    first = max(bisect.bisect_left(times, start) - 1, 0)
    last = min(bisect.bisect_right(times, end) + 1, len(times))
    window = times[first:last]
    if len(window) < 2:
        return round(end - start, 3)
    return round(max(b - a for a, b in zip(window, window[1:])), 3)


COLUMNS = "id, idempotency_key::text, merchant_id, amount_cents, currency, created_at"
"""Every column of ``payments`` (rehearsal/databases.py), in the order :func:`reconcile` compares them."""


def snapshot(dsn: str) -> dict[str, tuple]:
    """Every payment stored at ``dsn`` (key -> every column, :data:`COLUMNS`): the preload's own record, taken
    before the workload starts, for :func:`reconcile`."""
    import psycopg

    with psycopg.connect(dsn) as conn:
        return {row[1]: tuple(row) for row in conn.execute(f"SELECT {COLUMNS} FROM payments")}


def reconcile(stats: WorkloadStats, writer_dsn: str, preload: dict[str, tuple] | None = None, *,
              after_id: int = 0) -> dict[str, int]:
    """Compare every payment on the final writer with the workload's own record (and the preload's), by content.

    Args:
        stats: the workload's statistics (:meth:`PaymentWorkload.stop`): every acknowledged payment with every
            column as the database answered it, and every key attempted.
        writer_dsn: libpq DSN of the FINAL writer (the database the writer name points at after the run).
        preload: :func:`snapshot` of the source before the workload started. ``None`` (default, as bench scripts
            call it): only the workload's payments are judged; rows it did not send are not counted (no
            duplicate by content can be found then). Pass it for the full check (the rehearsal does).
        after_id: read only the stored payments whose ``id`` is above it (default 0: all). ``bench/scale`` passes
            the largest preloaded id with ``preload={}``: the workload's rows are judged in full (lost, altered,
            duplicated by content) without holding millions of preloaded rows in memory; the preload is then
            checked by count and hash on the database side.

    Returns:
        ``{"payments_acknowledged", "payments_reconciled", "lost", "altered", "duplicated"}``:
        reconciled = stored rows equal in every column to an acknowledged or preloaded payment (all is well when
        it is preload + acknowledged); lost = an acknowledged or preloaded key absent; altered = present with
        another value in any column; duplicated = a stored row no one acknowledged or preloaded that no failed
        attempt explains (its key was never sent), which includes a payment stored twice under different keys
        (counted by content, not by the UNIQUE key).
    """
    import psycopg

    expected = {**(preload or {}), **stats.rows}
    with psycopg.connect(writer_dsn) as conn:
        stored: dict[str, tuple] = {}
        extra = 0
        for row in conn.execute(f"SELECT {COLUMNS} FROM payments WHERE id > %s", (after_id,)):
            if row[1] in stored:
                extra += 1  # the same key twice (only without the UNIQUE constraint)
            stored[row[1]] = tuple(row)
    lost = sum(1 for key in expected if key not in stored)
    altered = sum(1 for key, value in expected.items() if key in stored and stored[key] != value)
    unexplained = 0 if preload is None else \
        sum(1 for key in stored if key not in expected and key not in stats.attempted)
    reconciled = len(expected) - lost - altered
    return {"payments_acknowledged": len(stats.acknowledged), "payments_reconciled": reconciled, "lost": lost,
            "altered": altered, "duplicated": unexplained + extra}


def failures(result: dict[str, int], stats: WorkloadStats, preloaded: int) -> list[str]:
    """Why a run with this :func:`reconcile` ``result`` does not pass (empty: it passes): a lost, altered or
    duplicated payment, fewer payments reconciled than ``preloaded`` + acknowledged, a workload thread that died."""
    reasons = [f"{name} = {result[name]}" for name in ("lost", "altered", "duplicated") if result[name]]
    if result["payments_reconciled"] != preloaded + result["payments_acknowledged"]:
        reasons.append(f"payments_reconciled = {result['payments_reconciled']}, expected "
                       f"{preloaded + result['payments_acknowledged']} (preload + acknowledged)")
    reasons += [f"workload thread failed: {error}" for error in stats.errors]
    return reasons
