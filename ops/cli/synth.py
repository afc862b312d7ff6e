"""``ops synth ...``: what ``cdktf synth`` wrote into ``cdktf.out``: summary, validate, security-scan, diagram, and
the HCL exit path (``hcl``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from ops.cli.terminal import JSON, terminal
from terraform_driver.synthesized import DEFAULT_OUTDIR

app = typer.Typer(no_args_is_help=True, help="Synthesized stacks: summary, validate, security-scan, diagram, hcl.")

OUTDIR = typer.Option(DEFAULT_OUTDIR, help="cdktf output directory (synthesized beforehand)")


@app.command()
def summary(outdir: Path = OUTDIR, as_json: bool = JSON) -> None:
    """Print each synthesized stack (dependency order) with its resource, import and output counts, and the
    environment they were synthesized for: a table on a terminal, one line a stack otherwise, or JSON
    (``{"environment", "stacks": [...], "resources": total}``)."""
    from terraform_driver import read_stacks

    found = read_stacks(outdir)
    stacks = [{"stack": stack.name, "resources": stack.resource_count(),
               "imports": len(stack.document.get("import", [])), "outputs": len(stack.document.get("output", {})),
               "depends_on": list(stack.dependencies)} for stack in found.values()]
    total = sum(stack["resources"] for stack in stacks)
    environment = _environment(found.values())
    if as_json:
        terminal.json({"outdir": str(outdir), "environment": environment, "stacks": stacks, "resources": total})
        return
    terminal.listing(f"Synthesized stacks of {environment} ({outdir.name})",
                     ("stack", "resources", "imports", "outputs", "depends on"),
                     ((s["stack"], str(s["resources"]), str(s["imports"]), str(s["outputs"]),
                       ", ".join(s["depends_on"]) or "-") for s in stacks),
                     lambda r: f"{r[0]}: {r[1]} resources, {r[2]} imports, {r[3]} outputs, depends on {r[4]}")
    terminal.print(f"{total} resources in total (environment {environment})")


def _environment(stacks: Any) -> str:
    """The environment the stacks were synthesized for: the ``Environment`` tag of their AWS provider's
    ``default_tags`` (every stack sets it), or ``unknown``."""
    for stack in stacks:
        for provider in stack.document.get("provider", {}).get("aws", []):
            for block in provider.get("default_tags", []):
                if block.get("tags", {}).get("Environment"):
                    return str(block["tags"]["Environment"])
    return "unknown"


@app.command()
def validate(outdir: Path = OUTDIR) -> None:
    """``terraform init -backend=false`` and ``terraform validate`` in every synthesized stack; exit 1 if any is
    invalid."""
    from terraform_driver import read_stacks

    failed = []
    for stack in read_stacks(outdir).values():
        terraform = stack.terraform()
        terraform.init(backend=False)
        report = terraform.validate()
        terminal.print(f"{stack.name}: {'valid' if report['valid'] else 'INVALID'} "
                       f"({report['warning_count']} warnings)")
        if not report["valid"]:
            failed.append(stack.name)
            for diagnostic in report["diagnostics"]:
                terminal.print(f"  {diagnostic['severity']}: {diagnostic['summary']} {diagnostic.get('detail', '')}")
    if failed:
        raise typer.Exit(1)


@app.command("security-scan")
def security_scan(
    outdir: Path = OUTDIR,
    environment: str = typer.Option("dev", help="environment the output was synthesized for (selects skips)"),
) -> None:
    """checkov over every synthesized stack; fails on findings not in security/checkov_skips.toml."""
    from ops.security_scan import evaluate, load_skips, run_checkov

    results, stale = evaluate(run_checkov(outdir / "stacks"), environment, load_skips())
    terminal.listing(f"checkov ({environment})", ("stack", "passed", "failed", "skipped"),
                     ((name, str(r.passed), str(len(r.failed)), str(len(r.skipped))) for name, r in sorted(results.items())),
                     lambda r: f"{r[0]}: {r[1]} passed, {r[2]} failed, {r[3]} skipped")
    for name, result in sorted(results.items()):
        for finding in result.failed:
            terminal.print(f"FAILED {finding.check} {name} {finding.resource}: {finding.title}")
    for skip in stale:
        terminal.print(f"STALE skip {skip.check} ({skip.reason}): matches no finding; remove it")
    if stale or any(result.failed for result in results.values()):
        raise typer.Exit(1)


@app.command()
def diagram(
    outdir: Path = OUTDIR,
    output: Path = typer.Option(Path("docs"), help="folder for architecture.svg and architecture.png"),
) -> None:
    """Render the architecture (stacks, resources, cross-stack references, regions) to SVG and PNG (Graphviz)."""
    from config import selected_environment
    from ops.diagram import build_architecture, render
    from terraform_driver import read_stacks

    environment = selected_environment()
    architecture = build_architecture(read_stacks(outdir))
    title = f"Payment migration ({environment}): stacks, resources, cross-stack references, regions"
    for path in render(architecture, title, output):
        terminal.print(f"wrote {path}")
    terminal.print(f"{len(architecture.resources)} nodes, {len(architecture.edges)} references "
                   f"({len(architecture.cross_stack_edges())} cross-stack), regions: {', '.join(architecture.regions)}")


@app.command()
def hcl(output: Path = typer.Option(Path("hcl.out"), help="folder to write (replaced)")) -> None:
    """Write every stack as HCL (``cdktf synth --hcl``) into ``output``/stacks/<stack>/cdk.tf: the way out of cdktf."""
    import shutil
    import subprocess

    from cdktf_runtime.environment import PROJECT_ROOT, environment_overrides
    from terraform_driver.environment import process_environment

    shutil.rmtree(output, ignore_errors=True)
    cdktf = PROJECT_ROOT / "node_modules" / ".bin" / "cdktf"
    completed = subprocess.run([str(cdktf), "synth", "--hcl", "--output", str(output)], cwd=PROJECT_ROOT,
                               env=process_environment(environment_overrides()), check=False)
    if completed.returncode != 0:
        raise typer.Exit(completed.returncode)
