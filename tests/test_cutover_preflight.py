"""``cutover preflight``, ``schema copy`` and ``sequences sync`` on real PostgreSQL 15."""

from __future__ import annotations

import json
import subprocess
import uuid
import sys
from pathlib import Path

import psycopg
import pytest

from cutover.preflight import LOB_MAX_SIZE_KB, Roles, preflight
from cutover.roles import ROLES, apply_roles
from cutover.schema_copy import copy_schema
from cutover.sequences import sync_sequences
from cutover.validate import ValidateOptions, validate
from tests.payments_schema import SCHEMA, data
from tests.plain_output import assert_plain
from localpg import PostgresServer

ROOT = Path(__file__).resolve().parent.parent
PASSWORDS = {role.key: f"pw-{role.key}" for role in ROLES}


def cutover(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cutover", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


@pytest.fixture(scope="module")
def replica_source(tmp_path_factory: pytest.TempPathFactory):
    """A prepared bad source: wal_level replica."""
    with PostgresServer(tmp_path_factory.mktemp("pg-replica"), wal_level="replica") as server:
        yield server


def test_lob_max_size_matches_the_dms_task_settings() -> None:
    from modules.dms import default_task_settings

    assert default_task_settings()["TargetMetadata"]["LobMaxSize"] == LOB_MAX_SIZE_KB


def test_schema_copy_then_preflight_passes_on_a_ready_pair(fresh_databases) -> None:
    src, tgt, db = fresh_databases.source, fresh_databases.target, fresh_databases.dbname
    src.execute(SCHEMA + "CREATE INDEX payments_created ON payments (created_at);" + data(200), db)
    done = cutover("schema", "copy", "--section", "pre-data", "--source", src.dsn(db), "--target", tgt.dsn(db))
    assert done.returncode == 0, done.stderr
    with psycopg.connect(tgt.dsn(db)) as conn:
        indexes = {r[0] for r in conn.execute("SELECT indexname FROM pg_indexes WHERE schemaname = 'public'")}
        foreign = conn.execute("SELECT count(*) FROM pg_constraint WHERE contype = 'f'").fetchone()[0]
    assert indexes == {"payments_pkey", "refunds_pkey", "ledger_entries_pkey"} and foreign == 0
    again = cutover("schema", "copy", "--section", "pre-data", "--source", src.dsn(db), "--target", tgt.dsn(db))
    assert again.returncode == 1 and "not empty" in again.stderr
    copy_schema(src.dsn(db), tgt.dsn(db), "public", "post-data")
    with psycopg.connect(tgt.dsn(db)) as conn:
        assert "payments_created" in {r[0] for r in conn.execute("SELECT indexname FROM pg_indexes")}
        assert conn.execute("SELECT count(*) FROM pg_constraint WHERE contype = 'f'").fetchone()[0] == 1
    tgt.execute(data(200), db)  # the "full load"
    _apply_roles(src, tgt, db)  # what `cutover roles` creates is what preflight checks (one table of names)
    sync_sequences(src.dsn(db), tgt.dsn(db))
    checks = {c.name: c for c in preflight(src.dsn(db), tgt.dsn(db))}
    assert {n: c.status for n, c in checks.items() if c.status == "fail"} == {"keys": "fail",
                                                                             "replica_identity": "fail"}
    assert checks["keys"].details == ["public.audit_log"]
    assert checks["target_schema"].status == checks["lob_sizes"].status == checks["sequences"].status == "pass"
    assert checks["roles_source"].status == checks["roles_target"].status == "pass"
    # each side's DMS role also serves the reverse direction: without its privileges for it, preflight fails
    src.execute("REVOKE INSERT ON public.payments FROM paymig_dms_source; "
                "REVOKE CREATE ON SCHEMA dms_control FROM paymig_dms_source", db)
    tgt.execute("ALTER ROLE paymig_dms_target NOREPLICATION; DROP SCHEMA awsdms", db)
    try:
        checks = {c.name: c for c in preflight(src.dsn(db), tgt.dsn(db))}
        assert checks["roles_source"].status == checks["roles_target"].status == "fail"
        assert checks["roles_source"].details == ["paymig_dms_source: no CREATE on schema dms_control",
                                                  "paymig_dms_source: no INSERT on public.payments"]
        assert checks["roles_target"].details == ["paymig_dms_target: no REPLICATION (rds_replication)",
                                                  "paymig_dms_target: schema awsdms missing"]
    finally:
        _apply_roles(src, tgt, db)  # the REPLICATION attribute is the server's, shared with other tests
    assert checks["wal_level"].status == "pass"
    assert validate(src.dsn(db), tgt.dsn(db), ValidateOptions(recheck_after=0)).exit_code == 0


def _apply_roles(src: PostgresServer, tgt: PostgresServer, db: str) -> None:
    """``cutover roles``'s SQL as a superuser on both sides (self-managed: the REPLICATION attribute)."""
    for server, kind in ((src, "source"), (tgt, "target")):
        with psycopg.connect(server.dsn(db), autocommit=True) as conn:
            apply_roles(conn, db, kind, "public", PASSWORDS)


def test_preflight_names_each_problem_of_a_bad_source(replica_source: PostgresServer, postgres_target,
                                                      tmp_path: Path) -> None:
    db = f"bad_{tmp_path.name[-8:].replace('-', '_')}".lower()
    for server in (replica_source, postgres_target):
        server.execute(f'CREATE DATABASE "{db}"')
        server.execute(SCHEMA + data(50), db)
    replica_source.execute("""
        UPDATE payments SET metadata = jsonb_build_object('blob', repeat('x', 40 * 1024)) WHERE id = 3;
        SELECT setval('refunds_id_seq', 5000);
        CREATE ROLE paymig_validation LOGIN SUPERUSER;
    """, db)
    report = tmp_path / "preflight.json"
    done = cutover("preflight", "--source", replica_source.dsn(db), "--target", postgres_target.dsn(db),
                   "--json", str(report))
    assert done.returncode == 1, done.stderr
    checks = {c["check"]: c for c in json.loads(report.read_text())}
    assert checks["keys"]["status"] == "fail" and checks["keys"]["details"] == ["public.audit_log"]
    assert checks["wal_level"]["status"] == "fail" and checks["wal_level"]["found"] == "wal_level = replica"
    assert checks["lob_sizes"]["status"] == "fail"
    assert checks["lob_sizes"]["details"] == ["public.payments.metadata: largest value 40972 bytes"]
    assert checks["sequences"]["status"] == "warn"
    assert "public.refunds_id_seq: source 5000, target 5" in checks["sequences"]["details"]
    roles = checks["roles_source"]
    assert roles["status"] == "fail" and "paymig_app: missing" in roles["details"]
    assert "paymig_dms_source: missing" in roles["details"]
    assert any(line.startswith("paymig_validation: is the master user") for line in roles["details"])
    assert "xxxxxxxx" not in done.stdout + report.read_text()
    # stdout is a pipe here: one plain line a check with its whole fix, then the details
    assert_plain(done.stdout)
    lines = done.stdout.splitlines()
    for check in checks.values():
        assert (f"{check['check']}: {check['status']}, found {check['found']}, fix {check['fix'] or '-'}"
                in lines), done.stdout
    assert "wal_level: fail, found wal_level = replica, fix set rds.logical_replication = 1 in the source's " \
           "parameter group (self-managed: wal_level = logical) and reboot" in lines
    assert "keys: public.audit_log" in lines and any(line.endswith(", fix -") for line in lines)
    assert sync_sequences(replica_source.dsn(db), postgres_target.dsn(db), margin=100)
    with psycopg.connect(postgres_target.dsn(db)) as conn:
        assert conn.execute("SELECT last_value FROM refunds_id_seq").fetchone()[0] == 5100
    # never backwards: a second sync leaves it
    assert [v for s, v in sync_sequences(replica_source.dsn(db), postgres_target.dsn(db))] == [None]
    replica_source.execute("DROP ROLE paymig_validation")
    for server in (replica_source, postgres_target):
        server.execute(f'DROP DATABASE "{db}" WITH (FORCE)')


def test_sequences_sync_fails_naming_a_sequence_it_cannot_read(postgres_source, postgres_target):
    """A sequence the source role has no USAGE/SELECT on reads as NULL (``pg_sequences``): sync fails with exit 1
    naming it and the privilege instead of skipping it (negative control: granted, it is synced)."""
    from cutover.errors import CutoverError, ExitCode

    db = f"s_{uuid.uuid4().hex[:10]}"
    for server in (postgres_source, postgres_target):
        server.execute(f'CREATE DATABASE "{db}"')
        server.execute("DO $$ BEGIN CREATE ROLE paymig_seqreader LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; "
                       "END $$")
        server.execute("CREATE SEQUENCE ids_seq; GRANT USAGE ON SCHEMA public TO paymig_seqreader", db)
    postgres_source.execute("SELECT setval('ids_seq', 700)", db)
    postgres_target.execute("GRANT UPDATE, SELECT ON SEQUENCE ids_seq TO paymig_seqreader", db)
    try:
        with pytest.raises(CutoverError) as caught:
            sync_sequences(postgres_source.dsn(db, "paymig_seqreader"), postgres_target.dsn(db, "paymig_seqreader"))
        assert caught.value.exit_code == ExitCode.DIFFERENT
        assert "public.ids_seq: USAGE or SELECT on the source" in str(caught.value)
        postgres_source.execute("GRANT SELECT ON SEQUENCE ids_seq TO paymig_seqreader", db)
        done = sync_sequences(postgres_source.dsn(db, "paymig_seqreader"), postgres_target.dsn(db, "paymig_seqreader"))
        assert [value for _, value in done] == [1700]
    finally:
        for server in (postgres_source, postgres_target):
            server.execute(f'DROP DATABASE "{db}" WITH (FORCE)')
