"""Key ranges: how a keyed table is cut into buckets and a mismatching bucket into smaller ranges.

A :class:`Range` is ``lo <= key < hi`` in the key's own order, each bound a prefix of the key columns (row
comparison ``(k1, k2) >= ($1, $2)``, which a btree index on the key serves). ``None`` is unbounded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from cutover.schema import Column
from cutover.validate.rowhash import ident

ROWS_PER_BUCKET = 500
"""Target rows in one first-pass bucket (a mismatching bucket is fetched or split further). Small, so that a few
scattered differences cost few fetched rows; the first pass's cost hardly depends on the number of buckets."""
MAX_BUCKETS = 16384
"""At most this many first-pass buckets per table (the first pass's result, at most this many checksums per side,
stays small: the client's memory does not grow with the table)."""
INTEGER_TYPES = frozenset({"smallint", "integer", "bigint"})


@dataclass(frozen=True)
class Range:
    """``lo <= key < hi``; each bound a tuple of key-column text values (a prefix of the key) or ``None``."""

    lo: tuple[str, ...] | None = None
    hi: tuple[str, ...] | None = None


def bound_sql(key: tuple[Column, ...], bound: tuple[str, ...], op: str) -> tuple[str, list[str]]:
    """``(k1, k2) op ($1::t1, $2::t2)`` for a bound of ``len(bound)`` key columns, and its parameters."""
    cols = key[:len(bound)]
    left = ", ".join(ident(c.name) for c in cols)
    right = ", ".join(f"%s::{c.type}" for c in cols)
    if len(cols) == 1:
        return f"{left} {op} {right}", list(bound)
    return f"({left}) {op} ({right})", list(bound)


def range_sql(key: tuple[Column, ...], rng: Range) -> tuple[str, list[str]]:
    """A WHERE condition selecting ``rng`` (``TRUE`` when unbounded) and its parameters."""
    parts, params = [], []
    for bound, op in ((rng.lo, ">="), (rng.hi, "<")):
        if bound is not None:
            sql, values = bound_sql(key, bound, op)
            parts.append(sql)
            params += values
    return (" AND ".join(parts) or "TRUE"), params


@dataclass(frozen=True)
class Buckets:
    """The first pass's cut of a table: a SQL expression giving each row's bucket number, and each bucket's range.

    ``kind`` is ``single`` (one bucket, a small table), ``arithmetic`` (an integer leading key column cut into
    equal steps between the smallest and largest value on either side: no lookup per row) or ``thresholds``
    (``width_bucket`` over leading-key values sampled from the source with ``TABLESAMPLE SYSTEM``).
    """

    kind: str
    expression: str
    params: tuple[object, ...] = ()
    lo: int = 0
    step: int = 1
    count: int = 1
    thresholds: tuple[str, ...] = ()

    def range_of(self, bucket: int) -> Range:
        """The key range of ``bucket`` (a number the expression returned)."""
        if self.kind == "single":
            return Range()
        if self.kind == "arithmetic":
            if bucket < 0:
                return Range(None, (str(self.lo),))
            if bucket >= self.count:
                return Range((str(self.lo + self.count * self.step),), None)
            return Range((str(self.lo + bucket * self.step),), (str(self.lo + (bucket + 1) * self.step),))
        t = self.thresholds
        return Range((t[bucket - 1],) if bucket > 0 else None, (t[bucket],) if bucket < len(t) else None)


def bucket_count(estimated_rows: float) -> int:
    """How many first-pass buckets for a table of about ``estimated_rows`` rows."""
    return max(1, min(MAX_BUCKETS, math.ceil(max(estimated_rows, 0) / ROWS_PER_BUCKET)))


def arithmetic_buckets(column: Column, lo: int, hi: int, estimated_rows: float) -> Buckets:
    """Equal steps over ``lo..hi`` (inclusive) of an integer leading key column; rows outside fall into bucket
    ``-1`` (below) and ``count`` (above)."""
    count = bucket_count(estimated_rows)
    step = max(1, math.ceil((hi - lo + 1) / count))
    count = math.ceil((hi - lo + 1) / step)
    name = ident(column.name)
    # integer literals: PostgreSQL reads one beyond bigint as numeric, so the comparisons never overflow
    expression = (f"CASE WHEN {name} < {lo} THEN -1 WHEN {name} >= {lo + count * step} THEN {count} "
                  f"ELSE (({name}::bigint - {lo}::bigint) / {step}::bigint)::int END")
    return Buckets("arithmetic", expression, (), lo, step, count)


def threshold_buckets(column: Column, thresholds: list[str]) -> Buckets:
    """``width_bucket(k1, thresholds)``: bucket 0 below the first threshold, ``i`` from threshold ``i-1`` on."""
    if not thresholds:
        return Buckets("single", "0")
    expression = f"width_bucket({ident(column.name)}, %s::text[]::{column.type}[])"
    return Buckets("thresholds", expression, (thresholds,), thresholds=tuple(thresholds))
