"""ops.diagram: the architecture model of the synthesized dev stacks, its DOT source, and a render with ``dot``."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree

import pytest

from ops.diagram import build_architecture, render, to_graphviz
from tests.test_stacks import STACKS


@pytest.fixture(scope="module")
def architecture(synthesized):
    return build_architecture(synthesized)


def test_a_cluster_per_stack_in_dependency_order(architecture, synthesized):
    assert set(architecture.stacks) == set(STACKS) and architecture.stacks == tuple(synthesized)
    source = to_graphviz(architecture, "t").source
    for stack in STACKS:
        assert f"subgraph cluster_{stack} {{" in source
        assert architecture.in_stack(stack), stack
    keys = {resource.key for resource in architecture.resources}
    assert all(edge.source in keys and edge.target in keys for edge in architecture.edges)


def test_cross_stack_edges_follow_the_stack_dependencies(architecture, synthesized):
    """Every dependency cdktf recorded in the manifest shows as at least one resource-to-resource edge."""
    pairs = {(edge.source.split("/")[0], edge.target.split("/")[0]) for edge in architecture.cross_stack_edges()}
    dependencies = {(dependency, stack.name) for stack in synthesized.values() for dependency in stack.dependencies}
    assert pairs == dependencies
    assert not [edge for edge in architecture.edges
                if not edge.cross_stack and edge.source.split("/")[0] != edge.target.split("/")[0]]


def test_cross_stack_edge_names_the_producing_and_consuming_resources(architecture):
    cross = {(edge.source.split(".")[0], edge.target.split(".")[0]) for edge in architecture.cross_stack_edges()}
    assert ("network/aws_vpc", "service/aws_lb_target_group") in cross
    assert ("data/aws_route53_record", "service/aws_ecs_task_definition") in cross  # DB_HOST: the writer name
    assert ("service/aws_lb", "traffic/aws_route53_record") in cross


def test_replica_region_through_the_aliased_provider(architecture, dev_config):
    primary, replica = dev_config.regions.primary, dev_config.regions.replica
    assert architecture.regions == (primary, replica)
    assert architecture.stack_regions["storage"] == (primary, replica)
    assert all(architecture.stack_regions[stack] == (primary,) for stack in STACKS if stack != "storage")
    in_replica = [r for r in architecture.in_stack("storage") if r.region == replica]
    assert {r.provider_alias for r in in_replica} == {"replica"}
    assert "s3_bucket" in {r.type.removeprefix("aws_") for r in in_replica}
    assert f'label="{replica} (aws.replica)"' in to_graphviz(architecture, "t").source


def test_configuration_resources_are_folded_and_numbered_ones_grouped(architecture, dev_config):
    buckets = [r for r in architecture.in_stack("storage") if r.type == "aws_s3_bucket"]
    assert buckets and all("aws_s3_bucket_versioning" in r.folded for r in buckets)
    subnets = [r for r in architecture.in_stack("network") if r.type == "aws_subnet"]
    assert len(subnets) == 3 and all(r.count == dev_config.network.az_count for r in subnets)
    assert not [r for r in architecture.resources if r.type == "aws_s3_bucket_versioning"]
    assert [r for r in architecture.resources if r.type == "aws_s3_bucket_replication_configuration"]


def test_render_writes_svg_and_png(architecture, tmp_path):
    svg, png = render(architecture, "Payment migration (dev)", tmp_path)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = " ".join(" ".join(ElementTree.parse(svg).getroot().itertext()).split())  # Graphviz writes &#160;
    assert "Payment migration (dev)" in text
    assert all(f"{stack} (" in text for stack in STACKS)
