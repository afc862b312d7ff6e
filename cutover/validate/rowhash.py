"""How a row becomes a 128-bit hash inside PostgreSQL: each column normalised by its type, then hashed.

A row's encoding is ``ROW(e1, e2, ...)::text`` where each ``e`` is the column's normalised expression below: the
composite text form frames every field unambiguously (PostgreSQL docs 8.16.6, "Composite Type Input and Output
Syntax": a NULL field is empty, an empty string is ``""``, a field holding quotes, commas, parentheses, backslashes
or white space is double-quoted with escapes), so NULL, ``''`` and the string ``'NULL'`` encode differently and no
column's value can spill into the next. The encoding is hashed twice with ``hashtextextended`` (seeds 0 and 1,
the 64-bit hash PostgreSQL uses for hash partitioning, stable across versions): 128 bits per row. A range's
checksum is ``count(*)``, ``sum(h0)``, ``sum(h1)``: ``sum`` of ``bigint`` is an exact ``numeric`` (no overflow,
no wrap), order-independent and, unlike ``xor``, does not cancel a duplicated row.

Per-type choices (both sides run with :data:`cutover.postgres.SESSION_SETTINGS`):

- ``text``, ``varchar``, ``"char"``, ``name``: the stored bytes, as they are (``text`` output is the bytes): no
  trimming, case folding or Unicode normalisation; collations play no part (hashing is byte-wise and
  ``validate`` refuses to compare databases with different ``server_encoding``).
- ``char(n)`` (``bpchar``): the stored value padded to ``n``; the schema comparison requires the same ``n`` on
  both sides, so trailing blanks, which PostgreSQL treats as insignificant, cannot differ.
- ``numeric``: the exact decimal text, **including its scale**: ``1.0`` and ``1.00`` are different. A
  ``numeric(p,s)`` column always stores scale ``s``, so this only matters for unconstrained ``numeric``, where the
  scale is part of what the application reads back (``10.5`` vs ``10.50`` on a receipt or in an API); a loader
  that changes it changed what clients see. Never through ``float``.
- ``float4``, ``float8``: the shortest text that reads back to the same binary value (``extra_float_digits=3``).
- ``timestamptz``: ``col AT TIME ZONE 'UTC'`` printed in ISO: the UTC instant at the microsecond, whatever time
  zone either server or session uses. ``timestamp``, ``date``, ``time``, ``timetz``, ``interval``: ISO output
  (``DateStyle = ISO``, ``IntervalStyle = postgres``).
- ``jsonb``: its output, which is canonical by value: keys sorted, duplicates removed, white space normalised, so
  key order does not matter (numbers keep their written scale, as ``numeric``). ``json`` (not jsonb): the text as
  stored, byte for byte (json keeps the client's text; a loader that rewrites it changed it).
- ``bytea``: ``\\x`` and the hex of every byte (``bytea_output = hex``): exact.
- ``uuid``: canonical lowercase hex. Enums: the label (not the OID, which differs between servers).
- Arrays: PostgreSQL's array text, which prints each element with its own type's output under the same
  settings (so ``timestamptz[]`` prints in UTC), including dimensions and non-default lower bounds.
- ``boolean``, integers, ``money`` (``lc_monetary = C``), network, geometric and other types: their text output.
"""

from __future__ import annotations

from cutover.schema import Column, Table


def ident(name: str) -> str:
    """``name`` as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def relation(table: Table) -> str:
    """``"schema"."table"``."""
    return f"{ident(table.schema)}.{ident(table.name)}"


def normalised(column: Column) -> str:
    """The SQL expression whose text output is ``column``'s normalised value (see the module docstring)."""
    name = ident(column.name)
    if column.base_type == "timestamp with time zone":
        return f"({name} AT TIME ZONE 'UTC')"
    return name


def row_text(columns: tuple[Column, ...]) -> str:
    """SQL for the row's encoding: ``ROW(<normalised columns>)::text``."""
    return f"ROW({', '.join(normalised(c) for c in columns)})::text"


HASH_PROBE = "SELECT hashtextextended('cutover probe: 0123456789', 0)::text, " \
             "hashtextextended(ROW(NULL::text, '', 'NULL', 1.50::numeric)::text, 1)::text"
"""Run on both sides before comparing: equal answers prove that both servers hash the same text to the same value
(the hash is stable across PostgreSQL versions, but depends on byte order; RDS runs on little-endian hosts)."""
