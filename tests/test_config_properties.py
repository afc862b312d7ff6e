"""Property-based tests (hypothesis) over the configuration.

Every invalid configuration is rejected before synthesis with a line naming the field, the value and the rule;
every valid configuration yields valid AWS names, and (a few generated ones) synthesizes and passes
``terraform validate`` against aws 5.100.0.
"""

from __future__ import annotations

import copy
import ipaddress
import json
import shutil
from dataclasses import asdict
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config import ConfigError, Names, parse_config
from config.naming import RULES
from config.models import AWS_REGIONS, POSTGRES_MAJOR_VERSIONS
from terraform_driver import Terraform
from tests.conftest import config_data, synth_app

pytestmark = pytest.mark.while_destroying  # slow, no emulator: runs while the session deployment is destroyed

BASE = config_data("dev")

environments = st.from_regex(r"[a-z][a-z0-9]{1,11}", fullmatch=True)
projects = st.from_regex(r"[a-z][a-z0-9]{2,9}", fullmatch=True)
region_pairs = st.lists(st.sampled_from(sorted(AWS_REGIONS)), min_size=2, max_size=2, unique=True)
vpc_cidrs = st.builds(lambda second, prefix: str(ipaddress.IPv4Network(f"10.{second}.0.0/{prefix}", strict=False)),
                      st.integers(0, 255), st.integers(16, 20))
versions = st.builds(lambda major, minor: f"{major}.{minor}" if minor is not None else str(major),
                     st.sampled_from(sorted(POSTGRES_MAJOR_VERSIONS)), st.none() | st.integers(0, 20))
weights = st.tuples(st.integers(0, 255), st.integers(0, 255)).filter(lambda w: w != (0, 0))


@st.composite
def valid_configs(draw) -> dict:
    data = copy.deepcopy(BASE)
    environment = draw(environments)
    data["environment"] = environment
    data["project"] = draw(projects)
    primary, replica = draw(region_pairs)
    data["regions"] = {"primary": primary, "replica": replica}
    data["network"]["vpc_cidr"] = draw(vpc_cidrs)
    data["network"]["az_count"] = draw(st.integers(2, 3))
    version = draw(versions)
    for section in ("source_database", "target_database"):  # the version policy: major only, or pinned minor
        data[section].update(engine_version=version, auto_minor_version_upgrade="." not in version)
    data["source_database"]["allocated_storage_gib"] = draw(st.integers(20, 200))
    data["target_database"]["max_allocated_storage_gib"] = draw(st.integers(50, 65536))
    low = draw(st.integers(0, 10))
    high = draw(st.integers(max(low, 1), 50))
    data["service"].update(min_count=low, desired_count=draw(st.integers(low, high)), max_count=high)
    data["dns"]["legacy_weight"], data["dns"]["new_weight"] = draw(weights)
    data["state"] = {"bucket": f"{data['project']}-{environment}-tfstate", "key_prefix": f"paymig/{environment}",
                     "lock_table": f"{data['project']}-{environment}-tflock"}
    return data


def _set(path: str, value):
    def mutate(data: dict) -> None:
        *parents, leaf = path.split(".")
        target = data
        for key in parents:
            target = target[key]
        target[leaf] = value
    return mutate


# (strategy of (field path, invalid value), the rule's words in the error)
INVALID = [
    (st.tuples(st.just("environment"), st.from_regex(r"[a-z][a-z0-9]{12,20}", fullmatch=True)), "2-12 characters"),
    (st.tuples(st.just("environment"), st.from_regex(r"[A-Z_.][a-z]{1,5}", fullmatch=True)), "lowercase letter"),
    (st.tuples(st.just("project"), st.from_regex(r"[a-z]{11,20}", fullmatch=True)), "3-10 characters"),
    (st.tuples(st.just("state.bucket"), st.from_regex(r"[a-z]{3,8}_[A-Z]{1,5}", fullmatch=True)), "must be"),
    (st.tuples(st.just("state.bucket"), st.from_regex(r"[a-z]{59,70}", fullmatch=True)), "limit 63"),
    (st.tuples(st.just("network.vpc_cidr"), st.builds(lambda p: f"10.1.0.0/{p}", st.integers(21, 28))), "/16 and /20"),
    (st.tuples(st.just("network.vpc_cidr"), st.builds(lambda a: f"{a}.0.0.0/16", st.sampled_from([8, 11, 100, 200]))),
     "private"),
    (st.tuples(st.just("network.legacy_cidrs"), st.builds(lambda b: [f"10.20.{b}.0/24"], st.integers(0, 255))),
     "must not overlap"),
    (st.tuples(st.just("dns.legacy_weight"), st.integers(256, 10**6)), "less than or equal to 255"),
    (st.tuples(st.just("dns.legacy_weight"), st.integers(-10**6, -1)), "greater than or equal to 0"),
    (st.tuples(st.just("dns.new_weight"), st.integers(256, 10**6)), "255"),
    (st.tuples(st.just("source_database.engine_version"),
               st.builds(lambda m: f"{m}.1", st.integers(1, 99).filter(lambda m: m not in POSTGRES_MAJOR_VERSIONS))),
     "PostgreSQL major version"),
    (st.tuples(st.just("target_database.allocated_storage_gib"), st.integers(-10**6, 19)), "greater than or equal"),
    (st.tuples(st.just("dms.allocated_storage_gib"), st.integers(-10**6, 4)), "greater than or equal"),
    (st.tuples(st.just("service.memory_mib"), st.integers(-10**6, 0)), "greater than or equal"),
    (st.tuples(st.just("service.container_port"), st.integers(65536, 10**6)), "less than or equal"),
    (st.tuples(st.just("source_database.max_replication_slots"), st.integers(-100, -1)), "greater than or equal"),
]


@settings(max_examples=150, deadline=None)
@given(data=valid_configs())
def test_every_valid_configuration_yields_valid_names(data):
    config = parse_config(data)
    for attribute, name in asdict(Names.of(config)).items():
        assert RULES[attribute].problem(name) is None
    assert config.regions.primary != config.regions.replica


@settings(max_examples=200, deadline=None)
@given(case=st.sampled_from(range(len(INVALID))).flatmap(lambda i: st.tuples(st.just(i), INVALID[i][0])))
def test_every_invalid_value_is_rejected_naming_field_value_and_rule(case):
    index, (path, value) = case
    data = copy.deepcopy(BASE)
    _set(path, value)(data)
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    rule = INVALID[index][1]
    lines = [p for p in caught.value.problems if rule in p]
    assert lines, caught.value.problems
    shown = repr(value[0] if isinstance(value, list) else value)
    assert any(path.split(".")[-1] in line and (shown in line or str(value) in line) for line in lines), lines


@settings(max_examples=100, deadline=None)
@given(region=st.sampled_from(sorted(AWS_REGIONS)))
def test_equal_regions_are_rejected(region):
    data = copy.deepcopy(BASE)
    data["regions"] = {"primary": region, "replica": region}
    with pytest.raises(ConfigError, match=rf"regions.replica = '{region}': must differ from primary"):
        parse_config(data)


@settings(max_examples=100, deadline=None)
@given(migration=st.sampled_from(["cdc", "full-load-and-cdc"]))
def test_cdc_without_logical_replication_is_rejected(migration):
    data = copy.deepcopy(BASE)
    data["dms"]["migration_type"] = migration
    data["source_database"]["logical_replication"] = False
    with pytest.raises(ConfigError, match="source_database.logical_replication = False: migration_type"):
        parse_config(data)


@pytest.fixture(scope="module")
def initialized_stacks(synthesized, tmp_path_factory) -> dict[str, Path]:
    """One `terraform init`-ed directory per stack, reused to validate every generated configuration."""
    directories = {}
    for name, stack in synthesized.items():
        directory = tmp_path_factory.mktemp(f"validate-{name}")
        shutil.copy(stack.directory / "cdk.tf.json", directory / "cdk.tf.json")
        Terraform(directory).init(backend=False)
        directories[name] = directory
    return directories


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=valid_configs())
def test_generated_valid_configurations_synthesize(data, tmp_path_factory):
    config = parse_config(data)
    stacks = synth_app(config, tmp_path_factory.mktemp("generated"))
    names = Names.of(config)
    albs = [lb["name"] for lb in stacks["service"].of_type("aws_lb").values()]
    assert albs == [names.alb]
    providers = stacks["storage"].document["provider"]["aws"]
    assert {p["region"] for p in providers} == {config.regions.primary, config.regions.replica}


@pytest.mark.terraform
@settings(max_examples=2, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=valid_configs())
def test_generated_valid_configurations_pass_terraform_validate(data, initialized_stacks, tmp_path_factory):
    stacks = synth_app(parse_config(data), tmp_path_factory.mktemp("generated"))
    assert set(stacks) == set(initialized_stacks)
    for name, stack in stacks.items():
        directory = initialized_stacks[name]
        shutil.copy(stack.directory / "cdk.tf.json", directory / "cdk.tf.json")
        report = Terraform(directory).validate()
        assert report["valid"], (name, report["diagnostics"])
