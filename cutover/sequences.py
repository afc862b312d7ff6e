"""Sequences on both sides and ``cutover sequences sync``: move each target sequence past the source's value.

DMS does not replicate sequence values (DMS user guide, "Limitations on using a PostgreSQL database as a DMS
source"): before the target takes writes, each of its sequences must be ahead of every value the source handed
out. Read from ``pg_sequences`` (PostgreSQL docs 54.23); set with ``setval`` (9.17).

``pg_sequences.last_value`` is NULL both for a sequence never used and for one the current role has neither USAGE
nor SELECT on (PostgreSQL docs 54.23). On RDS the master user is not a superuser (RDS user guide, "Understanding
PostgreSQL roles and permissions"): a sequence created by another owner can be unreadable to it. ``sequences sync``
therefore checks the privilege (``has_sequence_privilege``, docs 9.26) and fails naming the sequence and the
privilege missing (USAGE or SELECT to read it, UPDATE to ``setval`` it on the target) instead of taking NULL as
"never used" and skipping it: a skipped sequence lets the new writer hand out ids that collide.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cutover.errors import CutoverError, ExitCode, UsageError

DEFAULT_MARGIN = 1000
"""Values skipped past the source's last value (writes that reach the source during the switch)."""


@dataclass(frozen=True)
class SequenceState:
    """One sequence on both sides: ``last_value`` (``None``: never used, or absent) and whether it exists."""

    name: str
    source: int | None
    target: int | None
    on_source: bool = True
    on_target: bool = True
    increment: int = 1
    source_readable: bool = True
    """The reading role has USAGE or SELECT on it on the source (else ``source`` is NULL whatever its value)."""
    target_readable: bool = True
    target_updatable: bool = True
    """The role has UPDATE on it on the target (``setval`` needs it)."""

    @property
    def behind(self) -> bool:
        """Whether the target would hand out a value the source already has."""
        return self.on_source and self.on_target and self.source is not None and \
            (self.target is None or self.target < self.source)

    def as_dict(self) -> dict[str, Any]:
        return {"sequence": self.name, "source": self.source, "target": self.target, "behind": self.behind,
                "on_source": self.on_source, "on_target": self.on_target}


_READ = ("SELECT sequencename, last_value, increment_by, "
         "has_sequence_privilege(format('%%I.%%I', schemaname, sequencename), 'USAGE, SELECT'), "
         "has_sequence_privilege(format('%%I.%%I', schemaname, sequencename), 'UPDATE') "
         "FROM pg_sequences WHERE schemaname = %s ORDER BY 1")


def sequence_states(source: Any, target: Any, schema: str) -> list[SequenceState]:
    """Every sequence of ``schema`` on either side with its ``last_value`` there (two open connections)."""
    src = {row[0]: row[1:] for row in source.execute(_READ, (schema,))}
    tgt = {row[0]: row[1:] for row in target.execute(_READ, (schema,))}
    none = (None, 1, True, True)
    return [SequenceState(f"{schema}.{name}", src.get(name, none)[0], tgt.get(name, none)[0],
                          name in src, name in tgt, (src.get(name) or tgt[name])[1], src.get(name, none)[2],
                          tgt.get(name, none)[2], tgt.get(name, none)[3])
            for name in sorted(set(src) | set(tgt))]


def missing_privileges(states: list[SequenceState]) -> list[str]:
    """``"<sequence>: <privilege> on the <side>"`` for each sequence ``sync`` could not read or set."""
    missing = [f"{s.name}: USAGE or SELECT on the source" for s in states if s.on_source and not s.source_readable]
    missing += [f"{s.name}: USAGE or SELECT on the target" for s in states if s.on_target and not s.target_readable]
    return missing + [f"{s.name}: UPDATE on the target" for s in states if s.on_target and not s.target_updatable]


def sync_sequences(source_dsn: str, target_dsn: str, schema: str = "public", margin: int = DEFAULT_MARGIN
                   ) -> list[tuple[SequenceState, int | None]]:
    """Set every target sequence that is behind to the source's ``last_value + margin`` (never backwards).

    Returns:
        Each sequence with the value it was set to (``None``: left as it was).

    Raises:
        UsageError: ``margin`` below 1. CutoverError: a sequence exists on one side only or descends, or the roles
            miss a privilege on one (USAGE or SELECT to read it, UPDATE on the target; the message names the
            sequence and the privilege; exit 1): nothing is set.
    """
    from cutover.postgres import connect

    if margin < 1:
        raise UsageError("--margin", margin, "must be at least 1")
    with connect(source_dsn, side="source", autocommit=True) as src, \
            connect(target_dsn, side="target") as tgt:
        states = sequence_states(src, tgt, schema)
        one_sided = [s.name for s in states if not (s.on_source and s.on_target)]
        if one_sided:
            raise CutoverError(f"sequences on one side only: {', '.join(one_sided)}", exit_code=ExitCode.DIFFERENT)
        missing = missing_privileges(states)
        if missing:
            raise CutoverError(f"sequences the roles cannot read or set (grant the privilege, then sync again): "
                               f"{'; '.join(missing)}", exit_code=ExitCode.DIFFERENT)
        descending = [s.name for s in states if s.increment < 0]
        if descending:
            raise CutoverError(f"descending sequences are not supported: {', '.join(descending)}",
                               exit_code=ExitCode.DIFFERENT)
        done = []
        for state in states:
            value = state.source + margin if state.behind and state.source is not None else None
            if value is not None:
                tgt.execute("SELECT setval(%s::regclass, %s, true)", (state.name, value))
            done.append((state, value))
        tgt.commit()  # all or nothing
    return done
