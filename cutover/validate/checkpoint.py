"""Checkpoints of a validation run: each finished chunk (and each finished unkeyed table) as one JSON line.

The file (``--checkpoint FILE``; with ``--environment`` by default ``validate-checkpoint.jsonl`` in the
environment's state dir, next to the journal) starts with a ``run`` line holding a fingerprint of what is compared
(both sides' host, port and database, the schema, the tables, each table's key and compared columns); then one
line per finished piece, appended and flushed as it finishes, so a run killed at any moment (``kill -9``) leaves
every finished chunk recorded:

- ``{"kind": "chunk", "table", "seq", "lo", "hi", "rows_source", "rows_target", "missing", "extra",
  "different"}``: a keyed table's chunk ``seq`` (key bounds as key-column texts, ``null`` unbounded), its row
  counts and its differences (each ``{"count": n, "items": [keys]}``);
- ``{"kind": "table", "table", "rows_source", "rows_target", "missing", "extra", "different"}``: an unkeyed
  table compared whole (its items are row hashes and copies).

Keys, counts and hashes only: never a row value, a password or a DSN. ``cutover validate --resume`` reads it back
(:meth:`Checkpoint.resume`): chunks ``0..k`` recorded without a gap are kept and the table continues from chunk
``k``'s upper bound (chunks finished out of order past a gap, at most ``--jobs`` of them, are checked again); a
table recorded whole is not read again. Every kept piece is merged in key order with the new ones, so a resumed
run reports what a run from the start reports.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from cutover.errors import UsageError
from cutover.validate.result import Listing

KINDS = ("missing", "extra", "different")


@dataclass
class Piece:
    """A finished chunk (``seq`` >= 0) or a whole table (``seq`` -1): bounds, counts, differences."""

    table: str
    seq: int
    lo: tuple[str, ...] | None
    hi: tuple[str, ...] | None
    rows_source: int
    rows_target: int
    listings: dict[str, Listing] = field(default_factory=dict)

    @property
    def difference_count(self) -> int:
        return sum(listing.count for listing in self.listings.values())

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": "chunk" if self.seq >= 0 else "table", "table": self.table}
        if self.seq >= 0:
            data.update(seq=self.seq, lo=self.lo, hi=self.hi)
        data.update(rows_source=self.rows_source, rows_target=self.rows_target)
        for kind in KINDS:
            listing = self.listings[kind]
            data[kind] = {"count": listing.count, "items": listing.items}
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], limit: int) -> Piece:
        listings = {kind: Listing(limit, list(data[kind]["items"])[:limit], int(data[kind]["count"]))
                    for kind in KINDS}
        bound = (lambda value: None if value is None else tuple(value))
        return cls(data["table"], int(data.get("seq", -1)), bound(data.get("lo")), bound(data.get("hi")),
                   int(data["rows_source"]), int(data["rows_target"]), listings)


def fingerprint(sides: list[dict[str, str]], schema: str, tables: dict[str, tuple[tuple[str, ...], ...]]) -> str:
    """A hash of what a run compares: each side's ``host``, ``port``, ``dbname`` (``sides``), ``schema`` and per
    table its key and compared columns. A checkpoint resumes only a run with the same fingerprint."""
    text = json.dumps([sides, schema, sorted((t, [list(part) for part in v]) for t, v in tables.items())])
    return hashlib.sha256(text.encode()).hexdigest()


class Checkpoint:
    """The checkpoint file of a run: :meth:`resume` (or :meth:`start`), then :meth:`record` per finished piece."""

    def __init__(self, path: Path, limit: int) -> None:
        self.path, self.limit = path, limit
        self._file: TextIO | None = None

    def resume(self, print_: str) -> dict[str, list[Piece]]:
        """The pieces recorded by an earlier run with fingerprint ``print_``, per table (chunks in ``seq``
        order, only the gap-free prefix); then appends to the file.

        Raises:
            UsageError: no such file, or it was written for another comparison (``--resume``).
        """
        if not self.path.exists():
            raise UsageError("--resume", str(self.path), "no checkpoint there: run `cutover validate` without "
                             "--resume first")
        pieces: dict[str, dict[int, Piece]] = {}
        with self.path.open() as lines:
            for number, line in enumerate(lines):
                try:
                    data = json.loads(line)
                except json.JSONDecodeError:
                    break  # the last line, cut by a kill: that piece is checked again
                if number == 0:
                    if data.get("kind") != "run" or data.get("fingerprint") != print_:
                        raise UsageError("--resume", str(self.path), "that checkpoint was written for another "
                                         "comparison (sides, schema, tables or columns differ): run without --resume")
                    continue
                piece = Piece.from_dict(data, self.limit)
                pieces.setdefault(piece.table, {})[piece.seq] = piece
        kept: dict[str, list[Piece]] = {}
        for table, found in pieces.items():
            if -1 in found:
                kept[table] = [found[-1]]
                continue
            prefix = []
            while len(prefix) in found and (not prefix or found[len(prefix)].lo == prefix[-1].hi):
                prefix.append(found[len(prefix)])
            kept[table] = prefix
        self._rewrite(print_, [p for table in kept.values() for p in table])
        return kept

    def start(self, print_: str) -> None:
        """Begin a new checkpoint file (an earlier one is replaced)."""
        self._rewrite(print_, [])

    def _rewrite(self, print_: str, pieces: list[Piece]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        with temporary.open("w") as out:
            out.write(json.dumps({"kind": "run", "fingerprint": print_}) + "\n")
            for piece in pieces:
                out.write(json.dumps(piece.as_dict()) + "\n")
        temporary.replace(self.path)
        self._file = self.path.open("a")

    def record(self, piece: Piece) -> None:
        """Append ``piece`` and flush it to the operating system (it survives the process being killed)."""
        if self._file is not None:
            self._file.write(json.dumps(piece.as_dict()) + "\n")
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
