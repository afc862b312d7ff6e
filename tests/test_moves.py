"""The moved blocks of stacks/stateful.toml, exercised by the real Terraform on the emulated AWS.

Without a second deployment (the suite's budget): the session's deployment (``tests/local_deployment.py``) is
applied with the stable addresses. For each stack with listed resources, its state is pulled (``terraform state
pull``) and every listed resource is put back at the address it had before (``moved_from``, the address on main
before this change), which is the state an existing deployment has. That state is planned, in a copy of the
stack with a local backend, against the synthesized configuration with its moved blocks: Terraform must move
every such resource and change nothing else. The data stack's plan also refreshes (the provider reads both
payment databases at their new addresses from the emulator); the others skip the refresh, which takes no part in
moving (``-refresh=false``, for the suite's time). The same copy of the data stack without its moved blocks plans
to destroy the payment databases, which the plan summary calls out.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from ops.plan_summary import summarize_plan
from stacks.addresses import reviewed_addresses
from terraform_driver import SynthesizedStack, Terraform
from tests.local_deployment import Deployment

pytestmark = pytest.mark.terraform

MOVED_STACKS = tuple(name for name, listed in reviewed_addresses().pinned.items()
                     if any(entry.moved_from for entry in listed.values()))


def previous_addresses(stack: str) -> dict[str, str]:
    """Stable address -> the address it had before, for the listed resources of ``stack`` that moved."""
    return {address: entry.moved_from for address, entry in reviewed_addresses().pinned[stack].items()
            if entry.moved_from}


def state_at_previous_addresses(state: dict[str, Any], previous: dict[str, str]) -> dict[str, Any]:
    """``state`` (format 4) with every resource in ``previous`` renamed back, dependencies included."""
    rewritten = json.loads(json.dumps(state))
    for resource in rewritten["resources"]:
        if resource["mode"] == "managed":
            address = f"{resource['type']}.{resource['name']}"
            if address in previous:
                resource["name"] = previous[address].split(".", 1)[1]
        for instance in resource["instances"]:
            if "dependencies" in instance:
                instance["dependencies"] = [previous.get(dependency, dependency)
                                            for dependency in instance["dependencies"]]
    return rewritten


def plan_copy(stack: SynthesizedStack, state: dict[str, Any], workdir: Path, *, moved: bool = True,
              refresh: bool = True) -> dict[str, Any]:
    """``terraform show -json`` of a plan of ``stack``'s configuration (without its moved blocks unless
    ``moved``) against ``state``, in ``workdir`` with a local backend."""
    document = json.loads(json.dumps(stack.document))
    document["terraform"]["backend"] = {"local": {"path": "terraform.tfstate"}}
    if not moved:
        document.pop("moved", None)
    workdir.mkdir(parents=True)
    (workdir / "cdk.tf.json").write_text(json.dumps(document), encoding="utf-8")
    (workdir / "terraform.tfstate").write_text(json.dumps(state), encoding="utf-8")
    terraform = Terraform(workdir, name=f"{stack.name} (previous addresses)")
    terraform.init()
    terraform.plan(out=workdir / "plan", refresh=refresh, lock=False)
    return terraform.show_json(workdir / "plan")


@pytest.mark.stacks(*MOVED_STACKS)
def test_a_deployment_at_the_previous_addresses_only_moves(deployment: Deployment, tmp_path: Path):
    assert set(MOVED_STACKS) >= {"bootstrap", "network", "data", "storage", "service", "observability"}
    started = time.monotonic()

    def check(name: str, moved: bool = True) -> tuple[str, bool, dict[str, Any], dict[str, str]]:
        stack = deployment.stacks[name]
        previous = previous_addresses(name)
        state = stack.terraform().state_pull()
        old = state_at_previous_addresses(state, previous)
        plan = plan_copy(stack, old, tmp_path / f"{name}-{moved}", moved=moved, refresh=name == "data" and moved)
        return name, moved, plan, previous

    jobs = [(name, True) for name in MOVED_STACKS] + [("data", False)]
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(lambda job: check(*job), jobs))
    deployment.seconds["plans at the previous addresses"] = time.monotonic() - started  # printed by the destroy test
    for name, moved, plan, previous in results:
        changes = [change for change in plan["resource_changes"] if change["mode"] == "managed"]
        if not moved:
            summary = summarize_plan(name, plan)
            destroyed = {alert.address for alert in summary.stateful_alerts if alert.kind == "destroyed"}
            assert {previous["aws_db_instance.source"], previous["aws_db_instance.target"]} <= destroyed
            assert summary.create >= 2
            continue
        acted = {change["address"]: change["change"]["actions"] for change in changes
                 if change["change"]["actions"] != ["no-op"]}
        assert acted == {}, name
        moves = {change["address"]: change["previous_address"] for change in changes if "previous_address" in change}
        present = {f"{change['type']}.{change['name']}" for change in changes}
        assert moves == {address: old for address, old in previous.items() if address in present}, name
        assert moves, name
