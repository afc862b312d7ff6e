"""What the switchover calls from other work in progress, each through one function in this one place.

- :func:`sync_sequences`: branch i12 builds ``cutover sequences sync``; until it is merged, this is the smallest
  local version (every sequence of the schema moved past the writer's value plus a margin). At merge, this function
  becomes a call to i12's implementation.
- :func:`compare_tables`: branch i12 builds ``cutover validate`` (keyed range checksums, recheck); until then this
  compares row counts and an order-independent hash aggregate per table inside PostgreSQL. It answers "equal or
  not" per table with keys only in mind: it returns counts and hashes, never a row value.

Both take libpq DSNs of the two databases and report only names, counts and hashes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SEQUENCE_MARGIN = 1000
"""How far past the old writer's value each sequence of the new writer is moved (values are never reused)."""


def _connect(dsn: str) -> Any:
    import psycopg

    return psycopg.connect(dsn, autocommit=True, connect_timeout=10)


def sync_sequences(from_dsn: str, to_dsn: str, *, schema: str = "public", margin: int = SEQUENCE_MARGIN) -> int:
    """Move every sequence of ``schema`` on the new writer (``to_dsn``) past the old writer's value + ``margin``.

    Never moves a sequence backwards (``GREATEST`` of both). Idempotent.

    Returns:
        The number of sequences set.
    """
    from psycopg import sql

    with _connect(from_dsn) as source:
        values = source.execute(
            "SELECT sequencename, COALESCE(last_value, start_value) FROM pg_sequences WHERE schemaname = %s",
            (schema,)).fetchall()
    with _connect(to_dsn) as target:
        for name, value in values:
            regclass = sql.Identifier(schema, name).as_string(target)
            target.execute(
                "SELECT setval(%s::regclass, GREATEST(%s::bigint, (SELECT COALESCE(last_value, start_value) "
                "FROM pg_sequences WHERE schemaname = %s AND sequencename = %s)))",
                (regclass, int(value) + margin, schema, name))
    return len(values)


@dataclass(frozen=True)
class TableComparison:
    """One table on both sides: row counts and whether the content hashes agree."""

    table: str
    rows_source: int
    rows_target: int
    equal: bool


def _table_digests(dsn: str, schema: str) -> dict[str, tuple[int, str]]:
    """Per table: (row count, sum of 64-bit row hashes) read in one REPEATABLE READ snapshot."""
    from psycopg import sql

    with _connect(dsn) as conn:
        conn.autocommit = False
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        tables = [r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY 1", (schema,)).fetchall()]
        digests = {}
        for table in tables:
            row = conn.execute(sql.SQL(
                "SELECT count(*), COALESCE(sum(('x' || substr(md5(t::text), 1, 16))::bit(64)::bigint::numeric), 0)"
                "::text FROM {} t").format(sql.Identifier(schema, table))).fetchone()
            digests[f"{schema}.{table}"] = (int(row[0]), str(row[1]))
        conn.rollback()
    return digests


def compare_tables(source_dsn: str, target_dsn: str, *, schema: str = "public") -> list[TableComparison]:
    """Compare every table of ``schema`` on both sides (a table on one side only is unequal)."""
    source, target = _table_digests(source_dsn, schema), _table_digests(target_dsn, schema)
    return [TableComparison(table, source.get(table, (0, ""))[0], target.get(table, (0, ""))[0],
                            table in source and table in target and source[table] == target[table])
            for table in sorted(set(source) | set(target))]
