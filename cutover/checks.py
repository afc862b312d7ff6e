"""The two checks a switch runs while writes are frozen, through the validation issue's implementations.

- :func:`compare_tables`: ``cutover validate`` (:func:`cutover.validate.run.validate`: keyed range checksums,
  multisets for unkeyed tables) with no re-check: after the drain both sides are still, so any difference is real.
  A switch passes the tables changed since the last full validation (:mod:`cutover.baseline`).
- :func:`advance_sequences`: ``cutover sequences sync`` (:func:`cutover.sequences.sync_sequences`): every sequence of
  the new writer moved past the old writer's value plus a margin, never backwards.

Both report table and sequence names, counts and statuses only, never a row value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class TableVerdict:
    """The verdict on one table: row counts on both sides and whether ``cutover validate`` found them equal (the
    engine that compares is :class:`cutover.validate.compare.TableComparison`)."""

    table: str
    rows_source: int
    rows_target: int
    equal: bool


def compare_tables(source_dsn: str, target_dsn: str, *, schema: str = "public",
                   tables: Sequence[str] = (), recheck_after: float = 0) -> list[TableVerdict]:
    """Validate the tables of ``schema`` on both sides (``cutover validate``).

    Args:
        tables: the table names to compare (each must exist on a side); default (empty): every table.
        recheck_after: seconds before differing rows are read again (rows in flight while replication runs);
            default 0: no re-check (both sides still, as inside a freeze).

    Raises:
        CutoverError: a side cannot be read (from ``cutover validate``).
        UsageError: a table in ``tables`` exists on neither side.
    """
    from cutover.validate.run import ValidateOptions, validate

    report = validate(source_dsn, target_dsn, ValidateOptions(schema=schema, tables=tuple(tables),
                                                                     recheck_after=recheck_after))
    equal = not report.schema_differences
    return [TableVerdict(t.table, t.rows_source or 0, t.rows_target or 0, equal and t.status == "equal")
            for t in report.tables]


def advance_sequences(from_dsn: str, to_dsn: str, *, schema: str = "public") -> int:
    """``cutover sequences sync`` from the old writer to the new one; returns how many sequences were moved
    (:func:`cutover.sequences.sync_sequences` returns each sequence's state and new value)."""
    from cutover.sequences import sync_sequences as sync

    return sum(1 for _, value in sync(from_dsn, to_dsn, schema) if value is not None)
