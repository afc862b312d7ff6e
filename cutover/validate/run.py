"""A validation run: both sides in one consistent snapshot each, tables compared in parallel, then a re-check.

Each side opens a coordinator transaction (``REPEATABLE READ, READ ONLY``) and exports its snapshot
(``pg_export_snapshot()``); every worker connection of that side imports it (``SET TRANSACTION SNAPSHOT``), so
all ``--jobs`` workers read the same database state as the coordinator, which stays open until the end. Both
sides are opened at the same moment and every query runs on both sides at once. See PostgreSQL docs 9.27.5
"Snapshot Synchronization Functions" and 13.2.2 "Repeatable Read Isolation Level".
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from queue import Queue
from typing import Any

from cutover.cli.terminal import CutoverError, ExitCode, UsageError
from cutover.postgres import begin_snapshot, connect, error_text
from cutover.schema import Table, compare_catalogs, read_catalog
from cutover.validate.compare import SidePair, TableComparison
from cutover.validate.result import DIFFERENT, ERROR, TableResult, ValidationReport
from cutover.validate.rowhash import HASH_PROBE

RECHECK_MARGIN_SECONDS = 5.0
"""Added to the measured replication lag for the default re-check delay."""
RECHECK_CHUNK = 5000
"""Keys re-read per query at the re-check."""


@dataclass(frozen=True)
class ValidateOptions:
    """What ``cutover validate`` compares and how.

    Attributes:
        schema: the schema on both sides (default ``public``).
        tables: table names to compare (default: every table of the schema on either side).
        exclude_columns: ``(table, column)`` pairs left out everywhere (a column only the migration adds).
        jobs: tables compared at once; each uses one connection per side (default 2).
        recheck_after: seconds before re-reading mismatched keys; ``None``: the source's replication lag plus
            :data:`RECHECK_MARGIN_SECONDS` when a WAL sender is streaming from it, else no re-check; ``0``: none.
        max_listed: keys listed per kind of difference and table (all are counted).
    """

    schema: str = "public"
    tables: tuple[str, ...] = ()
    exclude_columns: frozenset[tuple[str, str]] = frozenset()
    jobs: int = 2
    recheck_after: float | None = None
    max_listed: int = 1000

    def problems(self) -> list[UsageError]:
        """Usage errors of the options themselves (before any connection)."""
        found = []
        if self.jobs < 1 or self.jobs > 32:
            found.append(UsageError("--jobs", self.jobs, "must lie between 1 and 32"))
        if self.recheck_after is not None and not 0 <= self.recheck_after <= 3600:
            found.append(UsageError("--recheck-after", self.recheck_after, "must lie between 0 and 3600 seconds"))
        if self.max_listed < 1:
            found.append(UsageError("--max-listed", self.max_listed, "must be at least 1"))
        return found


Progress = Callable[[str, float], None]


@dataclass
class _Side:
    name: str
    dsn: str
    coordinator: Any = None
    snapshot: str = ""
    catalog: dict[str, Table] = field(default_factory=dict)


def _open_side(side: _Side, schema: str, stack: ExitStack) -> _Side:
    side.coordinator = stack.enter_context(connect(side.dsn, side=side.name))
    begin_snapshot(side.coordinator)
    side.snapshot = side.coordinator.execute("SELECT pg_export_snapshot()").fetchone()[0]
    side.catalog = read_catalog(side.coordinator, schema)
    return side


def replication_lag_seconds(source_dsn: str) -> float | None:
    """The largest write/flush/replay lag of the WAL senders on the source (``pg_stat_replication``), in seconds;
    ``None`` when nothing streams from it. The lag columns need ``pg_monitor`` (else they read as 0)."""
    with connect(source_dsn, side="source", autocommit=True) as conn:
        senders, lag = conn.execute(
            "SELECT count(*), coalesce(extract(epoch FROM max(greatest(write_lag, flush_lag, replay_lag))), 0) "
            "FROM pg_stat_replication").fetchone()
    return float(lag) if senders else None


def _select_tables(options: ValidateOptions, source: dict[str, Table], target: dict[str, Table]) -> list[str]:
    names = sorted(set(source) | set(target))
    if not options.tables:
        return names
    unknown = [t for t in options.tables if t not in names]
    if unknown:
        raise UsageError("--tables", ",".join(unknown), f"no such table in schema {options.schema} on either side")
    return [t for t in names if t in options.tables]


def _check_excluded(options: ValidateOptions, source: dict[str, Table], target: dict[str, Table]) -> None:
    for table, column in sorted(options.exclude_columns):
        found = [t for t in (source.get(table), target.get(table)) if t]
        if not any(column in {c.name for c in t.columns} for t in found):
            raise UsageError("--exclude-columns", f"{table}.{column}", "no such column on either side")
        if any(column in t.key for t in found):
            raise UsageError("--exclude-columns", f"{table}.{column}", "a key column cannot be excluded")


def _plan(name: str, options: ValidateOptions, source: dict[str, Table], target: dict[str, Table],
          differences: list) -> tuple[TableResult, Table | None]:
    """The result skeleton of a table and, when its data can be compared, which table and columns to hash."""
    src, tgt = source.get(name), target.get(name)
    own = [d for d in differences if d.table == f"{options.schema}.{name}"]
    table = src or tgt
    result = TableResult(f"{options.schema}.{name}", bool(table.key), table.key, options.max_listed, schema=own)
    if src is None or tgt is None:
        result.status = DIFFERENT
        return result, None
    if src.key != tgt.key and not (src.key and tgt.key):
        result.keyed = False  # one side lacks the key: compare as multisets
    tgt_types = {c.name: c.type for c in tgt.columns}
    columns = tuple(c for c in src.columns if (name, c.name) not in options.exclude_columns
                    and tgt_types.get(c.name) == c.type)
    if not result.keyed:
        src = Table(src.schema, src.name, src.columns, ())
        result.key = ()
    result.compared_columns = tuple(c.name for c in columns)
    return result, src


def validate(source_dsn: str, target_dsn: str, options: ValidateOptions, progress: Progress | None = None
             ) -> ValidationReport:
    """Compare the schema and then every table's rows of ``options.schema`` between source and target.

    Args:
        source_dsn / target_dsn: libpq connection strings (a read-only role is enough: SELECT on the tables,
            ``pg_monitor`` for the replication lag).
        options: see :class:`ValidateOptions`.
        progress: called with ``(table, fraction done)`` as tables advance.

    Returns:
        The report; its ``exit_code`` is 0 only when every table was compared and is equal.

    Raises:
        UsageError: bad options, an unknown table or column (exit 2).
        CutoverError: a connection failed, the servers' encodings or hash functions differ (exit 3).
    """
    problems = options.problems()
    if problems:
        raise problems[0]
    progress = progress or (lambda table, fraction: None)
    with ExitStack() as stack, ThreadPoolExecutor(max_workers=2 * options.jobs + 2) as pool:
        source, target = _Side("source", source_dsn), _Side("target", target_dsn)
        opened = [pool.submit(_open_side, side, options.schema, stack) for side in (source, target)]
        for future in opened:
            future.result()
        _check_comparable(source.coordinator, target.coordinator)
        tables = _select_tables(options, source.catalog, target.catalog)
        _check_excluded(options, source.catalog, target.catalog)
        differences = [d for d in compare_catalogs(source.catalog, target.catalog, options.exclude_columns)
                       if d.table.split(".", 1)[1] in tables]
        plans = [_plan(name, options, source.catalog, target.catalog, differences) for name in tables]
        pairs: Queue[SidePair] = Queue()
        pairs.put(SidePair(source.coordinator, target.coordinator, pool))
        for _ in range(min(options.jobs, len(plans)) - 1):
            workers = []
            for side in (source, target):
                conn = stack.enter_context(connect(side.dsn, side=side.name))
                begin_snapshot(conn, side.snapshot)
                workers.append(conn)
            pairs.put(SidePair(*workers, pool))

        def compare(plan: tuple[TableResult, Table | None]) -> TableResult:
            result, table = plan
            if table is None:
                return result
            pair = pairs.get()
            try:
                columns = tuple(table.column(name) for name in result.compared_columns)
                TableComparison(table, columns, pair, result, progress).run()
            except Exception as error:  # noqa: BLE001  (a table that fails is reported, never equal)
                import psycopg

                if not isinstance(error, psycopg.Error):
                    raise
                result.status, result.error = ERROR, error_text(error)
            finally:
                pairs.put(pair)
            progress(result.table, 1.0)
            return result

        with ThreadPoolExecutor(max_workers=options.jobs) as tables_pool:
            results = list(tables_pool.map(compare, plans))
    report = ValidationReport(results, differences, schema=options.schema)
    _recheck(source_dsn, target_dsn, options, report, {result.table: table for result, table in plans})
    return report


def _check_comparable(source: Any, target: Any) -> None:
    """Both servers must encode text alike and hash alike, or no checksum could be compared."""
    encodings = [conn.execute("SHOW server_encoding").fetchone()[0] for conn in (source, target)]
    if encodings[0] != encodings[1]:
        raise CutoverError(f"server_encoding differs (source {encodings[0]}, target {encodings[1]}): text cannot be "
                           "compared byte for byte", exit_code=ExitCode.INTERNAL)
    probes = [conn.execute(HASH_PROBE).fetchone() for conn in (source, target)]
    if probes[0] != probes[1]:
        raise CutoverError("hashtextextended differs between the servers (byte order?): checksums cannot be "
                           "compared", exit_code=ExitCode.INTERNAL)


def _recheck(source_dsn: str, target_dsn: str, options: ValidateOptions, report: ValidationReport,
             tables: dict[str, Table | None]) -> None:
    """Re-read the mismatched rows after the delay, in new snapshots; keep only what persists.

    A keyed table whose differences are all listed (at most ``--max-listed`` of each kind) has exactly those keys
    re-read; otherwise (an unkeyed table, or more differences than were listed) the whole table is compared again,
    so a difference is never dropped uncounted and a table is ``equal`` only when every difference was re-read
    (that ``equal`` may become the baseline a switch's ``verify`` trusts: :mod:`cutover.changes`)."""
    pending = [t for t in report.tables if t.status == DIFFERENT and t.difference_count and tables.get(t.table)]
    delay = options.recheck_after
    if delay is None:
        lag = replication_lag_seconds(source_dsn) if pending else None
        delay = None if lag is None else lag + RECHECK_MARGIN_SECONDS
    report.recheck_after_seconds = delay
    if not pending or not delay:
        return
    time.sleep(delay)
    with ExitStack() as stack, ThreadPoolExecutor(max_workers=2) as pool:
        conns = [stack.enter_context(connect(dsn, side=side)) for dsn, side in
                 ((source_dsn, "source"), (target_dsn, "target"))]
        for conn in conns:
            begin_snapshot(conn)
        pair = SidePair(*conns, pool)
        for result in pending:
            table = tables[result.table]
            columns = tuple(table.column(name) for name in result.compared_columns)
            before = result.difference_count
            comparison = TableComparison(table, columns, pair, result)
            keys = _listed_keys(result) if result.keyed else []
            result.reset_differences()
            if result.keyed and len(keys) == before:  # every differing key is listed: re-read exactly those
                for start in range(0, len(keys), RECHECK_CHUNK):
                    comparison.record(*comparison.rows_of_keys(keys[start:start + RECHECK_CHUNK]))
            else:  # unkeyed, or differences past --max-listed: compare the whole table again, none uncounted
                comparison.run()
            result.transient = max(0, before - result.difference_count)
            result.status = "equal"
            result.settle()


def _listed_keys(result: TableResult) -> list[tuple[str, ...]]:
    """The listed mismatched keys (up to ``--max-listed`` of each kind)."""
    return [tuple(item[name] for name in result.key)
            for listing in (result.missing, result.extra, result.different) for item in listing.items]
