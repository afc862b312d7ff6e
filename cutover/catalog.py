"""The tables, columns and keys of a schema, read from PostgreSQL's catalog.

The catalog is read from ``pg_catalog`` (PostgreSQL docs, chapter 53 "System Catalogs"): ordinary and
partitioned tables, their columns with ``format_type`` names, and each table's key: the primary key, else the
unique index with the fewest columns whose columns are all ``NOT NULL`` (no expression, no predicate), which is
what DMS and the validation can use to identify a row. How two catalogs differ: :mod:`cutover.catalog_diff`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg


@dataclass(frozen=True)
class Column:
    """A table column.

    Attributes:
        name: column name.
        type: ``format_type(atttypid, atttypmod)``, e.g. ``numeric(12,2)``, ``character(3)``, ``payment_status``.
        base_type: the type after resolving a domain to its base type, without modifier (``numeric``).
        category: ``pg_type.typcategory`` of the base type (``A`` array, ``S`` string, ``E`` enum, ...).
        not_null: ``attnotnull``.
        collation: the column's collation name when it differs from the default, else ``None``.
    """

    name: str
    type: str
    base_type: str
    category: str
    not_null: bool
    collation: str | None = None


@dataclass(frozen=True)
class Table:
    """A table of the compared schema: its columns in ``attnum`` order and its key columns (empty: no key)."""

    schema: str
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    key_kind: str | None = None
    """``primary key``, ``unique index <name>`` or ``None``."""
    replica_identity: str = "d"
    """``pg_class.relreplident``: ``d`` default (the primary key), ``n`` nothing, ``f`` full, ``i`` index."""

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


_COLUMNS = """
SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
       format_type(coalesce(nullif(t.typbasetype, 0), a.atttypid), NULL), bt.typcategory, a.attnotnull,
       CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation THEN co.collname END, c.relreplident
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
JOIN pg_type t ON t.oid = a.atttypid
JOIN pg_type bt ON bt.oid = coalesce(nullif(t.typbasetype, 0), a.atttypid)
LEFT JOIN pg_collation co ON co.oid = a.attcollation
WHERE n.nspname = %s AND c.relkind IN ('r', 'p') AND NOT c.relispartition
ORDER BY c.relname, a.attnum
"""

_KEYS = """
SELECT c.relname, i.indisprimary, ic.relname,
       array(SELECT a.attname FROM unnest(i.indkey) WITH ORDINALITY k(attnum, ord)
             JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum ORDER BY k.ord)
FROM pg_index i
JOIN pg_class c ON c.oid = i.indrelid
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %s AND i.indisunique AND i.indisvalid AND i.indpred IS NULL AND NOT (0 = ANY(i.indkey))
  AND NOT EXISTS (SELECT 1 FROM unnest(i.indkey) k(attnum) JOIN pg_attribute a
                  ON a.attrelid = c.oid AND a.attnum = k.attnum WHERE NOT a.attnotnull)
ORDER BY c.relname, i.indisprimary DESC, i.indnkeyatts, ic.relname
"""


def read_catalog(conn: psycopg.Connection[Any], schema: str) -> dict[str, Table]:
    """Every table of ``schema`` by name (partitions are read through their partitioned parent)."""
    columns: dict[str, list[Column]] = {}
    identity: dict[str, str] = {}
    for table, name, type_, base, category, not_null, collation, replident in conn.execute(_COLUMNS, (schema,)):
        columns.setdefault(table, []).append(Column(name, type_, base, category, not_null, collation))
        identity[table] = replident
    keys: dict[str, tuple[tuple[str, ...], str]] = {}
    for table, primary, index, key_columns in conn.execute(_KEYS, (schema,)):
        if table not in keys:
            keys[table] = (tuple(key_columns), "primary key" if primary else f"unique index {index}")
    return {name: Table(schema, name, tuple(cols), keys.get(name, ((), None))[0], keys.get(name, ((), None))[1],
                        identity[name])
            for name, cols in columns.items()}
