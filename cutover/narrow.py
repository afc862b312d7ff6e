"""The narrow check: a switch compares the rows changed since its checkpoint, never a whole table that only grew.

A switch proves both databases equal in two parts, the large one before the freeze and a small one inside it:

``checkpoint`` (before the freeze; writes go on)
    With no usable **checkpoint** (the first switch, or a verify slot lost or moved: :mod:`cutover.decoding`),
    the verify slot is created on both databases first, then every table is compared (``cutover validate`` with
    its re-check, so rows in flight are not differences): equal, the slots' consistent points are the checkpoint.
    With one, the window since it is compared (:func:`compare_window`, below) and the slots are advanced to its
    end, so that the window the freeze reads is seconds long.
``verify`` (inside the freeze, after the drain)
    The window since the ``checkpoint`` step's checkpoint, read and compared the same way with no re-check (both
    databases are still); the window is read consuming the slots, whose new position is the next checkpoint.

**The window** ``(checkpoint, upto]`` of both databases (``upto`` = each one's insert LSN when the window is
read): every key that a transaction committed there inserted, updated (old and new key) or deleted, on either
database, is compared with the validator's own row hashing (:meth:`cutover.validate.compare.TableComparison.rows_of_keys`).
A table is compared whole instead when it was truncated, has no key, logged a change without its key (``REPLICA
IDENTITY NOTHING`` or another index), or when its definition or storage (OID, ``relfilenode``: a table dropped and
created again, ``TRUNCATE``, a rewrite) differs from the checkpoint's (:mod:`cutover.baseline` counters, read
before ``upto``).

**Why no acknowledged payment escapes.** At the checkpoint both databases were proved equal: every row, by the
full comparison (the slots existed before its snapshots, so whatever changed after those snapshots is decoded), or
by the previous window. A row that differs at ``verify`` changed on at least one database since: a payment the
application wrote (acknowledged only once committed, so decoded on the old writer), the replication's apply on the
new writer, or a write of any other role on either one, frozen or not. Its key is therefore in the window, and the
window is compared while both are still; unless a table-level event made the table compared whole. Before the
freeze a key that still differs after the replication passed the window's end is a difference unless it changed
again after ``upto`` (then the next window compares it); inside the freeze every difference is one.

**Limits.** Changes that are not decoded: DDL (caught by the definition hash), sequences (``sequences sync``
moves them), large objects (``pg_largeobject`` is not a table of the schema), writes with ``wal_level`` below
``logical`` (a restart that lowers it invalidates the slots: the next switch compares everything), an unlogged
table (not in the WAL: compared whole only when its storage changed). The window's cost grows with the WAL written
since the checkpoint, so a switch long after the previous one reads a large window before its freeze; the freeze
itself reads only what was written since the ``checkpoint`` step, seconds earlier.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from cutover.decoding import (
    Changes, SlotState, create_slot, current_lsn, drop_slot, key_columns, read_changes, slot_position, slot_state,
)
from cutover.journal import Entry

SIDES = ("source", "target")
KEYS_PER_QUERY = 5000
"""Keys re-read per query on each side."""
SLOT_TIMEOUT_MS = 60_000
"""``statement_timeout`` of the verify slot's creation, which waits for the transactions running then."""


@dataclass(frozen=True)
class Checkpoint:
    """Where both databases were last proved equal: each one's verify slot position (LSN text)."""

    source: str
    target: str

    def to_json(self) -> dict[str, str]:
        return {"source": self.source, "target": self.target}

    def of(self, side: str) -> str:
        return self.source if side == "source" else self.target


def last_checkpoint(entries: list[Entry]) -> Entry | None:
    """The latest ``done`` entry that recorded a checkpoint (a switch's ``checkpoint`` or ``verify``), or None."""
    return next((e for e in reversed(entries) if e.status == "done" and "checkpoint" in e.details), None)


def checkpoint_of(entry: Entry | None) -> Checkpoint | None:
    """The :class:`Checkpoint` recorded in ``entry`` (None when there is none)."""
    return Checkpoint(**entry.details["checkpoint"]) if entry is not None else None


class Sides:
    """One autocommit connection to each database (``{"source": dsn, "target": dsn}``, roles that may read the
    tables and manage the slots) for a whole ``checkpoint`` or ``verify``: a freeze does not pay for a connection
    per query. A context manager; ``sides[side]`` is the connection.

    Raises:
        CutoverError: a database cannot be reached (the error boundary names the side).
    """

    def __init__(self, dsns: dict[str, str]) -> None:
        self.dsns = dsns
        self.conns: dict[str, Any] = {}

    def __enter__(self) -> Sides:
        from cutover.postgres import connect

        for side in SIDES:
            self.conns[side] = connect(self.dsns[side], side=side, autocommit=True)
        return self

    def __exit__(self, *exc: object) -> None:
        for conn in self.conns.values():
            conn.close()

    def __getitem__(self, side: str) -> Any:
        return self.conns[side]


def usable(checkpoint: Checkpoint | None, sides: Sides) -> bool:
    """Whether both verify slots exist and sit exactly at ``checkpoint`` (a slot dropped, recreated, lost or moved
    by anyone else since is not a checkpoint)."""
    return checkpoint is not None and all(slot_position(sides[side]) == checkpoint.of(side) for side in SIDES)


def create_slots(sides: Sides) -> Checkpoint:
    """(Re)create the verify slot on both databases; their consistent points (see :func:`cutover.decoding.create_slot`)."""
    found = {}
    for side in SIDES:
        sides[side].execute(f"SET statement_timeout = {SLOT_TIMEOUT_MS}")
        found[side] = create_slot(sides[side])
        sides[side].execute("RESET statement_timeout")
    return Checkpoint(**found)


def slot_states(sides: Sides) -> dict[str, SlotState]:
    """Each database's verify slot (:func:`cutover.decoding.slot_state`): the WAL it keeps on disk, its position."""
    return {side: slot_state(sides[side]) for side in SIDES}


def drop_slots(sides: Sides) -> dict[str, bool]:
    """Drop the verify slot of both databases (:func:`cutover.decoding.drop_slot`); side -> whether it had one.

    Safe at any time outside a switch: the next switch finds no usable checkpoint and compares every table
    (``checkpoint``'s full path). At the end of the migration it releases the WAL the slots keep.

    Raises:
        psycopg.errors.ObjectInUse: a slot is being read by another process (a switch's ``verify`` running).
    """
    return {side: drop_slot(sides[side]) for side in SIDES}


def upto_now(sides: Sides) -> Checkpoint:
    """Each database's flushed WAL position now: the end of a window (:func:`cutover.decoding.current_lsn`)."""
    return Checkpoint(**{side: current_lsn(sides[side]) for side in SIDES})


def read_window(sides: Sides, upto: Checkpoint, catalogs: dict[str, dict[str, Any]], schema: str = "public", *,
                consume: bool = False) -> tuple[Changes, Checkpoint]:
    """Both databases' changes from their slot's position to ``upto`` (:func:`cutover.decoding.read_changes`),
    merged, each side's keys from its catalog (:func:`cutover.catalog.read_catalog`); and where the slots are then
    (``upto`` when only peeking; with ``consume``, the end of the last WAL record read, at or past ``upto``).

    A consumed window that then proves unequal leaves the slots past the journal's checkpoint: the next switch
    finds no usable checkpoint and compares every table again (never less).
    """
    merged = Changes()
    reached = {}
    for side in SIDES:
        with sides[side].transaction():
            merged = merged.merge(read_changes(sides[side], upto.of(side), key_columns(catalogs[side]), schema,
                                               consume=consume))
        reached[side] = slot_position(sides[side]) if consume else upto.of(side)
    return merged, Checkpoint(**reached)


def catalogs_now(sides: Sides, schema: str = "public") -> dict[str, dict[str, Any]]:
    """Each database's catalog of ``schema`` (:func:`cutover.catalog.read_catalog`)."""
    from cutover.catalog import read_catalog

    found = {}
    for side in SIDES:
        with sides[side].transaction():
            found[side] = read_catalog(sides[side], schema)
    return found


def compare_keys(sides: Sides, changes: Changes, catalogs: dict[str, dict[str, Any]], schema: str = "public"
                 ) -> dict[str, set[tuple[str, ...]]]:
    """Compare the rows of ``changes.keys`` on both databases, one short ``REPEATABLE READ`` snapshot each; the
    keys that differ (missing on one side, or another row hash), per table.

    A table whose key or compared columns differ between the databases is added to ``changes.whole`` instead
    (the whole-table comparison reports its schema difference).
    """
    from cutover.catalog import Table
    from cutover.validate.compare import SidePair, TableComparison
    from cutover.validate.result import TableResult

    differing: dict[str, set[tuple[str, ...]]] = {}
    if not changes.keys:
        return differing
    conns = [sides[side] for side in SIDES]
    with ThreadPoolExecutor(max_workers=1) as pool:
        for conn in conns:
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        try:
            pair = SidePair(*conns, pool)
            for name, keys in sorted(changes.keys.items()):
                source, target = catalogs["source"].get(name), catalogs["target"].get(name)
                if name in changes.whole:
                    continue
                if source is None or target is None or source.key != target.key or not source.key:
                    changes.whole[name] = "key or table differs between the databases"
                    continue
                types = {c.name: c.type for c in target.columns}
                columns = tuple(c for c in source.columns if types.get(c.name) == c.type)
                result = TableResult(f"{schema}.{name}", True, source.key, KEYS_PER_QUERY)
                comparison = TableComparison(Table(source.schema, name, source.columns, source.key), columns, pair,
                                             result)
                ordered = sorted(keys)
                for start in range(0, len(ordered), KEYS_PER_QUERY):
                    src, tgt = comparison.rows_of_keys(ordered[start:start + KEYS_PER_QUERY])
                    bad = {k for k in src.keys() | tgt.keys()
                           if k not in src or k not in tgt or src[k] is None or src[k] != tgt[k]}
                    if bad:
                        differing.setdefault(name, set()).update(bad)
        finally:
            for conn in conns:
                conn.execute("ROLLBACK")
    return differing


def storage_changed(then: dict[str, dict[str, Any]], now: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Tables whose definition or storage differs between two counter readings (:func:`cutover.baseline.read_both`)
    on either database, or that exist in one reading only: table -> why."""
    found: dict[str, str] = {}
    for side in SIDES:
        before, after = then[side]["tables"], now[side]["tables"]
        for name in sorted(set(before) | set(after)):
            if name not in before or name not in after:
                found.setdefault(name, f"created or dropped on the {side}")
            elif before[name]["definition"] != after[name]["definition"]:
                found.setdefault(name, f"definition changed on the {side}")
            elif before[name]["storage"] != after[name]["storage"]:
                found.setdefault(name, f"storage rewritten on the {side} (TRUNCATE, a rewrite, dropped and created)")
    return found


@dataclass
class Window:
    """A compared window: its end (the new checkpoint), what was decoded and what differed.

    Attributes:
        upto: the window's end. changes: decoded changes (keys and tables to compare whole).
        differing: keys that differ, per table. unequal_tables: tables compared whole that differ.
        counters: the counters read before ``upto`` (the next window's storage baseline).
    """

    upto: Checkpoint
    changes: Changes
    differing: dict[str, set[tuple[str, ...]]]
    unequal_tables: list[str]
    counters: dict[str, dict[str, Any]]

    def facts(self) -> dict[str, Any]:
        """What is journalled: counts and table names, never a key."""
        return {"checkpoint": self.upto.to_json(), **self.changes.summary(),
                "differing_keys": sum(len(k) for k in self.differing.values()), "unequal_tables": self.unequal_tables}


def compare_window(sides: Sides, baseline_counters: dict[str, dict[str, Any]] | None,
                   compare_whole: Callable[[list[str]], list[str]], schema: str = "public") -> Window:
    """Read (consuming: the slots move to the window's end, the next checkpoint if it proves equal) and compare
    the window from the slots' position to now (see the module docstring).

    Args:
        sides: the connections to both databases.
        baseline_counters: the counters recorded with the checkpoint (None: every table with a change is compared
            whole, as a table whose storage changed).
        compare_whole: compares tables whole; returns those that differ.

    Raises:
        psycopg.Error: a statement failed (the error boundary names the side).
    """
    from cutover.baseline import counters_of

    read = {side: counters_of(sides[side], schema) for side in SIDES}  # before the window's end
    counters = {side: read[side][0] for side in SIDES}
    catalogs = {side: read[side][1] for side in SIDES}
    changes, upto = read_window(sides, upto_now(sides), catalogs, schema, consume=True)
    if baseline_counters is None:
        changes.whole.update({t: "no baseline counters" for t in changes.keys})
    else:
        changes.whole.update(storage_changed(baseline_counters, counters))
    differing = compare_keys(sides, changes, catalogs, schema)
    unequal = compare_whole(sorted(changes.whole)) if changes.whole else []
    return Window(upto, changes, differing, unequal, counters)
