"""``make rehearsal`` (``python -m rehearsal``): the whole migration on this machine, with a live payment workload.

On the local deployment (``make deploy-local``: the emulated AWS with every stack), two real PostgreSQL servers
(legacy source and target) and PostgreSQL logical replication standing in for DMS, a payment workload writes
through the writer name the whole time while the tool runs: full load, traffic shift to 100 %, switchover,
rollback, switchover again. Then both databases are validated and every payment the workload saw acknowledged is
compared with the final writer. The report goes to the screen and to ``.state/rehearsal/report.json``::

    {"payments_acknowledged": N, "payments_reconciled": preload + N, "lost": 0, "altered": 0, "duplicated": 0,
     "passed": true, "failures": [],
     "write_freeze_seconds": [one per database switch, in the order of "switches"],
     "client_write_gap_seconds": [per switch: the longest time the clients had no write acknowledged],
     "final_writer": "target",
     "steps": [{"step", "seconds", ...}], ...}

Afterwards the local deployment is as before any migration (the writer name on the source, all traffic on legacy),
so ``make cutover ARGS=... -e local`` starts from the beginning.

``reconcile`` compares every payment on the final writer (the preload included, every column) with the
workload's own record; a stored row no one acknowledged and no attempt explains counts as duplicated. Exit status:
0 when ``passed`` (lost, altered and duplicated all 0, ``payments_reconciled`` = preload + acknowledged, the
workload thread never failed, the databases equal), else 1.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
REPORT = PROJECT_ROOT / ".state" / "rehearsal" / "report.json"


def _wait(predicate, timeout: float, what: str) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.2)


def rehearse(rate: float, preload: int, bake: float, freeze_limit: float, report_path: Path,
             endpoint: str | None = None, connections: int = 4) -> dict[str, Any]:
    """Run the whole rehearsal (module docstring) and write its report to ``report_path``.

    Args:
        rate: payments per second; preload: payments on the source before the full load; bake: seconds each
            traffic step is held; freeze_limit: the switches' freeze bound, seconds.
        connections: the workload's pool of long-lived connections (default 4; 0: one plain connection). The
            workload resolves the writer name through DNS (:mod:`rehearsal.dns`: a server on 127.0.0.1 answering
            from the emulated Route 53 zone, a resolver caching for the record's TTL).
        endpoint: the emulated AWS (default: the one ``make deploy-local`` runs); the deployment's stack outputs
            come from ``cutover.context.stack_outputs`` (``$PAYMIG_CUTOVER_OUTPUTS`` or Terraform).

    Returns:
        The report (``payments_acknowledged``, ``lost``, ``altered``, ``duplicated``, ``write_freeze_seconds``,
        ``steps``, ...).

    Raises:
        emulator.EmulatorError: no endpoint given and no local emulator running.
        cutover.errors.CutoverError: a step of the migration failed (its own message says which).
    """
    from emulator.process import LocalSession
    from rich.console import Console

    from cutover import narrow
    from cutover.context import Context, Options
    from cutover.journal import Journal
    from cutover.checks import compare_tables
    from cutover.switchover import switch
    from cutover.recovery import verify_compared
    from cutover.traffic import Shift
    from rehearsal.databases import two_servers
    from rehearsal.dns import CachingResolver, ZoneDNSServer
    from rehearsal.workload import PaymentWorkload, failures, reconcile, snapshot, write_gap_seconds

    console = Console(stderr=True, highlight=False)
    logging.getLogger("psycopg.pool").setLevel(logging.ERROR)  # a discarded connection is expected at a switch
    os.environ["PAYMIG_AWS_ENDPOINT_URL"] = endpoint or LocalSession().require_endpoint()
    steps: list[dict[str, Any]] = []
    freezes: list[float] = []
    windows: list[tuple[float, float]] = []

    def step(name: str, started: float, **facts: Any) -> None:
        steps.append({"step": name, "seconds": round(time.monotonic() - started, 3), **facts})
        console.print(f"[bold]{name}[/bold]: {steps[-1]['seconds']} s {facts or ''}")

    with two_servers(preload) as pair:
        state_dir = report_path.parent / "cutover"
        if (state_dir / "journal.jsonl").exists():
            (state_dir / "journal.jsonl").unlink()
        ctx = Context(Options("local", pair.source_admin, pair.target_admin, "native", state_dir=state_dir,
                              freeze_limit_seconds=freeze_limit))
        journal = ctx.journal
        ctx.journal = Journal(state_dir, dynamodb=journal.dynamodb, table=journal.table,  # type: ignore[misc]
                              partition=f"rehearsal-{datetime.now(timezone.utc):%Y%m%dT%H%M%S}")
        migration = ctx.migration(lambda line: console.print(f"  {line}", style="dim"))
        source, target = migration.source, migration.target
        # the deployment starts as before any migration: writer on the source, all traffic on legacy
        migration.writer.point_at(source.address)
        ctx.records.set(100, 0)
        dsn_for = {source.address: pair.source_app, target.address: pair.target_app}
        writer = migration.writer
        dns = ZoneDNSServer(lambda name: (writer.value(), writer.ttl()) if name == writer.name else None)
        try:
            dns.__enter__()
            resolver = CachingResolver(writer.name, dns.port)
            target.freeze()
            preloaded = snapshot(pair.source_admin)  # the preload's own record: reconciled with every column
            workload = PaymentWorkload(lambda: dsn_for[resolver()], rate, connections=connections).start()
            with ctx.journal:
                started = time.monotonic()
                migration.forward.start(initial_copy=True)
                _wait(lambda: migration.forward.status().state == "running", 120, "the full load")
                step("full load", started, rows=preload)

                started = time.monotonic()
                # no resolver caches the emulator's answers, so the bake need not cover the 60 s alias TTL here
                Shift(ctx.records, ctx.gates(), ctx.journal, bake_seconds=bake, min_bake_seconds=0,
                      poll_seconds=min(1.0, bake) if bake else 1.0,
                      progress=lambda line: console.print(f"  {line}", style="dim")).execute()
                step("shift to 100", started, weights=ctx.records.weights())

                for operation in ("switchover", "rollback", "switchover"):
                    started = time.monotonic()
                    result = switch(migration, operation)
                    windows.append((started, time.monotonic()))
                    freezes.append(result.freeze_seconds)
                    verified = next(e.details for e in reversed(ctx.journal.entries())
                                    if e.run == result.run and e.step == "verify" and e.status == "done")
                    step(operation, started, write_freeze_seconds=result.freeze_seconds,
                         verify=verify_compared(verified),
                         verify_reason=verified["reason"])
                    # the clients follow once their cached DNS answer expired (the record's TTL): the next switch
                    # starts after that, so each switch's client_write_gap_seconds is its own
                    time.sleep(max(2.0, writer.ttl() + 1.0))
            stats = workload.stop()
            started = time.monotonic()
            _wait(lambda: all(t.equal for t in compare_tables(pair.source_admin, pair.target_admin)), 60,
                  "the reverse replication to catch up")
            validation = compare_tables(pair.source_admin, pair.target_admin)
            step("validation", started, tables=len(validation), equal=all(t.equal for t in validation))
            final_writer = next(db.name for db in (source, target) if db.address == migration.writer.value())
            result = reconcile(stats, pair.source_admin if final_writer == "source" else pair.target_admin,
                               preloaded)
            migration.reverse.drop()
            migration.forward.drop()
            with narrow.Sides({"source": pair.source_admin, "target": pair.target_admin}) as sides:
                narrow.drop_slots(sides)  # the end of the migration: `cutover checkpoint drop`
        finally:  # the local deployment as before any migration (the writer on the source, all traffic on legacy)
            dns.__exit__()
            migration.writer.point_at(source.address)
            ctx.records.set(100, 0)
    equal = all(t.equal for t in validation)
    reasons = failures(result, stats, preload) + ([] if equal else ["the databases differ"])
    report = {**result, "passed": not reasons, "failures": reasons,
              "client_write_gap_seconds": [write_gap_seconds(stats, *window) for window in windows],
              "write_freeze_seconds": freezes, "switches": ["switchover", "rollback", "switchover"],
              "final_writer": final_writer, "steps": steps, "rate_per_second": rate,
              "preloaded_payments": preload, "failed_attempts_retried": stats.failed_attempts,
              "connections": connections, "dns_queries": resolver.queries,
              "longest_payment_wait_seconds": round(stats.longest_wait_seconds, 3),
              "validation": [{"table": t.table, "rows_source": t.rows_source, "rows_target": t.rows_target,
                              "equal": t.equal} for t in validation]}
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rehearsal", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=200.0, help="payments per second (default 200)")
    parser.add_argument("--preload", type=int, default=20000, help="payments on the source before the full load")
    parser.add_argument("--bake", type=float, default=2.0, help="seconds each traffic step is held (default 2)")
    parser.add_argument("--freeze-limit", type=float, default=30.0, help="abandon a switch frozen longer (s)")
    parser.add_argument("--connections", type=int, default=4,
                        help="the workload's pooled connections (default 4; 0: one plain connection)")
    parser.add_argument("--report", type=Path, default=REPORT, help=f"report file (default {REPORT})")
    args = parser.parse_args(argv)
    report = rehearse(args.rate, args.preload, args.bake, args.freeze_limit, args.report,
                      connections=args.connections)
    summary = {k: report[k] for k in ("passed", "payments_acknowledged", "payments_reconciled", "lost", "altered",
                                      "duplicated", "write_freeze_seconds", "client_write_gap_seconds",
                                      "failures")}
    print(json.dumps(summary))
    print(f"report: {args.report}")
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    from cli_common.boundary import guard
    from cli_common.terminal import Terminal

    guard(main, terminal=Terminal())  # an expected failure: one line on stderr, exit 1 (2 bad usage)
