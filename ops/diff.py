"""The plan of every synthesized stack, summarized with ``ops.plan_summary`` (``make diff``).

Each stack is planned the way ``cdktf diff <stack>`` plans it, through ``terraform_driver``: ``terraform init``
(through the stack's backend), ``terraform plan -out plan`` in ``cdktf.out/stacks/<stack>``, and the saved plan read
back with ``terraform show -json plan``. Against the ``local`` environment (the default of ``make diff``) the stacks
are first synthesized against the developer's running emulated AWS (``make deploy-local``, ``ops.local``), so that
the plans compare with what was deployed there. Terraform options from the environment apply (CI sets
``TF_CLI_ARGS_plan=-lock=false`` for its read-only plan role).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from ops.plan_summary import StackPlan, failed_plan, summarize_plan
from terraform_driver import Terraform, TerraformError, UnknownStack, read_stacks

PLAN_FILE = "plan"
"""Name of the plan file written in a stack's directory (the name ``cdktf diff`` uses)."""


def diff_stack(outdir: Path, stack: str, directory: Path, *, extra_env: Mapping[str, str] | None = None) -> StackPlan:
    """Initialize and plan ``stack`` (in ``directory`` of the cdktf output ``outdir``) and summarize the plan.

    A stale plan file is removed first, so a failed plan never reports an old one.

    Returns:
        The stack's ``StackPlan``; a failed one (``error`` set to Terraform's first error) when init or plan fails.
    Raises:
        ops.plan_summary.PlanFormatError: the saved plan is not in a JSON format this project reads.
    """
    plan_file = directory / PLAN_FILE
    plan_file.unlink(missing_ok=True)
    terraform = Terraform(directory, extra_env, name=stack)
    try:
        terraform.init()
        terraform.plan(out=plan_file)
        shown = terraform.show_json(plan_file)
    except TerraformError as error:
        errors = [d for d in error.diagnostics if d.severity == "error"]
        reason = errors[0].summary if errors else (error.output.strip().splitlines() or ["no diagnostic"])[-1]
        return failed_plan(stack, f"terraform {error.command} failed: {reason}")
    return summarize_plan(stack, shown)


def synthesize_local() -> Path:
    """Synthesize the ``local`` environment against the running emulated AWS; return its output directory.

    Imports cdktf and the provider bindings in this process (``ops.local.synthesize``).

    Raises:
        emulator.EmulatorError: no local emulator is running (``make deploy-local`` starts one and deploys).
    """
    from emulator import LocalSession
    from ops.local import LOCAL_OUTDIR, LOCAL_STATE_DIR, synthesize

    synthesize(LocalSession(LOCAL_STATE_DIR).require_endpoint(), LOCAL_OUTDIR)
    return LOCAL_OUTDIR


def diff_all(outdir: Path, *, exclude: Iterable[str] = (), extra_env: Mapping[str, str] | None = None) -> list[StackPlan]:
    """``diff_stack`` for every stack synthesized in ``outdir`` (dependency order) except those in ``exclude``.

    Raises:
        FileNotFoundError: nothing was synthesized into ``outdir``.
        terraform_driver.UnknownStack: ``exclude`` names a stack that does not exist.
    """
    stacks = read_stacks(outdir)
    unknown = sorted(set(exclude) - set(stacks))
    if unknown:
        raise UnknownStack(unknown[0], outdir, list(stacks))
    return [diff_stack(outdir, name, stack.directory, extra_env=extra_env)
            for name, stack in stacks.items() if name not in set(exclude)]
