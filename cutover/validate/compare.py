"""Compare one table on both sides, server-side: bucket checksums first, then only the mismatching ranges.

Keyed tables are compared chunk by chunk (:mod:`cutover.validate.chunks` cuts the key space and
:mod:`cutover.validate.run` gives each chunk its own short snapshot on each side): :meth:`TableComparison.check_range`
computes ``count(*), sum(h)`` (``h`` the row hash of :mod:`cutover.validate.rowhash`) per sub-bucket of the chunk
(leading-key thresholds about :data:`~cutover.validate.ranges.ROWS_PER_BUCKET` rows apart, one index range scan). A
bucket whose checksums differ is narrowed: buckets holding at most :data:`FETCH_LIMIT` rows on either side have
their rows' ``(key, h)`` fetched, several buckets per query, and compared by key; a larger one is cut into
:data:`SPLIT` key ranges (thresholds from ``row_number()`` over the key on the side with more rows) and each range
is checksummed again. Only keys and hashes leave the server.

Tables without a key: a multiset of row hashes. One pass computes ``count(*), sum(h)`` over the whole table; only
when that differs, a second pass computes them per bucket of ``h`` (low bits), and the mismatching buckets'
``(h, count(*))`` are fetched and compared as multisets, so a duplicated row counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Executor, wait
from typing import Any

from cutover.catalog import Column, Table
from cutover.validate.ranges import Range, bucket_count, range_sql, threshold_buckets
from cutover.validate.result import TableResult
from cutover.validate.rowhash import ident, relation, row_hash

FETCH_LIMIT = 20_000
"""A mismatching range with at most this many rows on each side is compared row by row (keys and hashes); the rows
of several such ranges are fetched in one query up to this many rows."""
SPLIT = 16
"""A larger mismatching range is cut into this many ranges."""

Checksum = tuple[int, int]
"""``(count(*), sum(row hash))`` of a range."""


class SidePair:
    """One connection to each side, each inside its snapshot transaction; :meth:`both` queries them at once."""

    def __init__(self, source: Any, target: Any, pool: Executor) -> None:
        self.source, self.target, self.pool = source, target, pool

    def both(self, sql: str, params: Any = (), target_params: Any = None) -> tuple[list[tuple], list[tuple]]:
        """Run ``sql`` on the source and the target concurrently; both result lists."""
        future = self.pool.submit(lambda: self.target.execute(sql, params if target_params is None
                                                              else target_params).fetchall())
        try:
            source_rows = self.source.execute(sql, params).fetchall()
        except BaseException:
            wait([future])  # the target's statement ends too before the caller ends its transaction
            raise
        return source_rows, future.result()


class TableComparison:
    """Compares ``table`` (the columns to hash already chosen) through ``sides``; fills ``result``."""

    def __init__(self, table: Table, columns: tuple[Column, ...], sides: SidePair, result: TableResult) -> None:
        self.table, self.columns, self.sides, self.result = table, columns, sides, result
        self.key = tuple(table.column(name) for name in table.key)
        self.relation = relation(table)
        self.row_hash = row_hash(columns)

    # -- shared SQL ------------------------------------------------------------------------------------------
    def _checksums(self, where: str = "TRUE") -> str:
        """``SELECT count(*), sum(h) FROM table WHERE ...``."""
        return f"SELECT count(*), sum({self.row_hash}) FROM {self.relation} WHERE {where}"

    def _rows(self, columns: str, where: str = "TRUE") -> str:
        """``(SELECT <columns>, clock_timestamp() FROM table WHERE <where>) s``: a subquery PostgreSQL keeps as is.

        A subquery whose select list holds a volatile function is not flattened into the outer query (PostgreSQL's
        ``is_simple_subquery``), and ``clock_timestamp()`` is volatile, parallel-safe and cheap. Kept, the
        subquery's computed columns are evaluated once per row, and the planner, seeing no statistics for them,
        estimates a ``GROUP BY`` over them at its default of 200 groups instead of one group per row: a flattened
        ``GROUP BY <bucket of the key>`` is estimated at as many groups as the key has values, which at a few
        million rows makes PostgreSQL sort every row, or give up the parallel scan, to build a few thousand
        groups. Neither the volatile column nor the subquery keeps the scan from running in parallel.
        """
        return f"(SELECT {columns}, clock_timestamp() AS unflattened FROM {self.relation} WHERE {where}) s"

    def _estimated_rows(self) -> float:
        (rows,), _ = self.sides.both("SELECT greatest(reltuples, 0) FROM pg_class WHERE oid = %s::regclass",
                                     (self.relation,))
        return float(rows[0])

    # -- keyed: one chunk ---------------------------------------------------------------------------------
    def run(self) -> TableResult:
        """Compare an unkeyed table (the multiset of its row hashes) or, for a keyed one, every key at once
        (:meth:`check_range` over the whole key space); returns the filled :class:`TableResult`."""
        if self.key:
            self.check_range(Range(), ())
        else:
            self._unkeyed()
        self.result.settle()
        return self.result

    def check_range(self, rng: Range, thresholds: Sequence[str]) -> None:
        """Compare the rows of ``rng`` (a chunk of :mod:`cutover.validate.chunks`), counting them in the result.

        One query per side: ``count(*), sum(h)`` per sub-bucket of the chunk, a bucket per leading-key
        ``thresholds`` interval (``width_bucket``; each threshold a leading-key text strictly inside the chunk, about
        :data:`~cutover.validate.ranges.ROWS_PER_BUCKET` rows apart). Mismatching buckets are then narrowed down to
        keys in the same snapshot: fetched when small, split otherwise (:meth:`_narrow`)."""
        buckets = threshold_buckets(self.key[0], list(thresholds))
        where, params = range_sql(self.key, rng)
        rows = self._rows(f"{buckets.expression} AS b, {self.row_hash} AS h", where)
        src, tgt = self.sides.both(f"SELECT b, count(*), sum(h) FROM {rows} GROUP BY b", [*buckets.params, *params])
        source = {b: (n, s) for b, n, s in src}
        target = {b: (n, s) for b, n, s in tgt}
        self.result.rows_source = (self.result.rows_source or 0) + sum(c[0] for c in source.values())
        self.result.rows_target = (self.result.rows_target or 0) + sum(c[0] for c in target.values())
        small: list[tuple[Range, int]] = []
        for bucket in sorted(b for b in set(source) | set(target) if source.get(b) != target.get(b)):
            sub = buckets.range_of(bucket)
            sub = Range(rng.lo if sub.lo is None else sub.lo, rng.hi if sub.hi is None else sub.hi)
            rows_source, rows_target = source.get(bucket, (0,))[0], target.get(bucket, (0,))[0]
            if max(rows_source, rows_target) <= FETCH_LIMIT:
                small.append((sub, max(rows_source, rows_target)))
            else:
                self._narrow(sub, rows_source, rows_target)
        self._compare_rows_of(small)

    def _range_checksum(self, rng: Range) -> tuple[Checksum, Checksum]:
        where, params = range_sql(self.key, rng)
        src, tgt = self.sides.both(self._checksums(where), params)
        return tuple(src[0]), tuple(tgt[0])  # type: ignore[return-value]

    def _narrow(self, rng: Range, rows_source: int, rows_target: int) -> None:
        if max(rows_source, rows_target) <= FETCH_LIMIT:
            self._compare_rows(rng)
            return
        denser = self.sides.source if rows_source >= rows_target else self.sides.target
        step = max(1, max(rows_source, rows_target) // SPLIT)
        where, params = range_sql(self.key, rng)
        keys = ", ".join(ident(c.name) for c in self.key)
        texts = ", ".join(f"{ident(c.name)}::text" for c in self.key)
        thresholds = [tuple(row) for row in denser.execute(
            f"SELECT {texts} FROM (SELECT {keys}, row_number() OVER (ORDER BY {keys}) AS rn FROM {self.relation} "
            f"WHERE {where}) s WHERE rn %% {step} = 1 AND rn > 1 ORDER BY rn", params).fetchall()]
        bounds = [rng.lo, *thresholds, rng.hi]
        for lo, hi in zip(bounds, bounds[1:]):
            sub = Range(lo, hi)
            src, tgt = self._range_checksum(sub)
            if src != tgt:
                self._narrow(sub, src[0], tgt[0])

    def _key_rows(self, where: str, params: list[Any]) -> tuple[dict, dict]:
        texts = ", ".join(f"{ident(c.name)}::text" for c in self.key)
        sql = f"SELECT {texts}, {self.row_hash} FROM {self.relation} WHERE {where}"
        src, tgt = self.sides.both(sql, params)
        width = len(self.key)
        return _by_key(src, width), _by_key(tgt, width)

    def _compare_rows(self, rng: Range) -> None:
        where, params = range_sql(self.key, rng)
        source, target = self._key_rows(where, params)
        self.record(source, target)

    def _compare_rows_of(self, ranges: list[tuple[Range, int]]) -> None:
        """Compare the rows of several small ranges (each with its larger side's row count), fetching as many
        ranges per query as fit in :data:`FETCH_LIMIT` rows (``WHERE range1 OR range2 ...``)."""
        batch: list[Range] = []
        rows = 0
        for rng, count in ranges:
            if batch and rows + count > FETCH_LIMIT:
                self._compare_rows_batch(batch)
                batch, rows = [], 0
            batch.append(rng)
            rows += count
        if batch:
            self._compare_rows_batch(batch)

    def _compare_rows_batch(self, batch: list[Range]) -> None:
        conditions, params = [], []
        for rng in batch:
            where, values = range_sql(self.key, rng)
            conditions.append(f"({where})")
            params += values
        source, target = self._key_rows(" OR ".join(conditions), params)
        self.record(source, target)

    def record(self, source: dict, target: dict) -> None:
        """Add the differences between two ``key -> hashes`` maps to the result."""
        names = self.table.key
        for key in sorted(source.keys() - target.keys()):
            self.result.missing.add(dict(zip(names, key)))
        for key in sorted(target.keys() - source.keys()):
            self.result.extra.add(dict(zip(names, key)))
        # None: a key seen twice on a side (see _by_key), always different
        for key in sorted(key for key, value in source.items()
                          if key in target and (value is None or value != target[key])):
            self.result.different.add(dict(zip(names, key)))

    def rows_of_keys(self, keys: list[tuple[str, ...]]) -> tuple[dict, dict]:
        """``key -> hashes`` on both sides for exactly ``keys`` (the re-check of mismatched keys)."""
        cols = ", ".join(ident(c.name) for c in self.key)
        arrays = ", ".join(f"%s::text[]::{c.type}[]" for c in self.key)
        where = f"({cols}) IN (SELECT * FROM unnest({arrays}))"
        params = [[key[i] for key in keys] for i in range(len(self.key))]
        return self._key_rows(where, params)

    # -- unkeyed ---------------------------------------------------------------------------------------------
    def _unkeyed(self) -> None:
        count = 1
        while count < bucket_count(self._estimated_rows()):
            count *= 2
        mask = count - 1
        (src,), (tgt,) = self.sides.both(self._checksums())
        self.result.rows_source, self.result.rows_target = src[0], tgt[0]
        if tuple(src) == tuple(tgt):
            return
        hashes = self._rows(f"{self.row_hash} AS h")  # the row hash once per row, for the bucket and the sum
        src, tgt = self.sides.both(f"SELECT h & {mask}, count(*), sum(h) FROM {hashes} GROUP BY 1")
        source = {b: (n, s) for b, n, s in src}
        target = {b: (n, s) for b, n, s in tgt}
        mismatched = sorted(b for b in set(source) | set(target) if source.get(b) != target.get(b))
        src, tgt = self.sides.both(f"SELECT h, count(*) FROM {hashes} WHERE h & {mask} = ANY(%s) GROUP BY 1",
                                   (mismatched,))
        self.record_multisets({h: n for h, n in src}, {h: n for h, n in tgt})

    def record_multisets(self, source: dict[int, int], target: dict[int, int]) -> None:
        """Add the row hashes whose number of copies differs to ``missing`` (source has more) or ``extra``."""
        for value in sorted(source.keys() | target.keys()):
            surplus = source.get(value, 0) - target.get(value, 0)
            if surplus:
                listing = self.result.missing if surplus > 0 else self.result.extra
                listing.add({"row_hash": _hex(value), "copies": abs(surplus)}, abs(surplus))


def _hex(row_hash: int) -> str:
    return f"{row_hash & 0xFFFFFFFFFFFFFFFF:016x}"


def _by_key(rows: list[tuple], width: int) -> dict[tuple[str, ...], int | None]:
    """``key -> row hash``; a key seen twice (a side without the unique key) maps to ``None``: different."""
    found: dict[tuple[str, ...], int | None] = {}
    for row in rows:
        key = tuple(row[:width])
        found[key] = None if key in found else row[width]
    return found
