"""``ops diff``: plan every synthesized stack and print one summary (``ops.diff``, ``ops.plan_summary``)."""

from __future__ import annotations

from pathlib import Path

import typer

from ops.cli.terminal import JSON, ExitCode, terminal
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
    as_json: bool = JSON,
) -> None:
    """Plan every synthesized stack, then one summary: add/change/destroy/replace/import per stack, stateful
    replacements and deletions called out (rendered on a terminal, Markdown text in a log or pipe, or JSON).
    Environment ``local``: synthesized against the running emulated AWS (``make deploy-local``) first. Exits 1 when
    a stack could not be planned, 3 when no emulator runs, 4 when the plan replaces, destroys or disables a stateful
    resource that no ``--allow-destroy`` acknowledges."""
    from config import EMULATOR_ENVIRONMENT, selected_environment
    from ops.diff import diff_all, synthesize_local
    from ops.plan_summary import plans_document, render_markdown, unacknowledged

    environment = selected_environment()
    if environment == EMULATOR_ENVIRONMENT and outdir == DEFAULT_OUTDIR:
        outdir = synthesize_local()
    plans = diff_all(outdir, exclude=exclude)
    heading = title or f"cdktf diff: {environment}"
    text = render_markdown(plans, heading, allow_destroy)
    if markdown:
        markdown.write_text(text, encoding="utf-8")
    if as_json:
        terminal.json(plans_document(plans, heading))
    elif terminal.on_terminal:
        from rich.markdown import Markdown

        terminal.print(Markdown(text))
    else:
        terminal.print(text.rstrip("\n"))
    if any(plan.error for plan in plans):
        raise typer.Exit(1)
    pending = unacknowledged(plans, allow_destroy)
    if pending:
        terminal.error("stateful resources would be replaced or destroyed; after review, acknowledge each with "
                       + " ".join(f"--allow-destroy {stack}:{alert.address}" for stack, alert in pending))
        raise typer.Exit(ExitCode.STATEFUL_CHANGE)
