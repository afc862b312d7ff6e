"""DMS for large tables: parallel-load table-settings rules, MaxFullLoadSubTasks and transactional CDC apply, on the
synthesized JSON of the module and of prod, and the configuration refusing what DMS would refuse (negative controls:
each bad value is caught, named as ``field = value: rule``)."""

from __future__ import annotations

import json

import pytest

from config import ConfigError, parse_config
from config.parallel_load import parallel_load_problems
from modules.dms import DmsMigration, default_task_settings, schema_table_mappings, table_mapping_problems
from tests.conftest import config_data, stack_json
from tests.test_modules import dms_props, new_stack, resources

RANGES = {"type": "ranges", "columns": ["id"], "boundaries": [[1000000], [2000000], [3000000]]}


def tasks(document) -> dict[str, dict]:
    """``replication_task_id`` -> the task's table mappings and settings, parsed."""
    return {task["replication_task_id"]: {"mappings": json.loads(task["table_mappings"]),
                                          "settings": json.loads(task["replication_task_settings"])}
            for task in resources(document, "aws_dms_replication_task").values()}


def test_the_task_loads_a_large_table_in_range_segments_and_the_reverse_task_has_no_full_load_rule():
    stack = new_stack()
    DmsMigration(stack, "dms", dms_props(
        table_mappings=schema_table_mappings("public", parallel_load={"payments": RANGES}),
        task_settings=default_task_settings(max_full_load_sub_tasks=16),
        reverse_task_id="paymig-dev-rev", reverse_source_endpoint_id="rs", reverse_target_endpoint_id="rt"))
    found = tasks(stack_json(stack))
    rules = found["paymig-dev-cdc"]["mappings"]["rules"]
    assert [r["rule-type"] for r in rules] == ["selection", "selection", "table-settings"]
    assert rules[2] == {"rule-type": "table-settings", "rule-id": "3", "rule-name": "parallel-load-payments",
                        "object-locator": {"schema-name": "public", "table-name": "payments"},
                        "parallel-load": {"type": "ranges", "columns": ["id"],
                                          "boundaries": [["1000000"], ["2000000"], ["3000000"]]}}
    settings = found["paymig-dev-cdc"]["settings"]
    assert settings["FullLoadSettings"]["MaxFullLoadSubTasks"] == 16
    assert settings["TargetMetadata"]["BatchApplyEnabled"] is False  # transactional apply: commit order kept
    assert not any(key.startswith("BatchApply") for key in settings["ChangeProcessingTuning"])
    # both select the drain's sentinel table too
    assert [(r["rule-type"], r["object-locator"]) for r in found["paymig-dev-rev"]["mappings"]["rules"]] == [
        ("selection", {"schema-name": "public", "table-name": "%"}),
        ("selection", {"schema-name": "cutover", "table-name": "sentinel"})]
    assert rules[1]["object-locator"] == {"schema-name": "cutover", "table-name": "sentinel"}


def test_rule_ids_after_a_transformation():
    mappings = schema_table_mappings("public", "migration_timestamp", {"payments": RANGES, "ledger": RANGES})
    assert [(r["rule-id"], r["rule-type"], r["object-locator"]["table-name"]) for r in mappings["rules"]] == [
        ("1", "selection", "%"), ("2", "selection", "sentinel"), ("3", "transformation", "%"),
        ("4", "table-settings", "ledger"), ("5", "table-settings", "payments")]
    assert mappings["rules"][4]["parallel-load"]["type"] == "ranges"


@pytest.mark.parametrize(("settings", "field", "rule"), [
    ({**RANGES, "boundaries": [[2000000], [1000000]]}, "boundaries[1]", "must be above boundaries[0]"),
    ({**RANGES, "boundaries": [[1000000], [1000000]]}, "boundaries", "must be distinct"),
    ({**RANGES, "boundaries": []}, "boundaries", "at least one boundary"),
    ({**RANGES, "boundaries": [[1, 2]]}, "boundaries[0]", "must be a list of 1 value(s)"),
    ({**RANGES, "columns": []}, "columns", "1 to 10 column names"),
    ({**RANGES, "columns": [f"c{i}" for i in range(11)], "boundaries": [list(range(11))]}, "columns", "1 to 10"),
    ({**RANGES, "columns": ["id", "id"], "boundaries": [[1, 2]]}, "columns", "must not repeat"),
    # DMS supports only ranges for a PostgreSQL source
    ({"type": "partitions-auto"}, "type", "must be ranges: the only parallel-load type DMS supports"),
    ({"type": "hash"}, "type", "must be ranges"),
    ({"type": "ranges", "columns": ["created_at"], "boundaries": [["2026-02-01"], ["2026-01-01"]]}, "boundaries[1]",
     "must be above"),
    ({"type": "ranges", "columns": ["merchant_id", "id"], "boundaries": [[5, 100], [5, 50]]}, "boundaries[1]",
     "must be above"),
])
def test_bad_parallel_load_settings_are_refused_by_the_module(settings, field, rule):
    with pytest.raises(ValueError) as caught:
        schema_table_mappings("public", parallel_load={"payments": settings})
    line = str(caught.value)
    assert line.startswith(f"parallel_load.payments.{field} = ") and rule in line.partition(": ")[2], line


def test_valid_orders_pass_including_values_only_the_source_can_order():
    assert parallel_load_problems("payments", {"type": "ranges", "columns": ["merchant_id", "id"],
                                               "boundaries": [[5, 100], [5, 200], [6, 1]]}) == []
    assert parallel_load_problems("payments", {"type": "ranges", "columns": ["currency"],
                                               "boundaries": [["USD"], ["EUR"]]}) == []  # collation: the source's
    assert parallel_load_problems("pay%", {"type": "partitions-auto"})[0][0] == "table"  # no wildcard


def test_the_props_refuse_batch_apply_too_many_sub_tasks_and_a_hand_written_bad_rule():
    batch = default_task_settings()
    batch["TargetMetadata"]["BatchApplyEnabled"] = True
    with pytest.raises(ValueError, match=r"BatchApplyEnabled = True: must be false for payments"):
        dms_props(task_settings=batch)
    with pytest.raises(ValueError, match=r"MaxFullLoadSubTasks = 50: must be an integer from 1 to 49"):
        dms_props(task_settings=default_task_settings(max_full_load_sub_tasks=50))
    mappings = schema_table_mappings("public", parallel_load={"payments": RANGES})
    mappings["rules"][2]["parallel-load"]["boundaries"] = [["3000000"], ["1000000"]]
    with pytest.raises(ValueError, match=r"parallel_load\.payments\.boundaries\[1\] = \['1000000'\]: must be above"):
        dms_props(table_mappings=mappings)
    mappings["rules"][1]["rule-id"] = "1"
    assert "rule-id = ['1', '1', '3']: must be unique" in table_mapping_problems(mappings, default_task_settings())[0]
    assert table_mapping_problems(schema_table_mappings("public", parallel_load={"payments": RANGES}),
                                  default_task_settings()) == []


def _config_problems(dms: dict) -> list[str]:
    data = config_data("prod")
    data["dms"].update(dms)
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    return caught.value.problems


def test_the_configuration_names_field_value_and_rule():
    assert _config_problems({"parallel_load": {"payments": {**RANGES, "boundaries": [[3000000], [1000000]]}}}) == [
        "dms.parallel_load.payments.boundaries[1] = [1000000]: must be above boundaries[0] = [3000000] (each "
        "boundary is the upper bound of the next segment, in ascending order)"]
    assert _config_problems({"parallel_load": {"pay%": RANGES}})[0].startswith(
        "dms.parallel_load.pay% = 'pay%': must name one table")
    assert _config_problems({"max_full_load_sub_tasks": 50})[0].startswith("dms.max_full_load_sub_tasks = 50:")
    assert _config_problems({"cdc_statement_cache_size": 201})[0].startswith("dms.cdc_statement_cache_size = 201:")
    assert _config_problems({"batch_apply_enabled": True})[0].startswith("dms.batch_apply_enabled = True:")


def test_prod_synthesizes_the_payments_ranges_and_its_tuning(prod_synthesized):
    found = tasks(prod_synthesized["data"].document)
    forward = next(task for name, task in found.items() if name.endswith("-cdc"))
    load = [r for r in forward["mappings"]["rules"] if r["rule-type"] == "table-settings"]
    assert [(r["object-locator"]["table-name"], r["parallel-load"]["type"], len(r["parallel-load"]["boundaries"]))
            for r in load] == [("payments", "ranges", 6)]
    assert forward["settings"]["FullLoadSettings"]["MaxFullLoadSubTasks"] == 16
    assert forward["settings"]["ChangeProcessingTuning"]["MinTransactionSize"] == 1000
    assert forward["settings"]["TargetMetadata"]["BatchApplyEnabled"] is False
    assert table_mapping_problems(forward["mappings"], forward["settings"]) == []
