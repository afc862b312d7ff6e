"""``cutover preflight``: read-only checks on both databases before a migration starts.

Each check is named and ends in ``pass``, ``warn`` or ``fail`` with what it found and the fix. Follows the DMS
user guide, "Using a PostgreSQL database as an AWS DMS source" (logical replication, replica identity, LOBs) and
"Working with AWS DMS tasks: limited LOB mode"; PostgreSQL docs 27.2 (``pg_stat_replication``), 54.19
(``pg_replication_slots``) and 31 (logical replication).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cutover.roles import (
    APP_ROLE, CONTROL_SCHEMA, DMS_SOURCE_ROLE, DMS_TARGET_ROLE, HEARTBEAT_SCHEMA, MASTER_USER, VALIDATION_ROLE,
)
from cutover.catalog import Table, read_catalog
from cutover.catalog_diff import compare_catalogs
from cutover.sequences import sequence_states
from cutover.validate.rowhash import ident, relation

PASS, WARN, FAIL = "pass", "warn", "fail"

LOB_MAX_SIZE_KB = 32
"""The DMS task's ``TargetMetadata.LobMaxSize`` (KB, limited LOB mode): ``modules/dms.py``'s task settings (a test
keeps them equal). DMS truncates a LOB column value beyond it."""
LOB_TYPES = frozenset({"text", "bytea", "jsonb", "json", "xml", "character varying"})
"""Types DMS migrates as LOBs from PostgreSQL (``character varying`` without a length)."""
RETAINED_WAL_WARN_BYTES = 1 << 30
LONG_TRANSACTION_SECONDS = 300


@dataclass
class Check:
    """One named check: status, what it found (keys, names, counts; never a row value) and the fix."""

    name: str
    status: str
    found: str
    fix: str = ""
    details: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"check": self.name, "status": self.status, "found": self.found, "fix": self.fix,
                "details": self.details}


@dataclass(frozen=True)
class Roles:
    """The database roles the migration uses and the master user none may be.

    Defaults: the names ``cutover roles`` creates (:mod:`cutover.roles`, the one table of role names).
    """

    app: str = APP_ROLE
    dms_source: str = DMS_SOURCE_ROLE
    dms_target: str = DMS_TARGET_ROLE
    validation: str = VALIDATION_ROLE
    master: str = MASTER_USER


def _one(conn: Any, sql: str, params: Any = ()) -> Any:
    return conn.execute(sql, params).fetchone()[0]


def check_keys(tables: dict[str, Table]) -> list[Check]:
    """Every table has a key DMS can use, and a replica identity that logs it."""
    unkeyed = sorted(t.qualified for t in tables.values() if not t.key)
    checks = [Check("keys", FAIL if unkeyed else PASS,
                    f"{len(unkeyed)} of {len(tables)} tables without a primary key or unique NOT NULL index",
                    "add a primary key: without one DMS cannot replicate UPDATE and DELETE, and its row validation "
                    "skips the table" if unkeyed else "", unkeyed)]
    bad = []
    for table in sorted(tables.values(), key=lambda t: t.name):
        identity = table.replica_identity
        if identity == "n" or (identity == "d" and table.key_kind != "primary key"):
            bad.append(f"{table.qualified}: REPLICA IDENTITY {'NOTHING' if identity == 'n' else 'DEFAULT'} "
                       "logs no key")
        elif identity == "f":
            bad.append(f"{table.qualified}: REPLICA IDENTITY FULL (every column logged)")
    failing = any("logs no key" in line for line in bad)
    checks.append(Check("replica_identity", FAIL if failing else WARN if bad else PASS,
                        f"{len(bad)} tables whose replica identity needs attention",
                        "ALTER TABLE ... REPLICA IDENTITY USING INDEX <unique index> (or add a primary key)"
                        if bad else "", bad))
    return checks


def check_cdc(conn: Any) -> list[Check]:
    """wal_level, free slots and WAL senders, WAL retained by slots, long-running transactions (source)."""
    settings = dict(conn.execute("SELECT name, setting FROM pg_settings WHERE name IN ('wal_level', "
                                 "'max_replication_slots', 'max_wal_senders', 'rds.logical_replication')"))
    level = settings.get("wal_level")
    checks = [Check("wal_level", PASS if level == "logical" else FAIL, f"wal_level = {level}",
                    "" if level == "logical" else "set rds.logical_replication = 1 in the source's parameter group "
                    "(self-managed: wal_level = logical) and reboot")]
    slots = _one(conn, "SELECT count(*) FROM pg_replication_slots")
    free_slots = int(settings.get("max_replication_slots", 0)) - slots
    senders = _one(conn, "SELECT count(*) FROM pg_stat_replication")
    free_senders = int(settings.get("max_wal_senders", 0)) - senders
    status = FAIL if free_slots < 1 or free_senders < 1 else WARN if free_slots < 2 or free_senders < 2 else PASS
    checks.append(Check("replication_capacity", status, f"{free_slots} free replication slots, {free_senders} free "
                        "WAL senders", "" if status == PASS else "raise max_replication_slots / max_wal_senders "
                        "or drop unused slots (DMS needs one of each)"))
    retained = conn.execute("SELECT slot_name, active, coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn), 0)"
                            "::bigint FROM pg_replication_slots ORDER BY 3 DESC").fetchall()
    heavy = [f"{name}: {size} bytes{'' if active else ' (inactive)'}" for name, active, size in retained
             if size >= RETAINED_WAL_WARN_BYTES or not active]
    checks.append(Check("retained_wal", WARN if heavy else PASS,
                        f"{sum(r[2] for r in retained)} bytes of WAL retained by {len(retained)} slots",
                        "drop slots nobody reads (SELECT pg_drop_replication_slot(...)): they keep WAL and fill "
                        "the disk" if heavy else "", heavy))
    long = conn.execute("SELECT pid, extract(epoch FROM now() - xact_start)::bigint FROM pg_stat_activity "
                        "WHERE xact_start < now() - make_interval(secs => %s) AND pid <> pg_backend_pid() "
                        "ORDER BY 2 DESC", (LONG_TRANSACTION_SECONDS,)).fetchall()
    checks.append(Check("long_transactions", WARN if long else PASS,
                        f"{len(long)} transactions open longer than {LONG_TRANSACTION_SECONDS} s",
                        "end them before starting the task: DMS's slot cannot start while they run" if long else "",
                        [f"pid {pid}: {age} s" for pid, age in long]))
    return checks


def check_target_schema(source: dict[str, Table], target: dict[str, Table]) -> Check:
    """The target has the source's tables, columns, types and keys (``TargetTablePrepMode = DO_NOTHING``)."""
    differences = compare_catalogs(source, target)
    return Check("target_schema", FAIL if differences else PASS, f"{len(differences)} schema differences",
                 "cutover schema copy --section pre-data (before the full load), post-data after it"
                 if differences else "",
                 [f"{d.table}{'.' + d.column if d.column else ''}: {d.problem} (source {d.source}, target "
                  f"{d.target})" for d in differences])


def check_lob_sizes(conn: Any, tables: dict[str, Table], lob_max_size_kb: int) -> Check:
    """The largest value of each LOB column against ``LobMaxSize`` (one scan per table with such columns)."""
    over = []
    for table in sorted(tables.values(), key=lambda t: t.name):
        columns = [c for c in table.columns if c.base_type in LOB_TYPES and c.type in LOB_TYPES]
        if not columns:
            continue
        sizes = conn.execute("SELECT " + ", ".join(f"coalesce(max(octet_length({ident(c.name)}::text)), 0)"
                                                   if c.base_type != "bytea" else
                                                   f"coalesce(max(octet_length({ident(c.name)})), 0)"
                                                   for c in columns) + f" FROM {relation(table)}").fetchone()
        over += [f"{table.qualified}.{c.name}: largest value {size} bytes" for c, size in zip(columns, sizes)
                 if size > lob_max_size_kb * 1024]
    return Check("lob_sizes", FAIL if over else PASS,
                 f"{len(over)} columns hold values larger than LobMaxSize = {lob_max_size_kb} KB",
                 "raise LobMaxSize in the task settings (modules/dms.py) above the largest value, or use full "
                 "LOB mode: limited LOB mode truncates them" if over else "", over)


def check_sequences(source: Any, target: Any, schema: str) -> Check:
    """Sequences on both sides with their values; a target behind the source warns (sync at switchover)."""
    states = sequence_states(source, target, schema)
    one_sided = [s for s in states if not (s.on_source and s.on_target)]
    behind = [s for s in states if s.behind]
    status = FAIL if one_sided else WARN if behind else PASS
    return Check("sequences", status, f"{len(states)} sequences, {len(behind)} behind on the target, "
                 f"{len(one_sided)} on one side only",
                 "cutover sequences sync (at switchover, after writes to the source stop)" if behind else
                 "create the missing sequences (cutover schema copy)" if one_sided else "",
                 [f"{s.name}: source {s.source}, target {s.target}" for s in states])


DMS_SCHEMAS = (HEARTBEAT_SCHEMA, CONTROL_SCHEMA)
"""Where a DMS role creates DMS's tables: the heartbeat (its database as a task's source) and the control tables
(its database as a task's target)."""


def check_roles(conn: Any, side: str, roles: Roles, schema: str) -> Check:
    """The migration's roles exist with the privileges they need and no more, and none is the master user.

    On each side: the application role (DML), the validation role (SELECT only) and that side's DMS role
    (``dms_source`` on the source, ``dms_target`` on the target), which serves both replication directions: DML on
    the payment tables, replication (``REPLICATION`` or ``rds_replication``), USAGE and CREATE on ``awsdms`` and
    ``dms_control`` (the table in :mod:`cutover.roles`).
    """
    dms = roles.dms_source if side == "source" else roles.dms_target
    needed = {roles.validation: ({"SELECT"}, {"INSERT", "UPDATE", "DELETE", "TRUNCATE"}),
              roles.app: ({"SELECT", "INSERT", "UPDATE"}, {"TRUNCATE"}),
              dms: ({"SELECT", "INSERT", "UPDATE", "DELETE"}, {"TRUNCATE"})}
    problems = []
    tables = [r[0] for r in conn.execute("SELECT format('%%I.%%I', schemaname, tablename) FROM pg_tables "
                                         "WHERE schemaname = %s", (schema,))]
    rds = bool(_one(conn, "SELECT count(*) FROM pg_roles WHERE rolname = 'rds_superuser'"))
    for role, (must, must_not) in needed.items():
        row = conn.execute("SELECT rolsuper, rolcreaterole, rolreplication, rolcanlogin, "
                           + ("pg_has_role(oid, 'rds_superuser', 'MEMBER')" if rds else "false")
                           + " FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
        if row is None:
            problems.append(f"{role}: missing")
            continue
        superuser, createrole, replication, login, rds_super = row
        if role == roles.master or superuser or rds_super or createrole:
            problems.append(f"{role}: is the master user or has its powers (superuser/rds_superuser/CREATEROLE)")
        if not login:
            problems.append(f"{role}: cannot log in")
        if role == dms:
            if not (replication or _one(conn, "SELECT count(*) FROM pg_roles WHERE rolname = 'rds_replication' "
                                              "AND pg_has_role(%s, oid, 'MEMBER')", (role,))):
                problems.append(f"{role}: no REPLICATION (rds_replication)")
            for dms_schema in DMS_SCHEMAS:
                if not _one(conn, "SELECT count(*) FROM pg_namespace WHERE nspname = %s", (dms_schema,)):
                    problems.append(f"{role}: schema {dms_schema} missing")
                    continue
                for privilege in ("USAGE", "CREATE"):  # a list in one call is true when ANY is held
                    if not _one(conn, "SELECT has_schema_privilege(%s, %s, %s)", (role, dms_schema, privilege)):
                        problems.append(f"{role}: no {privilege} on schema {dms_schema}")
        for table in tables:
            for privilege in sorted(must):
                if not _one(conn, "SELECT has_table_privilege(%s, %s, %s)", (role, table, privilege)):
                    problems.append(f"{role}: no {privilege} on {table}")
            for privilege in sorted(must_not):
                if _one(conn, "SELECT has_table_privilege(%s, %s, %s)", (role, table, privilege)):
                    problems.append(f"{role}: {privilege} on {table} (not needed)")
    return Check(f"roles_{side}", FAIL if problems else PASS, f"{len(problems)} role problems on the {side}",
                 "cutover roles (creates the roles with exactly these privileges)" if problems else "", problems)


def preflight(source_dsn: str, target_dsn: str, schema: str = "public", roles: Roles = Roles(),
              lob_max_size_kb: int = LOB_MAX_SIZE_KB) -> list[Check]:
    """Run every check (read-only transactions on both sides); the list in runbook order.

    Raises:
        CutoverError: a connection failed (exit 3).
    """
    from cutover.postgres import connect

    with connect(source_dsn, side="source") as src, connect(target_dsn, side="target") as tgt:
        for conn in (src, tgt):
            conn.execute("SET TRANSACTION READ ONLY")
        source, target = read_catalog(src, schema), read_catalog(tgt, schema)
        checks = check_keys(source) + check_cdc(src)
        checks.append(check_target_schema(source, target))
        checks.append(check_lob_sizes(src, source, lob_max_size_kb))
        checks.append(check_sequences(src, tgt, schema))
        checks += [check_roles(src, "source", roles, schema), check_roles(tgt, "target", roles, schema)]
        src.rollback()
        tgt.rollback()
    return checks
