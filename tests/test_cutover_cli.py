"""The commands end to end: real PostgreSQL, AWS through moto, stack outputs from a file (``PAYMIG_CUTOVER_OUTPUTS``)."""

from __future__ import annotations

import json
import subprocess
import sys

import boto3
import pytest

from cutover.cli.main import main
from cutover.journal import Journal
from tests.cutover_fixtures import (  # noqa: F401  (fixtures)
    APP_ROLE, WRITER_NAME, app_insert, aws, payment_databases, payment_keys, pg_pair, wait_for, writer_zone,
)
from tests.plain_output import assert_plain, column, has_box_drawing, printed
from tests.test_cutover_traffic import NAME


def all_traffic_on_the_new_side() -> None:
    """What a finished ``cutover shift`` leaves: legacy 0 / new 100 (phase 2 refuses to start before it)."""
    from cutover.traffic import WeightedRecords

    route53 = boto3.client("route53", region_name="us-east-1")
    zone = route53.list_hosted_zones_by_name(DNSName="payments.example.com")["HostedZones"][0]["Id"]
    WeightedRecords(route53, zone, NAME).set(0, 100)


@pytest.fixture
def environment(payment_databases, aws, tmp_path, monkeypatch):  # noqa: F811
    """Outputs of a deployed environment (moto), the databases' DSNs in the environment variables."""
    route53 = boto3.client("route53", region_name="us-east-1")
    private = writer_zone(route53, payment_databases.name, "source.db.test")
    public = route53.create_hosted_zone(Name="payments.example.com", CallerReference="p")["HostedZone"]["Id"]
    route53.change_resource_record_sets(HostedZoneId=public, ChangeBatch={"Changes": [
        {"Action": "CREATE", "ResourceRecordSet": {
            "Name": NAME, "Type": "A", "SetIdentifier": side, "Weight": weight,
            "AliasTarget": {"HostedZoneId": "Z35SXDOTRQ7X7K", "DNSName": f"{side}.elb.amazonaws.com",
                            "EvaluateTargetHealth": False}}}
        for side, weight in (("legacy", 100), ("new", 0))]})
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({
        "data": {"private_zone_id": private, "writer_fqdn": WRITER_NAME, "source_address": "source.db.test",
                 "target_address": "target.db.test"},
        "traffic": {"zone_id": public, "record_fqdn": NAME}}))
    monkeypatch.setenv("PAYMIG_CUTOVER_OUTPUTS", str(outputs))
    monkeypatch.setenv("PAYMIG_SOURCE_DSN", payment_databases.source_admin)
    monkeypatch.setenv("PAYMIG_TARGET_DSN", payment_databases.target_admin)
    monkeypatch.setenv("PAYMIG_ENVIRONMENT", "dev")  # dev: its region; moto answers
    monkeypatch.setenv("PAYMIG_REPLICATION", "native")  # dev deploys DMS, which moto runs no data through
    monkeypatch.setenv("PAYMIG_APP_ROLE", APP_ROLE)
    return tmp_path / "state"


def run(capsys, *args: str) -> tuple[int, str, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_replication_switchover_rollback_and_status_through_the_commands(environment, payment_databases, capsys):
    state = ["--state-dir", str(environment)]
    code, out, _ = run(capsys, "replication", "start", *state)
    assert code == 0 and "replication forward:" in out
    code, out, _ = run(capsys, "status", "--json", *state)
    document = json.loads(out)
    assert document["phase"] == "before-shift" and document["writer"]["name"] == "source"
    assert document["frozen"] == {"source": False, "target": True}
    wait_for(lambda: json.loads(run(capsys, "status", "--json", *state)[1])["replication"]["forward"]["state"]
             == "running", what="full load")
    code, out, _ = run(capsys, "status", *state)  # stdout captured: not a terminal, so plain lines
    assert code == 0
    assert_plain(out)
    lines = out.splitlines()
    assert "phase = before-shift" in lines and "writer = source (source.db.test)" in lines, out
    assert "frozen = source=no, target=yes" in lines and any(
        line.startswith("replication forward: state running, lag bytes ") for line in lines), out

    code, out, err = run(capsys, "switchover", *state)
    assert code == 1 and "refused before freezing: the legacy endpoint still has weight 100 (new 0)" in err
    assert json.loads(run(capsys, "status", "--json", *state)[1])["frozen"] == {"source": False, "target": True}
    all_traffic_on_the_new_side()
    code, out, err = run(capsys, "switchover", *state)
    assert code == 0 and "the target is the writer" in out, err
    assert app_insert(payment_databases.target_app, "written-on-target")
    assert not app_insert(payment_databases.source_app, "refused-on-source")
    for action in ("start", "resume"):  # forward replication would write into the writer and freeze it
        code, _, err = run(capsys, "replication", action, *state)
        assert code == 1 and "refused: the writer name points at the target" in err, err
    assert json.loads(run(capsys, "status", "--json", *state)[1])["frozen"] == {"source": True, "target": False}
    assert app_insert(payment_databases.target_app, "still-written-on-target")
    code, out, _ = run(capsys, "rollback", *state)
    assert code == 0 and "writer switched back to the source" in out
    wait_for(lambda: "written-on-target" in payment_keys(payment_databases.source_admin), what="reverse drained")
    code, out, _ = run(capsys, "resume", *state)
    assert (code, out.strip()) == (0, "nothing to resume")
    document = json.loads(run(capsys, "status", "--json", *state)[1])
    assert document["writer"]["name"] == "source" and document["last_validation"]["tables"] == 1
    # nothing in the output or the journal carries a DSN or a row value
    journal = (environment / "journal.jsonl").read_text()
    assert "host=" not in journal and "written-on-target" not in journal and "host=" not in out


LONG_ADDRESS = "paymig-prod-target.c9akciq3example.eu-central-1.rds.amazonaws.com"
LONG_TABLE = "payments.ledger_entries_of_settled_card_payments_by_merchant_2025"
STATUS = {
    "phase": "after-shift", "weights": {"legacy": 0, "new": 100},
    "writer": {"name": "target", "address": LONG_ADDRESS}, "frozen": {"source": True, "target": False},
    "gate_problems": [], "last_validation": {"time": "2025-06-01T10:00:00Z", "tables": None, "step": "verify"},
    "last_verify": {"time": "2025-06-01T10:05:00Z", "tables": 1}, "journal": None,
    "verify_slots": {"source": {"slot": "cutover_verify_16384", "exists": True, "confirmed_flush_lsn": "0/1D52D28",
                                "wal_status": "unreserved", "retained_bytes": 1073741824},
                     "target": {"slot": "cutover_verify_16384", "exists": False, "confirmed_flush_lsn": None,
                                "wal_status": None, "retained_bytes": None}},
    "replication": {
        "forward": {"state": "stopped", "lag_bytes": None, "retained_bytes": 0, "latency_source_seconds": None,
                    "latency_target_seconds": None, "tables": []},
        "reverse": {"state": "running", "lag_bytes": 0, "retained_bytes": 81920, "latency_source_seconds": 1.5,
                    "latency_target_seconds": 2, "tables": [
                        {"table": LONG_TABLE, "state": "Table completed", "full_load_rows": 12000}]}},
}
"""A status document (``cutover.recovery.status``'s shape) with long values and empty ones."""


def test_status_prints_plain_lines_off_a_terminal_and_cuts_no_value_on_one():
    from cutover.cli.status import show
    from cutover.cli.terminal import terminal

    with printed(terminal, on_terminal=False) as out:
        show(STATUS)
    text = out.getvalue()
    assert_plain(text)
    assert text.splitlines() == [
        "phase = after-shift",
        "weights = legacy=0 new=100",
        f"writer = target ({LONG_ADDRESS})",
        "frozen = source=yes, target=no",
        "gates = all pass",
        "last full validation = 2025-06-01T10:00:00Z: - tables equal (verify)",
        "last verify = 2025-06-01T10:05:00Z: 1 of - tables compared (every table)",
        "verify slots = source 1073741824 bytes of WAL kept (unreserved); target absent",
        "journal = empty",
        "replication forward: state stopped, lag bytes -, WAL retained bytes 0, CDC latency src/tgt s -/-, tables -",
        f"replication reverse: state running, lag bytes 0, WAL retained bytes 81920, CDC latency src/tgt s 1.5/2, "
        f"tables {LONG_TABLE} Table completed 12000 rows",
    ]
    with printed(terminal, on_terminal=False) as out:  # once the writer moved, phase 1's gates are not checked
        show({key: value for key, value in STATUS.items() if key != "gate_problems"})
    assert "gates = not checked (phase 1's gates: before and during the shift)" in out.getvalue().splitlines()
    with printed(terminal, on_terminal=True, width=60) as out:
        show(STATUS)
    text = out.getvalue()
    assert has_box_drawing(text) and "…" not in text and "None" not in text, text
    assert f"target({LONG_ADDRESS})" in column(text, 1, columns=2), text  # wrapped, whole
    assert f"{LONG_TABLE}Tablecompleted12000rows" in column(text, 5, columns=6), text


def test_a_second_operator_is_refused_while_the_first_holds_the_lock(environment, capsys):
    other = Journal(environment)
    other.owner = "someone@else"
    other.acquire()
    all_traffic_on_the_new_side()
    code, _, err = run(capsys, "switchover", "--state-dir", str(environment))
    assert code == 1 and "another operator holds the migration lock: someone@else" in err


def test_a_new_shift_is_refused_while_a_run_is_interrupted(environment, capsys):
    Journal(environment).write("shift-interrupted", "shift", "weights-10", "begin", legacy=90, new=10)
    code, _, err = run(capsys, "shift", "--state-dir", str(environment), "--bake", "60")
    assert code == 1 and "run shift-interrupted (shift) was interrupted at step weights-10: `cutover resume`" in err


def test_bad_options_are_named_before_anything_is_contacted(capsys, monkeypatch):
    monkeypatch.delenv("PAYMIG_CUTOVER_OUTPUTS", raising=False)
    code, _, err = run(capsys, "switchover", "--replication", "pglogical")
    assert code == 2 and "--replication = 'pglogical': must be one of native, dms" in err
    code, _, err = run(capsys, "shift", "--steps", "50,10")
    assert code == 2 and "--steps = '50,10'" in err


def test_the_tool_starts_without_the_cdktf_bindings():
    code = ("import sys, cutover.cli.main, cutover.cli.commands; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('cdktf', 'jsii', 'cdktf_cdktf_provider_aws', "
            "'cdktf_runtime', 'psycopg', 'boto3')]; print(bad)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


LEGACY_ROLE = "paymig_test_legacy"


def test_legacy_roles_from_the_variable_are_frozen_on_the_source_only(environment, payment_databases, capsys,
                                                                      monkeypatch):
    import psycopg

    with psycopg.connect(payment_databases.source_admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (LEGACY_ROLE,)).fetchone():
            conn.execute(f"CREATE ROLE {LEGACY_ROLE} LOGIN")
        conn.execute(f"GRANT SELECT, INSERT ON payments TO {LEGACY_ROLE}; "
                     f"GRANT USAGE ON SEQUENCE payments_id_seq TO {LEGACY_ROLE}")
    legacy = psycopg.conninfo.make_conninfo(payment_databases.source_admin, user=LEGACY_ROLE)
    monkeypatch.setenv("PAYMIG_LEGACY_ROLES", f" {LEGACY_ROLE}, {APP_ROLE},")  # the app role once, blanks ignored
    state = ["--state-dir", str(environment)]
    assert run(capsys, "replication", "start", *state)[0] == 0
    assert json.loads(run(capsys, "status", "--json", *state)[1])["frozen"] == {"source": False, "target": True}
    wait_for(lambda: json.loads(run(capsys, "status", "--json", *state)[1])["replication"]["forward"]["state"]
             == "running", what="full load")
    assert app_insert(legacy, "legacy-before")
    all_traffic_on_the_new_side()
    code, out, err = run(capsys, "switchover", *state)
    assert code == 0, err
    assert not app_insert(legacy, "legacy-after-switchover")
    assert json.loads(run(capsys, "status", "--json", *state)[1])["frozen"] == {"source": True, "target": False}
    assert run(capsys, "rollback", *state)[0] == 0
    assert app_insert(legacy, "legacy-after-rollback")
    journal = (environment / "journal.jsonl").read_text()
    assert f'"roles": ["{APP_ROLE}", "{LEGACY_ROLE}"]' in journal and "host=" not in journal


@pytest.mark.parametrize("option, value, rule", [
    (["--legacy-role", "legacy app"], "legacy app", "must be a PostgreSQL identifier"),
    (["--legacy-role", "ok_role,1legacy"], "1legacy", "must be a PostgreSQL identifier"),
    (["--legacy-role", "paymig_dms_source"], "paymig_dms_source", "must be an application's role"),
    (["--app-role", "app;drop"], "app;drop", "must be a PostgreSQL identifier"),
])
def test_bad_role_names_are_usage_errors_before_any_database(option, value, rule, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("PAYMIG_SOURCE_DSN", "host=127.0.0.1 port=1 dbname=x user=x connect_timeout=1")
    monkeypatch.setenv("PAYMIG_TARGET_DSN", "host=127.0.0.1 port=1 dbname=x user=x connect_timeout=1")
    code, _, err = run(capsys, "switchover", "--state-dir", str(tmp_path), *option)
    field = option[0]
    assert code == 2 and f"{field} = {value!r}: {rule}" in err, err
    assert "cannot connect" not in err


def test_an_unreachable_database_is_named_by_host_and_port_never_by_password(capsys, monkeypatch, tmp_path,
                                                                               environment):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed once the block ends
    password = "Sup3rSecretPassw0rd"
    monkeypatch.setenv("PAYMIG_SOURCE_DSN", f"host=127.0.0.1 port={port} dbname=payments user=paymig_admin "
                                            f"password={password} connect_timeout=5")
    code, out, err = run(capsys, "status", "--state-dir", str(environment))
    assert code == 3, err
    assert f"cannot connect to the source database at 127.0.0.1:{port} (dbname payments, user paymig_admin): " \
           "Connection refused. Check --source-dsn / $PAYMIG_SOURCE_DSN" in err
    assert "security group" in err and password not in out + err
    dsn = f"postgresql://cutover:{password}@127.0.0.1:{port}/payments?connect_timeout=5"
    code, out, err = run(capsys, "preflight", "--source", dsn, "--target", dsn)
    assert code == 3 and f"the source database at 127.0.0.1:{port} (dbname payments, user cutover)" in err, err
    assert "Check --source-dsn / $PAYMIG_SOURCE_DSN" in err and password not in out + err


COMMANDS = (["roles"], ["validate"], ["preflight"], ["schema", "copy", "--section", "pre-data"], ["sequences", "sync"],
            ["status"], ["replication", "start"], ["shift", "--steps", "50,10"], ["switchover", "--freeze-limit", "0"],
            ["rollback"], ["resume"])


@pytest.mark.parametrize("command", COMMANDS, ids=lambda command: " ".join(command[:2]))
def test_an_unknown_environment_is_named_before_anything_else(command, capsys, monkeypatch):
    monkeypatch.delenv("PAYMIG_SOURCE_DSN", raising=False)
    code, out, err = run(capsys, *command, "-e", "staging")
    assert code == 2 and "error: --environment = 'staging': must be one of dev, local, prod" in err, err
    assert "--source-dsn" not in err and "--steps" not in err and "--freeze-limit" not in err
    monkeypatch.setenv("PAYMIG_ENVIRONMENT", "staging")  # the variable too, for the commands that read it
    if command[0] not in ("validate", "preflight", "schema", "sequences"):
        code, out, err = run(capsys, *command)
        assert code == 2 and "--environment = 'staging': must be one of dev, local, prod" in err, err


@pytest.mark.parametrize("command", ["switchover", "rollback", "resume"])
@pytest.mark.parametrize("value, shown, rule", [("0", "0", "must be positive"), ("-1.5", "-1.5", "must be positive"),
                                                ("nan", "nan", "must be positive"), ("inf", "inf", "must be finite")])
def test_a_freeze_limit_that_is_not_a_positive_number_of_seconds_is_named(command, value, shown, rule, capsys):
    code, _, err = run(capsys, command, "-e", "local", "--freeze-limit", value)
    assert code == 2 and f"--freeze-limit = {shown}: {rule}" in err, err
    assert "freeze_limit_seconds" not in err


def test_database_commands_take_the_dsn_options_and_variables_of_the_migration_commands(
        payment_databases, capsys, monkeypatch, tmp_path):  # noqa: F811
    dbs = payment_databases
    code, out, err = run(capsys, "schema", "copy", "--section", "pre-data", "--source-dsn", dbs.source_admin,
                         "--target-dsn", dbs.target_admin)  # the target has the tables already: refused
    assert code != 0 and "cannot connect" not in err and "--source-dsn" not in err
    monkeypatch.setenv("PAYMIG_SOURCE_DSN", dbs.source_admin)
    monkeypatch.setenv("PAYMIG_TARGET_DSN", dbs.target_admin)
    code, out, err = run(capsys, "validate", "--json", str(tmp_path / "report.json"))
    assert code == 1, err  # 20 payments on the source only
    report = json.loads((tmp_path / "report.json").read_text())
    assert [(t["rows_source"], t["rows_target"], t["counts"]["missing"]) for t in report["tables"]] == [(20, 0, 20)]
    code, out, err = run(capsys, "sequences", "sync", "--margin", "5")
    assert code == 0 and "payments_id_seq: source 20, target" in out and "-> 25" in out, out + err
    # the old names still work: --source/--target and $CUTOVER_*_DSN (after $PAYMIG_*_DSN)
    monkeypatch.delenv("PAYMIG_SOURCE_DSN")
    monkeypatch.setenv("CUTOVER_SOURCE_DSN", dbs.source_admin)
    code, out, err = run(capsys, "validate", "--target", dbs.target_admin, "--tables", "payments")
    assert code == 1 and "payments missing" in out, err
    code, out, err = run(capsys, "validate", "--source", dbs.target_admin, "--target", dbs.target_admin)
    assert code == 0, err  # the option wins over the variables


def test_database_commands_on_local_without_recorded_databases_say_how_to_start_them(capsys, monkeypatch, tmp_path):
    from cutover import context

    for name in ("PAYMIG_SOURCE_DSN", "PAYMIG_TARGET_DSN", "CUTOVER_SOURCE_DSN", "CUTOVER_TARGET_DSN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(context, "LOCAL_DATABASES", tmp_path / "databases.json")
    code, _, err = run(capsys, "validate", "-e", "local")
    assert code == 2 and "--source-dsn = None: required: no local database is recorded (`make databases-local`" \
        in err, err
    code, _, err = run(capsys, "preflight")
    assert code == 2 and "--source-dsn = None: required (or --environment)" in err, err


def test_what_verify_compared_reads_as_english():
    from cutover.recovery import verify_compared

    assert verify_compared({"mode": "narrow", "keys": 1, "tables": ["payments"], "whole": {}}) == \
        "1 key of 1 table and 0 whole tables compared"
    assert verify_compared({"mode": "narrow", "keys": 24, "tables": ["a", "b"], "whole": {"c": "truncated"}}) == \
        "24 keys of 2 tables and 1 whole table compared"
    assert verify_compared({"tables": 1, "of": 2}) == "1 of 2 tables compared"
