"""``cutover validate``: compare every table of a schema between source and target (keys only in the output).

``-e ENV`` without ``--tables`` or ``--exclude-columns``: an equal result is the next switch's baseline, journalled
(:func:`cutover.baseline.record_validation`) under the operator lock, taken only to write it (a validation may run
for hours; it holds no lock meanwhile). With ``-e ENV`` each finished chunk is also recorded in
``<state dir>/validate-checkpoint.jsonl`` (``--checkpoint`` elsewhere), which ``--resume`` continues.

With ``-e ENV`` the environment's forward replication (:meth:`cutover.context.Context.replication`, the admin
connections that may write its sentinel) is the re-check's barrier (:mod:`cutover.replication.barrier`) and, for DMS,
gives the CDC latency ``--max-cdc-latency`` bounds."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

from cutover.cli import databases
from cutover.cli.app import app
from cutover.cli.options import StateDir
from cutover.errors import UsageError
from cutover.cli.terminal import JsonFileOption, terminal

if TYPE_CHECKING:
    from cutover.validate import ValidateOptions, ValidationReport
    from cutover.validate.run import ProgressState

PROGRESS_INTERVAL = 5.0
"""Seconds between two plain progress lines when stderr is not a terminal."""
CHECKPOINT_NAME = "validate-checkpoint.jsonl"
"""The checkpoint file's name in the environment's state dir (``--environment`` without ``--checkpoint``)."""


def _exclusions(values: list[str]) -> frozenset[tuple[str, str]]:
    pairs = set()
    for value in values:
        for item in filter(None, (v.strip() for v in value.split(","))):
            table, _, column = item.rpartition(".")
            if not table or not column:
                raise UsageError("--exclude-columns", item, "must be table.column")
            pairs.add((table.rpartition(".")[2], column))
    return frozenset(pairs)


def _recheck(value: str) -> float | None:
    if value == "auto":
        return None
    try:
        return float(value)
    except ValueError:
        raise UsageError("--recheck-after", value, "must be a number of seconds or 'auto'") from None


@app.command()
def validate(
    source: Optional[str] = databases.SourceOption,
    target: Optional[str] = databases.TargetOption,
    environment: Optional[str] = databases.EnvironmentOption,
    schema: str = databases.SchemaOption,
    tables: Optional[str] = typer.Option(None, "--tables", help="Comma-separated tables (default: all)."),
    exclude_columns: list[str] = typer.Option([], "--exclude-columns", help="table.column left out (repeatable, "
                                              "or comma-separated), e.g. a column only the migration adds."),
    json_file: Optional[Path] = JsonFileOption,
    jobs: int = typer.Option(2, "--jobs", help="Connections per side; the chunks of each table are compared on all "
                             "of them at once (1..32)."),
    chunk_time: float = typer.Option(0.5, "--chunk-time", help="Seconds one chunk (key range, its own short "
                                     "snapshot on each side) should take; chunks are sized to it as they go."),
    max_load: int = typer.Option(25, "--max-load", help="Pause between chunks while more client sessions than this "
                                 "are active on the source (pg_stat_activity)."),
    max_lag: int = typer.Option(16 * 1024 * 1024, "--max-lag", help="Pause between chunks while the source's "
                                "replication (a standby, a subscriber, a logical slot such as DMS's) lags by more "
                                "than this many bytes of WAL."),
    checkpoint: Optional[Path] = typer.Option(None, "--checkpoint", metavar="FILE", help="Record each finished chunk "
                                              "there (keys, counts, hashes); default with --environment: "
                                              f"<state dir>/{CHECKPOINT_NAME}."),
    resume: bool = typer.Option(False, "--resume", help="Continue the interrupted run recorded in the checkpoint "
                                "(same answer as a run from the start)."),
    recheck_after: str = typer.Option("auto", "--recheck-after", help="Seconds before differing chunks are read "
                                      "again; 'auto': with -e, once the forward replication applied a sentinel "
                                      "written on the source, else the source's replication lag + 5 s when "
                                      "replication runs (else none); 0: no re-check."),
    recheck_timeout: float = typer.Option(300.0, "--recheck-timeout", help="Longest wait for the re-check's "
                                          "sentinel, seconds; past it the differing tables stay different."),
    max_cdc_latency: float = typer.Option(30.0, "--max-cdc-latency", help="With -e and DMS replication: pause "
                                          "between chunks while the task's CDC latency (CloudWatch "
                                          "CDCLatencySource/Target, read at most once a minute) passes this many "
                                          "seconds."),
    max_listed: int = typer.Option(1000, "--max-listed", help="Keys listed per kind of difference and table "
                                   "(all are counted)."),
    state_dir: StateDir = None,
) -> None:
    """Prove source and target hold the same rows, chunk by chunk in short snapshots. Exit 0 all equal, 1 a
    difference, 2 usage, 3 could not check.

    With --environment, no --tables and no --exclude-columns, an equal result is journalled with each table's
    modification counters: the next switchover or rollback then compares only the tables changed since."""
    from cutover.validate import ValidateOptions, validate as run

    options = ValidateOptions(
        schema=schema, tables=tuple(t.strip().rpartition(".")[2] for t in (tables or "").split(",") if t.strip()),
        exclude_columns=_exclusions(exclude_columns), jobs=jobs, recheck_after=_recheck(recheck_after),
        max_listed=max_listed, chunk_time=chunk_time, max_load=max_load, max_lag=max_lag,
        max_cdc_latency=max_cdc_latency, recheck_timeout=recheck_timeout,
        checkpoint=checkpoint or _default_checkpoint(environment, state_dir), resume=resume)
    problems = options.problems()
    if problems:
        raise problems[0]
    source_dsn, target_dsn = databases.resolve(source, target, environment)
    if environment:
        options = replace(options, replication=_forward_replication(environment, source, target, state_dir))
    counters = None
    if environment and not options.tables and not options.exclude_columns:
        counters = _baseline_counters(source_dsn, target_dsn, options)
    with _progress() as advance:
        report = run(source_dsn, target_dsn, options, advance)
    if json_file:
        terminal.json(report.as_dict(), json_file)
    show(report)
    if counters is not None and report.status == "equal":
        _record_baseline(environment, state_dir, counters, report)
    raise typer.Exit(int(report.exit_code))


def _baseline_counters(source_dsn: str, target_dsn: str, options: ValidateOptions) -> Optional[dict]:
    """The modification counters the baseline records, read before the run's first chunk: now, kept next to the
    checkpoint (``<checkpoint>.counters.json``); with ``--resume``, the interrupted run's (its first chunks were
    compared then: counters read now would hide a change made in between). ``None`` (no baseline) when a resumed
    run's counters are missing."""
    from cutover.baseline import read_both

    kept = options.checkpoint.with_suffix(".counters.json") if options.checkpoint else None
    if options.resume:
        return json.loads(kept.read_text()) if kept is not None and kept.exists() else None
    counters = read_both(source_dsn, target_dsn, options.schema)  # before the validation's snapshots
    if kept is not None:
        kept.parent.mkdir(parents=True, exist_ok=True)
        kept.write_text(json.dumps(counters))
    return counters


def _forward_replication(environment: str, source: Optional[str], target: Optional[str],
                         state_dir: Optional[Path]):  # noqa: ANN202 - cutover.replication.Replication | None
    """The environment's forward replication (source -> target) through its admin connections (``--source``/
    ``--target`` when given, else ``$PAYMIG_<SIDE>_DSN`` or the local servers' admin), or ``None`` when it cannot be
    built (no admin DSN, no deployed data stack): the re-check then waits the delay. Whether it runs and may write
    the sentinel is found when the re-check needs it (:func:`cutover.replication.barrier.pass_barrier`)."""
    from cutover.context import Context, Options

    try:
        return Context(Options(environment, source, target, state_dir=state_dir)).replication("forward")
    except Exception as error:  # noqa: BLE001 - no barrier is no reason to refuse a validation
        terminal.step(f"validate: no replication sentinel for the re-check ({type(error).__name__}: the re-check "
                      "waits the delay)")
        return None


def _default_checkpoint(environment: Optional[str], state_dir: Optional[Path]) -> Optional[Path]:
    if not environment:
        return None
    from cutover.environment import ROOT

    return (state_dir or ROOT / ".state" / environment / "cutover") / CHECKPOINT_NAME


def _describe(state: ProgressState) -> str:
    """``public.payments: 1,200,000 of ~10,000,000 rows, 24 chunks, 800,000 rows/s, 11 s left``."""
    left = state.seconds_left
    text = (f"{state.table}: {state.rows_done:,} of ~{max(state.rows_total, state.rows_done):,} rows, "
            f"{state.chunks_done} chunks, {state.rate:,.0f} rows/s"
            + (f", {left:.0f} s left" if left is not None else ""))
    if state.throttled_seconds:
        text += f", throttled {state.throttled_seconds:.0f} s"
    return text + (f"; {state.note}" if state.note else "")


@contextmanager
def _progress() -> Iterator[Callable[[ProgressState], None]]:
    """Yield the run's progress callback: a rich progress bar (rows done of the estimate, chunks, rate, time left)
    on stderr when it is a terminal, else a plain line on stderr at most every :data:`PROGRESS_INTERVAL` seconds
    (and at once when a table begins, when the run pauses or goes on)."""
    if not terminal.err.is_terminal:
        last: dict = {"at": float("-inf"), "note": "", "table": ""}

        def line(state: ProgressState) -> None:
            now = time.monotonic()
            if now - last["at"] >= PROGRESS_INTERVAL or state.note != last["note"] or state.table != last["table"]:
                terminal.step(f"validate: {_describe(state)}")
                last.update(at=now, note=state.note, table=state.table)

        yield line
        return
    from rich.progress import BarColumn, Progress, TextColumn

    with Progress(TextColumn("validating"), BarColumn(), TextColumn("{task.description}"), console=terminal.err,
                  transient=True) as bars:
        task = bars.add_task("", total=None)

        def bar(state: ProgressState) -> None:
            bars.update(task, total=max(state.rows_total, state.rows_done) or None, completed=state.rows_done,
                        description=_describe(state))

        yield bar


def _record_baseline(environment: str, state_dir: Optional[Path], counters: dict, report: ValidationReport) -> None:
    """Journal the equal full validation as the next switch's baseline (:mod:`cutover.baseline`), under the lock."""
    from cutover.baseline import record_validation
    from cutover.context import Context, Options
    from cutover.journal import LockHeld

    journal = Context(Options(environment, state_dir=state_dir)).journal
    try:
        with journal:
            entry = record_validation(journal, counters, len(report.tables),
                                      sum(t.rows_source or 0 for t in report.tables))
    except LockHeld as error:
        terminal.print(f"baseline not recorded: {error}")
        return
    if entry is None:
        terminal.print("baseline not recorded: the journal's last run is interrupted (`cutover resume` or "
                       "`cutover rollback` it first)")
        return
    terminal.print(f"baseline recorded (journal #{entry.seq}): the next switch compares only the tables changed "
                   "since")


def show(report: ValidationReport) -> None:
    """The results on stdout: one row per table (status, rows per side, counts of each kind; a table on a terminal,
    a plain line off one, then the overall status), the schema differences, the first keys of each kind."""
    numbers = ("rows source", "rows target", "missing", "extra", "different", "transient")
    terminal.listing(f"cutover validate: {report.status}", ("table", "keyed", "status", *numbers),
                     ((result.table, "yes" if result.keyed else "no", result.status, result.rows_source,
                       result.rows_target, result.missing.count, result.extra.count, result.different.count,
                       result.transient) for result in report.tables), right=numbers)
    if not terminal.on_terminal:
        count = len(report.tables)
        terminal.print(f"cutover validate: {report.status} ({count} table{'' if count == 1 else 's'})")
    for difference in report.schema_differences:
        terminal.print(f"schema: {difference.table}{'.' + difference.column if difference.column else ''}: "
                       f"{difference.problem} (source {difference.source}, target {difference.target})")
    for result in report.tables:
        if result.error:
            terminal.print(f"{result.table}: not compared: {result.error}")
        for kind in ("missing", "extra", "different"):
            listing = getattr(result, kind)
            if listing.count:
                shown = ", ".join(json.dumps(k, sort_keys=True) for k in listing.items[:5])
                more = f" (+{listing.count - 5} more, see --json)" if listing.count > 5 else ""
                terminal.print(f"{result.table} {kind}: {shown}{more}")
    if report.recheck_timed_out:
        terminal.print(f"re-check: {report.recheck_note}: the differences stand as found")
    elif report.recheck_by == "sentinel":
        terminal.print("re-checked differing chunks once replication applied a sentinel written on the source "
                       f"(waited {report.recheck_wait_seconds:.1f} s)")
    elif report.recheck_by == "delay":
        terminal.print(f"re-checked differing chunks after {report.recheck_after_seconds:.1f} s")
    oldest = report.oldest_transaction_seconds
    if oldest:
        terminal.print(f"oldest transaction held: source {oldest['source']:.2f} s, target {oldest['target']:.2f} s; "
                       f"throttled {report.throttled_seconds:.1f} s")
