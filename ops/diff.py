"""``cdktf diff`` for every synthesized stack, summarized with ``ops.plan_summary``.

Against the ``local`` environment (the default of ``make diff``) the stacks are first synthesized against the
developer's running emulated AWS (``make deploy-local``, ``ops.local``), so that the plans compare with what was
deployed there. ``cdktf diff <stack>`` runs ``terraform init`` (through the stack's backend) and ``terraform plan -out plan`` in
``cdktf.out/stacks/<stack>``; the saved plan is then read with ``terraform show -json plan``. Follows the cdktf CLI
0.21 (``cdktf diff --help``: one stack per call, ``--skip-synth``, ``--skip-provider-lock``).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path

from cdktf_runtime.environment import PROJECT_ROOT
from ops.plan_summary import StackPlan, failed_plan, summarize_plan
from ops.synthesized import read_stacks
from ops.terraform import terraform, terraform_env

CDKTF = PROJECT_ROOT / "node_modules" / ".bin" / "cdktf"
"""The project's cdktf CLI (``package-lock.json``)."""

PLAN_FILE = "plan"
"""Name of the plan file ``cdktf diff`` writes in a stack's directory (cdktf CLI 0.21, not configurable)."""


def diff_stack(outdir: Path, stack: str, directory: Path, *, extra_env: Mapping[str, str] | None = None) -> StackPlan:
    """Run ``cdktf diff --skip-synth <stack>`` and summarize the plan it saved.

    The diff's own output (Terraform's full plan) goes to this process's stdout/stderr, for logs. A stale plan
    file is removed first, so a failed diff never reports an old plan.

    Returns:
        The stack's ``StackPlan``; a failed one (``error`` set) when ``cdktf diff`` exits non-zero or saves no plan.
    Raises:
        ops.plan_summary.PlanFormatError: the saved plan is not in a JSON format this project reads.
    """
    plan_file = directory / PLAN_FILE
    plan_file.unlink(missing_ok=True)
    result = subprocess.run(
        [str(CDKTF), "diff", stack, "--skip-synth", "--skip-provider-lock", "--no-color", "--output", str(outdir)],
        cwd=PROJECT_ROOT, env=terraform_env(extra_env), check=False,
    )
    if result.returncode != 0:
        return failed_plan(stack, f"cdktf diff exited {result.returncode} (its output is in the log)")
    if not plan_file.is_file():
        return failed_plan(stack, "cdktf diff saved no plan")
    shown = terraform(directory, ["show", "-json", PLAN_FILE], extra_env=extra_env)
    return summarize_plan(stack, json.loads(shown.stdout))


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
        ValueError: ``exclude`` names a stack that does not exist.
    """
    stacks = read_stacks(outdir)
    unknown = set(exclude) - set(stacks)
    if unknown:
        raise ValueError(f"unknown stacks {sorted(unknown)}; synthesized: {list(stacks)}")
    return [diff_stack(outdir, name, stack.directory, extra_env=extra_env)
            for name, stack in stacks.items() if name not in set(exclude)]
