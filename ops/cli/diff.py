"""``ops diff``: plan every synthesized stack and print one summary (``ops.diff``, ``ops.plan_summary``)."""

from __future__ import annotations

from pathlib import Path

import typer

from ops.cli.terminal import ExitCode, terminal
from terraform_driver.synthesized import DEFAULT_OUTDIR


def diff(
    outdir: Path = typer.Option(DEFAULT_OUTDIR, help="cdktf output directory (synthesized beforehand; for "
                                "environment local: synthesized here against the running emulator)"),
    exclude: list[str] = typer.Option([], help="stack to leave out (repeatable)"),
    markdown: Path | None = typer.Option(None, help="also write the Markdown summary to this file"),
    title: str = typer.Option("", help="heading of the summary (default: 'cdktf diff: <environment>')"),
    allow_destroy: list[str] = typer.Option([], "--allow-destroy", metavar="ADDRESS", help=(
        "acknowledge the replacement or destruction of this stateful resource (address, or <stack>:<address>; "
        "repeatable)")),
) -> None:
    """Plan every synthesized stack, then one summary: add/change/destroy/replace/import per stack, stateful
    replacements and deletions called out. Environment ``local``: synthesized against the running emulated AWS
    (``make deploy-local``) first. Exits 1 when a stack could not be planned or no emulator runs, 3 when the plan
    replaces, destroys or disables a stateful resource that no ``--allow-destroy`` acknowledges."""
    from rich.markdown import Markdown

    from config import EMULATOR_ENVIRONMENT, selected_environment
    from ops.diff import diff_all, synthesize_local
    from ops.plan_summary import render_markdown, unacknowledged

    environment = selected_environment()
    if environment == EMULATOR_ENVIRONMENT and outdir == DEFAULT_OUTDIR:
        outdir = synthesize_local()
    plans = diff_all(outdir, exclude=exclude)
    text = render_markdown(plans, title or f"cdktf diff: {environment}", allow_destroy)
    if markdown:
        markdown.write_text(text, encoding="utf-8")
    terminal.print(Markdown(text))
    if any(plan.error for plan in plans):
        raise typer.Exit(1)
    pending = unacknowledged(plans, allow_destroy)
    if pending:
        terminal.error("stateful resources would be replaced or destroyed; after review, acknowledge each with "
                       + " ".join(f"--allow-destroy {stack}:{alert.address}" for stack, alert in pending))
        raise typer.Exit(ExitCode.STATEFUL_CHANGE)
