"""Imports every command module so that each registers its commands on the app (one line per group)."""

from __future__ import annotations

# from cutover.cli import validate  # noqa: F401   <- each command group adds one line here
from cutover.cli import status  # noqa: F401,E402
from cutover.cli import replication  # noqa: F401,E402
from cutover.cli import switch  # noqa: F401,E402
