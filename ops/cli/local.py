"""``ops local ...``: the ``local`` environment on the embedded emulated AWS (``ops.local``): deploy, outputs,
state, destroy, emulator-stop."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from ops.cli.terminal import JSON, terminal

if TYPE_CHECKING:
    from ops.local import StackOutput

app = typer.Typer(no_args_is_help=True, help="The local environment on the emulated AWS: deploy, outputs, state, "
                  "destroy, emulator-stop.")

OUTDIR = typer.Option(None, help="synthesized output (default: the local deployment's, .state/local/cdktf.out)")


@app.command()
def deploy(workers: int = typer.Option(3, help="stacks applied side by side when independent"),
           as_json: bool = JSON) -> None:
    """Deploy every stack of the ``local`` environment onto the embedded emulated AWS, then print the outputs
    (progress on stderr; outputs on stdout: a table on a terminal, ``stack.output = value`` lines otherwise)."""
    from ops.local import deploy_local, stack_outputs

    stacks = deploy_local(terminal.err, workers)
    print_outputs(stack_outputs(stacks), as_json)


@app.command()
def outputs(outdir: Path = OUTDIR, as_json: bool = JSON) -> None:
    """Print every stack's outputs as deployed (``terraform output``): a table on a terminal, ``stack.output =
    value`` lines otherwise, or JSON (``{stack: {output: value}}``). Sensitive values are never printed."""
    from ops.local import LOCAL_OUTDIR, deployed_outputs

    print_outputs(deployed_outputs(outdir or LOCAL_OUTDIR), as_json)


def print_outputs(outputs: list[StackOutput], as_json: bool) -> None:
    """Outputs as JSON, a table (terminal) or ``stack.output = value`` lines; sensitive ones as ``(sensitive)``
    (left out of the JSON)."""
    from ops.local import outputs_document

    if as_json:
        terminal.json(outputs_document(outputs))
        return
    terminal.listing("Outputs", ("stack", "output", "value"),
                     ((output.stack, output.name, output.shown()) for output in outputs),
                     lambda row: f"{row[0]}.{row[1]} = {row[2]}")


@app.command()
def state(
    stack: str = typer.Argument(..., help="stack name, e.g. data"),
    address: str = typer.Argument(None, help="resource address to show (default: list every address)"),
    outdir: Path = OUTDIR,
    as_json: bool = typer.Option(False, "--json", help="JSON on stdout: the list of addresses, or the resource "
                                 "as `terraform show -json` has it (sensitive values replaced)"),
) -> None:
    """List a stack's resources (``terraform state list``) or show one (``state show``), through its backend."""
    from ops.local import LOCAL_OUTDIR, show_state, state_document

    if as_json:
        terminal.json(state_document(stack, address, outdir or LOCAL_OUTDIR))
        return
    print(show_state(stack, address, outdir or LOCAL_OUTDIR), end="")


@app.command()
def destroy(workers: int = typer.Option(3, help="stacks destroyed side by side when independent")) -> None:
    """Destroy every stack of the local deployment in reverse order and stop the emulated AWS."""
    from ops.local import destroy_local

    destroy_local(terminal.out, workers)


@app.command("emulator-stop")
def emulator_stop() -> None:
    """Stop the developer's emulated AWS (everything deployed on it is gone)."""
    from emulator import LocalSession
    from ops.local import LOCAL_STATE_DIR

    terminal.print("emulator stopped" if LocalSession(LOCAL_STATE_DIR).stop() else "no emulator was running")
