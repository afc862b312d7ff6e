"""How a row becomes a 64-bit hash inside PostgreSQL: each column normalised by its type and hashed on its own.

A row's hash is ``hashtextextended((c1 # c2 # ... # cn)::text, 0)`` (``#`` is ``bigint`` xor), one term per
compared column in the source's column order, each term ``coalesce(<64-bit hash of the column's normalised value,
seeded with its position>, <a constant of that position>)``. Seeding by position makes every column its own hash function, so a value
moving to another column changes the row's hash; the constant stands for NULL, so NULL, ``''`` and the string
``'NULL'`` hash differently; no column's value can spill into the next (each is hashed alone). The hash functions
are PostgreSQL's extended hash support functions (``hashtextextended`` and the type-specific ones below), which
hash partitioning relies on and which are therefore stable across versions; :data:`HASH_PROBE` checks that both
servers agree (byte order). The final hash of the xor mixes it once more: xor is linear, so without it two rows
that swap the values of one column would change a sum of xors by amounts that cancel with probability 2^-(bits
in which the two values' hashes differ), about 2^-32, instead of 2^-64.

A range's checksum is ``count(*)`` and ``sum(row hash)``: ``sum`` of ``bigint`` is an exact ``numeric`` (no
overflow, no wrap), order-independent and, unlike ``xor``, does not cancel a duplicated row. Two ranges holding
different rows have the same checksum with probability about 2^-64.

Every function used is parallel-safe and no whole-row ``::text`` cast is made, so PostgreSQL can run a checksum pass
as a parallel sequential scan, like any aggregate (see :meth:`cutover.validate.compare.TableComparison._rows`).

Per-type choices (both sides run with :data:`cutover.postgres.SESSION_SETTINGS`); where a type's own text output
is already the wanted normal form, the column is hashed as that text (``hashtextextended(col::text)``), because
that is exact and the output functions of these types are cheap; a type-specific hash function is used only where
it is exact and cheaper:

- ``text``, ``varchar``: ``hashtextextended(col COLLATE "C")``: the stored bytes as they are (no output
  function): no trimming, case folding or Unicode normalisation. ``COLLATE "C"`` because a nondeterministic
  collation would hash by sort key; ``validate`` refuses databases with different ``server_encoding``.
- ``char(n)`` (``bpchar`` with a length): ``hashbpcharextended(col COLLATE "C")``: the stored bytes without the
  trailing blanks that pad every value to ``n``; the schema comparison requires the same ``n`` on both sides, so
  this is exact. ``"char"``, ``name``, unconstrained ``bpchar``: their text.
- ``numeric(p,s)``: ``hash_numeric_extended(col)``: the exact decimal value; the column's modifier makes every
  stored value carry scale ``s`` (both sides have the same modifier), so equal value means equal text. An
  unconstrained ``numeric``: its exact text, **including its scale**, so ``1.5`` and ``1.50`` differ: the scale
  is part of what the application reads back (``10.5`` vs ``10.50`` on a receipt or in an API), and a loader
  that changes it changed what clients see. Never through ``float``.
- ``uuid``: ``uuid_hash_extended(col)``: all 16 bytes.
- integers (``smallint``, ``integer``, ``bigint``): their decimal text. Not ``hashint8extended``, which folds the
  two 32-bit halves of a ``bigint`` together before hashing, so that for example 1 and 2^32 hash alike: never
  acceptable for amounts in minor units.
- ``timestamptz``: ``(col AT TIME ZONE 'UTC')::text``: the UTC instant at the microsecond in ISO form, whatever
  time zone either server uses (not ``timestamp_hash_extended``: it folds the 64-bit value like
  ``hashint8extended``). ``timestamp``, ``date``, ``time``, ``timetz``, ``interval``: their ISO text
  (``DateStyle = ISO``, ``IntervalStyle = postgres``).
- ``float4``, ``float8``: the shortest text that reads back to the same binary value (``extra_float_digits=3``;
  ``-0`` and ``0`` differ).
- ``jsonb``: its text, which is canonical by value: keys sorted, duplicates removed, white space normalised, so
  key order does not matter; numbers keep their written scale, as ``numeric`` (``19`` and ``19.0`` differ; not
  ``jsonb_hash_extended``, which hashes numbers by value). ``json`` (not jsonb): the text as stored, byte for
  byte (json keeps the client's text; a loader that rewrites it changed it).
- ``bytea``: its text, ``\\x`` and the hex of every byte (``bytea_output = hex``): exact (PostgreSQL has no
  SQL-callable hash of ``bytea``).
- Enums: the label (not ``hashenumextended``, which hashes the OID, and OIDs differ between servers).
- Arrays: PostgreSQL's array text, which prints each element with its own type's output under the same
  settings (so ``timestamptz[]`` prints in UTC and ``numeric[]`` keeps scales), including dimensions and
  non-default lower bounds.
- ``boolean``, ``money`` (``lc_monetary = C``), network, geometric and other types: their text output.
"""

from __future__ import annotations

import re

from cutover.catalog import Column, Table

_NUMERIC_WITH_SCALE = re.compile(r"numeric\(\d+,\d+\)")
_FIXED_CHAR = re.compile(r"character\(\d+\)")


def ident(name: str) -> str:
    """``name`` as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def relation(table: Table) -> str:
    """``"schema"."table"``."""
    return f"{ident(table.schema)}.{ident(table.name)}"


def column_hash(column: Column, seed: int) -> str:
    """SQL for the 64-bit hash of ``column``'s normalised value with ``seed`` (NULL stays NULL): the per-type
    choice of the module docstring."""
    name = ident(column.name)
    if column.base_type in ("text", "character varying"):
        return f'hashtextextended({name} COLLATE "C", {seed})'
    if column.base_type == "character" and _FIXED_CHAR.fullmatch(column.type):
        return f'hashbpcharextended({name} COLLATE "C", {seed})'
    if column.base_type == "numeric" and _NUMERIC_WITH_SCALE.fullmatch(column.type):
        return f"hash_numeric_extended({name}, {seed})"
    if column.base_type == "uuid":
        return f"uuid_hash_extended({name}, {seed})"
    if column.base_type == "timestamp with time zone":
        name = f"({name} AT TIME ZONE 'UTC')"
    return f'hashtextextended({name}::text COLLATE "C", {seed})'


def null_marker(seed: int) -> int:
    """The constant that stands for NULL in the column hashed with ``seed`` (a fixed, well-mixed 64-bit value:
    splitmix64 of the seed, as a signed ``bigint``)."""
    z = (seed * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    z ^= z >> 31
    return z - (1 << 64) if z >= 1 << 63 else z


def row_hash(columns: tuple[Column, ...]) -> str:
    """SQL for the row's 64-bit hash (``bigint``, never NULL): the xor of each column's seeded hash, hashed."""
    terms = [f"coalesce({column_hash(c, seed)}, {null_marker(seed)})" for seed, c in enumerate(columns, 1)]
    return f"hashtextextended(({' # '.join(terms or ['0'])})::text, 0)"


HASH_PROBE = ("SELECT hashtextextended('cutover probe: 0123456789', 1)::text, "
              "hash_numeric_extended(-12345678901234567890.12, 2)::text, "
              "uuid_hash_extended('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 3)::text, "
              "hashbpcharextended('EUR '::char(4), 4)::text")
"""Run on both sides before comparing: equal answers prove that both servers hash alike with every hash function
:func:`column_hash` uses (they are stable across PostgreSQL versions, but some depend on byte order; RDS runs on
little-endian hosts)."""
