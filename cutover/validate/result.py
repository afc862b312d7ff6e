"""What a validation run found: one :class:`TableResult` per table and the :class:`ValidationReport`.

Nothing here holds a row value: keys (each an object of key column to its PostgreSQL text form), counts and,
for tables without a key, row hashes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cutover.errors import ExitCode
from cutover.catalog_diff import SchemaDifference

EQUAL, DIFFERENT, ERROR = "equal", "different", "error"


@dataclass
class Listing:
    """Keys (or row hashes) of one kind of difference: the first ``limit`` listed, all counted."""

    limit: int
    items: list[dict[str, Any]] = field(default_factory=list)
    count: int = 0

    def add(self, item: dict[str, Any], copies: int = 1) -> None:
        self.count += copies
        if len(self.items) < self.limit:
            self.items.append(item)

    def merge(self, other: Listing) -> None:
        """Add ``other``'s items (up to this listing's limit) and its count."""
        self.items.extend(other.items[:max(0, self.limit - len(self.items))])
        self.count += other.count


@dataclass
class TableResult:
    """The comparison of one table.

    Attributes:
        table: ``schema.table``. keyed: whether a key identified rows (else a multiset of row hashes).
        key: the key columns used. status: ``equal``, ``different`` or ``error`` (could not be compared).
        rows_source / rows_target: row counts in each side's snapshot (``None`` when not read).
        missing / extra / different: keys on the source only / on the target only / on both with other values
            (unkeyed tables: ``{"row_hash": <16 hex digits>, "copies": n}`` in missing and extra).
        transient: differences seen first and gone at the re-check (``--recheck-after``).
        schema: this table's schema differences. error: why it could not be compared.
        chunks: key-range chunks compared (keyed tables; 0 for an unkeyed table, compared whole);
            resumed_chunks: of them, taken from the checkpoint of an interrupted run (``--resume``).
    """

    table: str
    keyed: bool
    key: tuple[str, ...]
    limit: int
    status: str = EQUAL
    rows_source: int | None = None
    rows_target: int | None = None
    missing: Listing = field(init=False)
    extra: Listing = field(init=False)
    different: Listing = field(init=False)
    transient: int = 0
    schema: list[SchemaDifference] = field(default_factory=list)
    error: str | None = None
    compared_columns: tuple[str, ...] = ()
    chunks: int = 0
    resumed_chunks: int = 0

    def __post_init__(self) -> None:
        self.reset_differences()

    def reset_differences(self) -> None:
        self.missing, self.extra, self.different = Listing(self.limit), Listing(self.limit), Listing(self.limit)

    @property
    def difference_count(self) -> int:
        return self.missing.count + self.extra.count + self.different.count

    def settle(self) -> None:
        """Set ``status`` from what was found (``error`` stays)."""
        if self.status != ERROR:
            self.status = DIFFERENT if self.difference_count or self.schema else EQUAL

    def as_dict(self) -> dict[str, Any]:
        """The JSON contract's table object."""
        data: dict[str, Any] = {
            "table": self.table, "keyed": self.keyed, "key": list(self.key), "status": self.status,
            "rows_source": self.rows_source, "rows_target": self.rows_target,
            "missing": self.missing.items, "extra": self.extra.items, "different": self.different.items,
            "counts": {"missing": self.missing.count, "extra": self.extra.count,
                       "different": self.different.count, "transient": self.transient},
            "listed_limit": self.limit, "chunks": self.chunks, "resumed_chunks": self.resumed_chunks,
            "schema": [d.as_dict() for d in self.schema],
        }
        if self.error:
            data["error"] = self.error
        return data


@dataclass
class ValidationReport:
    """A whole run: every table, the schema differences found before any data was compared, the re-check.

    Attributes:
        oldest_transaction_seconds: per side (``source``, ``target``), the longest any transaction of this run
            lasted there (from ``BEGIN`` to its end, measured by the client: an upper bound of how long the run
            held back that side's ``xmin`` horizon).
        throttled_seconds: time spent paused by ``--max-load`` / ``--max-lag`` / ``--max-cdc-latency``.
        split_chunks: chunks (or halves of them) whose statement passed the cap and that were compared again in
            two halves (:func:`cutover.validate.run.statement_cap_seconds`).
        recheck_by: what the re-check waited for: ``sentinel`` (replication applied a row written on the source
            after the pass), ``delay`` (``recheck_after_seconds``) or ``None`` (no re-check).
        recheck_wait_seconds: how long the re-check waited (both waits).
        recheck_timed_out: a sentinel did not arrive within ``--recheck-timeout`` (after the first pass: nothing
            was re-read, the differing tables stay ``different``). recheck_note: why (names only).
    """

    tables: list[TableResult]
    schema_differences: list[SchemaDifference]
    recheck_after_seconds: float | None = None
    schema: str = "public"
    oldest_transaction_seconds: dict[str, float] = field(default_factory=dict)
    throttled_seconds: float = 0.0
    split_chunks: int = 0
    recheck_by: str | None = None
    recheck_wait_seconds: float = 0.0
    recheck_timed_out: bool = False
    recheck_note: str = ""

    @property
    def status(self) -> str:
        if any(t.status == ERROR for t in self.tables):
            return ERROR
        if self.schema_differences or any(t.status != EQUAL for t in self.tables):
            return DIFFERENT
        return EQUAL

    @property
    def exit_code(self) -> ExitCode:
        """0 every table equal; 1 a difference; 3 anything could not be compared (never 0 then)."""
        return {EQUAL: ExitCode.OK, DIFFERENT: ExitCode.DIFFERENT, ERROR: ExitCode.INTERNAL}[self.status]

    def as_dict(self) -> dict[str, Any]:
        """The JSON document of ``--json``: ``{"status", "tables": [...], "schema_differences": [...], ...}``."""
        return {
            "status": self.status, "schema": self.schema,
            "tables": [t.as_dict() for t in self.tables],
            "schema_differences": [d.as_dict() for d in self.schema_differences],
            "recheck_after_seconds": self.recheck_after_seconds,
            "recheck_by": self.recheck_by, "recheck_wait_seconds": round(self.recheck_wait_seconds, 3),
            "recheck_timed_out": self.recheck_timed_out, "recheck_note": self.recheck_note,
            "oldest_transaction_seconds": {side: round(value, 3) for side, value in
                                           self.oldest_transaction_seconds.items()},
            "throttled_seconds": round(self.throttled_seconds, 3),
            "split_chunks": self.split_chunks,
            "summary": {s: sum(1 for t in self.tables if t.status == s) for s in (EQUAL, DIFFERENT, ERROR)},
        }
