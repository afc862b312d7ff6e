"""Sequences on both sides and ``cutover sequences sync``: move each target sequence past the source's value.

DMS does not replicate sequence values (DMS user guide, "Limitations on using a PostgreSQL database as a DMS
source"): before the target takes writes, each of its sequences must be ahead of every value the source handed
out. Read from ``pg_sequences`` (PostgreSQL docs 54.23); set with ``setval`` (9.17).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cutover.cli.terminal import CutoverError, ExitCode, UsageError

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

    @property
    def behind(self) -> bool:
        """Whether the target would hand out a value the source already has."""
        return self.on_source and self.on_target and self.source is not None and \
            (self.target is None or self.target < self.source)

    def as_dict(self) -> dict[str, Any]:
        return {"sequence": self.name, "source": self.source, "target": self.target, "behind": self.behind,
                "on_source": self.on_source, "on_target": self.on_target}


_READ = "SELECT sequencename, last_value, increment_by FROM pg_sequences WHERE schemaname = %s ORDER BY 1"


def sequence_states(source: Any, target: Any, schema: str) -> list[SequenceState]:
    """Every sequence of ``schema`` on either side with its ``last_value`` there (two open connections)."""
    src = {name: (value, inc) for name, value, inc in source.execute(_READ, (schema,))}
    tgt = {name: (value, inc) for name, value, inc in target.execute(_READ, (schema,))}
    return [SequenceState(f"{schema}.{name}", src.get(name, (None,))[0], tgt.get(name, (None,))[0],
                          name in src, name in tgt, (src.get(name) or tgt[name])[1])
            for name in sorted(set(src) | set(tgt))]


def sync_sequences(source_dsn: str, target_dsn: str, schema: str = "public", margin: int = DEFAULT_MARGIN
                   ) -> list[tuple[SequenceState, int | None]]:
    """Set every target sequence that is behind to the source's ``last_value + margin`` (never backwards).

    Returns:
        Each sequence with the value it was set to (``None``: left as it was).

    Raises:
        UsageError: ``margin`` below 1. CutoverError: a sequence exists on one side only or descends (exit 1).
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
