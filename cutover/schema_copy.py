"""``cutover schema copy``: the source's schema restored on the target with ``pg_dump``/``pg_restore``, one
section at a time (``pre-data`` before DMS's full load, ``post-data`` after it)."""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from cutover.catalog import read_catalog
from cutover.errors import CutoverError, ExitCode, UsageError

SECTIONS = ("pre-data", "post-data")
"""``cutover schema copy --section``: ``pre-data`` before DMS's full load, ``post-data`` after it."""


@dataclass
class CopyResult:
    """What ``copy_schema`` restored: the number of ``pg_restore`` TOC entries and the tables they touch."""

    section: str
    entries: int
    tables: list[str] = field(default_factory=list)


def _tool(name: str) -> str:
    """Path of a PostgreSQL client program (``pg_dump``, ``pg_restore``): PATH, else the newest server bindir."""
    import glob
    import shutil

    found = shutil.which(name)
    if found:
        return found
    for bindir in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(bindir, name).exists():
            return str(Path(bindir, name))
    raise CutoverError(f"{name} not found: install the PostgreSQL client (Debian: postgresql-client)",
                       exit_code=ExitCode.INTERNAL)


def _run(argv: list[str], what: str) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise CutoverError(f"{what} failed: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else ''}",
                           exit_code=ExitCode.INTERNAL)
    return done.stdout


def copy_schema(source_dsn: str, target_dsn: str, schema: str, section: str) -> CopyResult:
    """Load the source's schema into the target in the part DMS needs now (``TargetTablePrepMode = DO_NOTHING``).

    - ``pre-data``, before the full load: types, tables, sequences, functions, plus each table's **primary key**
      (``pg_dump`` files primary keys under post-data; DMS's change capture applies updates and deletes by key,
      and ``cutover validate`` needs the key, so they come first). Refuses a target whose schema has a table.
    - ``post-data``, after the full load: the other indexes, unique and foreign-key constraints, triggers, rules.
      Refuses unless every source table exists on the target.

    Runs ``pg_dump --schema-only --format=custom --no-owner --no-privileges`` on the source and ``pg_restore
    --single-transaction --exit-on-error`` of the selected TOC entries into the target (all or nothing). See
    https://www.postgresql.org/docs/15/app-pgdump.html (``--section``) and DMS "Using a PostgreSQL database as a
    target" (https://docs.aws.amazon.com/dms/latest/userguide/CHAP_Target.PostgreSQL.html).

    Raises:
        UsageError: ``section`` is not one of :data:`SECTIONS`.
        CutoverError: (exit 1) the target is not in the state the section needs; (exit 3) pg_dump/pg_restore or a
            connection failed.
    """
    from cutover.postgres import connect

    if section not in SECTIONS:
        raise UsageError("--section", section, f"must be one of {', '.join(SECTIONS)}")
    with connect(source_dsn, side="source", autocommit=True) as src, \
            connect(target_dsn, side="target", autocommit=True) as tgt:
        source_tables = read_catalog(src, schema)
        target_tables = read_catalog(tgt, schema)
        schema_exists = tgt.execute("SELECT count(*) FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone()[0]
        primary_keys = {name for (name,) in src.execute(
            "SELECT c.conname FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace "
            "WHERE n.nspname = %s AND c.contype = 'p'", (schema,))}
    if section == "pre-data" and target_tables:
        raise CutoverError(f"target schema {schema} is not empty ({len(target_tables)} tables, e.g. "
                           f"{sorted(target_tables)[0]}): schema copy --section pre-data loads only an empty schema",
                           exit_code=ExitCode.DIFFERENT)
    if section == "post-data":
        missing = sorted(set(source_tables) - set(target_tables))
        if missing:
            raise CutoverError(f"tables missing on the target ({', '.join(missing)}): run schema copy --section "
                               "pre-data first", exit_code=ExitCode.DIFFERENT)
    with tempfile.TemporaryDirectory(prefix="cutover-schema-") as folder:
        dump = Path(folder, "schema.dump")
        _run([_tool("pg_dump"), "--schema-only", "--format=custom", "--no-owner", "--no-privileges",
              f"--schema={schema}", f"--file={dump}", f"--dbname={source_dsn}"], "pg_dump")
        pre = [line for line in _toc(dump, "pre-data") if not (schema_exists and _is_schema(line, schema))]
        post = _toc(dump, "post-data")
        is_pk = [_is_constraint(line, primary_keys) for line in post]
        entries = pre + [line for line, pk in zip(post, is_pk) if pk] if section == "pre-data" else \
            [line for line, pk in zip(post, is_pk) if not pk]
        listing = Path(folder, "selected.list")
        listing.write_text("\n".join(entries) + "\n", encoding="utf-8")
        if entries:
            _run([_tool("pg_restore"), "--single-transaction", "--exit-on-error", "--no-owner", "--no-privileges",
                  f"--use-list={listing}", f"--dbname={target_dsn}", str(dump)], "pg_restore")
    return CopyResult(section, len(entries), sorted(source_tables))


def _toc(dump: Path, section: str) -> list[str]:
    """The TOC entry lines of ``section`` in ``dump`` (``pg_restore --list``), comments left out."""
    listing = _run([_tool("pg_restore"), "--list", f"--section={section}", str(dump)], "pg_restore --list")
    return [line for line in listing.splitlines() if line.strip() and not line.startswith(";")]


def _is_schema(line: str, schema: str) -> bool:
    """Whether a TOC line creates or comments ``schema`` itself (skipped when the target has it)."""
    parts = line.split()
    return len(parts) >= 6 and (parts[3:6] == ["SCHEMA", "-", schema] or parts[3:7] == ["COMMENT", "-", "SCHEMA",
                                                                                        schema])


def _is_constraint(line: str, names: set[str]) -> bool:
    """Whether a TOC line (``<id>; <oid> <oid> CONSTRAINT <schema> <table> <name> <owner>``) is one of ``names``."""
    parts = line.split()
    return len(parts) >= 7 and parts[3] == "CONSTRAINT" and parts[6] in names
