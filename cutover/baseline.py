"""Which tables changed since the last full validation, so that a switch's ``verify`` compares only those.

Comparing every table while writes are frozen makes the freeze grow with the database. A switch therefore compares
only the tables that may have changed since the last time every table was proved equal (a full ``cutover validate
-e ENV`` that was equal, or a switch's ``verify``). What tells "may have changed" is a **baseline** recorded in the
journal with that validation and read again at ``verify``, per side (source and target) and per table of the schema:

- ``changes``: ``n_tup_ins + n_tup_upd + n_tup_del`` of ``pg_stat_user_tables``, summed over a partitioned table's
  partitions (cumulative counters: rows inserted, updated, deleted, committed or not);
- ``storage``: a hash of the table's (and its partitions') OID and ``relfilenode``: ``TRUNCATE`` counts no deleted
  row but gives the table a new relfilenode, and a table dropped and created again has a new OID;
- ``definition``: a hash of what the validation compares of the table's definition (columns, types, key:
  :func:`cutover.catalog.read_catalog`): DDL changes no counter;

and per side what tells that counters cannot be compared: the database's name, ``pg_postmaster_start_time()`` (a
restart, a failover to another instance, a restore: after an unclean shutdown every counter is reset),
``pg_stat_database.stats_reset`` (``pg_stat_reset()``, and in PostgreSQL 15 also
``pg_stat_reset_single_table_counters()``, set it) and ``track_counts`` (off: counters never move). Everything is
read in one transaction with ``stats_fetch_consistency = snapshot`` (one consistent view of the statistics).

A table is **changed** when any of its three values differs on either side, or it exists on one side only or on
one side of the baseline only. Every table is compared when there is no baseline, it was taken on another schema or
database, a server restarted, the statistics were reset or ``track_counts`` is off.

**Why it is safe.** The baseline is read *before* the validation opens its snapshot. A transaction's counts reach
the shared statistics only after it ended, so a change that the validation did not see (committed after its
snapshot) was committed after the baseline was read, and is not in it. At ``verify`` the application's writes are
frozen and its sessions were ended: a backend flushes its pending statistics when it exits, so every write of the
application is counted by then; replication applies on the other side only what the old writer committed (counted
there). Counts that reach the statistics late (the replication's apply process flushes when it can) only make a
table look changed: more is compared, never less.

**Limits** (PostgreSQL 15 docs, "The Cumulative Statistics System",
https://www.postgresql.org/docs/15/monitoring-stats.html): a server process flushes its statistics "just before
going idle, but not more frequently than once per ``PGSTAT_MIN_INTERVAL``" (1 s; later when the statistics' locks
are contended), so a write by a session that is still connected (not the application's role: the freeze ended
those, and ``verify`` compares every table when a session of a frozen role older than the freeze is still there) may not
be counted yet; only the freeze guarantees the application's counts are flushed. A superuser session may turn
``track_counts`` off for itself and write uncounted. Writes that bypass the table access methods (a file-level
restore into the data directory) are not counted. Each of these is also a write that bypasses the freeze, which the
switch cannot stop either. Sequences are not tables: ``sequences sync`` moves them at every switch.

Journal entries carry table names, counts, OIDs and hashes: never a row value.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cutover.journal import Entry, Journal

BASELINE_STEPS = ("verify", "validate")
"""Journal steps whose ``done`` entry carries a baseline (``details["counters"]``)."""

_SERVER = """
SELECT current_database(), pg_postmaster_start_time()::text,
       (SELECT stats_reset::text FROM pg_stat_database WHERE datname = current_database()),
       current_setting('track_counts')
"""

_TABLES = """
SELECT r.relname,
       sum(coalesce(s.n_tup_ins, 0) + coalesce(s.n_tup_upd, 0) + coalesce(s.n_tup_del, 0))::bigint,
       md5(string_agg(p.oid::text || '/' || p.relfilenode::text, ',' ORDER BY p.oid))
FROM pg_class p
JOIN pg_class r ON r.oid = coalesce(pg_partition_root(p.oid)::oid, p.oid)
JOIN pg_namespace n ON n.oid = r.relnamespace
LEFT JOIN pg_stat_user_tables s ON s.relid = p.oid
WHERE n.nspname = %s AND p.relkind IN ('r', 'p') AND r.relkind IN ('r', 'p')
GROUP BY r.relname
"""


def read_counters(dsn: str, side: str, schema: str = "public") -> dict[str, Any]:
    """The baseline values of one database (see the module docstring), as a JSON-able document.

    Args:
        dsn: libpq connection string; any role may read the statistics views (the validation role is enough).
        side: ``source`` or ``target`` (named in connection errors).
        schema: the compared schema; default ``public``.

    Returns:
        ``{"schema", "database", "server_started", "stats_reset", "track_counts",
        "tables": {name: {"changes": int, "storage": hex, "definition": hex}}}``.

    Raises:
        CutoverError: the database cannot be reached (from :func:`cutover.postgres.connect`).
    """
    from cutover.postgres import connect

    with connect(dsn, side=side, autocommit=True) as conn:
        return counters_of(conn, schema)[0]


def counters_of(conn: Any, schema: str = "public") -> tuple[dict[str, Any], dict[str, Any]]:
    """:func:`read_counters` on an open autocommit connection, and the catalog it read
    (:func:`cutover.catalog.read_catalog`), in one transaction."""
    from cutover.catalog import read_catalog

    with conn.transaction():
        conn.execute("SET LOCAL stats_fetch_consistency = 'snapshot'")
        database, started, reset, track_counts = conn.execute(_SERVER).fetchone()
        rows = conn.execute(_TABLES, (schema,)).fetchall()
        catalog = read_catalog(conn, schema)
    return {"schema": schema, "database": database, "server_started": started, "stats_reset": reset,
            "track_counts": track_counts,
            "tables": {name: {"changes": int(changes), "storage": storage[:16],
                              "definition": _definition_hash(catalog.get(name))}
                       for name, changes, storage in rows}}, catalog


def read_both(source_dsn: str, target_dsn: str, schema: str = "public") -> dict[str, dict[str, Any]]:
    """:func:`read_counters` of both sides: ``{"source": ..., "target": ...}``."""
    return {"source": read_counters(source_dsn, "source", schema), "target": read_counters(target_dsn, "target", schema)}


def _definition_hash(table: Any) -> str:
    return hashlib.sha256(repr(table).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Plan:
    """What ``verify`` compares.

    Attributes:
        tables: the table names to compare (sorted), or ``None`` for every table.
        reason: why, in one line (e.g. ``2 of 40 tables changed since the full validation of <time>``).
    """

    tables: tuple[str, ...] | None
    reason: str

    @property
    def full(self) -> bool:
        return self.tables is None


def last_baseline(entries: list[Entry]) -> Entry | None:
    """The latest ``done`` entry of a validation that carries a baseline (``verify`` or ``validate``), or None."""
    return next((e for e in reversed(entries)
                 if e.status == "done" and e.step in BASELINE_STEPS and "counters" in e.details), None)


def plan(baseline: Entry | None, current: dict[str, dict[str, Any]]) -> Plan:
    """The tables to compare given the baseline entry and the counters read now (both sides).

    A side whose counters cannot be compared makes every table compared (see the module docstring).
    """
    if baseline is None:
        return Plan(None, "no baseline: no full validation recorded in the journal")
    recorded = baseline.details["counters"]
    for side, now in current.items():
        then = recorded.get(side)
        reason = _incomparable(side, then, now)
        if reason:
            return Plan(None, reason)
    names = {t for counters in current.values() for t in counters["tables"]}
    changed = sorted({t for t in names for side, now in current.items()
                      if recorded[side]["tables"].get(t) != now["tables"].get(t)})
    return Plan(tuple(changed), f"{len(changed)} of {len(names)} tables changed since the full validation of "
                                f"{baseline.to_json()['time']}")


def _incomparable(side: str, then: dict[str, Any] | None, now: dict[str, Any]) -> str | None:
    if then is None:
        return f"the baseline has no counters of the {side}"
    if now["track_counts"] != "on" or then["track_counts"] != "on":
        return f"track_counts is off on the {side}: its counters do not move"
    for key, what in (("schema", "another schema"), ("database", "another database"),
                      ("server_started", "the server restarted since"),
                      ("stats_reset", "the statistics were reset since")):
        if then[key] != now[key]:
            return f"{side}: {what} the baseline: every table is compared"
    return None


def sessions_older_than(dsn: str, side: str, roles: Sequence[str], seconds: float) -> int:
    """How many sessions of ``roles`` in the database started more than ``seconds`` ago (server clock).

    ``verify`` asks this of a frozen database for the time since its freeze began: such a session was not ended by
    the freeze, may still write and may not have flushed its counts.
    """
    from cutover.postgres import connect

    with connect(dsn, side=side, autocommit=True) as conn:
        return sessions_older_than_on(conn, roles, seconds)


def sessions_older_than_on(conn: Any, roles: Sequence[str], seconds: float) -> int:
    """:func:`sessions_older_than` on an open autocommit connection."""
    return int(conn.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE usename = ANY(%s) AND datname = current_database() "
        "AND backend_start < now() - make_interval(secs => %s)", (list(roles), seconds)).fetchone()[0])


def record_validation(journal: Journal, counters: dict[str, dict[str, Any]], tables: int, rows: int) -> Entry | None:
    """Journal a full validation that was equal as the next switch's baseline: a run ``validate-<time>`` of one
    ``validate`` ``done`` entry (``tables``, ``rows``, ``counters``) and its ``end``. The caller holds the lock.

    Returns:
        The ``done`` entry, or None when the journal's last run is interrupted (a switch or shift to resume or roll
        back first: an entry after it would hide it from ``cutover resume``).
    """
    from datetime import datetime, timezone

    entries = journal.entries()
    if entries and entries[-1].status != "end":
        return None
    run = f"validate-{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%S%f')}"
    entry = journal.write(run, "validate", "validate", "done", tables=tables, rows=rows, full=True,
                          counters=counters)
    journal.write(run, "validate", "end", "end", outcome="completed")
    return entry
