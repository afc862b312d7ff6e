"""ops.diff: the plan of the project's stacks on the emulated AWS, summarized per stack.

On the session's deployment (``tests/local_deployment.py``): a deployed stack plans no change. The same
environment synthesized against the same emulator under another state key prefix is an environment with nothing
deployed yet: a stack there plans every resource, and a stack whose remote-state inputs do not exist yet fails and
is reported as failed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ops.diff import diff_all, diff_stack
from ops.local import synthesize
from ops.plan_summary import render_markdown
from terraform_driver import SynthesizedStack, UnknownStack
from tests.local_deployment import session_deployment

pytestmark = pytest.mark.terraform

UNDEPLOYED_KEY_PREFIX = "paymig/local-not-deployed"


@pytest.fixture(scope="module")
def undeployed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, SynthesizedStack]]:
    """(outdir, stacks) of ``local`` synthesized against the session's emulator with a state key prefix under
    which nothing is deployed (the state bucket and lock table are the deployed bootstrap stack's)."""
    def elsewhere(data: dict) -> None:
        data["state"]["key_prefix"] = UNDEPLOYED_KEY_PREFIX

    outdir = tmp_path_factory.mktemp("diff") / "cdktf.out"
    return outdir, synthesize(session_deployment().endpoint, outdir, configure=elsewhere)


@pytest.mark.stacks("network")
def test_deployed_stack_plans_no_change(deployment):
    network = deployment.stacks["network"]
    plan = diff_stack(deployment.outdir, "network", network.directory)
    assert plan.error is None and not plan.has_changes
    assert plan.terraform_line() == "No changes."


@pytest.mark.stacks("bootstrap")
def test_stack_not_deployed_plans_every_resource(deployment, undeployed):
    outdir, stacks = undeployed
    plan = diff_stack(outdir, "storage", stacks["storage"].directory)
    assert plan.error is None
    assert (plan.create, plan.update, plan.delete, plan.replace) == (stacks["storage"].resource_count(), 0, 0, 0)
    assert plan.stateful_alerts == ()


@pytest.mark.stacks("bootstrap")
def test_stack_without_its_inputs_fails_and_is_reported(deployment, undeployed):
    outdir, stacks = undeployed
    plan = diff_stack(outdir, "service", stacks["service"].directory)  # no network or data state: no outputs
    assert plan.error and plan.error.startswith("terraform plan failed: ")
    assert "| service | | | | | | **FAILED**" in render_markdown([plan], "t")


@pytest.mark.stacks("bootstrap")
def test_unknown_excluded_stack_is_refused(deployment, undeployed):
    outdir, _ = undeployed
    with pytest.raises(UnknownStack, match="no stack 'nonexistent'"):
        diff_all(outdir, exclude=["nonexistent"])
