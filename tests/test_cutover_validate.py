"""``cutover validate`` on two real PostgreSQL 15 servers: every planted difference found exactly, nothing on equal
data, keys only in the output, exit codes 0/1/2/3, transient differences under logical replication re-checked."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
import pytest

from cutover.validate import ValidateOptions, validate
from cutover.validate import compare, ranges
from tests.payments_schema import SCHEMA, data
from tests.plain_output import assert_plain, column, has_box_drawing, printed
from tests.postgres import DatabasePair

ROOT = Path(__file__).resolve().parent.parent
NO_RECHECK = ValidateOptions(recheck_after=0)


@pytest.fixture
def payments(fresh_databases: DatabasePair) -> DatabasePair:
    """The payment schema with the same 3000 payments on both sides."""
    fresh_databases.both(SCHEMA + data(3000))
    return fresh_databases


def by_table(report) -> dict:
    return {t["table"].split(".")[1]: t for t in report.as_dict()["tables"]}


def cutover(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cutover", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


def test_equal_databases_are_equal_and_exit_0(payments: DatabasePair, tmp_path: Path) -> None:
    report_file = tmp_path / "report.json"
    done = cutover("validate", "--source", payments.source_dsn, "--target", payments.target_dsn,
                   "--json", str(report_file))
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(report_file.read_text())
    assert report["status"] == "equal"
    tables = {t["table"]: t for t in report["tables"]}
    assert set(tables) == {"public.payments", "public.refunds", "public.ledger_entries", "public.audit_log"}
    assert tables["public.audit_log"]["keyed"] is False
    assert tables["public.ledger_entries"]["key"] == ["payment_id", "line_no"]
    for table in tables.values():
        assert table["status"] == "equal" and table["rows_source"] == table["rows_target"] > 0
        assert table["missing"] == table["extra"] == table["different"] == []
    # stdout is a pipe here: one plain line a table, whole, then the overall status
    assert_plain(done.stdout)
    lines = done.stdout.splitlines()
    for name, table in tables.items():
        rows = table["rows_source"]
        assert (f"{name}: keyed {'yes' if table['keyed'] else 'no'}, status equal, rows source {rows}, "
                f"rows target {rows}, missing 0, extra 0, different 0, transient 0") in lines, done.stdout
    assert lines[len(tables)] == "cutover validate: equal (4 tables)", done.stdout


def test_the_results_table_on_a_narrow_terminal_wraps_table_names(payments: DatabasePair) -> None:
    from cutover.cli.terminal import terminal
    from cutover.cli.validate import show

    report = validate(payments.source_dsn, payments.target_dsn, NO_RECHECK)
    with printed(terminal, on_terminal=True, width=50) as out:
        show(report)
    text = out.getvalue()
    assert has_box_drawing(text) and "…" not in text, text
    names = column(text, 0, columns=9)
    for table in ("public.payments", "public.refunds", "public.ledger_entries", "public.audit_log"):
        assert table in names, text


PLANTED = {
    # id: (SQL on the target changing payment <id>, what kind of change it is)
    11: "UPDATE payments SET fee = 1.50 WHERE id = 11",                     # numeric 1.5 -> 1.50 (scale)
    12: "UPDATE payments SET memo = 'NULL' WHERE id = 12 AND memo IS NULL",  # placeholder, replaced below
    15: "UPDATE payments SET memo = '' WHERE id = 14",                      # NULL -> '' (id 14: memo NULL)
    16: "UPDATE payments SET memo = 'Zahlung für Cafe\u0301 ☕ 16' WHERE id = 16",  # NFC -> NFD unicode
    17: "UPDATE payments SET memo = memo || ' ' WHERE id = 17",             # trailing space
    18: "UPDATE payments SET card_fingerprint = set_byte(card_fingerprint, 15, 0) WHERE id = 18",  # one byte
    19: "UPDATE payments SET metadata = metadata || '{\"order\": 19.0}' WHERE id = 19",            # jsonb value
    21: "UPDATE payments SET created_at = created_at + interval '1 microsecond' WHERE id = 21",   # timestamptz
    22: "UPDATE payments SET merchant_id = md5('other')::uuid WHERE id = 22",                     # uuid
    23: "UPDATE payments SET status = 'pending' WHERE id = 23",                                  # enum
    25: "UPDATE payments SET tags = ARRAY['t0', 'y'] WHERE id = 25",                               # array element
    26: "UPDATE payments SET currency = 'usd' WHERE id = 26",                                    # char(3), case
    27: "UPDATE payments SET amount = amount + 0.01 WHERE id = 27",                               # amount
}


def test_every_planted_difference_is_found_exactly_and_only_keys_are_output(payments: DatabasePair,
                                                                             tmp_path: Path) -> None:
    planted = dict(PLANTED)
    planted[12] = "UPDATE payments SET memo = 'NULL' WHERE id = 28"           # NULL -> the string 'NULL'
    planted[15] = "UPDATE payments SET memo = '' WHERE id = 14"
    different_ids = {11, 14, 16, 17, 18, 19, 21, 22, 23, 25, 26, 27, 28}
    payments.target.execute(";".join(planted.values()) + """;
        UPDATE payments SET metadata = '{"channel": "pos", "order": 31}' WHERE id = 31;  -- same value, other order
        DELETE FROM refunds WHERE id = 7;
        INSERT INTO refunds (id, payment_id, amount, refunded_at) VALUES (9001, 1, 1.00, now());
        DELETE FROM ledger_entries WHERE payment_id = 40 AND line_no = 2;
        UPDATE ledger_entries SET account = 'Receivable' WHERE payment_id = 41 AND line_no = 1;
        INSERT INTO ledger_entries VALUES (42, 3, 'fees', 0.10, NULL);
        DELETE FROM audit_log WHERE ctid IN (SELECT ctid FROM audit_log WHERE action = 'login' LIMIT 1);
        INSERT INTO audit_log VALUES ('2024-05-01 00:00:00+00', NULL, 'logout', NULL);
    """, payments.dbname)
    report_file = tmp_path / "report.json"
    done = cutover("validate", "--source", payments.source_dsn, "--target", payments.target_dsn, "--json",
                   str(report_file), "--recheck-after", "0")
    assert done.returncode == 1, done.stderr
    report = json.loads(report_file.read_text())
    tables = {t["table"]: t for t in report["tables"]}
    pay = tables["public.payments"]
    assert pay["status"] == "different" and pay["missing"] == pay["extra"] == []
    assert sorted(int(k["id"]) for k in pay["different"]) == sorted(different_ids)
    refunds = tables["public.refunds"]
    assert (refunds["missing"], refunds["extra"], refunds["different"]) == ([{"id": "7"}], [{"id": "9001"}], [])
    ledger = tables["public.ledger_entries"]
    assert ledger["missing"] == [{"payment_id": "40", "line_no": "2"}]
    assert ledger["extra"] == [{"payment_id": "42", "line_no": "3"}]
    assert ledger["different"] == [{"payment_id": "41", "line_no": "1"}]
    audit = tables["public.audit_log"]
    assert audit["keyed"] is False and audit["status"] == "different"
    assert [m["copies"] for m in audit["missing"]] == [1] and [e["copies"] for e in audit["extra"]] == [1]
    assert audit["rows_source"] == audit["rows_target"]
    # keys only: no memo, amount, account, merchant or metadata value in the report or on screen
    for text in (report_file.read_text(), done.stdout, done.stderr):
        for value in ("Zahlung", "memo 17", "Receivable", "fees", "customer request", "logout", "usd", "0.10",
                      "channel", "receivable", "EUR"):
            assert value not in text
    assert "public.payments" in done.stdout


def test_key_ranges_split_down_to_keys_on_larger_tables(fresh_databases: DatabasePair,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compare, "FETCH_LIMIT", 40)   # force splitting of mismatching ranges
    monkeypatch.setattr(ranges, "ROWS_PER_BUCKET", 500)
    fresh_databases.both("""
        CREATE TABLE accounts (iban text PRIMARY KEY, holder text, balance numeric(14,2));
        INSERT INTO accounts SELECT 'DE' || lpad(g::text, 8, '0'), 'holder ' || g, g FROM generate_series(1, 20000) g;
        CREATE TABLE transfers (id bigint PRIMARY KEY, amount numeric(12,2));
        INSERT INTO transfers SELECT g * 3, g FROM generate_series(1, 20000) g;
        ANALYZE;
    """)
    fresh_databases.target.execute("""
        UPDATE accounts SET balance = balance + 1 WHERE iban IN ('DE00000077', 'DE00012345');
        DELETE FROM accounts WHERE iban = 'DE00019999';
        INSERT INTO accounts VALUES ('AA00000001', 'x', 0), ('ZZ99999999', 'y', 0);
        UPDATE transfers SET amount = 0 WHERE id IN (3, 30000, 60000);
        DELETE FROM transfers WHERE id = 33333;
        INSERT INTO transfers VALUES (-5, 1), (10000000, 1);
    """, fresh_databases.dbname)
    report = validate(fresh_databases.source_dsn, fresh_databases.target_dsn, NO_RECHECK)
    tables = by_table(report)
    accounts, transfers = tables["accounts"], tables["transfers"]
    assert [k["iban"] for k in accounts["different"]] == ["DE00000077", "DE00012345"]
    assert accounts["missing"] == [{"iban": "DE00019999"}]
    assert sorted(k["iban"] for k in accounts["extra"]) == ["AA00000001", "ZZ99999999"]
    assert sorted(int(k["id"]) for k in transfers["different"]) == [3, 30000, 60000]
    assert transfers["missing"] == [{"id": "33333"}]
    assert sorted(int(k["id"]) for k in transfers["extra"]) == [-5, 10000000]
    assert report.exit_code == 1


def test_schema_differences_are_reported_before_data_and_excluded_columns_ignored(
        payments: DatabasePair, tmp_path: Path) -> None:
    payments.target.execute("""
        ALTER TABLE payments ADD COLUMN migrated_at timestamptz DEFAULT now();
        ALTER TABLE refunds ALTER COLUMN reason TYPE text;
        CREATE TABLE settlements (id bigint PRIMARY KEY);
    """, payments.dbname)
    report = validate(payments.source_dsn, payments.target_dsn, ValidateOptions(recheck_after=0))
    problems = {(d.table, d.column, d.problem) for d in report.schema_differences}
    assert problems == {("public.payments", "migrated_at", "column on the target only"),
                        ("public.refunds", "reason", "type differs"),
                        ("public.settlements", None, "table on the target only")}
    tables = by_table(report)
    assert tables["settlements"]["status"] == "different" and tables["settlements"]["rows_source"] is None
    assert tables["refunds"]["status"] == "different" and tables["refunds"]["different"] == []
    assert report.exit_code == 1
    options = ValidateOptions(recheck_after=0, tables=("payments",),
                              exclude_columns=frozenset({("payments", "migrated_at")}))
    assert validate(payments.source_dsn, payments.target_dsn, options).exit_code == 0


def test_usage_and_connection_errors_exit_2_and_3(payments: DatabasePair) -> None:
    done = cutover("validate", "--source", payments.source_dsn, "--target", payments.target_dsn,
                   "--tables", "nope")
    assert done.returncode == 2 and "--tables = 'nope'" in done.stderr
    done = cutover("validate", "--source", payments.source_dsn, "--target", payments.target_dsn,
                   "--exclude-columns", "payments.id")
    assert done.returncode == 2 and "key column" in done.stderr
    done = cutover("validate", "--source", payments.source_dsn, "--jobs", "0")
    assert done.returncode == 2 and "--jobs" in done.stderr
    done = cutover("validate", "--source", payments.source_dsn, "--target",
                   "host=127.0.0.1 port=1 dbname=x user=postgres connect_timeout=2")
    assert done.returncode == 3 and "cannot connect to the target database" in done.stderr


def test_a_table_that_cannot_be_read_is_an_error_never_equal(payments: DatabasePair) -> None:
    for server in (payments.source, payments.target):
        server.execute("CREATE ROLE validator LOGIN; GRANT SELECT ON payments, refunds, ledger_entries TO validator",
                       payments.dbname)
    report = validate(payments.source.dsn(payments.dbname, "validator"),
                      payments.target.dsn(payments.dbname, "validator"), ValidateOptions(recheck_after=0, jobs=1))
    assert by_table(report)["audit_log"]["status"] == "error"
    assert "permission denied" in by_table(report)["audit_log"]["error"]
    assert report.exit_code == 3
    for server in (payments.source, payments.target):
        server.execute("DROP OWNED BY validator; DROP ROLE validator", payments.dbname)


def test_transient_differences_under_logical_replication_are_rechecked_away(payments: DatabasePair) -> None:
    source, target, db = payments.source, payments.target, payments.dbname
    source.execute("CREATE PUBLICATION cutover_test FOR TABLE payments, refunds", db)
    target.execute(f"CREATE SUBSCRIPTION cutover_test CONNECTION '{source.dsn(db)}' PUBLICATION cutover_test "
                   "WITH (copy_data = false)", db)
    target.execute("UPDATE payments SET memo = 'drift' WHERE id = 500", db)  # persistent: not replicated
    with psycopg.connect(source.dsn(db), autocommit=True) as conn:
        deadline = time.monotonic() + 30
        while not conn.execute("SELECT count(*) FROM pg_stat_replication").fetchone()[0]:
            assert time.monotonic() < deadline, "the subscription never connected"
            time.sleep(0.1)
    # Hold the apply worker on the target (SHARE locks allow reads, block its writes), then change the source:
    # validate's first pass sees the changes on the source only, the re-check after the lock is gone sees both.
    blocker = psycopg.connect(target.dsn(db))
    blocker.execute("LOCK TABLE payments, refunds IN SHARE MODE")
    source.execute("UPDATE payments SET amount = amount + 1 WHERE id BETWEEN 100 AND 104; "
                   "DELETE FROM refunds WHERE id = 3", db)
    release = threading.Timer(1.0, blocker.commit)
    release.start()
    try:
        report = validate(payments.source_dsn, payments.target_dsn, ValidateOptions(recheck_after=3))
    finally:
        release.join()
        blocker.close()
    tables = by_table(report)
    assert tables["payments"]["different"] == [{"id": "500"}]
    assert tables["payments"]["counts"]["transient"] == 5
    assert tables["refunds"]["status"] == "equal" and tables["refunds"]["counts"]["transient"] == 1
    assert report.recheck_after_seconds == 3 and report.exit_code == 1


def test_importing_the_cli_loads_no_database_or_aws_library() -> None:
    code = ("import sys, cutover.cli; bad = [m for m in ('psycopg', 'boto3', 'botocore', 'cdktf', 'jsii', "
            "'cdktf_runtime', 'pydantic') if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def _recheck_with(payments: DatabasePair, monkeypatch, during_delay) -> dict:
    """Validate with 6 differing payments and ``--max-listed 2``; ``during_delay()`` runs in the re-check's delay
    (time.sleep of the validation run replaced: no real waiting)."""
    import cutover.validate.run as run

    payments.target.execute("UPDATE payments SET amount = amount + 1 WHERE id BETWEEN 10 AND 15", payments.dbname)
    monkeypatch.setattr(run.time, "sleep", lambda seconds: during_delay())
    report = validate(payments.source_dsn, payments.target_dsn,
                      ValidateOptions(recheck_after=0.01, max_listed=2, tables=("payments",)))
    return by_table(report)["payments"]


def test_the_recheck_counts_every_difference_past_max_listed(payments: DatabasePair, monkeypatch) -> None:
    table = _recheck_with(payments, monkeypatch, lambda: None)  # nothing transient: all 6 persist
    assert table["status"] == "different" and table["counts"]["different"] == 6, table  # not only the 2 listed
    assert len(table["different"]) == 2 and table["counts"]["transient"] == 0


def test_the_recheck_finds_a_table_equal_only_once_every_difference_was_re_read(payments: DatabasePair,
                                                                                monkeypatch) -> None:
    repair = "UPDATE payments SET amount = amount - 1 WHERE id BETWEEN {} AND {}"
    # the 2 listed keys (10, 11) were transient, the 4 unlisted ones persist: never "equal" (a baseline to trust)
    table = _recheck_with(payments, monkeypatch,
                          lambda: payments.target.execute(repair.format(10, 11), payments.dbname))
    assert table["status"] == "different" and table["counts"]["different"] == 4, table
    assert table["counts"]["transient"] == 2 and table["different"] == [{"id": "12"}, {"id": "13"}]


def test_all_differences_transient_past_max_listed_make_the_table_equal(payments: DatabasePair, monkeypatch) -> None:
    table = _recheck_with(payments, monkeypatch, lambda: payments.target.execute(
        "UPDATE payments SET amount = amount - 1 WHERE id BETWEEN 10 AND 15", payments.dbname))
    assert table["status"] == "equal" and table["counts"]["transient"] == 6, table
