"""Chunked ``cutover validate`` on two real PostgreSQL 15 servers: chunks tile the key space (planted differences
found at every edge, none invented), ``--jobs`` spreads one table's chunks, throttling pauses only while a bound is
passed, kill -9 then ``--resume`` gives the same answer, differences planted during the run are never lost."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
import pytest

import cutover.validate.run as run
from cutover.validate import ValidateOptions, validate
from tests.payments_schema import SCHEMA, data
from tests.postgres import DatabasePair

ROOT = Path(__file__).resolve().parent.parent
SMALL_CHUNKS = dict(recheck_after=0, chunk_time=0.001)  # chunks of MIN_CHUNK_ROWS rows: many chunks per table

TRANSFERS = """
CREATE TABLE transfers (id bigint PRIMARY KEY, amount numeric(12,2), note text);
INSERT INTO transfers SELECT g * 3, g, 'n' || g FROM generate_series(1, 20000) g;
CREATE TABLE lines (account text, line_no int, amount numeric(12,2), PRIMARY KEY (account, line_no));
INSERT INTO lines SELECT 'acct' || lpad((g / 4)::text, 5, '0'), g % 4, g FROM generate_series(1, 8000) g;
ANALYZE;
"""
PLANT = """
UPDATE transfers SET amount = 0 WHERE id IN (3, 30000, 60000);            -- first key, middle, last key
DELETE FROM transfers WHERE id = 33333;
INSERT INTO transfers VALUES (-5, 1, 'below every key'), (10000000, 1, 'above every key');
UPDATE lines SET amount = -1 WHERE account = 'acct00500' AND line_no = 2;  -- composite key
DELETE FROM lines WHERE account = 'acct01999' AND line_no = 3;
INSERT INTO lines VALUES ('acct00500', 9, 1), ('zzz', 0, 1);
"""


def by_table(report) -> dict:
    return {t["table"].split(".")[1]: t for t in report.as_dict()["tables"]}


def keys(table: dict, kind: str, column: str = "id") -> list:
    return sorted(int(k[column]) if column == "id" else k[column] for k in table[kind])


@pytest.fixture
def transfers(fresh_databases: DatabasePair) -> DatabasePair:
    fresh_databases.both(TRANSFERS)
    return fresh_databases


def test_chunks_tile_the_key_space_differences_found_at_every_edge_none_invented(transfers: DatabasePair) -> None:
    options = ValidateOptions(**SMALL_CHUNKS, jobs=3)
    equal = validate(transfers.source_dsn, transfers.target_dsn, options)  # negative control: nothing invented
    assert equal.exit_code == 0 and all(t["chunks"] > 10 for t in by_table(equal).values()), by_table(equal)
    transfers.target.execute(PLANT, transfers.dbname)
    tables = by_table(validate(transfers.source_dsn, transfers.target_dsn, options))
    moved = tables["transfers"]
    assert moved["chunks"] > 10 and moved["rows_source"] == 20000 and moved["rows_target"] == 20001
    assert keys(moved, "different") == [3, 30000, 60000] and keys(moved, "missing") == [33333]
    assert keys(moved, "extra") == [-5, 10000000]
    lines = tables["lines"]
    assert lines["different"] == [{"account": "acct00500", "line_no": "2"}]
    assert lines["missing"] == [{"account": "acct01999", "line_no": "3"}]
    assert sorted((k["account"], k["line_no"]) for k in lines["extra"]) == [("acct00500", "9"), ("zzz", "0")]


def test_a_chunk_that_overruns_its_cap_is_cut_in_two_and_gives_the_same_answer(
        transfers: DatabasePair, monkeypatch: pytest.MonkeyPatch) -> None:
    """A chunk sized on a faster moment (a load spike) is not waited out: each statement may last
    ``statement_cap_seconds``; one cancelled has its range cut at the middle sub-bucket threshold and each half
    compared in a snapshot of its own. With a 1 ms cap nearly every chunk is cut (``split_chunks`` counts them,
    only cancelled statements do), down to single sub-buckets, and the answer is exactly that of an uncut run:
    the cancelled attempts' counts are dropped, nothing counted twice, no planted difference lost."""
    transfers.target.execute(PLANT, transfers.dbname)
    options = ValidateOptions(recheck_after=0, jobs=2)
    uncut = validate(transfers.source_dsn, transfers.target_dsn, options)
    monkeypatch.setattr(run, "statement_cap_seconds", lambda chunk_time: 0.001)
    cut = validate(transfers.source_dsn, transfers.target_dsn, options)
    assert uncut.split_chunks == 0 and cut.split_chunks > 5, (uncut.split_chunks, cut.split_chunks)
    assert cut.as_dict()["split_chunks"] == cut.split_chunks
    for name, table in by_table(cut).items():
        before = by_table(uncut)[name]
        assert {k: table[k] for k in ("rows_source", "rows_target", "different", "missing", "extra")} == \
            {k: before[k] for k in ("rows_source", "rows_target", "different", "missing", "extra")}, name
    assert by_table(cut)["transfers"]["rows_source"] == 20000 and keys(by_table(cut)["transfers"], "missing") == [33333]


def test_jobs_spread_the_chunks_of_one_table_over_n_connections(transfers: DatabasePair,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    used: set[int] = set()
    chunk = run._Run._chunk

    def spy(self, table, columns, planned):
        pair = self.pairs.get()
        used.add(pair.source.info.backend_pid)
        self.pairs.put(pair)
        time.sleep(0.005)  # let the other workers take chunks too
        return chunk(self, table, columns, planned)

    monkeypatch.setattr(run._Run, "_chunk", spy)
    for jobs, connections in ((3, 3), (1, 1)):  # jobs 1: the negative control
        used.clear()
        report = validate(transfers.source_dsn, transfers.target_dsn,
                          ValidateOptions(**SMALL_CHUNKS, jobs=jobs, tables=("transfers",)))
        assert report.exit_code == 0 and len(used) == connections, (jobs, used)


def _busy(server, dbname: str, sessions: int, seconds: float) -> list[threading.Thread]:
    """``sessions`` client sessions running ``pg_sleep(seconds)`` on ``server`` (active in pg_stat_activity)."""
    threads = [threading.Thread(target=server.execute, args=(f"SELECT pg_sleep({seconds})", dbname))
               for _ in range(sessions)]
    for thread in threads:
        thread.start()
    with psycopg.connect(server.dsn(dbname), autocommit=True) as conn:
        while conn.execute("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%%' "
                           "AND state = 'active'").fetchone()[0] < sessions:
            time.sleep(0.02)
    return threads


def test_max_load_pauses_while_the_source_is_busy_and_holds_no_transaction_meanwhile(transfers: DatabasePair) -> None:
    options = ValidateOptions(**SMALL_CHUNKS, max_load=1, tables=("transfers",))
    calm = validate(transfers.source_dsn, transfers.target_dsn, options)  # negative control: nobody else active
    assert calm.throttled_seconds == 0 and calm.exit_code == 0
    sleepers = _busy(transfers.source, transfers.dbname, 2, 1.5)
    try:
        busy = validate(transfers.source_dsn, transfers.target_dsn, options)
    finally:
        for thread in sleepers:
            thread.join()
    assert busy.throttled_seconds > 0 and busy.exit_code == 0
    # no transaction was held across the pause: every one is shorter than the time spent paused
    assert max(busy.oldest_transaction_seconds.values()) < busy.throttled_seconds, busy.as_dict()
    assert busy.as_dict()["throttled_seconds"] == round(busy.throttled_seconds, 3)


def test_max_lag_pauses_while_replication_lags(transfers: DatabasePair) -> None:
    source, db = transfers.source, transfers.dbname
    options = ValidateOptions(**SMALL_CHUNKS, tables=("transfers",), max_lag=256 * 1024)
    calm = validate(transfers.source_dsn, transfers.target_dsn, options)  # negative control: nothing lags
    assert calm.throttled_seconds == 0 and calm.exit_code == 0
    # a logical slot (as AWS DMS reads through) that its consumer has not confirmed past 2 MB of WAL
    source.execute("SELECT pg_create_logical_replication_slot('lag_test', 'test_decoding')", db)
    source.execute("UPDATE transfers SET note = note || '!'; UPDATE transfers SET note = rtrim(note, '!')", db)
    caught_up = threading.Timer(1.5, source.execute, ("SELECT pg_replication_slot_advance('lag_test', "
                                                       "pg_current_wal_lsn())", db))
    caught_up.start()
    try:
        lagging = validate(transfers.source_dsn, transfers.target_dsn, options)
    finally:
        caught_up.join()
        source.execute("SELECT pg_drop_replication_slot('lag_test')", db)
    assert lagging.throttled_seconds > 0 and lagging.exit_code == 0, lagging.as_dict()


def cutover(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cutover", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


def test_kill_9_halfway_then_resume_finds_the_same_differences(transfers: DatabasePair, tmp_path: Path) -> None:
    transfers.target.execute(PLANT, transfers.dbname)
    sides = ["--source", transfers.source_dsn, "--target", transfers.target_dsn, "--recheck-after", "0",
             "--chunk-time", "0.001", "--tables", "transfers,lines"]
    full = cutover("validate", *sides, "--json", str(tmp_path / "full.json"))
    assert full.returncode == 1, full.stderr
    # off a terminal: plain progress lines on stderr (rows, chunks, rate, time left)
    assert "validate: public.transfers: " in full.stderr and " chunks, " in full.stderr and "rows/s" in full.stderr
    checkpoint = tmp_path / "checkpoint.jsonl"
    killed = subprocess.Popen([sys.executable, "-m", "cutover", "validate", *sides, "--checkpoint", str(checkpoint)],
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not checkpoint.exists() or checkpoint.read_text().count('"kind": "chunk"') < 60:
        assert killed.poll() is None and time.monotonic() < deadline, "the run ended before it could be killed"
        time.sleep(0.01)
    os.kill(killed.pid, signal.SIGKILL)
    killed.wait()
    recorded = checkpoint.read_text()
    for value in ("below every key", "above every key", "n1234"):  # keys, counts and hashes only
        assert value not in recorded
    resumed = cutover("validate", *sides, "--checkpoint", str(checkpoint), "--resume", "--json",
                      str(tmp_path / "resumed.json"))
    assert resumed.returncode == 1, resumed.stderr
    before, after = (json.loads((tmp_path / f"{name}.json").read_text()) for name in ("full", "resumed"))
    resumed = sum(t["resumed_chunks"] for t in after["tables"])
    assert 0 < resumed < sum(t["chunks"] for t in after["tables"]), after["tables"]  # killed halfway, resumed there
    for old, new in zip(before["tables"], after["tables"]):
        for field in ("status", "rows_source", "rows_target", "counts"):
            assert new[field] == old[field], (old["table"], field)
        for kind in ("missing", "extra", "different"):
            assert sorted(map(str, new[kind])) == sorted(map(str, old[kind])), (old["table"], kind)
    # negative control: a checkpoint of another comparison is refused, not merged
    other = cutover("validate", *sides[:-1], "transfers", "--checkpoint", str(checkpoint), "--resume")
    assert other.returncode == 2 and "another comparison" in other.stderr, other.stderr
    assert cutover("validate", *sides, "--resume").returncode == 2  # no checkpoint named: usage error


@pytest.fixture
def payments(fresh_databases: DatabasePair) -> DatabasePair:
    fresh_databases.both(SCHEMA + data(3000))
    return fresh_databases


def _during_run(payments: DatabasePair, monkeypatch: pytest.MonkeyPatch, after_first_chunk: str,
                recheck_after: float) -> dict:
    """Validate payments (id 10 differs from the start); once its first chunk (ids 1..1000) has been compared,
    run ``after_first_chunk`` on the target; the re-check's delay is not waited for."""
    payments.target.execute("UPDATE payments SET amount = amount + 1 WHERE id = 10", payments.dbname)
    monkeypatch.setattr(run.time, "sleep", lambda seconds: None)
    done = []

    def progress(state) -> None:
        if state.table == "public.payments" and state.chunks_done and not done:
            payments.target.execute(after_first_chunk, payments.dbname)
            done.append(True)

    report = validate(payments.source_dsn, payments.target_dsn,
                      ValidateOptions(recheck_after=recheck_after, tables=("payments",), jobs=1), progress)
    assert done
    return by_table(report)["payments"]


def test_a_difference_planted_in_a_checked_chunk_during_the_run_is_found_by_the_recheck(
        payments: DatabasePair, monkeypatch: pytest.MonkeyPatch) -> None:
    plant = "UPDATE payments SET amount = amount + 1 WHERE id = 50"
    table = _during_run(payments, monkeypatch, plant, recheck_after=0.01)
    assert keys(table, "different") == [10, 50] and table["counts"]["transient"] == 0, table
    # negative control: without the re-check the run only knew what it saw when it read that chunk
    payments.target.execute("UPDATE payments SET amount = amount - 1 WHERE id IN (10, 50)", payments.dbname)
    table = _during_run(payments, monkeypatch, plant.replace("+", "-"), recheck_after=0)
    assert keys(table, "different") == [10], table


def test_a_difference_gone_from_a_checked_chunk_during_the_run_is_reported_transient(
        payments: DatabasePair, monkeypatch: pytest.MonkeyPatch) -> None:
    repair = "UPDATE payments SET amount = amount - 1 WHERE id = 10"
    table = _during_run(payments, monkeypatch, repair, recheck_after=0.01)
    assert table["status"] == "equal" and table["counts"]["transient"] == 1, table


def _replicated(transfers: DatabasePair) -> None:
    """Native logical replication of ``transfers`` from source to target (the same rows on both already), streaming;
    then a persistent difference on the target (id 33: not replicated)."""
    source, target, db = transfers.source, transfers.target, transfers.dbname
    source.execute("CREATE PUBLICATION load_test FOR TABLE transfers", db)
    target.execute(f"CREATE SUBSCRIPTION load_test CONNECTION '{source.dsn(db)}' PUBLICATION load_test "
                   "WITH (copy_data = false)", db)
    target.execute("UPDATE transfers SET amount = -1 WHERE id = 33", db)
    with psycopg.connect(source.dsn(db), autocommit=True) as conn:
        deadline = time.monotonic() + 30
        while not conn.execute("SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'").fetchone()[0]:
            assert time.monotonic() < deadline, "the subscription never connected"
            time.sleep(0.1)


def test_under_a_write_workload_with_replication_no_false_difference(transfers: DatabasePair) -> None:
    source, target, db = transfers.source, transfers.target, transfers.dbname
    _replicated(transfers)
    stop = threading.Event()

    def payments() -> None:  # about 200 writes a second on the source: updates all over the table and new rows
        with psycopg.connect(source.dsn(db), autocommit=True) as conn:
            number = 0
            while not stop.wait(0.005):
                number += 1
                row = 3 * (number * 7919 % 20000 + 1)
                conn.execute("UPDATE transfers SET amount = amount + 1 WHERE id = %s", (row,))
                conn.execute("INSERT INTO transfers VALUES (%s, 1, 'new')", (1_000_000 + number,))

    writer = threading.Thread(target=payments)
    blocker = psycopg.connect(target.dsn(db))
    blocker.execute("LOCK TABLE transfers IN SHARE MODE")  # the first pass sees a second of writes in flight
    release = threading.Timer(1.0, blocker.commit)
    writer.start()
    release.start()
    try:
        report = validate(transfers.source_dsn, transfers.target_dsn,
                          ValidateOptions(recheck_after=1.5, tables=("transfers",), chunk_time=0.01))
    finally:
        stop.set()
        writer.join()
        release.join()
        blocker.close()
    table = by_table(report)["transfers"]
    assert table["different"] == [{"id": "33"}] and table["missing"] == table["extra"] == [], table
    assert table["counts"]["transient"] > 0 and table["counts"]["different"] == 1, table["counts"]


def test_a_resumed_run_records_the_counters_of_the_interrupted_run_as_its_baseline(transfers: DatabasePair,
                                                                                  tmp_path: Path) -> None:
    from cutover.cli.validate import _baseline_counters

    checkpoint = tmp_path / "validate-checkpoint.jsonl"
    first = _baseline_counters(transfers.source_dsn, transfers.target_dsn, ValidateOptions(checkpoint=checkpoint))
    transfers.target.execute("UPDATE transfers SET amount = 0 WHERE id = 3", transfers.dbname)  # after the start
    with psycopg.connect(transfers.target_dsn) as conn:  # until the statistics show it
        while conn.execute("SELECT n_tup_upd FROM pg_stat_user_tables WHERE relname = 'transfers'").fetchone()[0] < 1:
            time.sleep(0.05)
            conn.rollback()
    resumed = ValidateOptions(checkpoint=checkpoint, resume=True)
    assert _baseline_counters(transfers.source_dsn, transfers.target_dsn, resumed) == first  # not read again
    fresh = ValidateOptions(checkpoint=checkpoint)
    assert _baseline_counters(transfers.source_dsn, transfers.target_dsn, fresh) != first
    # negative control: a resumed run without the interrupted run's counters records no baseline
    checkpoint.with_suffix(".counters.json").unlink()
    assert _baseline_counters(transfers.source_dsn, transfers.target_dsn, resumed) is None
