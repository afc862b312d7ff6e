"""The operator CLI, ``python -m ops`` (the Makefile calls it), one module per command group, hatch-style:

- ``ops synth ...`` (``ops.cli.synth``): what was synthesized into ``cdktf.out``: summary, validate, security-scan,
  diagram, hcl;
- ``ops local ...`` (``ops.cli.local``): the ``local`` environment on the embedded emulated AWS: deploy, destroy,
  state, emulator-stop;
- ``ops diff`` (``ops.cli.diff``): plan every stack and summarize;
- ``ops env`` (here): the Terraform/cdktf environment as shell ``export`` lines.

Each group module imports only typer at start-up and its command's work inside the command, so ``--help`` and
``ops env`` stay fast. ``main`` is the error boundary: an expected failure is one red message on stderr and exit
code 1 (2 for bad configuration or usage), printed by the one ``terminal``.
"""

from __future__ import annotations

import shlex
import sys

import typer

from ops.cli import diff, local, synth
from ops.cli.terminal import expected_error, terminal

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Operator commands around cdktf and Terraform: synth, local, diff, env.")
app.add_typer(synth.app, name="synth")
app.add_typer(local.app, name="local")
app.command("diff")(diff.diff)


@app.command()
def env() -> None:
    """Print the project's Terraform/cdktf environment as shell ``export`` lines (``eval "$(...)"``)."""
    from cdktf_runtime.environment import environment_overrides

    for key, value in environment_overrides().items():
        print(f"export {key}={shlex.quote(value)}")


def main(argv: list[str] | None = None) -> None:
    """Run the CLI. An expected failure (``terminal.expected_error``) prints its message and exits 1 or 2."""
    try:
        app(args=argv, prog_name="python -m ops")
    except Exception as error:  # the boundary: expected failures are reported, anything else is a bug
        code = expected_error(error)
        if code is None:
            raise
        terminal.error(error)
        sys.exit(int(code))
