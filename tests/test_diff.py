"""ops.diff: ``cdktf diff`` of the project's stacks on the emulated AWS, summarized per stack.

A private emulator with the bootstrap and network stacks of the ``local`` environment applied: a deployed stack
plans no change, a stack not deployed yet plans every resource, and a stack whose remote-state inputs do not
exist yet fails and is reported as failed.
"""

from __future__ import annotations

import pytest

from emulator import Emulator
from ops import deploy
from ops.diff import diff_all, diff_stack
from ops.local import synthesize
from ops.plan_summary import render_markdown

pytestmark = pytest.mark.terraform


@pytest.fixture(scope="module")
def emulated(tmp_path_factory: pytest.TempPathFactory):
    """(outdir, stacks) of ``local`` synthesized against a private emulator, bootstrap and network applied."""
    workdir = tmp_path_factory.mktemp("diff")
    with Emulator(workdir / "emulator.log") as emulator:
        outdir = workdir / "cdktf.out"
        stacks = synthesize(str(emulator.endpoint), outdir)
        deploy.deploy_all([stacks["bootstrap"], stacks["network"]], workers=1,
                          backend_configs={deploy.STATE_STACK: {"path": str(workdir / "bootstrap.tfstate")}})
        yield outdir, stacks


def test_deployed_stack_plans_no_change(emulated):
    outdir, stacks = emulated
    plan = diff_stack(outdir, "network", stacks["network"].directory)
    assert plan.error is None and not plan.has_changes
    assert plan.terraform_line() == "No changes."


def test_stack_not_deployed_plans_every_resource(emulated):
    outdir, stacks = emulated
    plan = diff_stack(outdir, "storage", stacks["storage"].directory)
    assert plan.error is None
    assert (plan.create, plan.update, plan.delete, plan.replace) == (stacks["storage"].resource_count(), 0, 0, 0)
    assert plan.database_alerts == ()


def test_stack_without_its_inputs_fails_and_is_reported(emulated):
    outdir, stacks = emulated
    plan = diff_stack(outdir, "service", stacks["service"].directory)  # data is not deployed: no remote outputs
    assert plan.error and "cdktf diff exited" in plan.error
    assert "| service | | | | | | **FAILED**" in render_markdown([plan], "t")


def test_unknown_excluded_stack_is_refused(emulated):
    outdir, _ = emulated
    with pytest.raises(ValueError, match="unknown stacks"):
        diff_all(outdir, exclude=["nonexistent"])
