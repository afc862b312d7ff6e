"""The freeze against real sessions and a tool killed with SIGKILL (cutover/database.py): sessions ended in rounds
(a survivor abandons), the freeze-era sessions ended on unfreeze, and the freeze's deadline in the database: it
lifts a freeze whose tool died, and never one that was disarmed (as ``switch-writer`` does before the name moves).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import psycopg
import pytest

from cutover.database import Database, SessionsSurvived
from tests.cutover_fixtures import APP_ROLE, payment_databases, pg_pair, wait_for  # noqa: F401


@pytest.fixture
def source(payment_databases) -> Database:  # noqa: ANN001, F811
    return Database("source", payment_databases.source_admin, "source.internal", APP_ROLE)


def _app(database: Database) -> psycopg.Connection:
    return psycopg.connect(database.admin_dsn.replace("user=postgres", f"user={APP_ROLE}"), autocommit=True)


def _writes(conn: psycopg.Connection) -> bool:
    try:
        conn.execute("INSERT INTO payments (idempotency_key, amount_cents, currency) VALUES "
                     "(gen_random_uuid()::text, 100, 'EUR')")
        return True
    except psycopg.Error:
        return False


def test_a_tool_killed_while_frozen_leaves_the_deadline_to_lift_the_freeze(source):  # noqa: ANN001
    """SIGKILL the process that froze with a deadline: the database lifts the freeze by itself at the deadline."""
    script = textwrap.dedent(f"""
        import sys, time
        from cutover.database import Database
        Database("source", {source.admin_dsn!r}, "a", {APP_ROLE!r}).freeze(time.time() + 2)
        print("frozen", flush=True)
        time.sleep(600)
    """)
    tool = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                            cwd=os.path.dirname(os.path.dirname(__file__)))
    try:
        assert tool.stdout.readline().strip() == "frozen"
        os.kill(tool.pid, signal.SIGKILL)
        tool.wait()
        assert source.frozen()
        with _app(source) as conn:
            assert not _writes(conn)  # refused while frozen
        wait_for(lambda: not source.frozen(), 20, "the deadline to lift the freeze")
        with _app(source) as conn:
            assert _writes(conn)
    finally:
        tool.kill()
        source.disarm_deadline()


def test_a_disarmed_deadline_never_lifts_the_freeze(source):  # noqa: ANN001
    """Negative control of the deadline: disarmed (as before switch-writer), the freeze stays past it."""
    source.freeze(time.time() + 1)
    source.disarm_deadline()
    time.sleep(2)
    assert source.frozen()
    source.unfreeze()
    assert not source.frozen()


def test_a_surviving_session_fails_the_freeze_and_freeze_era_sessions_end_on_unfreeze(source):  # noqa: ANN001
    with _app(source) as before:
        assert _writes(before)
        with pytest.raises(SessionsSurvived):  # no round allowed: the session opened before the freeze survives
            source.freeze(attempts=0)
        assert _writes(before)  # it still writes: why a survivor must abandon the switch
        source.freeze()
        assert not _writes(before)  # ended
    during = _app(source)  # opened while frozen: read-only for its whole life
    assert not _writes(during)
    source.unfreeze()
    assert not _writes(during)  # ended by the unfreeze (else SQLSTATE 25006 until the pool recycles it)
    assert during.closed or during.broken
    with _app(source) as after:
        assert _writes(after)
