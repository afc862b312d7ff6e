"""AWS DMS parallel load of large tables: the rules of a ``table-settings`` table-mapping rule's ``parallel-load``.

A full load unloads a table with one thread unless a ``table-settings`` rule splits it into segments, each loaded by
its own subtask (at most ``FullLoadSettings.MaxFullLoadSubTasks`` tables and segments at once, 1-49, default 8).
This module holds what the DMS user guide says such a rule may be, as plain Python (no cdktf, no pydantic), so
that the configuration (``config.models.ParallelLoad``: ``[dms.parallel_load.<table>]``) and the construct
(``modules.dms.DmsMigrationProps``) refuse the same things with the same words:

- ``type``: ``ranges`` (segments bounded by column values), the only type DMS supports for a PostgreSQL source:
  the DMS user guide's parallel-load section lists the partition types (``partitions-auto``, ``partitions-list``,
  ``subpartitions-auto``) for other engines only, so they are refused here before DMS would refuse the task.
- ``ranges``: ``columns``, 1 to 10 column names, the first the most significant; ``boundaries``, one or more
  column-value arrays, each the upper bound of one segment, as many values as columns, in ascending order; rows
  above the last boundary make the last segment, so there are ``len(boundaries) + 1`` segments. DMS compares the
  values in the source's own order (``(COL1 < 10) OR ((COL1 = 10) AND (COL2 < 30))``...), so this module can only
  prove the order of values it can read as numbers or as ISO-8601 dates/times; other values must at least be
  distinct.
- **Rows whose range column is NULL are not replicated** (DMS user guide, the note under "ranges"): use NOT NULL
  columns, ideally the primary key (indexed: "Specifying indexed columns significantly improves performance");
  ``cutover validate`` would report the missing rows. DOUBLE/FLOAT/LOB columns cannot bound segments.
- a partitioned table: ``ranges`` on the partition key, each range covering whole partitions.
- the object locator names one table: no ``%`` wildcard ("Wildcards in table-settings are restricted").

Follows https://docs.aws.amazon.com/dms/latest/userguide/CHAP_Tasks.CustomizingTasks.TableMapping.SelectionTransformation.Tablesettings.html
("Using parallel load for selected tables, views, and collections") and
https://docs.aws.amazon.com/dms/latest/userguide/CHAP_Tasks.CustomizingTasks.TaskSettings.FullLoad.html
(``MaxFullLoadSubTasks``: default 8, maximum 49).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

PARALLEL_LOAD_TYPES = ("ranges",)
"""The ``parallel-load`` types offered (see the module docstring)."""
MAX_RANGE_COLUMNS = 10
"""DMS: "You can specify up to 10 columns" for ``ranges``."""
MAX_FULL_LOAD_SUB_TASKS = 49
"""DMS: ``MaxFullLoadSubTasks`` "The default is 8; the maximum value is 49"."""
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_$]{0,62}")
"""A PostgreSQL identifier that needs no quoting (at most 63 bytes)."""

Problem = tuple[str, Any, str]
"""``(field, value, rule)``: one broken rule, the field relative to the parallel-load settings of one table."""


def _ordered(value: str) -> Any:
    """``value`` as a number or an ISO-8601 date/time (comparable), else None."""
    try:
        return (0, Decimal(value)) if Decimal(value).is_finite() else None
    except InvalidOperation:
        pass
    for parse in (date.fromisoformat, datetime.fromisoformat):
        try:
            parsed = parse(value)
        except ValueError:
            continue
        if isinstance(parsed, datetime) and parsed.tzinfo is not None:
            return None  # mixed offsets and naive values do not compare; the source orders them
        return (1, datetime.combine(parsed, datetime.min.time()) if type(parsed) is date else parsed)
    return None


def boundary_values(boundaries: Sequence[Sequence[Any]]) -> list[list[str]]:
    """The boundaries as DMS takes them: every value a string (TOML integers become their decimal text)."""
    return [[str(value) for value in boundary] for boundary in boundaries]


def parallel_load_problems(table: str, settings: Mapping[str, Any]) -> list[Problem]:
    """Every rule ``settings`` (``type``, ``columns``, ``boundaries``) breaks for ``table``, in the order found.

    Args:
        table: the table name (object locator ``table-name``).
        settings: ``{"type": ..., "columns": [...], "boundaries": [[...], ...]}`` (unset keys: empty).

    Returns:
        ``(field, value, rule)`` per problem (field ``table``, ``type``, ``columns``, ``boundaries`` or
        ``boundaries[i]``); empty when the settings are valid.
    """
    problems: list[Problem] = []
    if not IDENTIFIER.fullmatch(table):
        problems.append(("table", table, "must name one table (a PostgreSQL identifier, no % wildcard: DMS "
                                         "restricts wildcards in table-settings)"))
    kind = settings.get("type")
    columns = list(settings.get("columns") or ())
    boundaries = [list(b) if isinstance(b, (list, tuple)) else b for b in settings.get("boundaries") or ()]
    if kind not in PARALLEL_LOAD_TYPES:
        return problems + [("type", kind, "must be ranges: the only parallel-load type DMS supports for a "
                                          "PostgreSQL source (ranges on the partition key for a partitioned table)")]
    if not 1 <= len(columns) <= MAX_RANGE_COLUMNS:
        problems.append(("columns", columns, f"ranges needs 1 to {MAX_RANGE_COLUMNS} column names"))
    bad = [c for c in columns if not isinstance(c, str) or not IDENTIFIER.fullmatch(c)]
    if bad:
        problems.append(("columns", columns, "must be column names (PostgreSQL identifiers)"))
    elif len(set(columns)) != len(columns):
        problems.append(("columns", columns, "must not repeat a column"))
    if not boundaries:
        return problems + [("boundaries", boundaries, "ranges needs at least one boundary (the upper bound of the "
                                                      "first segment)")]
    for i, boundary in enumerate(boundaries):
        if not isinstance(boundary, list) or len(boundary) != len(columns):
            problems.append((f"boundaries[{i}]", boundary, f"must be a list of {len(columns)} value(s), one per "
                                                           f"column ({', '.join(map(str, columns))})"))
        elif any(isinstance(v, bool) or not isinstance(v, (str, int)) or v == "" for v in boundary):
            problems.append((f"boundaries[{i}]", boundary, "values must be non-empty strings or integers"))
    if any(p[0].startswith("boundaries[") for p in problems):
        return problems
    return problems + _order_problems(boundary_values(boundaries), boundaries)


def _order_problems(boundaries: list[list[str]], given: list[Any]) -> list[Problem]:
    """Boundaries (as strings; ``given``: as written, for the message) must ascend: compared as tuples where every
    value of a column reads as a number or an ISO date."""
    if len({tuple(b) for b in boundaries}) != len(boundaries):
        return [("boundaries", given, "must be distinct (a repeated boundary makes an empty segment)")]
    keys = []
    for position in range(len(boundaries[0])):
        parsed = [_ordered(b[position]) for b in boundaries]
        if any(p is None for p in parsed) or len({p[0] for p in parsed}) != 1:  # type: ignore[index]
            break  # this column and the less significant ones: the source's order, not ours
        keys.append(parsed)
    if not keys:
        return []
    rows = [tuple(column[i] for column in keys) for i in range(len(boundaries))]
    for i in range(1, len(rows)):
        if rows[i] < rows[i - 1] or (rows[i] == rows[i - 1] and len(keys) == len(boundaries[0])):
            return [(f"boundaries[{i}]", given[i], f"must be above boundaries[{i - 1}] = {given[i - 1]} "
                                                        "(each boundary is the upper bound of the next segment, in "
                                                        "ascending order)")]
    return []


def table_settings_rule(rule_id: int, schema: str, table: str, settings: Mapping[str, Any]) -> dict[str, Any]:
    """The ``table-settings`` rule that loads ``schema.table`` in parallel (DMS table-mapping JSON).

    Raises:
        ValueError: ``settings`` break a rule (:func:`parallel_load_problems`), as ``<field> = <value>: <rule>``.
    """
    problems = parallel_load_problems(table, settings)
    if problems:
        field, value, rule = problems[0]
        raise ValueError(f"parallel_load.{table}.{field} = {value!r}: {rule}")
    load: dict[str, Any] = {"type": settings["type"]}
    if settings["type"] == "ranges":
        load.update(columns=list(settings["columns"]), boundaries=boundary_values(settings["boundaries"]))
    return {"rule-type": "table-settings", "rule-id": str(rule_id), "rule-name": f"parallel-load-{table}",
            "object-locator": {"schema-name": schema, "table-name": table}, "parallel-load": load}
