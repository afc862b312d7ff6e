"""Imports every command module so that each registers its commands on the app (one line per group)."""

from __future__ import annotations

from cutover.cli import preflight  # noqa: F401
from cutover.cli import schema  # noqa: F401
from cutover.cli import roles  # noqa: F401
from cutover.cli import validate  # noqa: F401
from cutover.cli import sequences  # noqa: F401
from cutover.cli import status  # noqa: F401
from cutover.cli import replication  # noqa: F401
from cutover.cli import switch  # noqa: F401
from cutover.cli import checkpoint  # noqa: F401
