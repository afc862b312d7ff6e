"""Architecture diagram from the synthesized stacks (``make diagram``): stacks as clusters, resources as nodes,
references as edges, the regions as colours and sub-clusters.

The model (``build_architecture``) is read from each stack's ``cdk.tf.json`` alone:

- a resource's region is that of the AWS provider it uses (``provider = "aws.<alias>"``, else the default one);
- an edge A -> B means B references A (``${aws_x.a.attr}`` in B's arguments): data flows along the arrow;
- a cross-stack edge is a reference through ``${data.terraform_remote_state.<input>.outputs.<output>}``: cdktf
  writes the output in the producing stack (value ``${aws_x.a.attr}``), which names the producing resource;
- a resource that only configures another one (``aws_s3_bucket_versioning`` of an ``aws_s3_bucket``, the rules of a
  security group, the policies of a role ...) is folded into it: its type contains the other's type (without
  ``aws_``, or ``FOLD_INTO`` says so) and it references one such resource; resources of one type whose names
  differ only by a number (``public-subnet-0``, ``-1``, ...) are one node. Data sources are left out.

``to_graphviz`` lays the model out with the Python ``graphviz`` package (DOT source, no binary needed);
``render`` runs Graphviz's ``dot`` (Debian package ``graphviz``) to write SVG and PNG.
Follows: https://graphviz.readthedocs.io/en/stable/api.html (``Digraph``, ``subgraph``, ``render``).
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import graphviz

from terraform_driver import SynthesizedStack

_RESOURCE_REFERENCE = re.compile(r"(?<![\w.-])(aws_\w+)\.([\w-]+)")
_REMOTE_OUTPUT = re.compile(r"data\.terraform_remote_state\.[\w-]+\.outputs\.([\w-]+)")
_EXPRESSION = re.compile(r"\$\{([^}]*)\}")
_CONSTRUCT_HASH = re.compile(r"_[0-9A-F]{8}$")

FOLD_INTO = {"aws_kms_alias": "aws_kms_key", "aws_route": "aws_route_table"}
"""Folds the type-name rule does not find: resource type -> type of the resource it configures."""

NEVER_FOLDED = frozenset({"aws_s3_bucket_replication_configuration"})
"""Types that stay nodes although they configure another resource (replication links the two regions)."""

REGION_COLOURS = ("#dbe9f6", "#fde3c8", "#e2f0d9", "#eadcf2")
"""Node fill colours of the regions, in order of appearance (primary region first)."""


@dataclass(frozen=True)
class Resource:
    """One node: a resource (with the resources folded into it) of one stack, in one region.

    ``key`` is ``<stack>/<type>.<name>``; ``folded`` lists the types of the resources folded into this one;
    ``count`` is how many resources of this type the node stands for (``public-subnet-0``, ``-1``, ``-2``: 3).
    """

    key: str
    stack: str
    type: str
    name: str
    region: str
    provider_alias: str | None
    folded: tuple[str, ...] = ()
    count: int = 1

    @property
    def label(self) -> str:
        """Short type (no ``aws_``, `` ×<count>``), construct path (no cdktf hash), what is folded into it."""
        lines = [self.type.removeprefix("aws_") + (f" \u00d7{self.count}" if self.count > 1 else ""),
                 _CONSTRUCT_HASH.sub("", self.name).replace("_", "/")]
        if self.folded:
            own = set(self.type.split("_"))
            kinds = sorted({" ".join(w for w in t.split("_") if w not in own) or t.removeprefix("aws_")
                            for t in self.folded})
            lines += textwrap.wrap("+ " + ", ".join(kinds), width=44)
        return "\n".join(lines)


@dataclass(frozen=True)
class Reference:
    """A resource's reference to ``key`` (a resource key) from its top-level argument ``argument``."""

    key: str
    argument: str
    cross_stack: bool


@dataclass(frozen=True)
class Edge:
    """``target`` references ``source`` (keys of ``Resource``); ``cross_stack`` through remote state."""

    source: str
    target: str
    cross_stack: bool


@dataclass(frozen=True)
class Architecture:
    """Stacks (in dependency order) with their regions, resources and references."""

    stacks: tuple[str, ...]
    stack_regions: Mapping[str, tuple[str, ...]]
    resources: tuple[Resource, ...]
    edges: tuple[Edge, ...]

    @property
    def regions(self) -> tuple[str, ...]:
        """Every region, primary (first seen) first."""
        return tuple(dict.fromkeys(region for regions in self.stack_regions.values() for region in regions))

    def in_stack(self, stack: str) -> list[Resource]:
        """The resources of ``stack``."""
        return [resource for resource in self.resources if resource.stack == stack]

    def cross_stack_edges(self) -> list[Edge]:
        """Edges between stacks."""
        return [edge for edge in self.edges if edge.cross_stack]


def _provider_regions(document: Mapping[str, Any]) -> dict[str | None, str]:
    """AWS provider alias (``None`` for the default provider) -> region."""
    return {entry.get("alias"): entry["region"] for entry in document.get("provider", {}).get("aws", [])}


def _expressions(value: Any) -> Iterable[str]:
    """Every ``${...}`` expression in a resource's arguments (nested values included)."""
    if isinstance(value, str):
        yield from _EXPRESSION.findall(value)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if key != "//":
                yield from _expressions(item)
    elif isinstance(value, list):
        for item in value:
            yield from _expressions(item)


def _references(stack: SynthesizedStack, config: Mapping[str, Any],
                outputs: Mapping[str, tuple[str, str]]) -> set[Reference]:
    """What ``config`` (one resource's arguments) references, per top-level argument.

    ``outputs`` maps output name -> (stack, resource key) over every stack (cross-stack outputs).
    """
    found: set[Reference] = set()
    for argument, value in config.items():
        if argument == "//":
            continue
        for expression in _expressions(value):
            for output in _REMOTE_OUTPUT.findall(expression):
                if output in outputs:
                    found.add(Reference(outputs[output][1], argument, True))
            for resource_type, name in _RESOURCE_REFERENCE.findall(_REMOTE_OUTPUT.sub("", expression)):
                if name in stack.of_type(resource_type):
                    found.add(Reference(f"{stack.name}/{resource_type}.{name}", argument, False))
    return found


def _output_producers(stacks: Mapping[str, SynthesizedStack]) -> dict[str, tuple[str, str]]:
    """Output name -> (stack, key of the resource whose attribute it exports), for every stack output."""
    producers = {}
    for stack in stacks.values():
        for output, spec in stack.document.get("output", {}).items():
            match = _RESOURCE_REFERENCE.search(str(spec.get("value", "")))
            if match and match.group(2) in stack.of_type(match.group(1)):
                producers[output] = (stack.name, f"{stack.name}/{match.group(1)}.{match.group(2)}")
    return producers


def _type_of(key: str) -> str:
    return key.split("/", 1)[1].split(".", 1)[0]


def _fold_target(resource: Resource, references: Iterable[Reference]) -> str | None:
    """The one resource that ``resource`` only configures (see module docstring), or ``None``.

    A parent's type (without ``aws_``) is contained in the resource's type, or ``FOLD_INTO`` names it. Where
    several resources qualify, the one named by the argument ``<type>_id`` or ``<last word of type>`` wins (the
    rules of ``security_group_id``, the logging of ``bucket``). Types in ``NEVER_FOLDED`` stay nodes.
    """
    if resource.type in NEVER_FOLDED:
        return None
    same_stack = [ref for ref in references if not ref.cross_stack]
    short = resource.type.removeprefix("aws_")
    candidates = {ref for ref in same_stack if _type_of(ref.key) != resource.type
                  and (_type_of(ref.key).removeprefix("aws_") in short or FOLD_INTO.get(resource.type) == _type_of(ref.key))}
    if len({ref.key for ref in candidates}) > 1:
        candidates = {ref for ref in candidates if ref.argument in _naming_arguments(_type_of(ref.key))}
    keys = {ref.key for ref in candidates}
    return keys.pop() if len(keys) == 1 else None


def _naming_arguments(resource_type: str) -> set[str]:
    short = resource_type.removeprefix("aws_")
    last = short.rsplit("_", 1)[-1]
    return {f"{short}_id", last, f"{last}_id"}


def _stem(key: str) -> str:
    """``key`` without the cdktf hash and a trailing ``-<n>`` or ``_<n>`` (``public-subnet-0`` and ``-1``, or the
    fixed names ``main_public_0`` and ``_1``, share a stem)."""
    return re.sub(r"[-_]\d+$", "", _CONSTRUCT_HASH.sub("", key))


def build_architecture(stacks: Mapping[str, SynthesizedStack]) -> Architecture:
    """The diagram model of ``stacks`` (as ``terraform_driver.read_stacks`` returns them, in dependency order).

    Resources are folded into the ones they configure (module docstring), and resources of one type, stack and
    region whose names differ only by a trailing ``-<n>`` become one node with a count.

    Raises:
        KeyError: a resource uses an AWS provider alias its stack does not declare.
    """
    outputs = _output_producers(stacks)
    nodes: dict[str, Resource] = {}
    references: dict[str, set[Reference]] = {}
    stack_regions = {}
    for stack in stacks.values():
        regions = _provider_regions(stack.document)
        stack_regions[stack.name] = tuple(dict.fromkeys(regions.values()))
        for resource_type, items in stack.resources().items():
            for name, config in items.items():
                alias = config.get("provider", "").removeprefix("aws.") or None
                key = f"{stack.name}/{resource_type}.{name}"
                nodes[key] = Resource(key, stack.name, resource_type, name, regions[alias], alias)
                references[key] = _references(stack, config, outputs)
    folded_into = {key: parent for key, node in nodes.items() if (parent := _fold_target(node, references[key]))}

    def owner(key: str) -> str:
        while key in folded_into:
            key = folded_into[key]
        return _stem(key)

    groups: dict[str, list[str]] = {}
    for key in nodes:
        groups.setdefault(owner(key), []).append(key)
    kept = {}
    for group, members in groups.items():
        heads = [key for key in members if key not in folded_into]
        first = nodes[heads[0]]
        kept[group] = Resource(group, first.stack, first.type, _stem(first.name), first.region, first.provider_alias,
                               tuple(sorted({nodes[key].type for key in members if key in folded_into})), len(heads))
    edges: dict[tuple[str, str], Edge] = {}
    for target, refs in references.items():
        for ref in refs:
            pair = (owner(ref.key), owner(target))
            if pair[0] != pair[1]:
                edges[pair] = Edge(*pair, ref.cross_stack or (pair in edges and edges[pair].cross_stack))
    return Architecture(tuple(stacks), stack_regions, tuple(kept.values()), tuple(edges.values()))


def _node_id(key: str) -> str:
    return re.sub(r"\W", "_", key)


def to_graphviz(architecture: Architecture, title: str) -> graphviz.Digraph:
    """A ``graphviz.Digraph``: one cluster per stack, a sub-cluster per region where a stack spans several, node
    colour by region (legend included), cross-stack references as bold red edges, others thin and grey."""
    colours = dict(zip(architecture.regions, REGION_COLOURS, strict=False))
    graph = graphviz.Digraph("architecture", graph_attr={
        "label": title, "labelloc": "t", "fontsize": "22", "fontname": "Helvetica", "rankdir": "LR",
        "newrank": "true", "nodesep": "0.15", "ranksep": "0.5", "compound": "true", "bgcolor": "white",
    }, node_attr={"shape": "box", "style": "rounded,filled", "fontname": "Helvetica", "fontsize": "10",
                  "margin": "0.08,0.03"}, edge_attr={"color": "#9a9a9a", "arrowsize": "0.5"})
    primary = architecture.regions[0] if architecture.regions else ""
    for stack in architecture.stacks:
        regions = architecture.stack_regions[stack]
        with graph.subgraph(name=f"cluster_{stack}") as cluster:
            cluster.attr(label=f"{stack}  ({', '.join(regions)})", fontsize="16", fontname="Helvetica-Bold",
                         style="rounded", color="#555555", penwidth="1.5")
            for region in regions:
                members = [r for r in architecture.in_stack(stack) if r.region == region]
                if len(regions) > 1:
                    with cluster.subgraph(name=f"cluster_{stack}_{_node_id(region)}") as part:
                        alias = {r.provider_alias for r in members} - {None}
                        part.attr(label=f"{region}" + (f" (aws.{', aws.'.join(sorted(alias))})" if alias else ""),
                                  style="dashed,rounded,filled", fillcolor=colours[region] + "66", fontsize="13")
                        for resource in members:
                            part.node(_node_id(resource.key), resource.label, fillcolor=colours[resource.region])
                else:
                    for resource in members:
                        cluster.node(_node_id(resource.key), resource.label, fillcolor=colours[resource.region])
    for edge in architecture.edges:
        attributes = {"color": "#c0392b", "penwidth": "2.2", "arrowsize": "0.9"} if edge.cross_stack else {}
        graph.edge(_node_id(edge.source), _node_id(edge.target), **attributes)
    with graph.subgraph(name="cluster_legend") as legend:
        legend.attr(label="legend", fontsize="13", style="rounded", color="#999999")
        for region in architecture.regions:
            kind = "primary region" if region == primary else "replica region"
            legend.node(f"legend_{_node_id(region)}", f"{region}\n{kind}", fillcolor=colours[region])
        legend.node("legend_cross", "cross-stack reference\n(terraform_remote_state)", shape="plaintext",
                    style="", fontcolor="#c0392b")
    return graph


def render(architecture: Architecture, title: str, directory: Path, name: str = "architecture",
           formats: Iterable[str] = ("svg", "png"), dpi: int = 110) -> list[Path]:
    """Write ``<directory>/<name>.<format>`` for each format with Graphviz's ``dot``; returns the paths.

    ``dpi`` (dots per inch) sets the size of raster formats (PNG): 110 makes the 10 pt labels legible at 100 %.

    Raises:
        graphviz.ExecutableNotFound: ``dot`` is not installed (Debian package ``graphviz``; ``make diagram``
            installs it).
        graphviz.CalledProcessError: ``dot`` failed.
    """
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in formats:
        graph = to_graphviz(architecture, title)
        if fmt != "svg":  # raster resolution; SVG keeps Graphviz's point sizes
            graph.attr(dpi=str(dpi))
        paths.append(Path(graph.render(filename=name, directory=directory, format=fmt, cleanup=True)))
    return paths
