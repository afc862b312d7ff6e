"""The reviewed list of stable Terraform addresses (``stacks/stateful.toml``): moved blocks and prevent_destroy.

cdktf names a resource after its construct path plus a hash (``aws_db_instance.target_instance_F9233CBD``):
wrapping a database in one more construct, or renaming a construct, gives a new address, and the next plan
destroys the database and creates an empty one. The stacks therefore give every stateful resource, and every
resource another stack reads, a fixed name through its module's ``address`` prop (``modules.addressing``):
``aws_db_instance.source``, ``aws_kms_key.database``, ... ``stacks/stateful.toml`` lists those addresses per
stack, and ``apply_reviewed_list`` adds, for each listed resource of a stack,

- a ``moved`` block from the address it had before (``moved_from``; cdktf's ``move_from_id``), so an existing
  deployment moves the object in state instead of replacing it;
- in a protected environment (``config.protected``: deletion protection on), ``lifecycle { prevent_destroy =
  true }`` for every type in ``stateful_types``, so no plan can destroy it; disposable environments (dev, local)
  stay destroyable.

The cross-stack outputs cdktf generates for another stack are named after the address of the resource they read
(``cross-stack-output-aws_db_instancetargetaddress``), so fixed resource names fix them too; the list names them
(``cross_stack_outputs``). ``tests/test_addresses.py`` checks the list against the synthesized dev and prod JSON:
a change that renames, moves or drops a listed resource, or adds an unlisted stateful one, fails until the list
(and with it the moved block) is updated in the same change. One move per resource: cdktf writes one moved block
per resource, so ``moved_from`` is replaced by the next rename once every environment has applied the last one
(the plan summary's CAUTION block and ``--allow-destroy`` stop a deploy that would replace it instead).

Follows: https://developer.hashicorp.com/terraform/language/modules/develop/refactoring (``moved`` blocks),
https://developer.hashicorp.com/terraform/language/meta-arguments/lifecycle#prevent_destroy.
"""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cdktf import TerraformResource, TerraformStack

from modules.addressing import RESOURCE_NAME

REVIEWED_LIST = Path(__file__).with_name("stateful.toml")
"""The reviewed list of pinned addresses per stack (and the previous address each one moved from)."""



@dataclass(frozen=True)
class PinnedAddress:
    """One entry of the reviewed list: the stable ``address`` (``type.name``) of a resource in ``stack``, the
    address it ``moved_from`` (``None`` for a resource created with its stable address)."""

    stack: str
    address: str
    moved_from: str | None = None

    @property
    def resource_type(self) -> str:
        """The Terraform resource type, e.g. ``aws_db_instance``."""
        return self.address.split(".", 1)[0]


@dataclass(frozen=True)
class ReviewedAddresses:
    """``stacks/stateful.toml`` parsed: ``stateful_types`` (resource types whose loss loses data),
    ``pinned`` (stack -> address -> PinnedAddress) and ``cross_stack_outputs`` (stack -> output names other
    stacks read)."""

    stateful_types: frozenset[str]
    pinned: dict[str, dict[str, PinnedAddress]]
    cross_stack_outputs: dict[str, frozenset[str]]

    def is_stateful(self, resource_type: str) -> bool:
        """Whether destroying a resource of ``resource_type`` loses data (``stateful_types``)."""
        return resource_type in self.stateful_types


def parse_reviewed(document: dict[str, Any]) -> ReviewedAddresses:
    """Parse the reviewed list's TOML document.

    Raises:
        ValueError: a malformed entry (the message names the stack, the address and the rule).
    """
    problems: list[str] = []
    pinned: dict[str, dict[str, PinnedAddress]] = {}
    outputs: dict[str, frozenset[str]] = {}
    for stack, section in document.get("stacks", {}).items():
        pinned[stack] = {}
        for address, entry in section.get("pinned", {}).items():
            resource_type, _, name = address.partition(".")
            moved_from = entry.get("moved_from")
            if not RESOURCE_NAME.match(name):
                problems.append(f"{stack}.pinned.{address!r}: name must match {RESOURCE_NAME.pattern}")
            if moved_from is not None and moved_from.split(".", 1)[0] != resource_type:
                problems.append(f"{stack}.pinned.{address!r}.moved_from = {moved_from!r}: must be a {resource_type}")
            pinned[stack][address] = PinnedAddress(stack, address, moved_from)
        outputs[stack] = frozenset(section.get("cross_stack_outputs", ()))
    if problems:
        raise ValueError(f"{REVIEWED_LIST.name}: " + "; ".join(problems))
    return ReviewedAddresses(frozenset(document.get("stateful_types", ())), pinned, outputs)


@functools.cache
def reviewed_addresses() -> ReviewedAddresses:
    """The project's reviewed list, ``stacks/stateful.toml`` (read once per process).

    Raises:
        ValueError: a malformed entry.
    """
    return parse_reviewed(tomllib.loads(REVIEWED_LIST.read_text(encoding="utf-8")))


def resource_address(resource: TerraformResource) -> str:
    """The Terraform address of ``resource`` in its stack, ``<type>.<name>`` (fixes cdktf's name for it)."""
    return f"{resource.terraform_resource_type}.{resource.friendly_unique_id}"


def apply_reviewed_list(stack: TerraformStack, *, protected: bool,
                        reviewed: ReviewedAddresses | None = None) -> list[str]:
    """Add the moved blocks and, when ``protected``, ``prevent_destroy`` that the reviewed list asks for to the
    resources of ``stack`` (call it once every resource of the stack exists).

    Resources the list does not name are left alone; the list test reports those of a stateful type.

    Returns:
        The addresses of ``stack`` found in the list.
    """
    reviewed = reviewed or reviewed_addresses()
    listed = reviewed.pinned.get(stack.node.id, {})
    found = []
    for construct in stack.node.find_all():
        if not isinstance(construct, TerraformResource):
            continue
        entry = listed.get(resource_address(construct))
        if entry is None:
            continue
        found.append(entry.address)
        if entry.moved_from:
            construct.move_from_id(entry.moved_from)
        if protected and reviewed.is_stateful(entry.resource_type):
            construct.add_override("lifecycle.prevent_destroy", True)
    return found


CDKTF_HASH = re.compile(r"_[0-9A-F]{8}$")
"""The hash cdktf appends to the name of a resource in a nested construct."""


def review_problems(stack: str, document: dict[str, Any], reviewed: ReviewedAddresses | None = None) -> list[str]:
    """What in one synthesized stack (``cdk.tf.json`` parsed) disagrees with the reviewed list, one line each.

    - a resource of a stateful type, or with a fixed name (``modules.addressing``), that the list does not name;
    - a listed resource of a stateful type that is not synthesized (renamed, moved or dropped);
    - ``moved`` blocks other than exactly one from each present entry's ``moved_from``, or one from an address
      that a resource still has;
    - a cross-stack output the list does not name.

    Listed resources of other types may be missing (a prod-only subnet in dev); the test checks those across
    environments.
    """
    reviewed = reviewed or reviewed_addresses()
    listed = reviewed.pinned.get(stack, {})
    present = {f"{kind}.{name}" for kind, items in document.get("resource", {}).items() for name in items}
    problems = []
    for address in sorted(present - set(listed)):
        kind, name = address.split(".", 1)
        if reviewed.is_stateful(kind):
            problems.append(f"{stack}: {address} is stateful but not in {REVIEWED_LIST.name}: give it a fixed "
                            "name (its module's `address`) and list it, with moved_from = its address on main")
        elif RESOURCE_NAME.match(name) and not CDKTF_HASH.search(name):
            problems.append(f"{stack}: {address} has a fixed name but is not in {REVIEWED_LIST.name}")
    for address, entry in sorted(listed.items()):
        if address not in present and reviewed.is_stateful(entry.resource_type):
            problems.append(f"{stack}: {address} is in {REVIEWED_LIST.name} but not synthesized: if it was renamed "
                            "or moved, list the new address with moved_from = this one; if it is to go, remove it "
                            "here and acknowledge the destroy (ops diff --allow-destroy)")
    expected = {(entry.moved_from, address) for address, entry in listed.items()
                if entry.moved_from and address in present}
    moved = {(block["from"], block["to"]) for block in document.get("moved", [])}
    for source, target in sorted(moved - expected):
        problems.append(f"{stack}: moved block {source} -> {target} is not in {REVIEWED_LIST.name}")
    for source, target in sorted(expected - moved):
        problems.append(f"{stack}: moved block {source} -> {target} is missing from the synthesized stack")
    for source, _ in sorted(expected):
        if source in present:
            problems.append(f"{stack}: moved_from {source} is still the address of a resource")
    outputs = {name for name in document.get("output", {}) if name.startswith("cross-stack-output-")}
    for name in sorted(outputs - reviewed.cross_stack_outputs.get(stack, frozenset())):
        problems.append(f"{stack}: cross-stack output {name} is not in {REVIEWED_LIST.name} (another stack reads "
                        "a resource whose address is not fixed, or it was renamed)")
    return problems
