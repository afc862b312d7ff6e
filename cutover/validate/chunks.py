"""Chunks of a keyed table: key ranges sized so that checking one takes about ``--chunk-time`` seconds.

pt-table-checksum's way (``--chunk-time``, default 0.5 s; https://docs.percona.com/percona-toolkit/
pt-table-checksum.html): the first chunk holds :data:`FIRST_CHUNK_ROWS` rows; after each checked chunk the rate
(rows per second) is folded into a weighted average (the new rate weighs :data:`RATE_WEIGHT`) and the next chunk
gets ``rate x chunk_time`` rows, within :data:`MIN_CHUNK_ROWS` .. :data:`MAX_CHUNK_ROWS`.

:class:`ChunkPlanner` reads each next chunk's bounds from the source's key order in one autocommit statement (its
own short snapshot; an index-only scan of the chunk's keys when the key's btree index is all-visible)::

    SELECT k1::text, ..., rn FROM (SELECT k1, ..., row_number() OVER (ORDER BY k1, ...) AS rn
        FROM t WHERE (k1, ...) >= (lo) ORDER BY k1, ... LIMIT rows + 1) s
    WHERE rn > 1 AND (rn % 500 = 1 OR rn = rows + 1)

Row ``rows + 1`` is the chunk's exclusive upper bound (absent: the chunk runs to the end of the key space); every
500th row's leading key is a sub-bucket threshold for :meth:`cutover.validate.compare.TableComparison.check_range`.
The chunks tile the whole key space, from ``None`` (below every key) to ``None`` (above every key), so a key on
the target only, below or above every source key, falls into the first or the last chunk. Bounds come from the
source only: a chunk that is empty on the source but holds many target rows is checked in one piece (narrowed the
usual way when it differs).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from cutover.catalog import Table
import cutover.validate.ranges as ranges  # the module: tests set ranges.ROWS_PER_BUCKET
from cutover.validate.ranges import Range, range_sql
from cutover.validate.rowhash import ident, relation

FIRST_CHUNK_ROWS = 1000
"""Rows of a table's first chunk (pt-table-checksum's ``--chunk-size`` default)."""
MIN_CHUNK_ROWS = 100
MAX_CHUNK_ROWS = 2_000_000
"""Bounds of a chunk's planned rows whatever the measured rate (the client holds a chunk's sub-bucket checksums:
at most ``MAX_CHUNK_ROWS / ROWS_PER_BUCKET`` of them, so its memory stays flat in table size)."""
RATE_WEIGHT = 0.25
"""Weight of the last chunk's rate in the running average (pt-table-checksum's ``WeightedAvgRate``: 0.75 for the
past)."""


@dataclass(frozen=True)
class Chunk:
    """One chunk: ``seq`` (0, 1, ... in key order within the table), its key range, the leading-key sub-bucket
    thresholds strictly inside it, and the rows planned (the source's rows in it when it was planned)."""

    table: str
    seq: int
    range: Range
    thresholds: tuple[str, ...] = ()
    planned_rows: int = 0


class ChunkPlanner:
    """Plans the chunks of ``table`` on ``conn`` (an autocommit connection to the source), from ``start`` (the
    lower bound, ``None``: the beginning) and chunk number ``first_seq``; :meth:`observe` feeds back each checked
    chunk's rows and seconds (from any thread)."""

    def __init__(self, conn: Any, table: Table, name: str, chunk_time: float, *, start: tuple[str, ...] | None = None,
                 first_seq: int = 0) -> None:
        self.conn, self.table, self.name, self.chunk_time = conn, table, name, chunk_time
        self.start, self.seq = start, first_seq
        self.rows = FIRST_CHUNK_ROWS
        self.rate: float | None = None
        self._lock = threading.Lock()
        self.key = tuple(table.column(name) for name in table.key)

    def observe(self, rows: int, seconds: float) -> None:
        """Fold a checked chunk's rate into the average and size the next chunks to ``chunk_time``."""
        if rows <= 0:
            return
        rate = rows / max(seconds, 1e-3)
        with self._lock:
            self.rate = rate if self.rate is None else (1 - RATE_WEIGHT) * self.rate + RATE_WEIGHT * rate
            self.rows = int(min(MAX_CHUNK_ROWS, max(MIN_CHUNK_ROWS, self.rate * self.chunk_time)))

    def __iter__(self) -> Iterator[Chunk]:
        keys = ", ".join(ident(c.name) for c in self.key)
        texts = ", ".join(f"{ident(c.name)}::text" for c in self.key)
        done = False
        while not done:
            with self._lock:
                rows = self.rows
            step = ranges.ROWS_PER_BUCKET
            where, params = range_sql(self.key, Range(self.start, None))
            found = self.conn.execute(
                f"SELECT {texts}, rn FROM (SELECT {keys}, row_number() OVER (ORDER BY {keys}) AS rn "
                f"FROM {relation(self.table)} WHERE {where} ORDER BY {keys} LIMIT %s) s "
                f"WHERE rn > 1 AND (rn %% %s = 1 OR rn = %s) ORDER BY rn",
                [*params, rows + 1, step, rows + 1]).fetchall()
            width = len(self.key)
            end = tuple(found[-1][:width]) if found and found[-1][width] == rows + 1 else None
            inner = found[:-1] if end is not None else found
            lo_lead = self.start[0] if self.start else None
            hi_lead = end[0] if end else None
            leads: list[str] = []
            for row in inner:
                if row[0] not in (lo_lead, hi_lead) and (not leads or leads[-1] != row[0]):
                    leads.append(row[0])
            yield Chunk(self.name, self.seq, Range(self.start, end), tuple(leads), rows)
            self.seq += 1
            self.start = end
            done = end is None
