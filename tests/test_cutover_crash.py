"""Crash tests: the switch tool killed with SIGKILL (a real subprocess) at each step of a switchover and of a
rollback, after the step acted and before it was journalled done, while the payment workload writes through the
writer name; then ``resume`` (or, before the point of no return, ``rollback`` = abandon) in this process. After
every recovery exactly one database accepts the workload's writes, and at the end nothing acknowledged is lost,
altered or duplicated (``rehearsal.workload.reconcile``, every column, the preload included).

Economical: one pair of databases, one workload and one test for all the kills (the session's two servers); the
writer name is a file (the subprocess and this process share it; Route 53 is tested elsewhere).

Run as ``python -m tests.test_cutover_crash <config.json> <operation> <step>``: the tool, which runs the switch and
hangs right after ``<step>`` acted (the parent kills it there).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from cutover.roles import APP_ROLE
from cutover.switchover import POINT_OF_NO_RETURN, STEPS

ROOT = Path(__file__).resolve().parent.parent


class FileWriter:
    """The writer name as a file holding the address (``value()``, ``point_at(address)``; atomic replace)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def value(self) -> str:
        return self.path.read_text(encoding="utf-8")

    def point_at(self, address: str) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(address, encoding="utf-8")
        os.replace(tmp, self.path)


def _migration(config: dict, journal_lock: bool = True):  # noqa: ANN202
    from cutover.database import Database
    from cutover.journal import Journal
    from cutover.replication.native import NativeReplication
    from cutover.switchover import Migration, Policy

    source = Database("source", config["source"], "source.db.test")
    target = Database("target", config["target"], "target.db.test")
    journal = Journal(Path(config["journal"]))
    migration = Migration(source, target, NativeReplication("forward", source, target, object_name=config["fwd"]),
                          NativeReplication("reverse", target, source, object_name=config["rev"]),
                          FileWriter(Path(config["writer"])), journal,
                          Policy(freeze_limit_seconds=20, poll_seconds=0.05))
    if journal_lock:
        journal.acquire()
    return migration


def main(argv: list[str]) -> None:
    """The tool: run ``operation`` and hang after ``step`` acted (the parent SIGKILLs it)."""
    from cutover.switchover import switch

    config = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    operation, kill_at = argv[1], argv[2]
    migration = _migration(config)

    def fault(step: str, when: str) -> None:
        if step == kill_at and when == "after":
            print("acted", flush=True)
            time.sleep(600)

    migration.fault = fault
    switch(migration, operation)
    print("finished", flush=True)


@pytest.fixture
def crash_setup(postgres_source, postgres_target, tmp_path):  # noqa: ANN001, ANN201
    """A database with the rehearsal's schema and a preload on both servers, forward replication running, the
    target frozen, the writer file on the source."""
    import psycopg

    from rehearsal.databases import SCHEMA
    from tests.cutover_fixtures import wait_for
    from tests.postgres import drop_database

    dbname = f"crash_{uuid.uuid4().hex[:8]}"
    for server in (postgres_source, postgres_target):
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (APP_ROLE,)).fetchone():
                conn.execute(f"CREATE ROLE {APP_ROLE} LOGIN")
            conn.execute(f"ALTER ROLE {APP_ROLE} LOGIN")
            conn.execute(f'CREATE DATABASE "{dbname}"')
        server.execute(SCHEMA, dbname)
    postgres_source.execute("INSERT INTO payments (idempotency_key, merchant_id, amount_cents, currency) "
                            "SELECT gen_random_uuid(), 1 + i % 97, 100 + i, 'EUR' FROM generate_series(1, 200) i",
                            dbname)
    config = {"source": postgres_source.dsn(dbname), "target": postgres_target.dsn(dbname),
              "journal": str(tmp_path / "journal"), "writer": str(tmp_path / "writer"), "fwd": f"f_{dbname}",
              "rev": f"r_{dbname}"}
    FileWriter(Path(config["writer"])).point_at("source.db.test")
    (tmp_path / "config.json").write_text(json.dumps(config), encoding="utf-8")
    migration = _migration(config, journal_lock=False)
    migration.target.freeze()
    migration.forward.start(initial_copy=True)
    wait_for(lambda: migration.forward.status().state == "running", what="forward full load")
    apps = {"source.db.test": postgres_source.dsn(dbname, APP_ROLE),
            "target.db.test": postgres_target.dsn(dbname, APP_ROLE)}
    try:
        yield tmp_path / "config.json", config, apps
    finally:
        for database in (migration.source, migration.target):
            database.disarm_deadline()
        drop_database(postgres_target, dbname, others=(postgres_source,))
        drop_database(postgres_source, dbname)


def _plan() -> list[tuple[str, str, str]]:
    """``(step, operation, recovery)``: each step of a switchover and of a rollback killed once (18 kills). Before
    the point of no return one of the pair is resumed and the other abandoned (``cutover rollback`` of the
    interrupted run), so the writer alternates: S -> T (resume), T stays (abandon), T -> S, S stays, ..."""
    plan, writer = [], "source"
    for index, step in enumerate(STEPS):
        first = "switchover" if writer == "source" else "rollback"
        second = "rollback" if first == "switchover" else "switchover"
        if index < STEPS.index(POINT_OF_NO_RETURN):
            plan += [(step, first, "resume"), (step, second, "abandon")]  # the writer moved once
            writer = "target" if writer == "source" else "source"
        else:
            plan += [(step, first, "resume"), (step, second, "resume")]  # and back
    return plan


def _kill_at(config_path: Path, operation: str, step: str) -> None:
    """Run the tool in a subprocess and SIGKILL it right after ``step`` acted."""
    tool = subprocess.Popen([sys.executable, "-m", "tests.test_cutover_crash", str(config_path), operation, step],
                            cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        line = tool.stdout.readline().strip()
        assert line == "acted", f"the tool did not reach {operation} {step}: {line!r}"
        os.kill(tool.pid, signal.SIGKILL)
    finally:
        tool.kill()
        tool.wait()


def test_sigkill_at_each_step_of_switchover_and_rollback_loses_nothing(crash_setup):  # noqa: ANN001
    from cutover.switchover import Abandoned, abandon, resume
    from rehearsal.workload import PaymentWorkload, failures, reconcile, snapshot
    from tests.cutover_fixtures import wait_for

    config_path, config, apps = crash_setup
    writer = FileWriter(Path(config["writer"]))
    preloaded = snapshot(config["source"])
    workload = PaymentWorkload(lambda: apps[writer.value()], 50, connections=2).start()  # pooled, as a service
    recoveries = []
    observer = _migration(config, journal_lock=False)
    try:
        for step, operation, recovery in _plan():
            replication = observer.forward if operation == "switchover" else observer.reverse
            wait_for(lambda: replication.status().state == "running", 30, f"{replication.name} replication")
            _kill_at(config_path, operation, step)
            migration = _migration(config)
            try:
                if recovery == "resume":
                    assert resume(migration).outcome == "completed"
                else:
                    with pytest.raises(Abandoned):
                        abandon(migration)
            finally:
                migration.journal.release()
            moved = {"switchover": "target.db.test", "rollback": "source.db.test"}[operation]
            expected = moved if recovery == "resume" else ({"target.db.test", "source.db.test"} - {moved}).pop()
            assert writer.value() == expected, (operation, step, recovery)
            assert workload.alive, workload.stats.errors
            seen = len(workload.stats.acknowledged_at)
            wait_for(lambda: len(workload.stats.acknowledged_at) > seen + 5, 30, "writes on the writer")
            recoveries.append((operation, step, recovery))
    finally:
        stats = workload.stop()
    final = config["source"] if writer.value() == "source.db.test" else config["target"]
    result = reconcile(stats, final, preloaded)
    assert (result["lost"], result["altered"], result["duplicated"]) == (0, 0, 0)
    assert failures(result, stats, len(preloaded)) == []
    assert {(operation, step) for operation, step, _ in recoveries} == \
        {(operation, step) for operation in ("switchover", "rollback") for step in STEPS}


if __name__ == "__main__":
    main(sys.argv[1:])
