"""Key ranges: how a keyed table is cut into buckets and a mismatching bucket into smaller ranges.

A :class:`Range` is ``lo <= key < hi`` in the key's own order, each bound a prefix of the key columns (row
comparison ``(k1, k2) >= ($1, $2)``, which a btree index on the key serves). ``None`` is unbounded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from cutover.catalog import Column
from cutover.validate.rowhash import ident

ROWS_PER_BUCKET = 500
"""Target rows in one bucket of a chunk's checksum pass (a mismatching bucket is fetched or split further). Small,
so that a few scattered differences cost few fetched rows; the pass's cost hardly depends on the number of
buckets."""
MAX_BUCKETS = 16384
"""At most this many hash buckets for the second pass of an unkeyed table (its result, at most this many checksums
per side, stays small: the client's memory does not grow with the table)."""


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
    """A chunk's cut into buckets: a SQL expression giving each row's bucket number, and each bucket's range.

    ``kind`` is ``single`` (one bucket) or ``thresholds`` (``width_bucket`` over leading-key values the chunk
    planner read from the source's key order, :mod:`cutover.validate.chunks`).
    """

    kind: str
    expression: str
    params: tuple[object, ...] = ()
    thresholds: tuple[str, ...] = ()

    def range_of(self, bucket: int) -> Range:
        """The key range of ``bucket`` (a number the expression returned)."""
        if self.kind == "single":
            return Range()
        t = self.thresholds
        return Range((t[bucket - 1],) if bucket > 0 else None, (t[bucket],) if bucket < len(t) else None)


def bucket_count(estimated_rows: float) -> int:
    """How many buckets for a table of about ``estimated_rows`` rows (an unkeyed table's second pass)."""
    return max(1, min(MAX_BUCKETS, math.ceil(max(estimated_rows, 0) / ROWS_PER_BUCKET)))


def threshold_buckets(column: Column, thresholds: list[str]) -> Buckets:
    """``width_bucket(k1, thresholds)``: bucket 0 below the first threshold, ``i`` from threshold ``i-1`` on."""
    if not thresholds:
        return Buckets("single", "0")
    expression = f"width_bucket({ident(column.name)}, %s::text[]::{column.type}[])"
    return Buckets("thresholds", expression, (thresholds,), thresholds=tuple(thresholds))
