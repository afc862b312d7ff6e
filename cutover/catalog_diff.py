"""How the source's and the target's schema differ (two catalogs read by :func:`cutover.catalog.read_catalog`),
found before any data is compared: tables or columns on one side only, types, nullability, collations, keys."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cutover.catalog import Table


@dataclass(frozen=True)
class SchemaDifference:
    """One difference between the source's and the target's schema, found before any data is compared.

    Attributes:
        table: ``schema.table``.
        column: the column, or ``None`` for the table itself.
        problem: what differs, e.g. ``table on the source only``, ``type differs``.
        source / target: the type (or key, or ``present``) on each side, ``None`` where absent.
    """

    table: str
    column: str | None
    problem: str
    source: str | None
    target: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"table": self.table, "column": self.column, "problem": self.problem,
                "source": self.source, "target": self.target}


def compare_catalogs(source: dict[str, Table], target: dict[str, Table],
                     excluded: frozenset[tuple[str, str]] = frozenset()) -> list[SchemaDifference]:
    """Tables or columns on one side only, different types, nullability, collations or keys.

    Args:
        excluded: ``(table, column)`` pairs left out of the comparison (``--exclude-columns``).
    """
    differences = []
    for name in sorted(set(source) | set(target)):
        qualified = (source.get(name) or target[name]).qualified
        if name not in target:
            differences.append(SchemaDifference(qualified, None, "table on the source only", "present", None))
            continue
        if name not in source:
            differences.append(SchemaDifference(qualified, None, "table on the target only", None, "present"))
            continue
        src_cols = {c.name: c for c in source[name].columns if (name, c.name) not in excluded}
        tgt_cols = {c.name: c for c in target[name].columns if (name, c.name) not in excluded}
        for column in [*src_cols, *(c for c in tgt_cols if c not in src_cols)]:
            s, t = src_cols.get(column), tgt_cols.get(column)
            if t is None:
                differences.append(SchemaDifference(qualified, column, "column on the source only", s.type, None))
            elif s is None:
                differences.append(SchemaDifference(qualified, column, "column on the target only", None, t.type))
            elif s.type != t.type:
                differences.append(SchemaDifference(qualified, column, "type differs", s.type, t.type))
            elif s.not_null != t.not_null:
                differences.append(SchemaDifference(qualified, column, "nullability differs",
                                                    _null(s.not_null), _null(t.not_null)))
            elif s.collation != t.collation:
                differences.append(SchemaDifference(qualified, column, "collation differs", s.collation or "default",
                                                    t.collation or "default"))
        if source[name].key != target[name].key:
            differences.append(SchemaDifference(qualified, None, "key differs", _key(source[name]),
                                                _key(target[name])))
    return differences


def _null(not_null: bool) -> str:
    return "NOT NULL" if not_null else "NULL"


def _key(table: Table) -> str | None:
    return f"{table.key_kind} ({', '.join(table.key)})" if table.key else None
