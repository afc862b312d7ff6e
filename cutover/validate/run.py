"""A validation run: chunks of each keyed table in short snapshots over ``--jobs`` connections per side, throttled,
checkpointed, then a re-check of what differed.

- The catalogs are read in one short snapshot per side (``REPEATABLE READ, READ ONLY``), closed at once.
- Keyed tables: the key space is cut into chunks sized to ``--chunk-time`` (:mod:`cutover.validate.chunks`); each
  chunk is compared in its own ``REPEATABLE READ, READ ONLY`` transaction on each side, begun on both sides at the
  same moment and ended as soon as the chunk is compared (:meth:`~cutover.validate.compare.TableComparison.
  check_range`): no transaction lives longer than one chunk, so neither side's ``xmin`` horizon is held back and
  autovacuum keeps up (PostgreSQL docs 13.2.2 "Repeatable Read Isolation Level", 25.1.5 "Preventing Transaction
  ID Wraparound Failures"; pt-table-checksum's rule of never holding a long transaction on the primary). The
  chunks of one table are spread over ``--jobs`` connection pairs; between chunks the run pauses while
  :mod:`cutover.validate.throttle`'s bounds are passed. Chunk by chunk, each side is read at a different moment:
  a write replicated between the two reads of a chunk shows as a difference, hence the re-check.
- Tables without a key: compared whole, in one snapshot per side (:meth:`~cutover.validate.compare.
  TableComparison.run`): a multiset of row hashes has no key to cut into ranges that mean the same rows on both
  sides; physical ranges (``ctid``) hold different rows on each side, and a row moved by an ``UPDATE`` between two
  chunks' snapshots would be counted twice or never. Such a table holds one transaction per side as long as two
  passes over it take: give a large table a primary key (or a unique key ``cutover validate`` can use).
- Each finished chunk goes to the checkpoint (:mod:`cutover.validate.checkpoint`), which ``--resume`` continues.
- The re-check (:func:`_recheck`) re-reads every differing chunk's whole range once replication has applied a
  sentinel written on the source after the pass (:mod:`cutover.replication.barrier`; else after the delay), then the
  keys that differ only then once more, after a second sentinel.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from queue import Queue
from typing import Any

from cutover.errors import CutoverError, ExitCode, UsageError
from cutover.postgres import begin_snapshot, connect, error_text
from cutover.catalog import Column, Table, read_catalog
from cutover.catalog_diff import compare_catalogs
from cutover.validate.checkpoint import KINDS, Checkpoint, Piece, fingerprint
from cutover.validate.chunks import Chunk, ChunkPlanner
from cutover.validate.compare import SidePair, TableComparison
from cutover.validate.ranges import Range
from cutover.validate.result import DIFFERENT, ERROR, TableResult, ValidationReport
from cutover.validate.rowhash import HASH_PROBE, relation
from cutover.replication.barrier import PASSED, UNAVAILABLE, pass_barrier
from cutover.validate.throttle import Throttle, cdc_latency

RECHECK_MARGIN_SECONDS = 5.0
"""Added to the measured replication lag for the default re-check delay."""
CHUNK_CAP_FACTOR = 3.0
"""A chunk's statements may last this many times ``--chunk-time`` (at least :data:`MIN_CHUNK_CAP_SECONDS`) before
the chunk is cut in two (:func:`statement_cap_seconds`)."""
MIN_CHUNK_CAP_SECONDS = 1.0
RECHECK_KEYS = 5000
"""Keys read per query when keys that differed only at the re-check are read once more."""
RECHECK_TIMEOUT_SECONDS = 300.0
"""The longest wait for replication to apply the re-check's sentinel (``--recheck-timeout``)."""
SENTINEL, DELAY = "sentinel", "delay"
"""What the re-check waited for (``recheck_by`` in the JSON)."""


@dataclass(frozen=True)
class ValidateOptions:
    """What ``cutover validate`` compares and how.

    Attributes:
        schema: the schema on both sides (default ``public``).
        tables: table names to compare (default: every table of the schema on either side).
        exclude_columns: ``(table, column)`` pairs left out everywhere (a column only the migration adds).
        jobs: connections per side; the chunks of a table are compared on all of them at once (default 2, 1..32).
        recheck_after: seconds before re-reading differing chunks; ``None``: once ``replication`` applied a
            sentinel written after the pass (:mod:`cutover.replication.barrier`), or without that barrier the source's
            replication lag plus :data:`RECHECK_MARGIN_SECONDS` when a WAL sender is streaming from it, else no
            re-check; ``0``: none.
        replication: the forward replication (:class:`cutover.replication.Replication`, source -> target) or
            ``None``: its sentinel is the re-check's barrier, its DMS CDC latency a throttle bound.
        recheck_timeout: the longest wait for the sentinel, seconds (default :data:`RECHECK_TIMEOUT_SECONDS`);
            past it the differing tables stay ``different`` with their counts.
        max_listed: keys listed per kind of difference and table (all are counted).
        chunk_time: seconds one chunk should take (default 0.5, pt-table-checksum's ``--chunk-time``).
        max_load: pause while more client sessions than this are active on the source (``None``: never; the
            command's default is 25, pt-table-checksum's ``--max-load Threads_running=25``).
        max_lag: pause while the source's replication lags by more than this many bytes of WAL (``None``: never;
            the command's default is 16 MiB).
        max_cdc_latency: pause while ``replication``'s CDC latency (DMS ``CDCLatencySource``/``CDCLatencyTarget``,
            CloudWatch) is above this many seconds (``None``: never; the command's default is 30).
        checkpoint: the checkpoint file (``None``: none kept). resume: continue the run recorded there.
    """

    schema: str = "public"
    tables: tuple[str, ...] = ()
    exclude_columns: frozenset[tuple[str, str]] = frozenset()
    jobs: int = 2
    recheck_after: float | None = None
    replication: Any = field(default=None, compare=False)
    recheck_timeout: float = RECHECK_TIMEOUT_SECONDS
    max_listed: int = 1000
    chunk_time: float = 0.5
    max_load: int | None = None
    max_lag: int | None = None
    max_cdc_latency: float | None = None
    checkpoint: Path | None = None
    resume: bool = False

    def problems(self) -> list[UsageError]:
        """Usage errors of the options themselves (before any connection)."""
        found = []
        if self.jobs < 1 or self.jobs > 32:
            found.append(UsageError("--jobs", self.jobs, "must lie between 1 and 32"))
        if self.recheck_after is not None and not 0 <= self.recheck_after <= 3600:
            found.append(UsageError("--recheck-after", self.recheck_after, "must lie between 0 and 3600 seconds"))
        if not 1 <= self.recheck_timeout <= 86400:
            found.append(UsageError("--recheck-timeout", self.recheck_timeout, "must lie between 1 and 86400 seconds"))
        if self.max_listed < 1:
            found.append(UsageError("--max-listed", self.max_listed, "must be at least 1"))
        if not 0.001 <= self.chunk_time <= 60:
            found.append(UsageError("--chunk-time", self.chunk_time, "must lie between 0.001 and 60 seconds"))
        if self.max_load is not None and self.max_load < 1:
            found.append(UsageError("--max-load", self.max_load, "must be at least 1 active session"))
        if self.max_lag is not None and self.max_lag < 0:
            found.append(UsageError("--max-lag", self.max_lag, "must be 0 or more bytes"))
        if self.max_cdc_latency is not None and self.max_cdc_latency < 0:
            found.append(UsageError("--max-cdc-latency", self.max_cdc_latency, "must be 0 or more seconds"))
        if self.resume and self.checkpoint is None:
            found.append(UsageError("--resume", True, "needs a checkpoint: --checkpoint FILE or --environment"))
        return found


@dataclass
class ProgressState:
    """Where a run is: the table being compared, rows (source side) and chunks done, the source's estimated rows
    (``pg_class.reltuples``) of every table, time throttled, and ``note`` (why it is paused, or empty)."""

    table: str = ""
    rows_done: int = 0
    rows_total: int = 0
    chunks_done: int = 0
    throttled_seconds: float = 0.0
    note: str = ""
    started: float = field(default_factory=time.monotonic)

    @property
    def rate(self) -> float:
        """Rows per second so far."""
        return self.rows_done / max(time.monotonic() - self.started, 1e-3)

    @property
    def seconds_left(self) -> float | None:
        """Estimated seconds to the end at the current rate (``None`` before any row)."""
        if not self.rows_done:
            return None
        return max(0.0, self.rows_total - self.rows_done) / max(self.rate, 1e-9)


Progress = Callable[[ProgressState], None]


class _Transactions:
    """Every transaction of the run goes through :meth:`snapshot`; the longest per side is kept."""

    def __init__(self) -> None:
        self.oldest = {"source": 0.0, "target": 0.0}
        self._lock = threading.Lock()

    @contextmanager
    def snapshot(self, *conns: Any, statement_timeout_ms: int | None = None) -> Iterator[None]:
        """One ``REPEATABLE READ, READ ONLY`` transaction on each of ``conns`` (``side`` named by the connection),
        begun together and ended (rolled back: nothing was written) together; with ``statement_timeout_ms``, each
        of its statements is cancelled past that many milliseconds (``SET LOCAL statement_timeout``)."""
        import psycopg

        started = []
        for conn in conns:
            started.append(time.monotonic())
            begin_snapshot(conn)
            if statement_timeout_ms is not None:
                conn.execute(f"SET LOCAL statement_timeout = {int(statement_timeout_ms)}")
        try:
            yield
        finally:
            for conn, start in zip(conns, started):
                try:
                    conn.rollback()
                except psycopg.Error:
                    pass  # a broken connection: its error is already on its way
                with self._lock:
                    self.oldest[conn.side] = max(self.oldest[conn.side], time.monotonic() - start)


def statement_cap_seconds(chunk_time: float) -> float:
    """How long one statement of a chunk may run before the chunk is cut in two: ``CHUNK_CAP_FACTOR x chunk_time``,
    at least ``MIN_CHUNK_CAP_SECONDS``; seconds (1.5 s at the default ``--chunk-time`` 0.5)."""
    return max(MIN_CHUNK_CAP_SECONDS, CHUNK_CAP_FACTOR * chunk_time)


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


class _Run:
    """One run of :func:`validate` (its connections, pools, checkpoint and progress)."""

    def __init__(self, source_dsn: str, target_dsn: str, options: ValidateOptions, progress: Progress) -> None:
        self.dsns = {"source": source_dsn, "target": target_dsn}
        self.options, self.progress = options, progress
        self.transactions = _Transactions()
        self.state = ProgressState()
        self.pairs: Queue[SidePair] = Queue()
        self.differing: dict[str, list[Piece]] = {}
        self.checkpoint: Checkpoint | None = None
        self.split_chunks = 0
        self._lock = threading.Lock()

    def _emit(self, note: str | None = None) -> None:
        if note is not None:
            self.state.note = note
        self.state.throttled_seconds = self.throttle.seconds
        self.progress(self.state)

    def _open_side(self, side: str) -> tuple[Any, dict[str, Table]]:
        conn = connect(self.dsns[side], side=side)
        with self.transactions.snapshot(conn):
            catalog = read_catalog(conn, self.options.schema)
        conn.autocommit = True
        return conn, catalog

    def run(self) -> ValidationReport:
        options = self.options
        jobs = options.jobs
        with ExitStack() as stack, ThreadPoolExecutor(max_workers=jobs + 2) as pool, \
                ThreadPoolExecutor(max_workers=jobs) as workers:
            opened = [pool.submit(self._open_side, side) for side in ("source", "target")]
            wait(opened)
            for future in opened:  # a side that failed: the other one's connection is closed too
                if not future.exception():
                    stack.enter_context(future.result()[0])
            (self.monitor, source), (target_conn, target) = (future.result() for future in opened)
            _check_comparable(self.monitor, target_conn)
            tables = _select_tables(options, source, target)
            _check_excluded(options, source, target)
            differences = [d for d in compare_catalogs(source, target, options.exclude_columns)
                           if d.table.split(".", 1)[1] in tables]
            plans = [_plan(name, options, source, target, differences) for name in tables]
            own = [self.monitor.info.backend_pid]
            for _ in range(jobs):
                conns = [stack.enter_context(connect(self.dsns[side], side=side)) for side in ("source", "target")]
                own.append(conns[0].info.backend_pid)
                self.pairs.put(SidePair(*conns, pool))
            latency = cdc_latency(options.replication) if options.replication is not None else None
            self.throttle = Throttle(self.monitor, options.max_load, options.max_lag, own, self._emit,
                                     latency=latency, max_cdc_latency=options.max_cdc_latency)
            kept = self._open_checkpoint(plans)
            if self.checkpoint:
                stack.callback(self.checkpoint.close)
            self.state.rows_total = sum(self._estimated_rows(table) for _, table in plans if table is not None)
            for result, table in plans:
                if table is not None:
                    self._table(result, table, kept.get(result.table, []), workers)
            report = ValidationReport([result for result, _ in plans], differences, schema=options.schema)
            _recheck(self, report, {result.table: table for result, table in plans}, workers)
        report.oldest_transaction_seconds = dict(self.transactions.oldest)
        report.throttled_seconds = self.throttle.seconds
        report.split_chunks = self.split_chunks
        return report

    def _estimated_rows(self, table: Table) -> int:
        return int(self.monitor.execute("SELECT greatest(reltuples, 0) FROM pg_class WHERE oid = %s::regclass",
                                        (relation(table),)).fetchone()[0])

    def _open_checkpoint(self, plans: list[tuple[TableResult, Table | None]]) -> dict[str, list[Piece]]:
        if self.options.checkpoint is None:
            return {}
        from psycopg.conninfo import conninfo_to_dict

        sides = [{k: str(v) for k, v in conninfo_to_dict(self.dsns[side]).items() if k in ("host", "port", "dbname")}
                 for side in ("source", "target")]
        compared = {result.table: (tuple(result.key), result.compared_columns) for result, table in plans if table}
        print_ = fingerprint(sides, self.options.schema, compared)
        self.checkpoint = Checkpoint(self.options.checkpoint, self.options.max_listed)
        if self.options.resume:
            return self.checkpoint.resume(print_)
        self.checkpoint.start(print_)
        return {}

    def _table(self, result: TableResult, table: Table, kept: list[Piece], workers: ThreadPoolExecutor) -> None:
        """Compare one table (a failed statement makes it ``error``, never equal) and record it."""
        import psycopg

        self.state.table = result.table
        columns = tuple(table.column(name) for name in result.compared_columns)
        try:
            if result.keyed:
                pieces = self._keyed(result, table, columns, kept, workers)
            else:
                pieces = kept or [self._unkeyed(result, table, columns)]
        except psycopg.Error as error:
            result.status, result.error = ERROR, error_text(error)
            return
        result.rows_source = sum(p.rows_source for p in pieces)
        result.rows_target = sum(p.rows_target for p in pieces)
        for piece in pieces:
            for kind in KINDS:
                getattr(result, kind).merge(piece.listings[kind])
        result.chunks = len(pieces) if result.keyed else 0
        result.resumed_chunks = len(kept) if result.keyed else 0
        self.differing[result.table] = [p for p in pieces if p.difference_count]
        result.settle()

    def _unkeyed(self, result: TableResult, table: Table, columns: tuple[Column, ...]) -> Piece:
        self.throttle.wait()
        pair = self.pairs.get()
        try:
            scratch = TableResult(result.table, False, (), self.options.max_listed)
            with self.transactions.snapshot(pair.source, pair.target):
                TableComparison(table, columns, pair, scratch).run()
        finally:
            self.pairs.put(pair)
        piece = _piece(scratch, -1, Range())
        self._finished(piece)
        return piece

    def _keyed(self, result: TableResult, table: Table, columns: tuple[Column, ...], kept: list[Piece],
               workers: ThreadPoolExecutor) -> list[Piece]:
        pieces = {piece.seq: piece for piece in kept}
        if kept and kept[-1].hi is None:
            return kept
        planner = ChunkPlanner(self.monitor, table, result.table, self.options.chunk_time,
                               start=kept[-1].hi if kept else None, first_seq=len(kept))
        running: set[Future] = set()

        def collect(done: set[Future]) -> None:
            for future in done:
                piece, seconds = future.result()
                pieces[piece.seq] = piece
                planner.observe(max(piece.rows_source, piece.rows_target), seconds)
                self._finished(piece)

        try:
            for chunk in planner:
                self.throttle.wait()
                while len(running) >= self.options.jobs:
                    done, running = wait(running, return_when=FIRST_COMPLETED)
                    collect(done)
                running.add(workers.submit(self._chunk, table, columns, chunk))
            done, running = wait(running)
            collect(done)
        finally:
            wait(running)  # a chunk failed: let the others end before the table is reported
        return [pieces[seq] for seq in sorted(pieces)]

    def _chunk(self, table: Table, columns: tuple[Column, ...], chunk: Chunk) -> tuple[Piece, float]:
        """Compare one chunk in its own snapshot on each side (split while it overruns, :meth:`_within_cap`); the
        piece and the seconds it took."""
        pair = self.pairs.get()
        try:
            scratch = TableResult(chunk.table, True, table.key, self.options.max_listed)
            started = time.monotonic()
            self._within_cap(pair, table, columns, scratch, chunk.range, chunk.thresholds)
            return _piece(scratch, chunk.seq, chunk.range), time.monotonic() - started
        finally:
            self.pairs.put(pair)

    def _within_cap(self, pair: SidePair, table: Table, columns: tuple[Column, ...], into: TableResult, rng: Range,
                    thresholds: tuple[str, ...]) -> None:
        """Compare ``rng`` in one snapshot per side whose statements may last :func:`statement_cap_seconds` each;
        one cancelled (the chunk was sized on a faster moment: a load spike) is not waited out: the range is cut
        in two at its middle sub-bucket threshold and each half compared in a snapshot of its own, and so on. So no
        transaction of the run outlives a few times ``--chunk-time``, as pt-table-checksum never lets a chunk run
        long on the primary. A range with no threshold left (one sub-bucket, about
        :data:`~cutover.validate.ranges.ROWS_PER_BUCKET` rows) runs without a cap. The counts of a cancelled
        attempt are dropped (each attempt fills its own result, merged into ``into`` only once it is complete).

        Follows: PostgreSQL 15 docs 20.11.1 ``statement_timeout`` ("Abort any statement that takes more than the
        specified amount of time") and ``SET LOCAL`` (the setting ends with the transaction)."""
        from psycopg.errors import QueryCanceled

        attempt = TableResult(into.table, True, into.key, self.options.max_listed)
        cap = round(statement_cap_seconds(self.options.chunk_time) * 1000) if thresholds else None
        try:
            with self.transactions.snapshot(pair.source, pair.target, statement_timeout_ms=cap):
                TableComparison(table, columns, pair, attempt).check_range(rng, thresholds)
        except QueryCanceled:
            if not thresholds:
                raise
            with self._lock:
                self.split_chunks += 1
            middle = len(thresholds) // 2
            cut = (thresholds[middle],)
            self._within_cap(pair, table, columns, into, Range(rng.lo, cut), thresholds[:middle])
            self._within_cap(pair, table, columns, into, Range(cut, rng.hi), thresholds[middle + 1:])
            return
        into.rows_source = (into.rows_source or 0) + (attempt.rows_source or 0)
        into.rows_target = (into.rows_target or 0) + (attempt.rows_target or 0)
        for kind in KINDS:
            getattr(into, kind).merge(getattr(attempt, kind))

    def _finished(self, piece: Piece) -> None:
        if self.checkpoint:
            self.checkpoint.record(piece)
        self.state.rows_done += piece.rows_source
        self.state.chunks_done += 1
        self._emit()


def _piece(scratch: TableResult, seq: int, rng: Range) -> Piece:
    return Piece(scratch.table, seq, rng.lo, rng.hi, scratch.rows_source or 0, scratch.rows_target or 0,
                 {kind: getattr(scratch, kind) for kind in KINDS})


def validate(source_dsn: str, target_dsn: str, options: ValidateOptions, progress: Progress | None = None
             ) -> ValidationReport:
    """Compare the schema and then every table's rows of ``options.schema`` between source and target.

    Args:
        source_dsn / target_dsn: libpq connection strings (a read-only role is enough: SELECT on the tables,
            ``pg_monitor`` for the throttle's readings and the replication lag).
        options: see :class:`ValidateOptions`.
        progress: called with the :class:`ProgressState` after each chunk and while paused.

    Returns:
        The report; its ``exit_code`` is 0 only when every table was compared and is equal.

    Raises:
        UsageError: bad options, an unknown table or column, a checkpoint that does not match (exit 2).
        CutoverError: a connection failed, the servers' encodings or hash functions differ (exit 3).
    """
    problems = options.problems()
    if problems:
        raise problems[0]
    return _Run(source_dsn, target_dsn, options, progress or (lambda state: None)).run()


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


class _Wait:
    """How the re-check waits for replication to pass what a pass read (:func:`_recheck`), and what it waited.

    ``--recheck-after N`` given: N seconds (0: no re-check). Else, with ``options.replication``: a sentinel written
    on the source and waited for on the target, at most ``--recheck-timeout`` (:func:`~cutover.replication.barrier.
    pass_barrier`); without that barrier (no replication given, not running, no sentinel, not allowed to write it):
    the source's replication lag + :data:`RECHECK_MARGIN_SECONDS` while a WAL sender streams from it, else none."""

    def __init__(self, run: _Run, report: ValidationReport) -> None:
        self.run, self.report = run, report
        self.by: str | None = None if run.options.recheck_after is not None or run.options.replication is None \
            else SENTINEL
        self.delay = run.options.recheck_after

    def __call__(self) -> bool:
        """Wait once; True when replication has passed (or the delay is over), False when there is nothing to wait
        for (no re-check) or the sentinel did not arrive in time."""
        report = self.report
        if self.by == SENTINEL:
            self.run._emit("re-check: waiting until replication applied a sentinel written on the source")
            passage = pass_barrier(self.run.options.replication, self.run.options.recheck_timeout)
            self.run._emit("")
            if passage.state == UNAVAILABLE and report.recheck_by is None:  # no barrier: the delay instead
                report.recheck_note = f"no sentinel: {passage.reason}"
                self.by = None
            else:
                report.recheck_by = SENTINEL
                report.recheck_wait_seconds += passage.seconds
                if passage.state == PASSED:
                    return True
                report.recheck_timed_out, report.recheck_note = True, passage.reason
                return False
        if self.delay is None:
            lag = replication_lag_seconds(self.run.dsns["source"])
            self.delay = None if lag is None else lag + RECHECK_MARGIN_SECONDS
        report.recheck_after_seconds = self.delay
        if not self.delay:
            return False
        report.recheck_by = DELAY
        time.sleep(self.delay)
        report.recheck_wait_seconds += self.delay
        return True


def _recheck(run: _Run, report: ValidationReport, tables: dict[str, Table | None],
             workers: ThreadPoolExecutor) -> None:
    """Re-read what differed once replication passed it (:class:`_Wait`), in new short snapshots; keep only what
    persists.

    A keyed table has the whole range of every chunk that differed re-read (one snapshot per chunk and side; the
    chunks spread over the ``--jobs`` connection pairs, as in the first pass). A key
    that differs at the re-check and differed in the first pass persists. A key that differs only at the re-check
    (written while the run went on: in flight under replication, or a new real difference) is read once more after
    another wait (a second sentinel), and counted when it still differs, so neither a write in flight nor a
    difference planted in a chunk already compared is reported wrongly or lost. When a chunk had more differences
    than ``--max-listed`` lists (in the first pass or at the re-check), its keys cannot all be matched: every
    difference of the re-check counts. An unkeyed table is compared whole again. When the first sentinel does not
    arrive within ``--recheck-timeout``, nothing is re-read: every differing table stays ``different`` with its
    count; when the second does not, those keys are read once more anyway and counted if they differ. So a
    difference is never dropped uncounted, and a table is ``equal`` only when every difference was re-read (that
    ``equal`` may become the baseline a switch's ``verify`` trusts: :mod:`cutover.baseline`). ``transient`` counts
    the differences gone at the re-check."""
    pending = [t for t in report.tables if t.status == DIFFERENT and t.difference_count and tables.get(t.table)]
    if not pending:
        return
    wait_ = _Wait(run, report)
    if not wait_():
        return
    fresh: list[tuple[TableResult, TableComparison, list[tuple[str, ...]]]] = []
    before = {result.table: result.difference_count for result in pending}
    for result in pending:
        table = tables[result.table]
        columns = tuple(table.column(name) for name in result.compared_columns)
        result.reset_differences()
        if result.keyed:
            comparison = TableComparison(table, columns, None, result)  # type: ignore[arg-type]  # sides: below
            reread = _reread_chunks(run, comparison, run.differing[result.table], workers)
            new = [key for piece, scratch in reread for key in _merge_recheck(comparison, piece, scratch)]
            fresh.append((result, comparison, new))
        else:
            pair = run.pairs.get()
            try:
                with run.transactions.snapshot(pair.source, pair.target):
                    TableComparison(table, columns, pair, result).run()
            finally:
                run.pairs.put(pair)
    if any(keys for _, _, keys in fresh):
        wait_()  # passed or not, the keys are read again: one that still differs is counted
    pair = run.pairs.get()
    try:
        for result, comparison, keys in fresh:
            comparison.sides = pair
            for start in range(0, len(keys), RECHECK_KEYS):
                with run.transactions.snapshot(pair.source, pair.target):
                    comparison.record(*comparison.rows_of_keys(keys[start:start + RECHECK_KEYS]))
    finally:
        run.pairs.put(pair)
    for result in pending:
        result.transient = max(0, before[result.table] - result.difference_count)
        result.status = "equal"
        result.settle()


def _reread_chunks(run: _Run, comparison: TableComparison, pieces: list[Piece], workers: ThreadPoolExecutor
                   ) -> list[tuple[Piece, TableResult]]:
    """Re-read the whole range of each of ``pieces`` (differing chunks) in its own snapshot per side, on the
    ``--jobs`` connection pairs at once (throttled between chunks); each piece with what its re-read found."""
    result = comparison.result

    def reread(piece: Piece) -> TableResult:
        scratch = TableResult(result.table, True, result.key, run.options.max_listed)
        pair = run.pairs.get()
        try:
            with run.transactions.snapshot(pair.source, pair.target):
                TableComparison(comparison.table, comparison.columns, pair, scratch).check_range(
                    Range(piece.lo, piece.hi), ())
        finally:
            run.pairs.put(pair)
        return scratch

    futures: list[Future] = []
    try:
        for piece in pieces:
            run.throttle.wait()
            while sum(not f.done() for f in futures) >= run.options.jobs:
                wait([f for f in futures if not f.done()], return_when=FIRST_COMPLETED)
            futures.append(workers.submit(reread, piece))
        return [(piece, future.result()) for piece, future in zip(pieces, futures)]
    finally:
        wait(futures)  # a re-read failed: let the others end first


def _merge_recheck(comparison: TableComparison, piece: Piece, scratch: TableResult) -> list[tuple[str, ...]]:
    """Merge one differing chunk's re-read (``scratch``) into ``comparison``'s result: the differences also seen in
    the first pass, or all of them when a listing is incomplete; returns the keys that differ only now."""
    result = comparison.result
    listings = [*piece.listings.values(), *(getattr(scratch, kind) for kind in KINDS)]
    if any(listing.count > len(listing.items) for listing in listings):
        for kind in KINDS:
            getattr(result, kind).merge(getattr(scratch, kind))
        return []
    key_of = (lambda item: tuple(item[name] for name in result.key))
    first = {key_of(item) for listing in piece.listings.values() for item in listing.items}
    new = []
    for kind in KINDS:
        for item in getattr(scratch, kind).items:
            if key_of(item) in first:
                getattr(result, kind).add(item)
            else:
                new.append(key_of(item))
    return new
