"""Reading what ``cdktf synth`` wrote: the manifest and each stack's ``cdk.tf.json``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cdktf_runtime.environment import PROJECT_ROOT

DEFAULT_OUTDIR = PROJECT_ROOT / "cdktf.out"


@dataclass(frozen=True)
class SynthesizedStack:
    """One synthesized stack: name, working directory, Terraform JSON and the stacks it depends on."""

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


def read_stacks(outdir: Path = DEFAULT_OUTDIR) -> dict[str, SynthesizedStack]:
    """Read every stack listed in ``<outdir>/manifest.json``, in dependency order.

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

    for name in sorted(stacks, key=lambda n: (n != "bootstrap", n)):
        visit(name)
    return ordered
