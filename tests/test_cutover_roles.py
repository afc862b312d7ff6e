"""`cutover roles`: database roles on real PostgreSQL 15, their secrets on moto's Secrets Manager (in-process).

The source is self-managed-like (the tool runs as a superuser, replication through the REPLICATION attribute);
the target is RDS-like (the tool runs as a master user with CREATEROLE only, who owns the payment tables and may
grant ``rds_replication``, as on RDS). Vanilla PostgreSQL gives ``rds_replication``'s members no replication
privilege (RDS does), so slot creation by the DMS target role is tested on a self-managed target as well.
"""

from __future__ import annotations

import hmac
import json

import boto3
import psycopg
import pytest
from moto import mock_aws

from config import Names, load_config
from cutover.credentials import Endpoint, provision, role_secrets
from cutover.roles import CONTROL_SCHEMA, HEARTBEAT_SCHEMA, ROLES, apply_roles, role_statements
from localpg import PostgresServer, enable_password_auth

SCHEMA_SQL = ("CREATE TABLE public.payments (id bigserial PRIMARY KEY, amount_cents bigint NOT NULL); "
              "INSERT INTO public.payments (amount_cents) VALUES (100), (250);")


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    source = PostgresServer(tmp_path_factory.mktemp("pg-source"))
    target = PostgresServer(tmp_path_factory.mktemp("pg-target"))
    try:
        source.start()
        target.start()
        with psycopg.connect(source.dsn(), autocommit=True) as conn:
            conn.execute("CREATE DATABASE payments")
        with psycopg.connect(source.dsn("payments"), autocommit=True) as conn:
            conn.execute(SCHEMA_SQL)
        with psycopg.connect(target.dsn(), autocommit=True) as conn:  # what RDS sets up: a CREATEROLE master user
            conn.execute("CREATE ROLE paymig_admin LOGIN CREATEROLE PASSWORD 'master-before-rotation'")
            conn.execute("CREATE ROLE rds_replication NOLOGIN")  # RDS's role; its master user may grant it
            conn.execute("GRANT rds_replication TO paymig_admin WITH ADMIN OPTION")
            conn.execute("CREATE DATABASE payments OWNER paymig_admin")
        with psycopg.connect(target.dsn("payments"), autocommit=True) as conn:
            conn.execute("ALTER SCHEMA public OWNER TO paymig_admin")
            conn.execute("GRANT pg_monitor TO paymig_admin WITH ADMIN OPTION")  # rds_superuser can grant it on RDS
        with psycopg.connect(target.dsn("payments", "paymig_admin"), autocommit=True) as conn:
            conn.execute(SCHEMA_SQL)
        enable_password_auth(source)
        enable_password_auth(target)
        yield source, target
    finally:
        source.stop()
        target.stop()


@pytest.fixture
def aws(monkeypatch):
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    with mock_aws():
        secretsmanager = boto3.client("secretsmanager", region_name="us-east-1")
        secrets = role_secrets(Names.of(load_config("dev")))
        for targets in secrets.values():
            for name, _ in targets:
                secretsmanager.create_secret(Name=name)  # what Terraform creates: no value
        yield secretsmanager, secrets


def run(servers, aws, *, rotate=False, admin_password="master-before-rotation"):
    source, target = servers
    secretsmanager, secrets = aws
    endpoints = {"source": Endpoint("127.0.0.1", source.port, "payments"),
                 "target": Endpoint("127.0.0.1", target.port, "payments")}
    admin = {"source": source.dsn("payments"), "target": target.dsn("payments", "paymig_admin", admin_password)}
    return provision(secretsmanager, secrets, admin, endpoints, "public", rotate=rotate)


def secret(secretsmanager, name):
    return json.loads(secretsmanager.get_secret_value(SecretId=name, VersionStage="AWSCURRENT")["SecretString"])


def connect_with(secret_value):
    return psycopg.connect(host=secret_value["host"], port=secret_value["port"], dbname=secret_value["dbname"],
                           user=secret_value["username"], password=secret_value["password"], autocommit=True)


def refused(conn, statement):
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(statement)


def test_roles_get_exactly_their_privileges_and_secrets_carry_their_credentials(servers, aws, capsys):
    secretsmanager, secrets = aws
    written = run(servers, aws)
    assert written == ["paymig-dev/db/app", "paymig-dev/dms/source-endpoint", "paymig-dev/dms/target-endpoint",
                       "paymig-dev/db/validation-source", "paymig-dev/db/validation-target"]
    values = {name: secret(secretsmanager, name) for name in written}
    assert {v["username"] for v in values.values()} == {r.name for r in ROLES}
    assert all(v["username"] != "paymig_admin" and v["engine"] == "postgres" for v in values.values())
    out = capsys.readouterr()
    assert not any(v["password"] in out.out + out.err for v in values.values())

    app_secret = values["paymig-dev/db/app"]
    for server in servers:  # one secret, the same role and password on both databases (rollback moves the name)
        with connect_with({**app_secret, "port": server.port}) as app:  # DML on the payment tables, no DDL
            app.execute("INSERT INTO payments (amount_cents) VALUES (1)")
            app.execute("UPDATE payments SET amount_cents = 2 WHERE amount_cents = 1")
            app.execute("DELETE FROM payments WHERE amount_cents = 2")
            assert app.execute("SELECT count(*) FROM payments").fetchone() == (2,)
            app.execute("SELECT nextval('payments_id_seq')")
            refused(app, "CREATE TABLE public.x (id int)")
            refused(app, "ALTER TABLE payments ADD COLUMN y int")
            refused(app, "TRUNCATE payments")
    for name in ("paymig-dev/db/validation-source", "paymig-dev/db/validation-target"):
        with connect_with(values[name]) as validation:  # read-only, with pg_monitor
            assert validation.execute("SELECT count(*) FROM payments").fetchone() == (2,)
            refused(validation, "INSERT INTO payments (amount_cents) VALUES (1)")
            refused(validation, "UPDATE payments SET amount_cents = 0")
            assert validation.execute("SELECT pg_has_role('pg_monitor', 'MEMBER')").fetchone() == (True,)
            validation.execute("SELECT slot_name FROM pg_replication_slots")
    # forward: read + replication + heartbeat; reverse (the reverse task's target endpoint): apply + control tables
    with connect_with(values["paymig-dev/dms/source-endpoint"]) as dms_source:
        assert dms_source.execute("SELECT count(*) FROM payments").fetchone() == (2,)
        dms_source.execute(f"CREATE TABLE {HEARTBEAT_SCHEMA}.awsdms_heartbeat (id int)")
        dms_source.execute("SELECT pg_create_logical_replication_slot('roles_test', 'test_decoding')")
        dms_source.execute("SELECT pg_drop_replication_slot('roles_test')")
        dms_source.execute("INSERT INTO payments (id, amount_cents) VALUES (1000, 5)")
        dms_source.execute("UPDATE payments SET amount_cents = 6 WHERE id = 1000")
        dms_source.execute("DELETE FROM payments WHERE id = 1000")
        dms_source.execute(f"CREATE TABLE {CONTROL_SCHEMA}.awsdms_apply_exceptions (id int)")
        refused(dms_source, "CREATE TABLE public.x (id int)")
        refused(dms_source, "TRUNCATE payments")
    # forward: apply + control tables; reverse (the reverse task's source endpoint): replication + heartbeat
    with connect_with(values["paymig-dev/dms/target-endpoint"]) as dms_target:
        dms_target.execute("INSERT INTO payments (id, amount_cents) VALUES (1000, 5)")
        dms_target.execute("UPDATE payments SET amount_cents = 6 WHERE id = 1000")
        dms_target.execute("DELETE FROM payments WHERE id = 1000")
        dms_target.execute(f"CREATE TABLE {CONTROL_SCHEMA}.awsdms_apply_exceptions (id int)")
        dms_target.execute(f"CREATE TABLE {HEARTBEAT_SCHEMA}.awsdms_heartbeat (id int)")
        assert dms_target.execute("SELECT pg_has_role('rds_replication', 'MEMBER')").fetchone() == (True,)
        refused(dms_target, "CREATE TABLE public.x (id int)")
        refused(dms_target, "ALTER TABLE payments ADD COLUMN y int")
    for server in servers:
        with psycopg.connect(server.dsn()) as conn:
            rows = conn.execute("SELECT rolname FROM pg_roles WHERE rolname LIKE 'paymig\\_%%' AND rolname <> "
                                "'paymig_admin' AND (rolsuper OR rolcreaterole OR rolcreatedb OR rolbypassrls)")
            assert rows.fetchall() == []


def test_dms_target_role_replicates_from_a_self_managed_target(tmp_path):
    """The reverse task's source endpoint: the DMS target role creates a logical slot where replication is the
    ``REPLICATION`` attribute (a superuser applies the roles on a server without ``rds_replication``)."""
    with PostgresServer(tmp_path) as server:
        server.execute("CREATE DATABASE payments")
        with psycopg.connect(server.dsn("payments"), autocommit=True) as conn:
            conn.execute(SCHEMA_SQL)
            applied = apply_roles(conn, "payments", "target", "public", {r.key: "pw-" + r.key for r in ROLES})
            row = conn.execute("SELECT rolreplication, rolsuper OR rolcreaterole OR rolcreatedb OR rolbypassrls "
                               "FROM pg_roles WHERE rolname = 'paymig_dms_target'").fetchone()
        assert applied == ["paymig_app", "paymig_dms_target", "paymig_validation"]
        assert row == (True, False)
        with psycopg.connect(server.dsn("payments", "paymig_dms_target"), autocommit=True) as dms_target:
            dms_target.execute("SELECT pg_create_logical_replication_slot('reverse_test', 'test_decoding')")
            dms_target.execute("SELECT pg_drop_replication_slot('reverse_test')")
            dms_target.execute("INSERT INTO payments (id, amount_cents) VALUES (2000, 5)")
            refused(dms_target, "CREATE TABLE public.x (id int)")


def test_dms_schemas_match_the_dms_task_settings():
    from modules.dms import HEARTBEAT_SCHEMA as TASK_HEARTBEAT_SCHEMA, default_task_settings

    assert default_task_settings()["ControlTablesSettings"]["ControlSchema"] == CONTROL_SCHEMA
    assert TASK_HEARTBEAT_SCHEMA == HEARTBEAT_SCHEMA


def test_rerun_keeps_passwords_rotate_replaces_them_and_master_rotation_changes_nothing(servers, aws):
    secretsmanager, _ = aws
    names = run(servers, aws)
    first = {name: secret(secretsmanager, name) for name in names}
    run(servers, aws)  # idempotent: same passwords, grants re-applied
    unchanged = all(hmac.compare_digest(first[n]["password"], secret(secretsmanager, n)["password"]) for n in names)
    assert unchanged, "a re-run without --rotate changed a password"

    # RDS rotates the master password: the roles' secrets are untouched and still log in (DMS does not go stale)
    with psycopg.connect(servers[1].dsn(), autocommit=True) as conn:
        conn.execute("ALTER ROLE paymig_admin PASSWORD 'master-after-rotation'")
    for name in names:
        with connect_with(secret(secretsmanager, name)) as conn:
            assert conn.execute("SELECT current_user").fetchone()[0] == first[name]["username"]
    run(servers, aws, admin_password="master-after-rotation")

    run(servers, aws, rotate=True, admin_password="master-after-rotation")
    for name in names:
        new = secret(secretsmanager, name)
        same = hmac.compare_digest(new["password"], first[name]["password"])
        assert not same, f"{name}: --rotate kept the password"
        with connect_with(new):
            pass
        with pytest.raises(psycopg.OperationalError):
            connect_with(first[name]).close()
        stages = secretsmanager.describe_secret(SecretId=name)["VersionIdsToStages"]
        assert sum("AWSCURRENT" in s for s in stages.values()) == 1
        assert not any("AWSPENDING" in s for s in stages.values())
    with psycopg.connect(servers[1].dsn(), autocommit=True) as conn:  # as the other tests expect it
        conn.execute("ALTER ROLE paymig_admin PASSWORD 'master-before-rotation'")


def test_a_refusing_database_leaves_the_current_secrets_current(servers, aws):
    secretsmanager, _ = aws
    names = run(servers, aws)
    before = {name: secret(secretsmanager, name)["password"] for name in names}
    source, target = servers
    endpoints = {"source": Endpoint("127.0.0.1", source.port, "payments"),
                 "target": Endpoint("127.0.0.1", target.port, "payments")}
    with pytest.raises(psycopg.errors.InvalidSchemaName):
        provision(secretsmanager, aws[1], {"source": source.dsn("payments"), "target": source.dsn("payments")},
                  endpoints, "payments_schema_that_does_not_exist", rotate=True)
    kept = all(hmac.compare_digest(before[n], secret(secretsmanager, n)["password"]) for n in names)
    assert kept, "a refused run promoted a new password"


def test_bad_schema_name_is_refused_before_anything_happens(aws):
    with pytest.raises(ValueError, match=r"schema = 'public; DROP TABLE payments': must be a PostgreSQL identifier"):
        provision(aws[0], aws[1], {}, {}, "public; DROP TABLE payments")


def test_rds_replication_is_granted_where_rds_has_it():
    role = next(r for r in ROLES if r.key == "dms_source")
    statements = [s.as_string(None) for s in role_statements(role, "payments", "public", "x", rds_replication=True)]
    assert 'GRANT rds_replication TO "paymig_dms_source"' in statements
    assert not any("REPLICATION" in s and "ALTER ROLE" in s for s in statements)


def test_cli_with_admin_dsns_writes_every_secret_and_prints_no_value(servers, aws, capsys):
    from cutover.cli.main import main

    source, target = servers
    with pytest.raises(SystemExit) as exit_:
        main(["roles", "--environment", "dev", "--source-dsn", source.dsn("payments"),
              "--target-dsn", target.dsn("payments", "paymig_admin", "master-before-rotation")])
    out = capsys.readouterr().out
    assert exit_.value.code == 0
    assert out.count("wrote paymig-dev/") == 5
    values = [secret(aws[0], name)["password"] for targets in aws[1].values() for name, _ in targets]
    leaked = any(value in out for value in values)
    assert not leaked


def test_master_connection_reads_the_rds_managed_secret_and_refuses_an_unmanaged_instance(aws):
    from cutover.credentials import master_connection

    rds = boto3.client("rds", region_name="us-east-1")
    rds.create_db_instance(DBInstanceIdentifier="managed", Engine="postgres", DBInstanceClass="db.t4g.medium",
                           MasterUsername="paymig_admin", ManageMasterUserPassword=True, AllocatedStorage=50)
    conninfo, endpoint = master_connection(rds, aws[0], "managed", "payments")
    from psycopg.conninfo import conninfo_to_dict

    parts = conninfo_to_dict(conninfo)
    master = json.loads(aws[0].get_secret_value(SecretId=rds.describe_db_instances(
        DBInstanceIdentifier="managed")["DBInstances"][0]["MasterUserSecret"]["SecretArn"])["SecretString"])
    same = hmac.compare_digest(parts.pop("password"), master["password"])  # no value in a failure message
    assert same
    assert parts == {"host": endpoint.host, "port": "5432", "dbname": "payments", "user": master["username"],
                     "sslmode": "require", "connect_timeout": "10"}
    assert endpoint.port == 5432 and endpoint.dbname == "payments"
    rds.create_db_instance(DBInstanceIdentifier="unmanaged", Engine="postgres", DBInstanceClass="db.t4g.medium",
                           MasterUsername="paymig_admin", MasterUserPassword="not-managed-here-123",
                           AllocatedStorage=50)
    with pytest.raises(LookupError, match="unmanaged: no RDS-managed master user secret"):
        master_connection(rds, aws[0], "unmanaged", "payments")


LOCAL_VARIABLES = ("PAYMIG_SOURCE_DSN", "PAYMIG_TARGET_DSN", "PAYMIG_SOURCE_ADMIN_DSN", "PAYMIG_TARGET_ADMIN_DSN",
                   "CUTOVER_SOURCE_DSN", "CUTOVER_TARGET_DSN", "PAYMIG_SUFFIX", "PAYMIG_ENVIRONMENT")


def cli(capsys, *args: str) -> tuple[int, str, str]:
    """``python -m cutover ARGS`` in this process: (exit code, stdout, stderr)."""
    from cutover.cli.main import main

    with pytest.raises(SystemExit) as exit_:
        main(list(args))
    out, err = capsys.readouterr()
    return int(exit_.value.code or 0), out, err


@pytest.fixture
def local_environment(servers, tmp_path, monkeypatch):
    """What ``make deploy-local`` and ``make databases-local`` leave: the emulated AWS (a moto server) with the
    data stack's value-less role secrets, and the two servers recorded as the local databases (a tmp record)."""
    from cutover import context
    from emulator.process import Emulator

    for name in LOCAL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    source, target = servers
    record = tmp_path / "databases.json"
    record.write_text(json.dumps({"source_admin": source.dsn("payments"), "target_admin": target.dsn("payments")}))
    monkeypatch.setattr(context, "LOCAL_DATABASES", record)
    with Emulator(tmp_path / "emulator.log") as emulator:
        monkeypatch.setenv("PAYMIG_AWS_ENDPOINT_URL", emulator.endpoint)
        client = boto3.client("secretsmanager", region_name="us-east-1", endpoint_url=emulator.endpoint,
                              aws_access_key_id="test", aws_secret_access_key="test")
        names = Names.of(load_config("local"))
        for targets in role_secrets(names).values():
            for name, _ in targets:
                client.create_secret(Name=name)
        yield client, names, record, emulator.endpoint


def test_roles_on_local_use_the_recorded_databases_then_validate_and_preflight_read_them(
        servers, local_environment, capsys, tmp_path, monkeypatch):
    client, names, _, _ = local_environment
    source, target = servers
    code, out, err = cli(capsys, "roles", "-e", "local")
    assert code == 0, err
    assert out.count("wrote paymig-local/") == 5
    values = {name: secret(client, name) for targets in role_secrets(names).values() for name, _ in targets}
    assert not any(value["password"] in out + err for value in values.values())
    for side, server in (("source", source), ("target", target)):  # the secrets name the local servers
        validation = values[getattr(names, f"validation_{side}_secret")]
        assert (validation["host"], validation["port"], validation["dbname"]) == ("127.0.0.1", server.port,
                                                                                  "payments")
        with connect_with(validation) as conn:  # the role exists there with that password (SCRAM)
            assert conn.execute("SELECT current_user, count(*) FROM payments").fetchone() == ("paymig_validation", 2)

    # validate / preflight -e local: the recorded servers, no DSN given, nothing of the fake RDS addresses
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"data": {}}))  # no journal table: the baseline goes to --state-dir
    monkeypatch.setenv("PAYMIG_CUTOVER_OUTPUTS", str(outputs))
    code, out, err = cli(capsys, "validate", "-e", "local", "--state-dir", str(tmp_path / "state"), "--json",
                         str(tmp_path / "report.json"))
    assert code == 0, err
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["status"] == "equal" and [t["rows_source"] for t in report["tables"]] == [2]
    assert "baseline recorded" in out
    code, out, err = cli(capsys, "preflight", "-e", "local", "--json", str(tmp_path / "preflight.json"))
    checks = {c["check"]: c["status"] for c in json.loads((tmp_path / "preflight.json").read_text())}
    assert checks["roles_source"] == checks["roles_target"] == checks["keys"] == "pass", checks
    assert code in (0, 1) and "cannot connect" not in err


def test_roles_on_local_name_an_unreachable_recorded_database(local_environment, capsys, tmp_path, monkeypatch):
    import socket

    from cutover import context

    _, _, record, _ = local_environment
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed once the block ends
    document = json.loads(record.read_text())
    document["target_admin"] = f"host=127.0.0.1 port={port} dbname=payments user=postgres"
    record.write_text(json.dumps(document))
    code, out, err = cli(capsys, "roles", "-e", "local")
    assert code == 3, err
    assert f"cannot connect to the target database at 127.0.0.1:{port} (dbname payments, user postgres): " \
           "Connection refused. Check the local database recorded in .state/local/databases.json " \
           "(`make databases-local` starts it" in err

    monkeypatch.setattr(context, "LOCAL_DATABASES", tmp_path / "nothing-recorded.json")
    rds = boto3.client("rds", region_name="us-east-1", endpoint_url=local_environment[3],
                       aws_access_key_id="test", aws_secret_access_key="test")
    names = local_environment[1]
    for identifier in (names.source_db, names.target_db):  # what the emulated deployment holds: RDS addresses
        rds.create_db_instance(DBInstanceIdentifier=identifier, Engine="postgres", DBInstanceClass="db.t4g.medium",
                               MasterUsername="paymig_admin", ManageMasterUserPassword=True, AllocatedStorage=50)
    code, out, err = cli(capsys, "roles", "-e", "local")
    assert code == 3, err
    assert f"cannot connect to the source database at {names.source_db}." in err
    assert f"Check the RDS instance {names.source_db}" in err and "`make databases-local`" in err
    instance = rds.describe_db_instances(DBInstanceIdentifier=names.source_db)["DBInstances"][0]
    master = json.loads(local_environment[0].get_secret_value(
        SecretId=instance["MasterUserSecret"]["SecretArn"])["SecretString"])
    assert master["password"] not in out + err
