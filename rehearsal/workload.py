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
    failed_attempts: int = 0
    reconnects: int = 0
    longest_wait_seconds: float = 0.0


class PaymentWorkload:
    """Payments at ``rate`` per second through ``resolve()`` until :meth:`stop` (a background thread).

    Args:
        resolve: returns the libpq DSN of the current writer (the writer name resolved).
        rate: payments per second (steady schedule), > 0.
        seed: random seed of merchants and amounts.
    """

    def __init__(self, resolve: Callable[[], str], rate: float, *, seed: int = 15) -> None:
        if rate <= 0:
            raise ValueError(f"rate = {rate}: must be positive (payments per second)")
        self.resolve, self.rate = resolve, rate
        self.stats = WorkloadStats()
        self._random = random.Random(seed)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="payment-workload", daemon=True)
        self._conn = None

    def start(self) -> PaymentWorkload:
        self._thread.start()
        return self

    def stop(self) -> WorkloadStats:
        """Stop after the payment in flight is acknowledged; returns the statistics."""
        self._stop.set()
        self._thread.join()
        if self._conn is not None:
            self._conn.close()
        return self.stats

    def _connect(self):  # noqa: ANN202
        import psycopg

        if self._conn is not None:
            self._conn.close()
        self.stats.reconnects += 1
        self._conn = psycopg.connect(self.resolve(), autocommit=True, connect_timeout=5)
        return self._conn

    def _send(self, key: str, merchant: int, amount: int) -> bool:
        import psycopg

        try:
            conn = self._conn or self._connect()
            row = conn.execute(
                "INSERT INTO payments (idempotency_key, merchant_id, amount_cents, currency) VALUES (%s, %s, %s, "
                "'EUR') ON CONFLICT (idempotency_key) DO NOTHING RETURNING id", (key, merchant, amount)).fetchone()
            if row is None:  # stored by an earlier attempt whose answer was lost: the same payment?
                stored = conn.execute("SELECT merchant_id, amount_cents FROM payments WHERE idempotency_key = %s",
                                      (key,)).fetchone()
                if tuple(stored) != (merchant, amount):
                    raise RuntimeError(f"idempotency key {key} reused for another payment")
            return True
        except psycopg.Error:
            self.stats.failed_attempts += 1
            if self._conn is not None:
                self._conn.close()
            self._conn = None
            return False

    def _run(self) -> None:
        interval = 1.0 / self.rate
        next_at = time.monotonic()
        while not self._stop.is_set():
            key, merchant, amount = str(uuid.uuid4()), self._random.randint(1, 97), self._random.randint(100, 500000)
            first = time.monotonic()
            while not self._send(key, merchant, amount):
                time.sleep(0.01)  # retry the same payment (same key) until it is acknowledged
            self.stats.acknowledged[key] = (merchant, amount)
            self.stats.longest_wait_seconds = max(self.stats.longest_wait_seconds, time.monotonic() - first)
            next_at += interval
            delay = next_at - time.monotonic()
            if delay > 0:
                self._stop.wait(delay)


def reconcile(stats: WorkloadStats, writer_dsn: str) -> dict[str, int]:
    """Compare every acknowledged payment with the final writer.

    Returns:
        ``{"payments_acknowledged", "lost", "altered", "duplicated"}``: lost = acknowledged key absent; altered =
        present with another merchant or amount; duplicated = a key stored more than once, or more than one row for
        one acknowledged payment.
    """
    import psycopg

    with psycopg.connect(writer_dsn) as conn:
        rows = conn.execute("SELECT idempotency_key::text, merchant_id, amount_cents, count(*) OVER "
                            "(PARTITION BY idempotency_key) FROM payments").fetchall()
    stored = {key: (merchant, amount, count) for key, merchant, amount, count in rows}
    lost = sum(1 for key in stats.acknowledged if key not in stored)
    altered = sum(1 for key, value in stats.acknowledged.items() if key in stored and stored[key][:2] != value)
    duplicated = sum(1 for key in stats.acknowledged if key in stored and stored[key][2] > 1)
    return {"payments_acknowledged": len(stats.acknowledged), "lost": lost, "altered": altered,
            "duplicated": duplicated}
