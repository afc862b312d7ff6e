"""The verify slot: a logical decoding slot on each database that tells which rows changed since a checkpoint.

A switch's ``verify`` runs while writes are frozen; comparing whole tables there makes the freeze grow with the
database. Instead each database keeps one logical replication slot, ``cutover_verify_<database OID>`` (:func:`slot_name`; output plugin
``test_decoding``, shipped with PostgreSQL and supported by RDS for PostgreSQL: "Performing logical replication
for Amazon RDS for PostgreSQL", https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/PostgreSQL.Concepts.General.FeatureSupport.LogicalReplication.html),
whose confirmed position is the last **checkpoint**: the point where both databases were proved equal. Reading
the slot (:func:`read_changes`, ``pg_logical_slot_peek_changes``, which consumes nothing) gives every transaction
committed since, on that database, whichever role or process wrote it (the replication's apply worker included):
the keys of the rows it inserted, updated (old and new key) or deleted, and the tables it truncated. Only keys
are kept in memory, never another column's value; the work is proportional to the WAL written since the
checkpoint, not to any table. :func:`advance` moves the checkpoint (``pg_replication_slot_advance``).

PostgreSQL 15 docs: 49.2 "Logical Decoding Concepts" (a slot "will emit each change just once in normal
operation" and survives crashes), 9.27.6 "Replication Management Functions"
(``pg_create_logical_replication_slot``, ``pg_logical_slot_peek_changes``: "only transactions which commit prior
to the specified LSN" are returned, ``pg_replication_slot_advance``), F.42 "test_decoding", and 31.1
"Publication" (``REPLICA IDENTITY``: what a DELETE or a key-changing UPDATE logs of the old row).

**Limits.** A slot retains WAL from its position: a checkpoint far in the past keeps WAL on disk
(``max_slot_wal_keep_size`` bounds it; a slot whose WAL was removed reads as unusable here and the switch compares
whole tables instead). A logical slot holds back the ``catalog_xmin`` (vacuum of the system catalogs), not the
``xmin`` of the payment tables. Sequence changes and DDL are not decoded (``sequences sync`` moves sequences;
:mod:`cutover.baseline` detects DDL and rewrites by table definition and storage).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SLOT_PREFIX = "cutover_verify_"
"""The verify slot's name: this prefix and the database's OID (slot names are per server, and two databases of one
server, two migrations, each need their own: :func:`slot_name`)."""
PLUGIN = "test_decoding"
"""Its output plugin."""
FETCH_ROWS = 10_000
"""Decoded changes fetched per round trip (a server-side cursor: memory stays flat in the WAL read)."""


@dataclass
class Changes:
    """What one database changed since its slot's position.

    Attributes:
        keys: table -> the keys (key column values as PostgreSQL text, in the table's key order) of every row
            inserted, updated (old and new key) or deleted.
        whole: table -> why it must be compared whole (truncated, no key, a change that logged no key).
        changes: how many row changes were decoded.
    """

    keys: dict[str, set[tuple[str, ...]]] = field(default_factory=dict)
    whole: dict[str, str] = field(default_factory=dict)
    changes: int = 0

    def merge(self, other: Changes) -> Changes:
        """Both databases' changes together (a row changed on either side is compared)."""
        keys = {t: set(k) for t, k in self.keys.items()}
        for table, found in other.keys.items():
            keys.setdefault(table, set()).update(found)
        return Changes(keys, {**other.whole, **self.whole}, self.changes + other.changes)

    def summary(self) -> dict[str, Any]:
        """Counts only (journalled): ``{"changes", "keys", "tables", "whole"}``; never a key."""
        return {"changes": self.changes, "keys": sum(len(k) for k in self.keys.values()),
                "tables": sorted(self.keys), "whole": dict(sorted(self.whole.items()))}


def slot_name(conn: Any) -> str:
    """The verify slot's name for the database ``conn`` is connected to: ``cutover_verify_<pg_database.oid>``."""
    oid = conn.execute("SELECT oid FROM pg_database WHERE datname = current_database()").fetchone()[0]
    return f"{SLOT_PREFIX}{oid}"


def slot_position(conn: Any) -> str | None:
    """The verify slot's confirmed position (``confirmed_flush_lsn``), or None when there is none here, it uses
    another plugin or another database, or its WAL was removed (``wal_status = 'lost'``)."""
    row = conn.execute("SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = %s "
                       "AND plugin = %s AND database = current_database() AND slot_type = 'logical' "
                       "AND coalesce(wal_status, '') <> 'lost'", (slot_name(conn), PLUGIN)).fetchone()
    return row[0] if row else None


@dataclass(frozen=True)
class SlotState:
    """The verify slot of one database as ``pg_replication_slots`` shows it (PostgreSQL 15 docs 54.19).

    Attributes:
        slot: its name (:func:`slot_name`).
        exists: whether there is one, of this database.
        confirmed_flush_lsn: its position (the checkpoint it holds), LSN text; None without one.
        wal_status: ``reserved``, ``extended``, ``unreserved`` or ``lost`` (a lost slot is no checkpoint).
        retained_bytes: WAL kept on disk for it, ``pg_current_wal_lsn() - restart_lsn``, bytes; None without one.
    """

    slot: str
    exists: bool
    confirmed_flush_lsn: str | None = None
    wal_status: str | None = None
    retained_bytes: int | None = None


def slot_state(conn: Any) -> SlotState:
    """The verify slot of the database ``conn`` is connected to (see :class:`SlotState`); reads, changes nothing."""
    name = slot_name(conn)
    row = conn.execute("SELECT confirmed_flush_lsn::text, wal_status, "
                       "pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint FROM pg_replication_slots "
                       "WHERE slot_name = %s AND database = current_database()", (name,)).fetchone()
    return SlotState(name, True, *row) if row else SlotState(name, False)


def create_slot(conn: Any) -> str:
    """(Re)create the verify slot here (an existing one is dropped first); returns its consistent point (LSN).

    Every transaction that commits after that LSN is decoded. Creating a logical slot waits for the transactions
    running at that moment to end (PostgreSQL 15 docs 49.2.3), so ``conn`` should carry a ``statement_timeout``.

    Raises:
        psycopg.Error: no ``REPLICATION`` privilege (``rds_replication`` on RDS), ``wal_level`` is not ``logical``,
            or no free ``max_replication_slots`` (the error boundary names the side).
    """
    drop_slot(conn)
    return conn.execute("SELECT lsn::text FROM pg_create_logical_replication_slot(%s, %s)",
                        (slot_name(conn), PLUGIN)).fetchone()[0]


def drop_slot(conn: Any) -> bool:
    """Drop the verify slot here (end of the migration, or before recreating it); whether there was one."""
    row = conn.execute("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = %s "
                       "AND database = current_database()", (slot_name(conn),)).fetchone()
    return row is not None


WINDOW_END_TABLE = "cutover.window_end"
"""A one-row table only :func:`current_lsn` writes, on each database: outside the migrated schema, in no
publication and no DMS table mapping, so nothing replicates or compares it."""
_WINDOW_END_DDL = ("CREATE SCHEMA IF NOT EXISTS cutover; CREATE TABLE IF NOT EXISTS cutover.window_end "
                   "(id int PRIMARY KEY CHECK (id = 1), written_at timestamptz NOT NULL)")
_WINDOW_END_WRITE = ("INSERT INTO cutover.window_end VALUES (1, now()) "
                     "ON CONFLICT (id) DO UPDATE SET written_at = excluded.written_at")


def current_lsn(conn: Any) -> str:
    """The end of a window: ``pg_current_wal_flush_lsn()``, the WAL written to disk so far, once every commit
    acknowledged before this call is on disk.

    Logical decoding reads only flushed WAL (and ``pg_replication_slot_advance`` moves no further), so a window
    ends there, never at the insert position: a window ending past the flushed WAL would leave out a transaction
    whose commit record is not flushed yet and then move the slot past it. Every transaction acknowledged with
    ``synchronous_commit`` on (the default) is flushed before it is acknowledged. One acknowledged with
    ``synchronous_commit = off`` may not be (the WAL writer flushes it within ``wal_writer_delay``, 200 ms by
    default; PostgreSQL 15 docs 30.4 "Asynchronous Commit"). So the window's end is first made durable: this
    session writes one row of its own (:data:`WINDOW_END_TABLE`) and commits with ``synchronous_commit = on``,
    which flushes the WAL up to its commit record; WAL is flushed in order, so every commit acknowledged before,
    asynchronous ones included, is on disk and in the window. (A commit that wrote no WAL of its own, such as one
    that only took a transaction ID, is not flushed: ``RecordTransactionCommit`` flushes only for a transaction
    that wrote WAL.) One small write and one fsync per call; the table is created on first use.

    Args:
        conn: an autocommit connection of a role that may create the table in schema ``cutover`` (the admin);
            its ``synchronous_commit`` is set ``on`` for the session.

    Raises:
        ValueError: ``conn`` is not in autocommit mode (the commit is what flushes).
    """
    from psycopg import errors

    if not conn.autocommit:
        raise ValueError("decoding.current_lsn needs an autocommit connection")
    conn.execute("SET synchronous_commit = on")
    try:
        conn.execute(_WINDOW_END_WRITE)
    except errors.UndefinedTable:
        conn.execute(_WINDOW_END_DDL)
        conn.execute(_WINDOW_END_WRITE)
    return conn.execute("SELECT pg_current_wal_flush_lsn()::text").fetchone()[0]


def advance(conn: Any, lsn: str) -> str:
    """Move the verify slot's checkpoint to ``lsn`` (never backwards); returns the position it reached."""
    return conn.execute("SELECT end_lsn::text FROM pg_replication_slot_advance(%s, %s::pg_lsn)",
                        (slot_name(conn), lsn)).fetchone()[0]


def partition_roots(conn: Any, schema: str = "public") -> dict[tuple[str, str], str]:
    """``(schema, table)`` of every table whose changes count for a table of ``schema`` -> that table's name.

    ``test_decoding`` names the partition a row lives in, the validator the partitioned table; a plain table maps
    to itself."""
    return {(leaf_schema, leaf): root for leaf_schema, leaf, root in conn.execute(
        "SELECT ln.nspname, l.relname, r.relname FROM pg_class l JOIN pg_namespace ln ON ln.oid = l.relnamespace "
        "JOIN pg_class r ON r.oid = coalesce(pg_partition_root(l.oid)::oid, l.oid) "
        "JOIN pg_namespace rn ON rn.oid = r.relnamespace WHERE rn.nspname = %s AND l.relkind = 'r'", (schema,))}


def read_changes(conn: Any, upto: str, keys: dict[str, Key], schema: str = "public", *,
                 consume: bool = False) -> Changes:
    """The changes of the transactions committed after the slot's position and before ``upto``.

    With ``consume`` (``pg_logical_slot_get_changes``) the slot's position moves past what was returned (to the
    end of the WAL record that reached ``upto``: read it back with :func:`slot_position`): one pass of decoding,
    where peeking then :func:`advance` decodes the same WAL twice. Without it (``pg_logical_slot_peek_changes``)
    nothing moves.

    Args:
        conn: a connection to the database of the slot, inside a transaction (the cursor is server-side).
        upto: an LSN read before (:func:`current_lsn`).
        keys: table name -> its :class:`Key` (:func:`key_columns`) for the tables of ``schema``; a table of
            ``schema`` not in it is compared whole when it changed.
        schema: the compared schema; changes to tables outside it (and its tables' partitions) are skipped.
    """
    found = Changes()
    roots = partition_roots(conn, schema)
    with conn.cursor(name="cutover_verify_changes") as cursor:
        cursor.itersize = FETCH_ROWS
        function = "pg_logical_slot_get_changes" if consume else "pg_logical_slot_peek_changes"
        cursor.execute(f"SELECT data FROM {function}(%s, %s::pg_lsn, NULL, 'include-xids', '0', "
                       "'skip-empty-xacts', '1')", (slot_name(conn), upto))
        for (data,) in cursor:
            _record(found, parse_change(data), keys, roots)
    return found


@dataclass(frozen=True)
class Change:
    """One decoded row change: ``schema``, ``table``, ``action`` (INSERT, UPDATE, DELETE, TRUNCATE) and the
    tuples it logged as ``[(column, text or None)]``: the old key (or old row) first when logged, then the new."""

    schema: str
    table: str
    action: str
    tuples: tuple[tuple[tuple[str, str | None], ...], ...]
    relations: tuple[tuple[str, str], ...] = ()
    """Every ``(schema, table)`` named: one, or all those a TRUNCATE truncated."""


def parse_change(data: str) -> Change | None:
    """Parse one line of ``test_decoding`` output (``BEGIN`` and ``COMMIT`` give None).

    The format (contrib/test_decoding/test_decoding.c): ``table <schema>.<table>: <ACTION>: <columns>``, each column
    ``<name>[<type>]:<value>`` separated by spaces, a value quoted with ``'`` (doubled inside) unless it is a
    number, ``null``, ``true``/``false`` or ``B'...'``; an UPDATE or DELETE that logged the old key writes
    ``old-key: ... new-tuple: ...``; ``(no-tuple-data)`` when nothing was logged; names quoted as identifiers.
    """
    if not data.startswith("table "):
        return None
    rest = data[len("table "):]
    relations = []
    while True:  # a TRUNCATE names every relation it truncated: "table a.x, a.y: TRUNCATE: ..."
        qualified, rest = _split_name(rest, ":")
        if not qualified.startswith('"') and ", " in qualified:
            first, _, remainder = qualified.partition(", ")
            relations.append(_split_qualified(first))
            rest = remainder + rest
            continue
        relations.append(_split_qualified(qualified))
        if rest.startswith(", "):
            rest = rest[2:]
            continue
        break
    schema, table = relations[0]
    rest = rest[1:].lstrip()
    action, _, rest = rest.partition(":")
    tuples: list[tuple[tuple[str, str | None], ...]] = []
    current: list[tuple[str, str | None]] = []
    rest = rest.strip()
    while rest:
        for marker in ("old-key:", "new-tuple:"):
            if rest.startswith(marker):
                if current:
                    tuples.append(tuple(current))
                current, rest = [], rest[len(marker):].lstrip()
                break
        else:
            if rest.startswith("(no-tuple-data)") or rest.startswith("(no-flags)") or rest.startswith("restart_seqs") \
                    or rest.startswith("cascade"):
                rest = rest.partition(" ")[2].lstrip()
                continue
            name, rest = _split_name(rest, "[")
            type_end = rest.index("]:")
            rest = rest[type_end + 2:]
            value, rest = _split_value(rest)
            current.append((_unquote(name), value))
            rest = rest.lstrip()
    if current:
        tuples.append(tuple(current))
    return Change(schema, table, action.strip(), tuple(tuples), tuple(relations))


def _split_name(text: str, stop: str) -> tuple[str, str]:
    """An identifier (``"quoted"`` with ``""`` inside, or plain up to ``stop``) and the rest from ``stop``."""
    if text.startswith('"'):
        i = 1
        while True:
            j = text.index('"', i)
            if text[j + 1:j + 2] == '"':
                i = j + 2
                continue
            name_end = j + 1
            break
        if text[name_end:name_end + 1] == ".":  # schema.table: the table part follows
            second, rest = _split_name(text[name_end + 1:], stop)
            return text[:name_end] + "." + second, rest
        return text[:name_end], text[name_end:]
    end = text.index(stop)
    if stop == ":" and text[:end].count('"'):  # plain schema, quoted table
        dot = text.index(".")
        second, rest = _split_name(text[dot + 1:], stop)
        return text[:dot] + "." + second, rest
    return text[:end], text[end:]


def _unquote(name: str) -> str:
    return name[1:-1].replace('""', '"') if name.startswith('"') else name


def _split_qualified(qualified: str) -> tuple[str, str]:
    if qualified.startswith('"'):
        schema, rest = _split_name(qualified, ".")
        return _unquote(schema), _unquote(rest.lstrip("."))
    schema, _, table = qualified.partition(".")
    return schema, _unquote(table)


def _split_value(text: str) -> tuple[str | None, str]:
    """A value (unquoted text; None for ``null``) and the rest."""
    start = 2 if text.startswith("B'") else 1 if text.startswith("'") else 0
    if start:
        i = start
        while True:
            j = text.index("'", i)
            if text[j + 1:j + 2] == "'":
                i = j + 2
                continue
            return text[start:j].replace("''", "'"), text[j + 1:]
    value, _, rest = text.partition(" ")
    return (None if value == "null" else value), " " + rest if rest else ""


def _record(found: Changes, change: Change | None, keys: dict[str, Key],
            roots: dict[tuple[str, str], str]) -> None:
    if change is None:
        return
    if change.action == "TRUNCATE":
        for relation in change.relations:
            if relation in roots:
                found.changes += 1
                found.whole[roots[relation]] = "truncated"
        return
    table = roots.get((change.schema, change.table))
    if table is None:
        return
    found.changes += 1
    known = keys.get(table)
    if known is None:
        found.whole.setdefault(table, "no key")
        return
    if change.action != "INSERT" and not known.logs_old_key:
        found.whole.setdefault(table, f"a {change.action} whose old key may go unlogged (REPLICA IDENTITY)")
        return
    key = known.columns
    tuples = change.tuples
    if not tuples:
        found.whole.setdefault(table, f"a {change.action} that logged no key (REPLICA IDENTITY NOTHING?)")
        return
    for logged in tuples:
        values = dict(logged)
        if not all(values.get(column) is not None for column in key):
            found.whole.setdefault(table, f"a {change.action} that logged another key (REPLICA IDENTITY)")
            return
        found.keys.setdefault(table, set()).add(tuple(values[column] for column in key))  # type: ignore[misc]


@dataclass(frozen=True)
class Key:
    """How a table's rows are named in the window.

    Attributes:
        columns: the validator's key columns.
        logs_old_key: whether every UPDATE that changes the key and every DELETE logs the old key: ``REPLICA
            IDENTITY DEFAULT`` with a primary key (the validator's key), or ``FULL`` (the whole old row). With
            ``NOTHING``, ``USING INDEX`` or no primary key, an old key may go unlogged, so an UPDATE or DELETE
            there makes the table compared whole (PostgreSQL 15 docs, ALTER TABLE ``REPLICA IDENTITY``).
    """

    columns: tuple[str, ...]
    logs_old_key: bool


def key_columns(catalog: dict[str, Any]) -> dict[str, Key]:
    """Table name -> its :class:`Key`, from :func:`cutover.catalog.read_catalog` (tables without a key left out)."""
    return {name: Key(tuple(table.key), table.replica_identity == "f" or (
        table.replica_identity == "d" and table.key_kind == "primary key"))
        for name, table in catalog.items() if table.key}
