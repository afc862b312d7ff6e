"""``cutover status [--json]``: phase, weights, gates, replication, writer, last full validation and verify, verify
slots, journal position."""

from __future__ import annotations

import json

from cli_common.terminal import shown
from cutover.cli.app import app
from cutover.cli.options import (
    AppRole, AsJson, Environment, LegacyRoles, ReplicationKind, SourceDsn, StateDir, TargetDsn, context,
)
from cutover.cli.terminal import terminal
from cutover.roles import APP_ROLE



@app.command("status")
def status(environment: Environment = "local", as_json: AsJson = False, source_dsn: SourceDsn = None,
           target_dsn: TargetDsn = None, replication: ReplicationKind = None, app_role: AppRole = APP_ROLE,
           state_dir: StateDir = None, legacy_role: LegacyRoles = None) -> None:
    """One screen of the migration's state (read-only: takes no lock)."""
    from cutover.recovery import status as read_status

    ctx = context(environment, source_dsn, target_dsn, replication, app_role, state_dir, legacy_roles=legacy_role)
    document = read_status(ctx.migration(), ctx.records, ctx.gates())
    if as_json:
        terminal.print(json.dumps(document, indent=2, sort_keys=True, default=str))
        return
    show(document)


def show(document: dict) -> None:
    """``cutover status`` as one screen: the migration's state as ``key = value`` fields, then one row per
    replication direction (tables on a terminal, plain lines off one: :class:`cli_common.terminal.Terminal`)."""
    from cutover.recovery import counted

    weights, writer = document["weights"], document["writer"]
    validation, verify, journal = document.get("last_validation"), document.get("last_verify"), document.get("journal")
    terminal.fields("cutover status", (
        ("phase", document["phase"]),
        ("weights", f"legacy={weights['legacy']} new={weights['new']}"),
        ("writer", f"{writer['name']} ({shown(writer['address'])})"),
        ("frozen", ", ".join(f"{k}={'yes' if v else 'no'}" for k, v in document["frozen"].items())),
        ("gates", ("; ".join(document["gate_problems"]) or "all pass") if "gate_problems" in document
         else "not checked (phase 1's gates: before and during the shift)"),
        ("last full validation", f"{validation['time']}: {counted(_number(validation.get('tables')), 'table')} equal "
                                 f"({validation['step']})" if validation else "none"),
        ("last verify", _verify_text(verify) if verify else "none"),
        ("verify slots", "; ".join(f"{side} {_slot(slot)}" for side, slot in document["verify_slots"].items())),
        ("journal", f"#{journal['seq']} {journal['run']} {journal['step']} {journal['status']}" if journal
         else "empty"),
    ))
    terminal.listing("replication", ("direction", "state", "lag bytes", "WAL retained", "CDC latency src/tgt s",
                                     "tables"),
                     ((name, r["state"], r["lag_bytes"], r["retained_bytes"],
                       f"{shown(r['latency_source_seconds'])}/{shown(r['latency_target_seconds'])}",
                       "; ".join(_table(t) for t in r["tables"]))
                      for name, r in document["replication"].items()),
                     lambda row: f"replication {row[0]}: state {row[1]}, lag bytes {row[2]}, WAL retained bytes "
                                 f"{row[3]}, CDC latency src/tgt s {row[4]}, tables {row[5]}",
                     right=("lag bytes", "WAL retained"))


def _table(progress: dict) -> str:
    rows = progress["full_load_rows"]
    return f"{progress['table']} {progress['state']}" + (f" {rows} rows" if rows is not None else "")



def _verify_text(verify: dict) -> str:
    """One line of the last switch's ``verify`` (:func:`cutover.operations.verify_compared`)."""
    from cutover.recovery import verify_compared

    return f"{verify['time']}: {verify_compared(verify)} ({verify.get('reason') or 'every table'})"


def _slot(slot: dict) -> str:
    """One verify slot in words: ``absent``, or the WAL it keeps (``cutover checkpoint show`` has the rest)."""
    if not slot["exists"]:
        return "absent"
    return f"{shown(slot['retained_bytes'])} bytes of WAL kept" + (
        "" if slot["wal_status"] in ("reserved", "extended") else f" ({slot['wal_status']})")


def _number(value: object) -> object:
    """A count as it is, anything else as :func:`cli_common.terminal.shown` prints it (``-`` for none)."""
    return value if isinstance(value, int) else shown(value)
