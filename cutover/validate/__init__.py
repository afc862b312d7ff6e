"""``cutover validate``: prove that source and target hold the same rows, table by table, keys only in the output.

- :mod:`cutover.validate.rowhash`: how each column is normalised by its type and hashed, and the row's 64-bit hash,
  in PostgreSQL;
- :mod:`cutover.validate.ranges`: key ranges and first-pass buckets;
- :mod:`cutover.validate.compare`: one table, bucket checksums then mismatching ranges down to keys;
- :mod:`cutover.validate.run`: snapshots, both sides at once, ``--jobs``, the re-check;
- :mod:`cutover.validate.result`: the report and its JSON contract.
"""

from cutover.validate.result import TableResult, ValidationReport
from cutover.validate.run import ValidateOptions, validate

__all__ = ["TableResult", "ValidateOptions", "ValidationReport", "validate"]
