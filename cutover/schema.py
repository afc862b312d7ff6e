"""The tables, columns and keys of a schema, how two databases differ in them, and ``cutover schema copy``.

The catalog is read from ``pg_catalog`` (PostgreSQL docs, chapter 53 "System Catalogs"): ordinary and
partitioned tables, their columns with ``format_type`` names, and each table's key: the primary key, else the
unique index with the fewest columns whose columns are all ``NOT NULL`` (no expression, no predicate), which is
what DMS and the validation can use to identify a row.
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cutover.errors import CutoverError, ExitCode, UsageError

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


@dataclass(frozen=True)
class SchemaDifference:
    """One difference between the source's and the target's schema, found before any data is compared.

    Attributes:
        table: ``schema.table``.
        column: the column, or ``None`` for the table itself.
        problem: what differs, e.g. ``table on the source only``, ``type differs``.
        source / target: the type (or key, or ``present``) on each side, ``None`` where absent.
    """

    table: str
    column: str | None
    problem: str
    source: str | None
    target: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"table": self.table, "column": self.column, "problem": self.problem,
                "source": self.source, "target": self.target}


def compare_catalogs(source: dict[str, Table], target: dict[str, Table],
                     excluded: frozenset[tuple[str, str]] = frozenset()) -> list[SchemaDifference]:
    """Tables or columns on one side only, different types, nullability, collations or keys.

    Args:
        excluded: ``(table, column)`` pairs left out of the comparison (``--exclude-columns``).
    """
    differences = []
    for name in sorted(set(source) | set(target)):
        qualified = (source.get(name) or target[name]).qualified
        if name not in target:
            differences.append(SchemaDifference(qualified, None, "table on the source only", "present", None))
            continue
        if name not in source:
            differences.append(SchemaDifference(qualified, None, "table on the target only", None, "present"))
            continue
        src_cols = {c.name: c for c in source[name].columns if (name, c.name) not in excluded}
        tgt_cols = {c.name: c for c in target[name].columns if (name, c.name) not in excluded}
        for column in [*src_cols, *(c for c in tgt_cols if c not in src_cols)]:
            s, t = src_cols.get(column), tgt_cols.get(column)
            if t is None:
                differences.append(SchemaDifference(qualified, column, "column on the source only", s.type, None))
            elif s is None:
                differences.append(SchemaDifference(qualified, column, "column on the target only", None, t.type))
            elif s.type != t.type:
                differences.append(SchemaDifference(qualified, column, "type differs", s.type, t.type))
            elif s.not_null != t.not_null:
                differences.append(SchemaDifference(qualified, column, "nullability differs",
                                                    _null(s.not_null), _null(t.not_null)))
            elif s.collation != t.collation:
                differences.append(SchemaDifference(qualified, column, "collation differs", s.collation or "default",
                                                    t.collation or "default"))
        if source[name].key != target[name].key:
            differences.append(SchemaDifference(qualified, None, "key differs", _key(source[name]),
                                                _key(target[name])))
    return differences


def _null(not_null: bool) -> str:
    return "NOT NULL" if not_null else "NULL"


def _key(table: Table) -> str | None:
    return f"{table.key_kind} ({', '.join(table.key)})" if table.key else None


# --- cutover schema copy ----------------------------------------------------------------------------------------

SECTIONS = ("pre-data", "post-data")
"""``cutover schema copy --section``: ``pre-data`` before DMS's full load, ``post-data`` after it."""


@dataclass
class CopyResult:
    """What ``copy_schema`` restored: the number of ``pg_restore`` TOC entries and the tables they touch."""

    section: str
    entries: int
    tables: list[str] = field(default_factory=list)


def _tool(name: str) -> str:
    """Path of a PostgreSQL client program (``pg_dump``, ``pg_restore``): PATH, else the newest server bindir."""
    import glob
    import shutil

    found = shutil.which(name)
    if found:
        return found
    for bindir in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(bindir, name).exists():
            return str(Path(bindir, name))
    raise CutoverError(f"{name} not found: install the PostgreSQL client (Debian: postgresql-client)",
                       exit_code=ExitCode.INTERNAL)


def _run(argv: list[str], what: str) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise CutoverError(f"{what} failed: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else ''}",
                           exit_code=ExitCode.INTERNAL)
    return done.stdout


def copy_schema(source_dsn: str, target_dsn: str, schema: str, section: str) -> CopyResult:
    """Load the source's schema into the target in the part DMS needs now (``TargetTablePrepMode = DO_NOTHING``).

    - ``pre-data``, before the full load: types, tables, sequences, functions, plus each table's **primary key**
      (``pg_dump`` files primary keys under post-data; DMS's change capture applies updates and deletes by key,
      and ``cutover validate`` needs the key, so they come first). Refuses a target whose schema has a table.
    - ``post-data``, after the full load: the other indexes, unique and foreign-key constraints, triggers, rules.
      Refuses unless every source table exists on the target.

    Runs ``pg_dump --schema-only --format=custom --no-owner --no-privileges`` on the source and ``pg_restore
    --single-transaction --exit-on-error`` of the selected TOC entries into the target (all or nothing). See
    https://www.postgresql.org/docs/15/app-pgdump.html (``--section``) and DMS "Using a PostgreSQL database as a
    target" (https://docs.aws.amazon.com/dms/latest/userguide/CHAP_Target.PostgreSQL.html).

    Raises:
        UsageError: ``section`` is not one of :data:`SECTIONS`.
        CutoverError: (exit 1) the target is not in the state the section needs; (exit 3) pg_dump/pg_restore or a
            connection failed.
    """
    from cutover.postgres import connect

    if section not in SECTIONS:
        raise UsageError("--section", section, f"must be one of {', '.join(SECTIONS)}")
    with connect(source_dsn, side="source", autocommit=True) as src, \
            connect(target_dsn, side="target", autocommit=True) as tgt:
        source_tables = read_catalog(src, schema)
        target_tables = read_catalog(tgt, schema)
        schema_exists = tgt.execute("SELECT count(*) FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone()[0]
        primary_keys = {name for (name,) in src.execute(
            "SELECT c.conname FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace "
            "WHERE n.nspname = %s AND c.contype = 'p'", (schema,))}
    if section == "pre-data" and target_tables:
        raise CutoverError(f"target schema {schema} is not empty ({len(target_tables)} tables, e.g. "
                           f"{sorted(target_tables)[0]}): schema copy --section pre-data loads only an empty schema",
                           exit_code=ExitCode.DIFFERENT)
    if section == "post-data":
        missing = sorted(set(source_tables) - set(target_tables))
        if missing:
            raise CutoverError(f"tables missing on the target ({', '.join(missing)}): run schema copy --section "
                               "pre-data first", exit_code=ExitCode.DIFFERENT)
    with tempfile.TemporaryDirectory(prefix="cutover-schema-") as folder:
        dump = Path(folder, "schema.dump")
        _run([_tool("pg_dump"), "--schema-only", "--format=custom", "--no-owner", "--no-privileges",
              f"--schema={schema}", f"--file={dump}", f"--dbname={source_dsn}"], "pg_dump")
        pre = [line for line in _toc(dump, "pre-data") if not (schema_exists and _is_schema(line, schema))]
        post = _toc(dump, "post-data")
        is_pk = [_is_constraint(line, primary_keys) for line in post]
        entries = pre + [line for line, pk in zip(post, is_pk) if pk] if section == "pre-data" else \
            [line for line, pk in zip(post, is_pk) if not pk]
        listing = Path(folder, "selected.list")
        listing.write_text("\n".join(entries) + "\n", encoding="utf-8")
        if entries:
            _run([_tool("pg_restore"), "--single-transaction", "--exit-on-error", "--no-owner", "--no-privileges",
                  f"--use-list={listing}", f"--dbname={target_dsn}", str(dump)], "pg_restore")
    return CopyResult(section, len(entries), sorted(source_tables))


def _toc(dump: Path, section: str) -> list[str]:
    """The TOC entry lines of ``section`` in ``dump`` (``pg_restore --list``), comments left out."""
    listing = _run([_tool("pg_restore"), "--list", f"--section={section}", str(dump)], "pg_restore --list")
    return [line for line in listing.splitlines() if line.strip() and not line.startswith(";")]


def _is_schema(line: str, schema: str) -> bool:
    """Whether a TOC line creates or comments ``schema`` itself (skipped when the target has it)."""
    parts = line.split()
    return len(parts) >= 6 and (parts[3:6] == ["SCHEMA", "-", schema] or parts[3:7] == ["COMMENT", "-", "SCHEMA",
                                                                                        schema])


def _is_constraint(line: str, names: set[str]) -> bool:
    """Whether a TOC line (``<id>; <oid> <oid> CONSTRAINT <schema> <table> <name> <owner>``) is one of ``names``."""
    parts = line.split()
    return len(parts) >= 7 and parts[3] == "CONSTRAINT" and parts[6] in names
