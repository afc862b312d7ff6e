"""Operator CLI: ``python -m ops <command>`` (see ``--help``)."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from cdktf_runtime.environment import environment_overrides
from ops.synthesized import DEFAULT_OUTDIR, read_stacks
from ops.terraform import init_offline, validate

STATEFUL_CHANGE_EXIT = 3
"""Exit status of ``diff`` when the plan replaces or destroys a stateful resource nobody acknowledged."""

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
console = Console()


@app.command()
def env() -> None:
    """Print the project's Terraform/cdktf environment as shell ``export`` lines (``eval "$(...)"``)."""
    for key, value in environment_overrides().items():
        print(f"export {key}={shlex.quote(value)}")


@app.command()
def summary(outdir: Path = typer.Option(DEFAULT_OUTDIR, help="cdktf output directory")) -> None:
    """Print each synthesized stack with its resource, import and output counts."""
    table = Table(title=f"Synthesized stacks ({outdir.name})")
    for column in ("stack", "resources", "imports", "outputs", "depends on"):
        table.add_column(column)
    total = 0
    for stack in read_stacks(outdir).values():
        count = stack.resource_count()
        total += count
        table.add_row(stack.name, str(count), str(len(stack.document.get("import", []))),
                      str(len(stack.document.get("output", {}))), ", ".join(stack.dependencies) or "-")
    console.print(table)
    console.print(f"{total} resources in total")


@app.command("validate")
def validate_command(outdir: Path = typer.Option(DEFAULT_OUTDIR, help="cdktf output directory")) -> None:
    """``terraform init -backend=false`` and ``terraform validate`` in every synthesized stack."""
    failed = []
    for stack in read_stacks(outdir).values():
        init_offline(stack.directory)
        result = validate(stack.directory)
        report = json.loads(result.stdout)
        status = "valid" if report["valid"] else "INVALID"
        console.print(f"{stack.name}: {status} ({report['warning_count']} warnings)")
        if not report["valid"]:
            failed.append(stack.name)
            for diagnostic in report["diagnostics"]:
                console.print(f"  {diagnostic['severity']}: {diagnostic['summary']} {diagnostic.get('detail', '')}")
    if failed:
        raise typer.Exit(1)


@app.command("security-scan")
def security_scan(
    outdir: Path = typer.Option(DEFAULT_OUTDIR, help="cdktf output directory"),
    environment: str = typer.Option("dev", help="environment the output was synthesized for (selects skips)"),
) -> None:
    """checkov over every synthesized stack; fails on findings not in security/checkov_skips.toml."""
    from ops.security_scan import evaluate, load_skips, run_checkov

    results, stale = evaluate(run_checkov(outdir / "stacks"), environment, load_skips())
    table = Table(title=f"checkov ({environment})")
    for column in ("stack", "passed", "failed", "skipped"):
        table.add_column(column)
    for name, result in sorted(results.items()):
        table.add_row(name, str(result.passed), str(len(result.failed)), str(len(result.skipped)))
    console.print(table)
    for name, result in sorted(results.items()):
        for finding in result.failed:
            console.print(f"FAILED {finding.check} {name} {finding.resource}: {finding.title}")
    for skip in stale:
        console.print(f"STALE skip {skip.check} ({skip.reason}): matches no finding; remove it")
    if stale or any(result.failed for result in results.values()):
        raise typer.Exit(1)


@app.command("diff")
def diff_command(
    outdir: Path = typer.Option(DEFAULT_OUTDIR, help="cdktf output directory (synthesized beforehand; for "
                                "environment local: synthesized here against the running emulator)"),
    exclude: list[str] = typer.Option([], help="stack to leave out (repeatable)"),
    markdown: Path | None = typer.Option(None, help="also write the Markdown summary to this file"),
    title: str = typer.Option("", help="heading of the summary (default: 'cdktf diff: <environment>')"),
    allow_destroy: list[str] = typer.Option([], "--allow-destroy", metavar="ADDRESS", help=(
        "acknowledge the replacement or destruction of this stateful resource (address, or <stack>:<address>; "
        "repeatable)")),
) -> None:
    """``cdktf diff`` for every synthesized stack, then one summary: add/change/destroy/replace/import per stack,
    stateful replacements and deletions called out. Environment ``local``: synthesized against the running emulated
    AWS (``make deploy-local``) first. Exits 1 when a stack could not be planned or no emulator runs, 3 when the
    plan replaces, destroys or disables a stateful resource that no ``--allow-destroy`` acknowledges."""
    from rich.markdown import Markdown

    from config.settings import EMULATOR_ENVIRONMENT, selected_environment
    from emulator import EmulatorError
    from ops.diff import diff_all, synthesize_local
    from ops.plan_summary import render_markdown, unacknowledged

    environment = selected_environment()
    if environment == EMULATOR_ENVIRONMENT and outdir == DEFAULT_OUTDIR:
        try:
            outdir = synthesize_local()
        except EmulatorError as error:
            console.print(f"[red]{error}[/red]")
            raise typer.Exit(1) from None
    plans = diff_all(outdir, exclude=exclude)
    text = render_markdown(plans, title or f"cdktf diff: {environment}", allow_destroy)
    if markdown:
        markdown.write_text(text, encoding="utf-8")
    console.print(Markdown(text))
    if any(plan.error for plan in plans):
        raise typer.Exit(1)
    pending = unacknowledged(plans, allow_destroy)
    if pending:
        console.print("[red]Stateful resources would be replaced or destroyed; after review, acknowledge each with "
                      + " ".join(f"--allow-destroy {stack}:{alert.address}" for stack, alert in pending) + "[/red]")
        raise typer.Exit(STATEFUL_CHANGE_EXIT)


@app.command("diagram")
def diagram_command(
    outdir: Path = typer.Option(DEFAULT_OUTDIR, help="cdktf output directory (synthesized beforehand)"),
    output: Path = typer.Option(Path("docs"), help="folder for architecture.svg and architecture.png"),
) -> None:
    """Render the architecture (stacks, resources, cross-stack references, regions) to SVG and PNG (Graphviz)."""
    from config.settings import selected_environment
    from ops.diagram import build_architecture, render

    environment = selected_environment()
    architecture = build_architecture(read_stacks(outdir))
    title = f"Payment migration ({environment}): stacks, resources, cross-stack references, regions"
    for path in render(architecture, title, output):
        console.print(f"wrote {path}")
    console.print(f"{len(architecture.resources)} nodes, {len(architecture.edges)} references "
                  f"({len(architecture.cross_stack_edges())} cross-stack), regions: {', '.join(architecture.regions)}")


@app.command("dms-credentials")
def dms_credentials(environment: str = typer.Option(None, help="environment (default: $PAYMIG_ENVIRONMENT or dev)")) -> None:
    """Write the DMS endpoint secrets from the RDS-managed master secrets (values are never printed)."""
    from config import load_config
    from ops.dms_credentials import clients, endpoints_of, write_dms_credentials

    config = load_config(environment)
    rds, secretsmanager = clients(config)
    for name in write_dms_credentials(rds, secretsmanager, endpoints_of(config)):
        console.print(f"wrote {name} (engine, host, port, dbname, username, password)")


@app.command("deploy-local")
def deploy_local_command(workers: int = typer.Option(3, help="stacks applied side by side when independent")) -> None:
    """Deploy every stack of the ``local`` environment onto the embedded emulated AWS, then print the outputs."""
    from emulator import EmulatorError
    from ops.deploy import TerraformFailed
    from ops.local import deploy_local

    try:
        deploy_local(console, workers)
    except (EmulatorError, TerraformFailed) as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from None


@app.command("destroy-local")
def destroy_local_command(workers: int = typer.Option(3, help="stacks destroyed side by side when independent")) -> None:
    """Destroy every stack of the local deployment in reverse order and stop the emulated AWS."""
    from ops.deploy import TerraformFailed
    from ops.local import destroy_local

    try:
        destroy_local(console, workers)
    except TerraformFailed as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from None


@app.command("state")
def state_command(
    stack: str = typer.Argument(..., help="stack name, e.g. data"),
    address: str = typer.Argument(None, help="resource address to show (default: list every address)"),
    outdir: Path = typer.Option(None, help="synthesized output (default: the local deployment's)"),
) -> None:
    """List a stack's resources (``terraform state list``) or show one (``state show``), through its backend."""
    from emulator import EmulatorError
    from ops.deploy import TerraformFailed
    from ops.local import LOCAL_OUTDIR, show_state

    try:
        print(show_state(stack, address, outdir or LOCAL_OUTDIR), end="")
    except (EmulatorError, KeyError, TerraformFailed) as error:
        console.print(f"[red]{error.args[0] if isinstance(error, KeyError) else error}[/red]")
        raise typer.Exit(1) from None


@app.command("emulator-stop")
def emulator_stop() -> None:
    """Stop the developer's emulated AWS (everything deployed on it is gone)."""
    from emulator import LocalSession
    from ops.local import LOCAL_STATE_DIR

    console.print("emulator stopped" if LocalSession(LOCAL_STATE_DIR).stop() else "no emulator was running")


if __name__ == "__main__":
    app()
