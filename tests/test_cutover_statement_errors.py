"""A statement PostgreSQL refuses reaches the operator as one line: the side, the object, what to run; no traceback.

The commands run against databases that miss what they need (a role, a table, a privilege), through the CLI's error
boundary (:func:`cutover.cli.main.main`, :func:`cutover.postgres.statement_failure`).
"""

from __future__ import annotations

import psycopg
import pytest

from cutover.postgres import statement_failure
from tests.cutover_fixtures import aws, payment_databases, pg_pair  # noqa: F401  (fixtures)
from tests.test_cutover_cli import environment, run  # noqa: F401  (fixture)


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_replication_start_before_roles_names_the_side_the_role_and_cutover_roles(environment, capsys, monkeypatch):
    monkeypatch.setenv("PAYMIG_APP_ROLE", "paymig_app_not_created")
    code, _, err = run(capsys, "replication", "start", "--state-dir", str(environment))
    line = one_error_line(err)
    assert code == 3, err
    assert 'database refused a statement: role "paymig_app_not_created" does not exist (SQLSTATE 42704)' in line
    assert "`cutover roles" in line and (line.startswith("error: the source") or line.startswith("error: the target"))


def test_a_role_without_privileges_is_named_with_the_privilege_rule(environment, payment_databases, capsys,
                                                                     monkeypatch):
    monkeypatch.setenv("PAYMIG_SOURCE_DSN", payment_databases.source_app)  # the app role: may not publish
    code, _, err = run(capsys, "replication", "start", "--state-dir", str(environment))
    line = one_error_line(err)
    assert code == 3 and "error: the source database refused a statement: " in line, err
    assert "(SQLSTATE 42501)" in line and "lacks a privilege" in line


def test_a_sequence_missing_on_the_target_is_named(environment, payment_databases, capsys):
    with psycopg.connect(payment_databases.source_admin, autocommit=True) as conn:
        conn.execute("CREATE SEQUENCE only_on_source_seq")
        conn.execute("SELECT nextval('only_on_source_seq')")
    code, _, err = run(capsys, "sequences", "sync")
    line = one_error_line(err)
    assert code in (1, 3) and "only_on_source_seq" in line, err


def test_the_describer_keeps_values_out_and_leaves_other_errors_alone():
    error = psycopg.errors.InvalidTextRepresentation('invalid input syntax for type integer: "4111111111111111"')
    failure = statement_failure(error)
    assert failure is not None and "4111111111111111" not in str(failure)
    assert statement_failure(psycopg.OperationalError("connection refused")) is None  # connection_error's job
    assert statement_failure(ValueError("a bug")) is None  # a bug keeps its traceback


def test_a_database_connection_marks_its_side_and_keeps_the_error(payment_databases):
    from cutover.database import Database

    target = Database("target", payment_databases.target_admin, "target.db.test")
    with pytest.raises(psycopg.errors.UndefinedTable) as raised:  # callers still catch psycopg's own class
        with target.connect() as conn:
            conn.execute("SELECT 1 FROM no_such_table")
    assert raised.value.side == "target"
    assert str(statement_failure(raised.value)).startswith('the target database refused a statement: relation '
                                                           '"no_such_table" does not exist (SQLSTATE 42P01)')
