"""``ops local ...``: the ``local`` environment on the embedded emulated AWS (``ops.local``): deploy, destroy,
state, emulator-stop."""

from __future__ import annotations

from pathlib import Path

import typer

from ops.cli.terminal import terminal

app = typer.Typer(no_args_is_help=True, help="The local environment on the emulated AWS: deploy, destroy, state, "
                  "emulator-stop.")


@app.command()
def deploy(workers: int = typer.Option(3, help="stacks applied side by side when independent")) -> None:
    """Deploy every stack of the ``local`` environment onto the embedded emulated AWS, then print the outputs."""
    from ops.local import deploy_local

    deploy_local(terminal.out, workers)


@app.command()
def destroy(workers: int = typer.Option(3, help="stacks destroyed side by side when independent")) -> None:
    """Destroy every stack of the local deployment in reverse order and stop the emulated AWS."""
    from ops.local import destroy_local

    destroy_local(terminal.out, workers)


@app.command()
def state(
    stack: str = typer.Argument(..., help="stack name, e.g. data"),
    address: str = typer.Argument(None, help="resource address to show (default: list every address)"),
    outdir: Path = typer.Option(None, help="synthesized output (default: the local deployment's)"),
) -> None:
    """List a stack's resources (``terraform state list``) or show one (``state show``), through its backend."""
    from ops.local import LOCAL_OUTDIR, show_state

    print(show_state(stack, address, outdir or LOCAL_OUTDIR), end="")


@app.command("emulator-stop")
def emulator_stop() -> None:
    """Stop the developer's emulated AWS (everything deployed on it is gone)."""
    from emulator import LocalSession
    from ops.local import LOCAL_STATE_DIR

    terminal.print("emulator stopped" if LocalSession(LOCAL_STATE_DIR).stop() else "no emulator was running")
