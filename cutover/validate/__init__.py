"""``cutover validate``: prove that source and target hold the same rows, table by table, keys only in the output.

- :mod:`cutover.validate.rowhash`: how each column is normalised by its type and hashed, and the row's 64-bit hash,
  in PostgreSQL;
- :mod:`cutover.validate.ranges`: key ranges and a chunk's buckets;
- :mod:`cutover.validate.chunks`: a keyed table cut into chunks sized to ``--chunk-time``;
- :mod:`cutover.validate.compare`: one chunk (or an unkeyed table), bucket checksums then mismatching ranges down to
  keys;
- :mod:`cutover.validate.throttle`: pauses while the source is busy or its replication lags;
- :mod:`cutover.validate.checkpoint`: finished chunks recorded, ``--resume``;
- :mod:`cutover.validate.run`: a short snapshot per chunk and side, ``--jobs`` connections, the re-check;
- :mod:`cutover.validate.result`: the report and its JSON contract.
"""

from cutover.validate.result import TableResult, ValidationReport
from cutover.validate.run import ValidateOptions, validate

__all__ = ["TableResult", "ValidateOptions", "ValidationReport", "validate"]
