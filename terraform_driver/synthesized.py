"""Reading what ``cdktf synth`` wrote, once: ``manifest.json`` (stacks, directories, dependencies) and each
stack's ``cdk.tf.json`` (Terraform JSON).

The manifest is the one record of the stack graph: ``read_stacks`` returns the stacks in dependency order, and
``state_stack`` / ``prerequisites`` derive from it which stack holds every other stack's state (the one stack whose
state is local: it creates the state bucket and lock table) and what each stack must wait for. No stack name is
written down anywhere else.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from terraform_driver.environment import PROJECT_ROOT
from terraform_driver.terraform import Terraform

DEFAULT_OUTDIR = PROJECT_ROOT / "cdktf.out"

LOCAL_BACKEND = "local"
"""Terraform's ``local`` backend: state in a file, not in the state bucket."""


@dataclass(frozen=True)
class SynthesizedStack:
    """One synthesized stack: name, working directory, Terraform JSON and the stacks it depends on (the manifest's
    ``dependencies``: stacks whose outputs it reads)."""

    name: str
    directory: Path
    document: dict[str, Any]
    dependencies: tuple[str, ...]

    def resources(self) -> dict[str, dict[str, Any]]:
        """Resource type -> {name: configuration}."""
        return self.document.get("resource", {})

    def resource_count(self) -> int:
        """Number of resources (import blocks not counted)."""
        return sum(len(items) for items in self.resources().values())

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        """Resources of one type, name -> configuration (empty when there are none)."""
        return self.resources().get(resource_type, {})

    def terraform(self, env: Mapping[str, str] | None = None) -> Terraform:
        """The Terraform driver of this stack's working directory (errors name the stack)."""
        return Terraform(self.directory, env, name=self.name)

    @property
    def backend(self) -> str | None:
        """The backend type of the stack's ``terraform`` block (``s3``, ``local``), or None (Terraform's default)."""
        backends = self.document.get("terraform", {}).get("backend", {})
        return next(iter(backends), None)

    @property
    def backend_settings(self) -> dict[str, Any]:
        """The settings of the stack's backend block (``bucket``, ``key``, ... or ``path``); empty without one."""
        backend = self.backend
        return dict(self.document["terraform"]["backend"][backend]) if backend else {}


def read_stacks(outdir: Path = DEFAULT_OUTDIR) -> dict[str, SynthesizedStack]:
    """Read every stack listed in ``<outdir>/manifest.json``, in dependency order (the state stack first, then each
    stack after the stacks it depends on; ties by name).

    Raises:
        FileNotFoundError: nothing was synthesized into ``outdir``.
    """
    manifest = json.loads((outdir / "manifest.json").read_text(encoding="utf-8"))
    stacks = {}
    for name, entry in manifest["stacks"].items():
        stacks[name] = SynthesizedStack(
            name=name, directory=outdir / entry["workingDirectory"],
            document=json.loads((outdir / entry["synthesizedStackPath"]).read_text(encoding="utf-8")),
            dependencies=tuple(entry["dependencies"]),
        )
    ordered: dict[str, SynthesizedStack] = {}

    def visit(name: str) -> None:
        if name not in ordered:
            for dependency in stacks[name].dependencies:
                visit(dependency)
            ordered[name] = stacks[name]

    for name in sorted(stacks, key=lambda n: (stacks[n].backend != LOCAL_BACKEND, n)):
        visit(name)
    return ordered


class UnknownStack(LookupError):
    """A stack name that the synthesized output does not have; the message lists the ones it has."""

    def __init__(self, name: str, outdir: Path, known: list[str]):
        self.name, self.outdir, self.known = name, outdir, known
        super().__init__(f"no stack {name!r} in {outdir} (stacks: {', '.join(known)})")

    def __str__(self) -> str:
        return str(self.args[0])


def stack_named(outdir: Path, name: str) -> SynthesizedStack:
    """The stack ``name`` of the cdktf output ``outdir``.

    Raises:
        UnknownStack: there is no such stack.
        FileNotFoundError: nothing was synthesized into ``outdir``.
    """
    stacks = read_stacks(outdir)
    if name not in stacks:
        raise UnknownStack(name, outdir, list(stacks))
    return stacks[name]


def state_stack(stacks: Mapping[str, SynthesizedStack]) -> SynthesizedStack | None:
    """The stack that holds the others' state: the one with a local backend when the others use a remote one
    (it creates the state bucket and lock table, so it is deployed first and destroyed last). None when there is
    no such stack (every stack local, or none)."""
    local = [stack for stack in stacks.values() if stack.backend == LOCAL_BACKEND]
    remote = [stack for stack in stacks.values() if stack.backend not in (None, LOCAL_BACKEND)]
    return local[0] if len(local) == 1 and remote else None


def prerequisites(stacks: Mapping[str, SynthesizedStack]) -> dict[str, set[str]]:
    """Stack name -> the stacks among ``stacks`` it must come after: its manifest dependencies, and the state
    stack (every other stack's backend lives in what it creates)."""
    holder = state_stack(stacks)
    waits = {name: {dep for dep in stack.dependencies if dep in stacks} for name, stack in stacks.items()}
    if holder is not None:
        for name in waits:
            if name != holder.name:
                waits[name].add(holder.name)
    return waits
