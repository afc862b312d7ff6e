"""Connections to the two databases, with the session settings every comparison relies on.

Every value the tool hashes is the text output of a PostgreSQL type, and several types print differently under
different session settings. :data:`SESSION_SETTINGS` pins each of them on every connection, on both sides, so that
equal values print equally (PostgreSQL docs, "Client Connection Defaults" and "Formatting" in chapter 20.11).

Follows psycopg 3 (https://www.psycopg.org/psycopg3/docs/) and PostgreSQL's ``SET TRANSACTION`` (snapshots:
https://www.postgresql.org/docs/15/sql-set-transaction.html).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from cutover.errors import CutoverError, ExitCode

if TYPE_CHECKING:
    import psycopg

SESSION_SETTINGS: dict[str, str] = {
    "TimeZone": "UTC",               # timestamptz (and arrays of it) print in UTC
    "DateStyle": "ISO, YMD",         # dates and timestamps print as ISO 8601
    "IntervalStyle": "postgres",     # intervals print one way
    "extra_float_digits": "3",       # float4/float8 print the shortest text that reads back exactly
    "bytea_output": "hex",           # bytea prints as \x + hex of every byte
    "lc_monetary": "C",              # money prints without a locale's symbols
    "jit": "off",                    # the checksum queries are short and simple: JIT compilation only costs
    "work_mem": "64MB",              # bucket aggregates stay in memory
    "statement_timeout": "0",
    "idle_in_transaction_session_timeout": "0",
    "application_name": "cutover",
}
"""Session settings applied to every connection the tool opens (both sides identical)."""


@functools.cache
def side_connection_class() -> type:
    """A ``psycopg.Connection`` that marks a PostgreSQL error raised in its ``with`` block with the side it
    happened on (``error.side``: ``source`` or ``target``), so that the error boundary names the side
    (:func:`statement_failure`). The error itself is re-raised unchanged."""
    import psycopg

    class SideConnection(psycopg.Connection):  # type: ignore[type-arg]
        side = "unknown"

        def __exit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> None:
            if isinstance(exc_val, psycopg.Error) and not hasattr(exc_val, "side"):
                exc_val.side = self.side
            super().__exit__(exc_type, exc_val, exc_tb)

    return SideConnection


CONNECT_TIMEOUT_SECONDS = 15
"""How long a connection attempt waits for the server (libpq ``connect_timeout``, seconds)."""


def connect(dsn: str, *, side: str, autocommit: bool = False, application_name: str | None = None,
            connect_timeout: int = CONNECT_TIMEOUT_SECONDS, option: str | None = None, variable: str | None = None,
            check: str | None = None) -> psycopg.Connection[Any]:
    """Open a connection to ``dsn`` with :data:`SESSION_SETTINGS`: the one way the tool connects to PostgreSQL
    (:meth:`cutover.database.Database.connect` and every command go through it).

    Args:
        dsn: a libpq connection string or URI (``host=... port=... dbname=... user=...``).
        side: ``source`` or ``target``, named in errors (``error.side`` of a refused statement too:
            :func:`side_connection_class`).
        autocommit: psycopg autocommit mode (default off: statements run in a transaction).
        application_name: ``application_name`` sent at login (``pg_stat_activity`` shows it from the start);
            default :data:`SESSION_SETTINGS`'s ``cutover``.
        connect_timeout: libpq ``connect_timeout`` in seconds (default :data:`CONNECT_TIMEOUT_SECONDS`).
        option / variable / check: what the error of a failed connection names as the place ``dsn`` came from
            (:func:`connection_error`).

    Raises:
        CutoverError: (exit code 3) the server cannot be reached or refuses the login (:func:`connection_error`:
            side, host, port, database, user, PostgreSQL's reason and what to check; never the password).
        psycopg.Error: the server refused a session setting (marked with ``error.side``; the connection is closed).
    """
    import psycopg

    name = application_name or SESSION_SETTINGS["application_name"]
    try:
        conn = side_connection_class().connect(dsn, autocommit=True, connect_timeout=connect_timeout,
                                               application_name=name)
    except psycopg.Error as error:
        raise connection_error(side, dsn, error, option=option, variable=variable, check=check) from None
    conn.side = side
    settings = [(key, value) for key, value in SESSION_SETTINGS.items() if key != "application_name"]
    try:  # one round trip for all of them
        conn.execute("SELECT " + ", ".join("set_config(%s, %s, false)" for _ in settings),
                     [item for pair in settings for item in pair])
    except psycopg.Error as error:
        error.side = side  # type: ignore[attr-defined]
        conn.close()
        raise
    conn.autocommit = autocommit
    return conn


def connection_error(side: str, dsn: str, error: BaseException, *, option: str | None = None,
                     variable: str | None = None, check: str | None = None) -> CutoverError:
    """The error of a failed connection: where (side, host, port, database, user, parsed from ``dsn`` with
    ``psycopg.conninfo.conninfo_to_dict``), PostgreSQL's reason (without the DSN) and what to check.

    Never contains the password: it is not read from the DSN, and any occurrence of it in PostgreSQL's text is
    replaced with ``***``.

    Args:
        side: ``source`` or ``target``.
        dsn: the libpq connection string or URI that failed.
        error: the ``psycopg.Error`` raised.
        option / variable: the command-line option and environment variable that give ``dsn`` (default
            ``--<side>-dsn``/``$PAYMIG_<SIDE>_DSN``, every command's options).
        check: where ``dsn`` came from when no option gave it, named as what to check instead of
            ``option``/``variable`` (e.g. the local databases' record, an RDS master secret).

    Returns:
        A :class:`CutoverError` with exit code 3 (``ExitCode.INTERNAL``: nothing could be concluded).
    """
    from psycopg.conninfo import conninfo_to_dict

    try:
        parts = conninfo_to_dict(dsn)
    except Exception:  # noqa: BLE001 - libpq cannot parse it: its message may quote a piece of it, so none is shown
        parts, reason = {}, "the connection string is not a valid libpq string or URI"
    else:
        reason = _connection_reason(error)
    password = str(parts.pop("password", "") or "")
    if password:
        reason = reason.replace(password, "***")
    host = parts.get("host") or parts.get("hostaddr") or "localhost (Unix socket)"
    dbname, user = parts.get("dbname") or "<default>", parts.get("user") or "<default>"
    where = f"the {side} database at {host}:{parts.get('port') or 5432} (dbname {dbname}, user {user})"
    check = check or (f"{option or f'--{side}-dsn'} / ${variable or f'PAYMIG_{side.upper()}_DSN'} (host, port, "
                      "dbname, user, password)")
    return CutoverError(f"cannot connect to {where}: {reason}. Check {check}, that the server is running and accepts "
                        "connections, and that it is reachable from here (security group, network ACL, VPN)",
                        exit_code=ExitCode.INTERNAL)


def _connection_reason(error: BaseException) -> str:
    """PostgreSQL's reason for a failed connection, without libpq's ``connection to server at ... failed:``
    prefix (which repeats host and port) and hints: e.g. ``Connection refused`` or ``FATAL: password
    authentication failed for user "x"``."""
    text = " ".join(line.strip() for line in str(error).strip().splitlines() if line.strip()) or type(error).__name__
    if "failed: " in text:
        text = text.rsplit("failed: ", 1)[1]
    text = text.split(" Is the server", 1)[0]  # libpq's hint; the message gives its own
    return " ".join(text.split()).rstrip(".") or type(error).__name__


def begin_snapshot(conn: psycopg.Connection[Any], snapshot_id: str | None = None) -> None:
    """Start a ``REPEATABLE READ, READ ONLY`` transaction on ``conn``, in ``snapshot_id`` when given.

    ``snapshot_id`` comes from ``pg_export_snapshot()`` on another connection of the same server, whose
    transaction must still be open: then every connection reads the same database state.
    """
    conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
    if snapshot_id:
        conn.execute("SET TRANSACTION SNAPSHOT %s" % _literal(snapshot_id))


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def error_text(error: BaseException) -> str:
    """The first line of a database error (PostgreSQL's message, without DETAIL lines that may quote values)."""
    return _first_line(error)


_SCHEMA_HINT = "the schema is missing or differs there: `cutover schema copy` copies it from the source"
_STATEMENT_HINTS: dict[str, str] = {
    "42704": "create the migration's roles first: `cutover roles -e <environment>` (`make roles`)",
    "42P01": _SCHEMA_HINT,  # undefined_table
    "3F000": _SCHEMA_HINT,  # invalid_schema_name
    "42703": _SCHEMA_HINT,  # undefined_column
    "42501": "the role of that side's DSN lacks a privilege: give the admin (RDS master) role's DSN "
             "(--source-dsn/--target-dsn), and `cutover roles` for the migration roles' own grants",
    "25006": "that database is frozen (read-only): `cutover status` says which one is the writer",
    "55P03": "another session holds a lock it needs: run the command again when it is done",
    "55006": "another session uses that object: run the command again when it is done",
}
"""What to run, by SQLSTATE (PostgreSQL, Appendix A "PostgreSQL Error Codes":
https://www.postgresql.org/docs/15/errcodes-appendix.html)."""


def statement_failure(error: BaseException) -> CutoverError | None:
    """The one-line error of a statement PostgreSQL refused (any ``psycopg.Error`` but a failed connection, which
    :func:`connection_error` reports): the side (``error.side``, set by :func:`side_connection_class`
    connections; ``a database`` when unknown), PostgreSQL's primary message (which names the object: role, table,
    schema), the SQLSTATE, and what to run. Data exceptions (SQLSTATE class 22) are cut at their first ``:``,
    where PostgreSQL quotes the offending value: no row value is ever printed.

    Returns:
        A :class:`CutoverError` with exit code 3 (``ExitCode.INTERNAL``: nothing could be concluded), or None when
        ``error`` is not such an error (psycopg not loaded, or a connection failure).
    """
    import sys

    psycopg = sys.modules.get("psycopg")
    if psycopg is None or not isinstance(error, psycopg.Error) or isinstance(error, psycopg.OperationalError):
        return None
    code = getattr(error, "sqlstate", None) or ""
    diag = getattr(error, "diag", None)
    message = (getattr(diag, "message_primary", None) if diag is not None else None) or _first_line(error)
    if code.startswith("22"):
        message = message.split(":", 1)[0]
    side = getattr(error, "side", None)
    where = f"the {side} database" if side in ("source", "target") else "a database"
    hint = _STATEMENT_HINTS.get(code, "PostgreSQL's message names what failed; nothing after that statement was done")
    return CutoverError(f"{where} refused a statement: {message}" + (f" (SQLSTATE {code})" if code else ""),
                        exit_code=ExitCode.INTERNAL, hint=hint)
