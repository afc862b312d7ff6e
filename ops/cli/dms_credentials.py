"""``ops dms-credentials``: the runbook step that writes the DMS endpoint secrets (``ops.dms_credentials``)."""

from __future__ import annotations

import typer

from ops.cli.terminal import terminal


def dms_credentials(environment: str = typer.Option(None, help="environment (default: $PAYMIG_ENVIRONMENT or dev)")) -> None:
    """Write the DMS endpoint secrets from the RDS-managed master secrets (values are never printed)."""
    from config import load_config
    from ops.dms_credentials import clients, endpoints_of, write_dms_credentials

    config = load_config(environment)
    rds, secretsmanager = clients(config)
    for name in write_dms_credentials(rds, secretsmanager, endpoints_of(config)):
        terminal.print(f"wrote {name} (engine, host, port, dbname, username, password)")
