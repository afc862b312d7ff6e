"""The operator CLI, ``python -m ops`` (the Makefile calls it), one module per command group, hatch-style:

- ``ops synth ...`` (``ops.cli.synth``): what was synthesized into ``cdktf.out``: summary, validate, security-scan,
  diagram, hcl;
- ``ops local ...`` (``ops.cli.local``): the ``local`` environment on the embedded emulated AWS: deploy, destroy,
  state, emulator-stop;
- ``ops diff`` (``ops.cli.diff``): plan every stack and summarize;
- ``ops env`` (here): the Terraform/cdktf environment as shell ``export`` lines.

Each group module imports only typer at start-up and its command's work inside the command, so ``--help`` and
``ops env`` stay fast. ``main`` is the error boundary (``cli_common.boundary.run``): an expected failure is one red
line on stderr, ``error: <what failed>; <what to do>``, and its exit code (``ops.cli.terminal.ExitCode``: 1
failed, 2 usage or configuration, 3 AWS unusable), printed by the one ``terminal``. Results a script may read
have ``--json``.
"""

from __future__ import annotations

import shlex

import typer

from cli_common.boundary import run
from ops.cli import diff, local, synth
from ops.cli.terminal import EXIT_CODES, EXIT_CODES_HELP, terminal

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  pretty_exceptions_show_locals=False, epilog=EXIT_CODES_HELP,
                  help="Operator commands around cdktf and Terraform: synth, diff, local, env.")
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
    """Run the CLI. An expected failure (``cli_common.failures.describe``) prints one line on stderr and exits
    with its code (``ops.cli.terminal.EXIT_CODES``)."""
    run(app, argv, prog_name="python -m ops", terminal=terminal, exit_codes=EXIT_CODES)
