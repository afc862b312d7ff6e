"""Configuration: defaults, every rule's error (field, value, rule), derived-name limits."""

from __future__ import annotations

from dataclasses import asdict

import pytest

from config import ConfigError, Names, load_config, parse_config
from config.naming import RULES
from tests.conftest import LEGACY_SOURCE, config_data


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_shipped_configurations_are_valid(environment):
    config = load_config(environment)
    assert config.environment == environment
    assert config.regions.primary != config.regions.replica


def test_protection_follows_environment():
    assert load_config("dev").protected is False
    assert load_config("prod").protected is True


def test_parameter_group_family_follows_engine_version():
    data = config_data()
    data["source_database"]["engine_version"] = "16"
    data["target_database"]["engine_version"] = "16"
    config = parse_config(data)
    assert config.source_database.parameter_group_family == "postgres16"
    assert Names.of(config).source_parameter_group.endswith("-postgres16")


def _problems(mutate) -> list[str]:
    data = config_data()
    mutate(data)
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    return caught.value.problems


@pytest.mark.parametrize(
    ("mutate", "field", "value", "rule"),
    [
        (lambda d: d["regions"].update(replica="us-east-1"), "regions.replica", "'us-east-1'", "must differ"),
        (lambda d: d["regions"].update(primary="mars-1"), "regions.primary", "'mars-1'", "supported AWS regions"),
        (lambda d: d.update(environment="Prod_1"), "environment", "'Prod_1'", "lowercase"),
        (lambda d: d["network"].update(vpc_cidr="10.0.0.0/28"), "network.vpc_cidr", "'10.0.0.0/28'", "/16 and /20"),
        (lambda d: d["network"].update(vpc_cidr="8.8.0.0/16"), "network.vpc_cidr", "'8.8.0.0/16'", "private"),
        (lambda d: d["network"].update(az_count=7), "network.az_count", "7", "less than or equal"),
        (lambda d: d["source_database"].update(engine_version="9.6"), "source_database.engine_version", "'9.6'",
         "PostgreSQL major version"),
        (lambda d: d["target_database"].update(allocated_storage_gib=-5), "target_database.allocated_storage_gib",
         "-5", "greater than or equal"),
        (lambda d: d["service"].update(desired_count=9), "service.desired_count", "9", "between min_count"),
        (lambda d: d["service"].update(container_image="app:latest"), "service.container_image", "'app:latest'",
         "fixed tag"),
        (lambda d: d["dns"].update(legacy_weight=256), "dns.legacy_weight", "256", "less than or equal to 255"),
        (lambda d: d["dns"].update(legacy_weight=0, new_weight=0), "dns.legacy_weight", "0", "at least one"),
        (lambda d: d["source_database"].update(logical_replication=False), "source_database.logical_replication",
         "False", "logical replication"),
        (lambda d: d["state"].update(bucket="Bad_Bucket"), "state.bucket", "'Bad_Bucket'", "lowercase"),
        (lambda d: d.update(project="toolongproject"), "project", "'toolongproject'", "3-10 characters"),
        (lambda d: d["service"].update(unknown_key=1), "service.unknown_key", "1", "Extra inputs"),
    ],
)
def test_invalid_values_are_rejected_with_field_value_and_rule(mutate, field, value, rule):
    problems = _problems(mutate)
    matching = [p for p in problems if p.startswith(f"{field} = {value}")]
    assert matching, problems
    assert rule in matching[0]


def test_all_problems_are_reported_at_once():
    def mutate(data):
        data["regions"]["replica"] = data["regions"]["primary"]
        data["service"]["container_port"] = 0
    assert len(_problems(mutate)) == 2


def test_full_load_only_migration_may_skip_logical_replication():
    data = config_data()
    data["dms"]["migration_type"] = "full-load"
    data["source_database"]["logical_replication"] = False
    assert parse_config(data).source_database.logical_replication is False


def test_unknown_environment_names_the_known_ones():
    with pytest.raises(ConfigError, match=r"environment = 'nosuch': no such configuration \(known: .*dev"):
        load_config("nosuch")


def test_imported_source_keeps_its_identifier():
    data = config_data()
    data["source_database"].update(LEGACY_SOURCE)
    config = parse_config(data)
    assert config.importing_source
    assert Names.of(config).source_db == "legacy-payments-db"


def test_invalid_import_identifier_is_rejected():
    problems = _problems(lambda d: d["source_database"].update(LEGACY_SOURCE, existing_instance_identifier="Legacy--DB-"))
    assert problems == [
        "source_database.existing_instance_identifier = 'Legacy--DB-': must be a letter, then lowercase letters, "
        "digits, single hyphens"
    ]


@pytest.mark.parametrize("environment", ["ab", "abcdefghijkl", "prod2", "z9z9z9z9z9z9"])
def test_every_derived_name_respects_its_limit(environment):
    data = config_data()
    data["environment"] = environment
    data["project"] = "abcdefghij"  # longest allowed project
    data["regions"] = {"primary": "ap-southeast-2", "replica": "ap-northeast-3"}  # longest region names
    names = Names.of(parse_config(data))
    for attribute, name in asdict(names).items():
        assert RULES[attribute].problem(name) is None, (attribute, name)
    assert len(names.alb) <= 32 and len(names.target_group) <= 32
    assert 3 <= len(names.txlog_replica_bucket) <= 63


def test_only_the_local_environment_may_use_the_emulator():
    assert load_config("local").emulator is True
    assert load_config("dev").emulator is False and load_config("prod").emulator is False
    problems = _problems(lambda d: d.update(emulator=True))
    assert problems == [
        "emulator = True: only the 'local' environment may deploy onto the emulated AWS (environment is 'dev'); "
        "no other environment may carry emulator endpoints"
    ]


@pytest.mark.parametrize(("value", "rule"), [
    (None, "must be set to the emulator's endpoint"),
    ("http://10.0.0.5:4566", "loopback"),
    ("https://127.0.0.1:4566", "loopback"),
    ("http://localhost", "loopback"),
])
def test_emulator_endpoint_comes_from_its_variable_and_stays_on_loopback(monkeypatch, value, rule):
    from config import EMULATOR_ENDPOINT_VARIABLE, emulator_endpoint

    if value is None:
        monkeypatch.delenv(EMULATOR_ENDPOINT_VARIABLE, raising=False)
    else:
        monkeypatch.setenv(EMULATOR_ENDPOINT_VARIABLE, value)
    with pytest.raises(ConfigError) as caught:
        emulator_endpoint()
    assert caught.value.problems[0].startswith(f"{EMULATOR_ENDPOINT_VARIABLE} = {value or ''!r}: ")
    assert rule in caught.value.problems[0]
    monkeypatch.setenv(EMULATOR_ENDPOINT_VARIABLE, "http://127.0.0.1:4566/")
    assert emulator_endpoint() == "http://127.0.0.1:4566"


def test_an_imported_source_names_its_storage_key():
    problems = _problems(lambda d: d["source_database"].update(existing_instance_identifier="legacy-payments-db"))
    assert len(problems) == 1
    assert problems[0].startswith("source_database.existing_kms_key_arn = None: must be set exactly when")
    problems = _problems(lambda d: d["source_database"].update(existing_instance_identifier="legacy-payments-db",
                                                               existing_kms_key_arn="alias/legacy"))
    assert problems == ["source_database.existing_kms_key_arn = 'alias/legacy': must be a KMS key ARN "
                        "(arn:aws:kms:<region>:<account>:key/<id>), not an alias"]


def test_an_applied_import_is_no_longer_declared_but_keeps_the_instance_name():
    data = config_data()
    data["source_database"].update(LEGACY_SOURCE, existing_instance_imported=True)
    config = parse_config(data)
    assert not config.importing_source
    assert Names.of(config).source_db == "legacy-payments-db"
    problems = _problems(lambda d: d["source_database"].update(existing_instance_imported=True))
    assert problems == ["source_database.existing_instance_imported = True: needs existing_instance_identifier "
                        "(the instance that was imported)"]


def test_a_certificate_must_be_an_acm_certificate_arn():
    wrong = "arn:aws:iam::111122223333:server-certificate/payments"
    assert _problems(lambda d: d["service"].update(certificate_arn=wrong)) == [
        f"service.certificate_arn = {wrong!r}: must be an ACM certificate ARN"]
    data = config_data()
    data["service"]["certificate_arn"] = "arn:aws:acm:us-east-1:111122223333:certificate/12345678-90ab-cdef-1234"
    assert parse_config(data).service.certificate_arn == data["service"]["certificate_arn"]


def test_a_problem_renders_field_value_and_rule():
    from config import ConfigProblem

    problem = ConfigProblem("desired_count", 9, "must lie between min_count (2) and max_count (6)")
    assert str(problem) == "desired_count = 9: must lie between min_count (2) and max_count (6)"
    assert problem.under("service").line() == "service.desired_count = 9: must lie between min_count (2) and " \
                                              "max_count (6)"
    with pytest.raises(TypeError):
        ConfigProblem("", 1, "a rule")
    with pytest.raises(TypeError):
        ConfigError("x", ["a line that is not a ConfigProblem"])


def test_errors_carry_their_problems_as_values():
    with pytest.raises(ConfigError) as caught:
        parse_config({**config_data(), "service": {"desired_count": 9}})
    (problem,) = caught.value.details
    assert (problem.field, problem.value) == ("service.desired_count", 9)
    assert caught.value.problems == [problem.line()]


def test_a_rule_across_fields_must_name_its_field():
    """A model validator that raises a plain ValueError (no field) is a programming error, not a user's."""
    from pydantic import ValidationError, model_validator

    from config.loading import problems_of
    from config.models import Storage

    class Careless(Storage):
        @model_validator(mode="after")
        def _rule(self):
            raise ValueError("something is wrong")

    with pytest.raises(ValidationError) as caught:
        Careless()
    with pytest.raises(TypeError, match="must raise config.errors.ConfigProblem"):
        problems_of(caught.value)


# --- parity with the seed: tags, DMS logging, migration_timestamp, per-change suffix ---------------------------

def test_tags_follow_the_aws_tag_rules_and_leave_the_project_keys_alone():
    problems = _problems(lambda d: d.update(tags={"Owner": "team#1", "aws:created": "x", "costcenter": "y",
                                                  "k" * 129: "v", "Ok Key_1.:/=+-@": "fine value"},
                                            cost_center="x" * 257, migration_phase="live"))
    assert sorted(problems) == sorted([
        "cost_center = '" + "x" * 257 + "': must be at most 256 letters, digits, spaces or _ . : / = + - @ "
        "(AWS tag rules)",
        "migration_phase = 'live': Input should be 'preparation', 'replication', 'cutover' or 'completed'",
        "tags.Owner = 'team#1': must be at most 256 letters, digits, spaces or _ . : / = + - @ (AWS tag rules)",
        "tags.aws:created = 'aws:created': must not start with 'aws:' (reserved for AWS)",
        "tags.costcenter = 'costcenter': is set by the project on every resource (Project, Environment, ManagedBy, "
        "Stack, MigrationPhase, CostCenter); use migration_phase / cost_center",
        f"tags.{'k' * 129} = '{'k' * 129}': must be at most 128 letters, digits, spaces or _ . : / = + - @ "
        "(AWS tag rules)",
    ])


def test_tags_leave_room_under_the_aws_limit_of_50_per_resource():
    problems = _problems(lambda d: d.update(tags={f"Key{i}": "v" for i in range(41)}))
    assert problems == ["tags = 41 entries: at most 40 (AWS allows 50 tags per resource, the project sets 6, "
                        "resources add a few)"]
    data = config_data()
    data["tags"] = {"Owner": "payments-platform", "Team": "payments"}
    data["migration_phase"] = "cutover"
    assert parse_config(data).default_tags == {
        "Owner": "payments-platform", "Team": "payments", "Project": "paymig", "Environment": "dev",
        "ManagedBy": "cdktf", "MigrationPhase": "cutover", "CostCenter": "payments"}


def test_dms_log_severity_merges_over_the_seed_components_and_refuses_detailed_debug():
    data = config_data()
    data["dms"]["log_severity"] = {"SOURCE_CAPTURE": "LOGGER_SEVERITY_DEBUG", "VALIDATOR_EXT": "LOGGER_SEVERITY_INFO"}
    severities = parse_config(data).dms.log_severity
    assert severities == {"SOURCE_UNLOAD": "LOGGER_SEVERITY_DEFAULT", "TARGET_LOAD": "LOGGER_SEVERITY_DEFAULT",
                          "SOURCE_CAPTURE": "LOGGER_SEVERITY_DEBUG", "TARGET_APPLY": "LOGGER_SEVERITY_DEFAULT",
                          "TASK_MANAGER": "LOGGER_SEVERITY_DEFAULT", "VALIDATOR_EXT": "LOGGER_SEVERITY_INFO"}
    problems = _problems(lambda d: d["dms"].update(log_severity={"TARGET_APPLY": "LOGGER_SEVERITY_DETAILED_DEBUG"}))
    assert problems == ["dms.log_severity.TARGET_APPLY = 'LOGGER_SEVERITY_DETAILED_DEBUG': not allowed: it writes "
                        "row-level detail (payment data) to CloudWatch Logs; LOGGER_SEVERITY_DEBUG at most"]
    problems = _problems(lambda d: d["dms"].update(log_severity={"SOURCE_LOAD": "LOGGER_SEVERITY_DEBUG"}))
    assert len(problems) == 1 and problems[0].startswith("dms.log_severity.SOURCE_LOAD = 'SOURCE_LOAD': Input should")


def test_migration_timestamp_column_is_opt_in():
    assert load_config("dev").dms.migration_timestamp_column is None
    assert load_config("prod").dms.add_migration_timestamp is False
    data = config_data()
    data["dms"]["add_migration_timestamp"] = True
    assert parse_config(data).dms.migration_timestamp_column == "migration_timestamp"


def test_a_suffix_goes_into_every_name_and_the_state_of_disposable_environments_only():
    data = config_data()
    data["suffix"] = "pr123"
    config = parse_config(data)
    assert (config.state.bucket, config.state.lock_table, config.state.key_prefix) == (
        "paymig-dev-tfstate-pr123", "paymig-dev-tflock-pr123", "paymig/dev/pr123")
    names = Names.of(config)
    assert all("pr123" in name for name in asdict(names).values())
    assert config.disposable and names.alb == "paymig-dev-pr123-alb"
    for bad in ("PR123", "pr-12", "toolong12", ""):
        assert _problems(lambda d: d.update(suffix=bad)) == [
            f"suffix = {bad!r}: must be 1-8 lowercase letters or digits (it is part of every AWS name)"]
    prod = config_data("prod")
    prod["suffix"] = "pr1"
    with pytest.raises(ConfigError) as caught:
        parse_config(prod)
    assert caught.value.problems == ["suffix = 'pr1': per-change environments are disposable: only dev and local "
                                     "without deletion protection (environment is 'prod')"]
    assert _problems(lambda d: d.update(suffix="pr1", deletion_protection=True))[0].startswith("suffix = 'pr1'")


def test_the_longest_suffix_keeps_every_derived_name_within_its_limit():
    data = config_data()
    data.update(project="abcdefghij", environment="local", suffix="pr123456")  # longest project and suffix
    data["regions"] = {"primary": "ap-southeast-2", "replica": "ap-northeast-3"}  # longest region names
    names = Names.of(parse_config(data))
    assert names.dms_task == "abcdefghij-local-pr123456-cdc"
    for attribute, name in asdict(names).items():
        assert RULES[attribute].problem(name) is None, (attribute, name)


def test_the_suffix_comes_from_paymig_suffix_and_wins_over_the_file(monkeypatch):
    assert load_config("dev").suffix is None and load_config("dev").name_prefix == "paymig-dev"
    monkeypatch.setenv("PAYMIG_SUFFIX", "pr42")
    config = load_config("dev")
    assert (config.suffix, config.name_prefix, config.state.key_prefix) == ("pr42", "paymig-dev-pr42", "paymig/dev/pr42")
    with pytest.raises(ConfigError, match=r"suffix = 'pr42': per-change environments are disposable"):
        load_config("prod")
