"""``cutover checkpoint show|drop`` on real PostgreSQL: the verify slots seen, kept while a switch is interrupted,
dropped on both databases at the end."""

from __future__ import annotations

import json
import re

import psycopg

from cutover import narrow
from cutover.journal import Journal
from tests.cutover_fixtures import app_insert, aws, payment_databases, pg_pair  # noqa: F401  (fixtures)
from tests.test_cutover_cli import environment, run  # noqa: F401  (fixture)


def verify_slots(dsn: str) -> set[str]:
    with psycopg.connect(dsn) as conn:
        return {row[0] for row in conn.execute("SELECT slot_name FROM pg_replication_slots WHERE slot_name LIKE "
                                               "'cutover\\_verify\\_%' AND database = current_database()")}


def test_show_then_drop_refused_while_a_switch_is_interrupted_then_dropped_on_both(
        environment, payment_databases, capsys):  # noqa: F811
    state = ["--state-dir", str(environment)]
    dsns = {"source": payment_databases.source_admin, "target": payment_databases.target_admin}
    code, out, _ = run(capsys, "checkpoint", "show", "--json", *state)
    document = json.loads(out)
    assert code == 0 and document["checkpoint"] is None and document["usable"] is False
    assert [s["exists"] for s in document["slots"].values()] == [False, False]

    with narrow.Sides(dsns) as sides:  # what a switch's checkpoint step leaves: both slots, journalled
        checkpoint = narrow.create_slots(sides)
    journal = Journal(environment)
    journal.write("switchover-1", "switchover", "checkpoint", "done", checkpoint=checkpoint.to_json())
    journal.write("switchover-1", "switchover", "end", "end", outcome="completed")
    assert app_insert(payment_databases.source_app, "written-after-the-checkpoint")

    code, out, _ = run(capsys, "checkpoint", "show", "--json", *state)
    document = json.loads(out)
    assert code == 0 and document["usable"] is True, document
    assert document["checkpoint"]["source"] == document["slots"]["source"]["confirmed_flush_lsn"]
    assert document["slots"]["source"]["retained_bytes"] > 0  # the payment written since is kept
    assert "written-after-the-checkpoint" not in out
    code, out, _ = run(capsys, "checkpoint", "show", *state)
    assert code == 0 and "usable = yes" in out and document["slots"]["target"]["slot"] in out, out
    code, out, _ = run(capsys, "status", *state)  # the WAL the slots keep, on the status screen too
    assert code == 0 and re.search(r"^verify slots = source \d+ bytes of WAL kept; target \d+ bytes of WAL kept$",
                                   out, re.MULTILINE), out

    # negative control: a switch interrupted -> refused, one line, both slots kept, nothing journalled
    journal.write("switchover-2", "switchover", "freeze", "begin")
    code, _, err = run(capsys, "checkpoint", "drop", *state)
    assert code == 1 and len(err.strip().splitlines()) == 1, err
    assert "refused: run switchover-2 (switchover) was interrupted at step freeze" in err
    assert all(len(verify_slots(dsn)) == 1 for dsn in dsns.values())
    assert not [e for e in journal.entries() if e.operation == "checkpoint"]

    journal.write("switchover-2", "switchover", "end", "end", outcome="abandoned")
    code, out, _ = run(capsys, "checkpoint", "drop", *state)
    assert code == 0, out
    assert all(verify_slots(dsn) == set() for dsn in dsns.values())
    assert out.count("dropped") == 2 and "nothing dropped" not in out
    begin, done = [e for e in journal.entries() if e.step == "drop-slots"]
    assert begin.seq < done.seq and done.details["dropped"] == {"source": True, "target": True}
    assert begin.details["retained_bytes"]["source"] > 0

    code, out, _ = run(capsys, "checkpoint", "drop", *state)  # idempotent
    assert code == 0 and out.count("absent: nothing dropped") == 2, out
    document = json.loads(run(capsys, "checkpoint", "show", "--json", *state)[1])
    assert document["usable"] is False and document["checkpoint"]["run"] == "switchover-1"
    assert "verify slots = source absent; target absent" in run(capsys, "status", *state)[1]
