"""AWS DMS: account roles, replication subnet group and instance, PostgreSQL endpoints and a CDC task.

- ``dms-vpc-role`` and ``dms-cloudwatch-logs-role`` are account-wide roles with fixed names that DMS looks up;
  ``create_account_roles=False`` leaves them to an account that already has them. When created here, the subnet
  group and the replication instance depend on the policy attachment, so DMS never sees the role without its
  policy (the public "The IAM Role arn:aws:iam::...:role/dms-vpc-role is not configured properly" failure).
- Endpoints read their connection (host, port, user, password) from Secrets Manager secrets through a role that
  DMS assumes (``secrets_manager_arn`` / ``secrets_manager_access_role_arn``). The secrets are created here
  without a value; see ``PostgresEndpoint``. No password is in Terraform.
- Table mappings and task settings are Python dicts serialized with ``json.dumps``; data validation is on.
- Large tables: ``schema_table_mappings(..., parallel_load=...)`` adds one ``table-settings`` rule with
  ``parallel-load`` per table (``ranges``, the only type DMS supports for a PostgreSQL source:
  ``config.parallel_load``), and
  ``FullLoadSettings.MaxFullLoadSubTasks`` (1-49) bounds how many tables and segments load at once.
- CDC apply is **transactional** (``TargetMetadata.BatchApplyEnabled`` false): each source transaction is applied
  as a whole, in the source's commit order. That is the setting that keeps transactional order for payments.
  Batch optimized apply (``BatchApplyEnabled`` true) groups changes into net-change batches per table and does not
  keep it: DMS "efficiently groups transactions and applies them in batches", which may "affect transactional
  integrity" (``BatchApplyPreserveTransaction`` keeps a transaction inside one batch, and applies only to Oracle
  targets); DMS also refuses batch apply for a target table with both a primary key and a unique constraint (the
  payments table has both). ``DmsMigrationProps`` refuses ``BatchApplyEnabled`` true. Throughput is tuned within
  transactional apply: ``MinTransactionSize`` / ``CommitTimeout`` group whole source transactions into one target
  commit (order kept) and ``StatementCacheSize`` keeps prepared statements (``default_task_settings``).

Example::

    from modules.dms import DmsMigration, DmsMigrationProps, PostgresEndpoint, schema_table_mappings

    dms = DmsMigration(stack, "dms", DmsMigrationProps(
        instance_id="paymig-dev-dms", subnet_group_id="paymig-dev-dms", task_id="paymig-dev-cdc",
        task_resource_identifier="paymig-dev-cdc", source_endpoint_id="paymig-dev-source",
        target_endpoint_id="paymig-dev-target", secrets_role_name="paymig-dev-dms-secrets",
        instance_class="dms.t3.medium", engine_version="3.5.4", allocated_storage_gib=50, multi_az=False,
        subnet_ids=("subnet-a", "subnet-b"), security_group_ids=("sg-dms",),
        source=PostgresEndpoint("payments", "paymig-dev-dms-source"),
        target=PostgresEndpoint("payments", "paymig-dev-dms-target"), region="us-east-1",
        table_mappings=schema_table_mappings("public"), address="migration"))
    task_arn = dms.task.replication_task_arn  # aws_dms_replication_task.migration

Follows: https://docs.aws.amazon.com/dms/latest/userguide/security-iam.html#CHAP_Security.APIRole,
https://docs.aws.amazon.com/dms/latest/userguide/CHAP_Tasks.CustomizingTasks.TaskSettings.html,
https://docs.aws.amazon.com/dms/latest/userguide/CHAP_Tasks.CustomizingTasks.TaskSettings.FullLoad.html,
https://docs.aws.amazon.com/dms/latest/userguide/CHAP_Tasks.CustomizingTasks.TaskSettings.TargetMetadata.html,
https://docs.aws.amazon.com/dms/latest/userguide/CHAP_Tasks.CustomizingTasks.TaskSettings.ChangeProcessingTuning.html,
https://docs.aws.amazon.com/dms/latest/userguide/CHAP_Tasks.CustomizingTasks.TableMapping.SelectionTransformation.Tablesettings.html,
https://docs.aws.amazon.com/dms/latest/userguide/CHAP_Validating.html and
https://registry.terraform.io/providers/hashicorp/aws/5.100.0/docs/resources/dms_replication_task.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from collections.abc import Mapping
from typing import Any

from cdktf import TerraformResourceLifecycle
from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.dms_endpoint import DmsEndpoint, DmsEndpointPostgresSettings
from cdktf_cdktf_provider_aws.dms_replication_instance import DmsReplicationInstance
from cdktf_cdktf_provider_aws.dms_replication_subnet_group import DmsReplicationSubnetGroup
from cdktf_cdktf_provider_aws.dms_replication_task import DmsReplicationTask
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.iam_role_policy_attachment import IamRolePolicyAttachment
from cdktf_cdktf_provider_aws.secretsmanager_secret import SecretsmanagerSecret
from constructs import Construct

from config.parallel_load import MAX_FULL_LOAD_SUB_TASKS, parallel_load_problems, table_settings_rule
from modules.addressing import suffixed, with_address
from modules.iam import assume_role_policy, policy_document, statement, via_service

DMS_VPC_ROLE = "dms-vpc-role"
DMS_CLOUDWATCH_LOGS_ROLE = "dms-cloudwatch-logs-role"
HEARTBEAT_SCHEMA = "awsdms"
"""Schema of the source database where DMS keeps its heartbeat table (``cutover roles`` creates it, owned by the
DMS source role, so that role needs no CREATE privilege on the payment schema)."""
HEARTBEAT_FREQUENCY_MINUTES = 1
"""``PostgreSQLSettings.HeartbeatFrequency`` of a source endpoint, minutes (DMS's default 5): the WAL heartbeat
"mimics a dummy transaction" so that an idle slot's ``restart_lsn`` moves and the source's storage does not fill
(https://docs.aws.amazon.com/dms/latest/APIReference/API_PostgreSQLSettings.html). A switch's drain does not wait
on it."""
FORWARD_TOOL_OWNED = {"endpoint": ("postgres_settings[0].slot_name",), "task": ("migration_type",)}
"""Attributes of the forward source endpoint and the forward task that ``cutover replication start`` changes when
it restarts the forward direction CDC-only after a rollback (``ModifyEndpoint`` ``PostgreSQLSettings.SlotName`` =
``paymig_dms_forward``, ``ModifyReplicationTask`` ``MigrationType=cdc``; ``cutover/replication/dms.py``):
``lifecycle { ignore_changes }``, so that Terraform neither reports them as drift nor reverts them under a running
task. The endpoint names no slot in the configuration: the DMS user guide describes ``slotName`` for CDC-only tasks
with a ``CdcStartPosition`` ("When this CDC task runs, AWS DMS raises an error if the specified logical replication
slot does not exist. It also raises an error if the task isn't created with a valid setting for
cdc-start-position"), not for the full-load-and-cdc task the forward direction starts as
(https://docs.aws.amazon.com/dms/latest/userguide/CHAP_Source.PostgreSQL.html, "Using a native CDC start point")."""
REVERSE_SLOT_NAME = "paymig_dms_reverse"
"""``PostgreSQLSettings.SlotName`` of the reverse task's source endpoint: the slot ``cutover switchover`` creates on
the target during the freeze and starts the CDC-only reverse task from (``CdcStartPosition``; DMS checks that the
named slot exists: https://docs.aws.amazon.com/dms/latest/APIReference/API_PostgreSQLSettings.html). The same
name as :data:`cutover.replication.dms.DEFAULT_SLOT` for ``reverse``, so the tool never modifies the endpoint."""
_MANAGED_POLICY = "arn:aws:iam::aws:policy/service-role/{}"

# DMS task settings keys DMS accepts at create time (top-level sections of the task settings document).
TASK_SETTINGS_SECTIONS = frozenset(
    {
        "TargetMetadata", "FullLoadSettings", "Logging", "ControlTablesSettings", "StreamBufferSettings",
        "ChangeProcessingTuning", "ChangeProcessingDdlHandlingPolicy", "ValidationSettings", "ErrorBehavior",
        "CharacterSetSettings", "BeforeImageSettings", "LoopbackPreventionSettings", "FailTaskWhenCleanTaskResourceFailed",
        "PostProcessingRules", "TTSettings",
    }
)


def default_task_settings(log_severity: Mapping[str, str] | None = None, *, max_full_load_sub_tasks: int = 8,
                          min_transaction_size: int = 1000, commit_timeout_seconds: int = 1,
                          statement_cache_size: int = 50) -> dict[str, Any]:
    """Task settings for a payment migration: validation on, stop on any data or apply error, transactional apply.

    Keys follow the DMS task settings document. Nothing is silently skipped: a row that fails to load or apply
    stops the task instead of being logged and dropped, and every migrated row is validated against the source.
    CDC changes are applied transactionally (``BatchApplyEnabled`` false: see the module docstring), so no
    ``BatchApply*`` setting is written (DMS reads them only in batch apply mode).

    Args:
        log_severity: DMS log component (``SOURCE_UNLOAD``, ``TARGET_LOAD``, ``SOURCE_CAPTURE``, ``TARGET_APPLY``,
            ``TASK_MANAGER``, ...) -> severity (``LOGGER_SEVERITY_DEFAULT``, ...), written as
            ``Logging.LogComponents`` (DMS user guide, "Logging task settings"); default: none listed, DMS logs
            every component at its default severity.
        max_full_load_sub_tasks: ``FullLoadSettings.MaxFullLoadSubTasks``, tables or parallel-load segments loaded
            at once, 1-49 (DMS default 8).
        min_transaction_size: ``ChangeProcessingTuning.MinTransactionSize``, changes grouped into one target commit
            in transactional apply (whole source transactions, in commit order); DMS default 1000.
        commit_timeout_seconds: ``ChangeProcessingTuning.CommitTimeout``, longest time DMS collects transactions
            before committing them, seconds; DMS default 1.
        statement_cache_size: ``ChangeProcessingTuning.StatementCacheSize``, prepared statements kept on the target,
            at most 200; DMS default 50.
    """
    stop = "STOP_TASK"
    return {
        "TargetMetadata": {
            "TargetSchema": "", "SupportLobs": True, "FullLobMode": False, "LobChunkSize": 64,
            "LimitedSizeLobMode": True, "LobMaxSize": 32, "BatchApplyEnabled": False,
        },
        "FullLoadSettings": {
            "TargetTablePrepMode": "DO_NOTHING", "CreatePkAfterFullLoad": False,
            "MaxFullLoadSubTasks": max_full_load_sub_tasks,
            "TransactionConsistencyTimeout": 600, "CommitRate": 10000,
            "StopTaskCachedChangesApplied": False, "StopTaskCachedChangesNotApplied": False,
        },
        "Logging": {"EnableLogging": True, **({"LogComponents": [
            {"Id": component, "Severity": severity} for component, severity in log_severity.items()]}
            if log_severity else {})},
        "ControlTablesSettings": {
            "ControlSchema": "dms_control", "HistoryTimeslotInMinutes": 5, "HistoryTableEnabled": True,
            "SuspendedTablesTableEnabled": True, "StatusTableEnabled": True,
        },
        "ChangeProcessingTuning": {
            "MinTransactionSize": min_transaction_size, "CommitTimeout": commit_timeout_seconds,
            "MemoryLimitTotal": 1024, "MemoryKeepTime": 60, "StatementCacheSize": statement_cache_size,
        },
        "ValidationSettings": {
            "EnableValidation": True, "ValidationMode": "ROW_LEVEL", "ThreadCount": 5, "FailureMaxCount": 10000,
            "TableFailureMaxCount": 1000, "HandleCollationDiff": False, "RecordFailureDelayLimitInMinutes": 0,
            "SkipLobColumns": False, "ValidationPartialLobSize": 0, "ValidationQueryCdcDelaySeconds": 0,
        },
        "ErrorBehavior": {
            "DataErrorPolicy": stop, "DataTruncationErrorPolicy": stop, "DataErrorEscalationPolicy": stop,
            "TableErrorPolicy": stop, "TableErrorEscalationPolicy": stop,
            "RecoverableErrorCount": -1, "RecoverableErrorInterval": 5, "RecoverableErrorThrottling": True,
            "RecoverableErrorThrottlingMax": 1800, "ApplyErrorDeletePolicy": stop, "ApplyErrorInsertPolicy": stop,
            "ApplyErrorUpdatePolicy": stop, "ApplyErrorEscalationPolicy": stop, "FullLoadIgnoreConflicts": False,
        },
    }


SENTINEL_SCHEMA, SENTINEL_TABLE = "cutover", "sentinel"
"""The switch's drain sentinel ``cutover.sentinel`` (``cutover.replication.sentinel``): both tasks select it."""


def schema_table_mappings(schema: str, commit_timestamp_column: str | None = None,
                          parallel_load: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """Table mappings that include every table of ``schema`` and the drain's sentinel table (selection rules, DMS
    table-mapping JSON).

    The second selection rule (``include-cutover-sentinel``) selects ``cutover.sentinel``: a switch writes one row
    there on the old writer after its freeze and waits until the task applied it on the new writer (transactional
    apply keeps the source's commit order), instead of waiting for the slot's ``confirmed_flush_lsn``, which on a
    frozen source moves only on heartbeats. The table has a primary key (``token``): DMS validates only tables with
    one and captures only the inserts of a table without one. The tool creates it on both databases, outside the
    payment schema; no transformation or table-settings rule applies to it.

    Args:
        commit_timestamp_column: also add this column to every target table, holding the source transaction's
            commit time (``$AR_H_COMMIT_TIMESTAMP``; during full load, the time the row was loaded): a
            ``transformation`` rule with ``add-column`` (DMS user guide, "Using transformation rule expressions to
            define column content"). It changes the target's schema: with ``TargetTablePrepMode`` ``DO_NOTHING``
            the target tables must already have the column (``timestamp``), and any comparison of source and target
            rows must leave it out. Default None: no transformation.
        parallel_load: table name -> its ``parallel-load`` (``{"type": "ranges", "columns": [...], "boundaries":
            [[...], ...]}``): one ``table-settings`` rule per table, in name order,
            rule ids after the others (``config.parallel_load.table_settings_rule``). Default None: none.

    Raises:
        ValueError: a ``parallel_load`` entry breaks a rule of ``config.parallel_load``
            (``parallel_load.<table>.<field> = <value>: <rule>``).
    """
    locator = {"schema-name": schema, "table-name": "%"}
    rules: list[dict[str, Any]] = [
        {"rule-type": "selection", "rule-id": "1", "rule-name": f"include-{schema}", "object-locator": locator,
         "rule-action": "include"},
        {"rule-type": "selection", "rule-id": "2", "rule-name": f"include-{SENTINEL_SCHEMA}-{SENTINEL_TABLE}",
         "object-locator": {"schema-name": SENTINEL_SCHEMA, "table-name": SENTINEL_TABLE}, "rule-action": "include"}]
    if commit_timestamp_column:
        rules.append({"rule-type": "transformation", "rule-id": str(len(rules) + 1),
                      "rule-name": f"add-{commit_timestamp_column}",
                      "rule-target": "column", "object-locator": locator, "rule-action": "add-column",
                      "value": commit_timestamp_column, "expression": "$AR_H_COMMIT_TIMESTAMP",
                      "data-type": {"type": "datetime", "precision": 6}})
    for table in sorted(parallel_load or {}):
        rules.append(table_settings_rule(len(rules) + 1, schema, table, parallel_load[table]))  # type: ignore[index]
    return {"rules": rules}


def table_mapping_problems(table_mappings: Mapping[str, Any], task_settings: Mapping[str, Any]) -> list[str]:
    """What DMS would refuse, or what would break the payment invariant, in these mappings and settings.

    Checked: rule ids unique; every ``table-settings`` rule's ``parallel-load`` (``config.parallel_load``);
    ``FullLoadSettings.MaxFullLoadSubTasks`` 1-49; ``TargetMetadata.BatchApplyEnabled`` not true (batch apply does
    not keep the source's transactional order; see the module docstring).

    Returns:
        One line per problem, ``<field> = <value>: <rule>``; empty when none.
    """
    problems = []
    rules = table_mappings.get("rules", [])
    ids = [rule.get("rule-id") for rule in rules]
    if len(set(ids)) != len(ids):
        problems.append(f"table_mappings.rules[].rule-id = {ids}: must be unique")
    for rule in rules:
        if rule.get("rule-type") != "table-settings" or "parallel-load" not in rule:
            continue
        table = rule.get("object-locator", {}).get("table-name", "")
        problems += [f"table_mappings.parallel_load.{table}{'' if field == 'table' else '.' + field} = {value!r}: "
                     f"{message}" for field, value, message in parallel_load_problems(table, rule["parallel-load"])]
    sub_tasks = task_settings.get("FullLoadSettings", {}).get("MaxFullLoadSubTasks", 8)
    if isinstance(sub_tasks, bool) or not isinstance(sub_tasks, int) or not 1 <= sub_tasks <= MAX_FULL_LOAD_SUB_TASKS:
        problems.append(f"task_settings.FullLoadSettings.MaxFullLoadSubTasks = {sub_tasks!r}: must be an integer "
                        f"from 1 to {MAX_FULL_LOAD_SUB_TASKS} (DMS full-load task settings)")
    if task_settings.get("TargetMetadata", {}).get("BatchApplyEnabled") is True:
        problems.append("task_settings.TargetMetadata.BatchApplyEnabled = True: must be false for payments: batch "
                        "apply groups changes into batches and does not keep the source's transactional order (DMS "
                        "change processing tuning), and DMS does not support it for a target table with both a "
                        "primary key and a unique constraint")
    return problems


@dataclass(frozen=True)
class PostgresEndpoint:
    """A DMS PostgreSQL endpoint: the database and the name of its connection secret.

    DMS reads host, port, username and password from a Secrets Manager secret; it cannot use the RDS-managed
    master secret, which holds no host or port (DMS user guide, "Using secrets to access AWS DMS endpoints").
    ``DmsMigration`` creates the secret, encrypted with the migration key, but never a secret value:
    ``cutover roles`` writes it with the DMS database role's own credentials (``cutover/roles.py``) and the instance
    address, outside Terraform, so no password reaches Terraform configuration or state.
    """

    database_name: str
    secret_name: str


@dataclass(frozen=True)
class DmsMigrationProps:
    """Props of ``DmsMigration``.

    Attributes:
        instance_id / subnet_group_id / task_id / task_resource_identifier / source_endpoint_id /
            target_endpoint_id / secrets_role_name: AWS names (see ``config.naming``).
        instance_class: e.g. ``dms.t3.medium``; engine_version: e.g. ``3.5.4``.
        allocated_storage_gib: replication instance storage, GiB.
        multi_az: standby replication instance.
        subnet_ids / security_group_ids: where the replication instance runs.
        source / target: the PostgreSQL endpoints.
        migration_type: ``full-load``, ``cdc`` or ``full-load-and-cdc``.
        table_mappings / task_settings: dicts serialized with ``json.dumps`` (checked by
            ``table_mapping_problems``: parallel-load rules, ``MaxFullLoadSubTasks``, transactional apply).
        create_account_roles: create ``dms-vpc-role`` and ``dms-cloudwatch-logs-role``.
        ssl_mode: endpoint SSL mode. ``require`` encrypts every connection; ``verify-full`` also needs the RDS CA
            imported as a DMS certificate (``certificate_arn``).
        kms_key_arn: key for the replication instance storage and the endpoints' connection settings; None uses
            the AWS-managed key.
        region: region of the secrets (the secrets role trusts the regional DMS principal).
        secret_recovery_window_days: days a deleted connection secret can be restored (0: delete at once).
        reverse_task_id / reverse_source_endpoint_id / reverse_target_endpoint_id: when all three are set, a
            second, CDC-only task replicates the other way (target database -> source database) through two more
            endpoints that reuse the two connection secrets. It is created stopped; ``cutover switchover`` starts
            it once the target is the writer, so that a rollback finds the source up to date. Default None: none.
        address: fixed Terraform name of the replication instance and task; the endpoints and their secrets are
            ``<address>_source`` / ``<address>_target`` (``modules.addressing``). None: cdktf's path-derived names.

    Raises:
        ValueError: task settings with an unknown top-level section or not serializable to JSON; a problem of
            ``table_mapping_problems`` (the first, as ``<field> = <value>: <rule>``).
    """

    instance_id: str
    subnet_group_id: str
    task_id: str
    task_resource_identifier: str
    source_endpoint_id: str
    target_endpoint_id: str
    secrets_role_name: str
    instance_class: str
    engine_version: str
    allocated_storage_gib: int
    multi_az: bool
    subnet_ids: tuple[str, ...]
    security_group_ids: tuple[str, ...]
    source: PostgresEndpoint
    target: PostgresEndpoint
    region: str
    migration_type: str = "full-load-and-cdc"
    table_mappings: dict[str, Any] = field(default_factory=lambda: schema_table_mappings("public"))
    task_settings: dict[str, Any] = field(default_factory=default_task_settings)
    create_account_roles: bool = True
    ssl_mode: str = "require"
    certificate_arn: str | None = None
    kms_key_arn: str | None = None
    secret_recovery_window_days: int = 7
    reverse_task_id: str | None = None
    reverse_source_endpoint_id: str | None = None
    reverse_target_endpoint_id: str | None = None
    address: str | None = None

    def __post_init__(self) -> None:
        unknown = sorted(set(self.task_settings) - TASK_SETTINGS_SECTIONS)
        if unknown:
            raise ValueError(f"task_settings = {unknown}: unknown DMS task settings sections (allowed: "
                             f"{', '.join(sorted(TASK_SETTINGS_SECTIONS))})")
        for name in ("task_settings", "table_mappings"):
            try:
                json.dumps(getattr(self, name), allow_nan=False)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"{name}: must serialize to JSON ({exc})") from None
        problems = table_mapping_problems(self.table_mappings, self.task_settings)
        if problems:
            raise ValueError(problems[0])
        if self.ssl_mode == "verify-full" and not self.certificate_arn:
            raise ValueError("ssl_mode = 'verify-full': needs certificate_arn (the RDS CA imported into DMS)")
        reverse = (self.reverse_task_id, self.reverse_source_endpoint_id, self.reverse_target_endpoint_id)
        if any(reverse) and not all(reverse):
            raise ValueError(f"reverse_task_id, reverse_source_endpoint_id, reverse_target_endpoint_id = {reverse}: "
                             "set all three for a reverse task, or none")


class DmsMigration(Construct):
    """DMS roles, subnet group, replication instance, source/target endpoints and the replication task.

    Attributes: ``instance``, ``secrets`` (``source``/``target`` -> connection secret), ``source_endpoint``,
    ``target_endpoint``, ``task``, ``reverse_task`` (target -> source, CDC only; None unless the props name it),
    ``account_roles_ready``
    (the policy attachments the DMS resources depend on; empty when the account already has the roles).
    """

    props: DmsMigrationProps
    """The props it was built from."""
    account_roles_ready: list[IamRolePolicyAttachment]
    """Policy attachments of ``dms-vpc-role`` / ``dms-cloudwatch-logs-role`` the DMS resources depend on (empty
    when the account already has the roles)."""
    instance: DmsReplicationInstance
    """The ``aws_dms_replication_instance``."""
    secrets: dict[str, SecretsmanagerSecret]
    """``source`` / ``target`` -> the endpoint's connection secret (created without a value)."""
    source_endpoint: DmsEndpoint
    """The source ``aws_dms_endpoint`` (heartbeat on)."""
    target_endpoint: DmsEndpoint
    """The target ``aws_dms_endpoint``."""
    task: DmsReplicationTask
    """The ``aws_dms_replication_task`` (never started by Terraform)."""
    reverse_task: DmsReplicationTask | None
    """The CDC-only task from the target back to the source (``cutover switchover`` starts it), or None."""

    def __init__(self, scope: Construct, id_: str, props: DmsMigrationProps):
        super().__init__(scope, id_)
        self.props = props
        self.account_roles_ready = self._account_roles() if props.create_account_roles else []
        subnet_group = DmsReplicationSubnetGroup(
            self, "subnet-group", replication_subnet_group_id=props.subnet_group_id,
            replication_subnet_group_description=f"{props.instance_id} replication subnets",
            subnet_ids=list(props.subnet_ids), depends_on=self.account_roles_ready or None,
        )
        self.instance = with_address(DmsReplicationInstance(
            self, "instance", replication_instance_id=props.instance_id,
            replication_instance_class=props.instance_class, engine_version=props.engine_version,
            allocated_storage=props.allocated_storage_gib, multi_az=props.multi_az, publicly_accessible=False,
            replication_subnet_group_id=subnet_group.replication_subnet_group_id,
            vpc_security_group_ids=list(props.security_group_ids), kms_key_arn=props.kms_key_arn,
            auto_minor_version_upgrade=True, apply_immediately=True, depends_on=self.account_roles_ready or None,
        ), props.address)
        self.secrets = {kind: with_address(SecretsmanagerSecret(
            self, f"{kind}-secret", name=endpoint.secret_name, kms_key_id=props.kms_key_arn,
            recovery_window_in_days=props.secret_recovery_window_days,
            description=f"DMS {kind} endpoint connection (host, port, username, password); value written by "
                        "`cutover roles`, never by Terraform"), suffixed(props.address, kind))
            for kind, endpoint in (("source", props.source), ("target", props.target))}
        secrets_role = self._secrets_role()
        self.source_endpoint = self._endpoint("source", props.source_endpoint_id, props.source, secrets_role,
                                              tool_owned=FORWARD_TOOL_OWNED["endpoint"])
        self.target_endpoint = self._endpoint("target", props.target_endpoint_id, props.target, secrets_role)
        self.task = self._task("task", props.task_id, props.task_resource_identifier, props.migration_type,
                               self.source_endpoint, self.target_endpoint, props.table_mappings, props.address,
                               tool_owned=FORWARD_TOOL_OWNED["task"])
        self.reverse_task: DmsReplicationTask | None = None
        if props.reverse_task_id and props.reverse_source_endpoint_id and props.reverse_target_endpoint_id:
            # the target database is read (its connection secret), the source database is written (its secret)
            reverse_source = self._endpoint("source", props.reverse_source_endpoint_id, props.target, secrets_role,
                                            secret=self.secrets["target"], id_="reverse-source-endpoint",
                                            slot_name=REVERSE_SLOT_NAME,
                                            address=suffixed(props.address, "reverse_source"))
            reverse_target = self._endpoint("target", props.reverse_target_endpoint_id, props.source, secrets_role,
                                            secret=self.secrets["source"], id_="reverse-target-endpoint",
                                            address=suffixed(props.address, "reverse_target"))
            # no transformation rules backwards: a column the forward task adds on the target is not the source's;
            # no table-settings either: a CDC-only task has no full load to split
            mappings = {**props.table_mappings, "rules": [rule for rule in props.table_mappings.get("rules", [])
                                                          if rule.get("rule-type") not in ("transformation",
                                                                                           "table-settings")]}
            self.reverse_task = self._task("reverse-task", props.reverse_task_id, props.reverse_task_id, "cdc",
                                           reverse_source, reverse_target, mappings,
                                           suffixed(props.address, "reverse"))

    def _task(self, id_: str, task_id: str, resource_identifier: str, migration_type: str, source: DmsEndpoint,
              target: DmsEndpoint, table_mappings: dict, address: str | None,
              tool_owned: tuple[str, ...] = ()) -> DmsReplicationTask:
        """A replication task, created stopped (``start_replication_task = false``): the runbook starts it;
        ``tool_owned``: attributes Terraform ignores once created (:data:`FORWARD_TOOL_OWNED`)."""
        props = self.props
        return with_address(DmsReplicationTask(
            self, id_, replication_task_id=task_id, resource_identifier=resource_identifier,
            migration_type=migration_type, replication_instance_arn=self.instance.replication_instance_arn,
            source_endpoint_arn=source.endpoint_arn, target_endpoint_arn=target.endpoint_arn,
            table_mappings=json.dumps(table_mappings, sort_keys=True),
            replication_task_settings=json.dumps(props.task_settings, sort_keys=True),
            start_replication_task=False, lifecycle=_ignoring(tool_owned),
        ), address)

    def _account_roles(self) -> list[IamRolePolicyAttachment]:
        attachments = []
        for role_name, policy in ((DMS_VPC_ROLE, "AmazonDMSVPCManagementRole"),
                                  (DMS_CLOUDWATCH_LOGS_ROLE, "AmazonDMSCloudWatchLogsRole")):
            role = IamRole(self, role_name, name=role_name, assume_role_policy=assume_role_policy("dms.amazonaws.com"),
                           description="Account-wide role that AWS DMS uses (fixed name)")
            attachments.append(IamRolePolicyAttachment(
                self, f"{role_name}-policy", role=role.name, policy_arn=_MANAGED_POLICY.format(policy)))
        return attachments

    def _secrets_role(self) -> IamRole:
        props = self.props
        # confused deputy: DMS (3.4.7+) may assume the role only for this account's DMS resources in this region
        # (DMS user guide, "Cross-service confused deputy prevention")
        account = DataAwsCallerIdentity(self, "account").account_id
        role = IamRole(
            self, "secrets-role", name=props.secrets_role_name,
            assume_role_policy=assume_role_policy(f"dms.{props.region}.amazonaws.com", source_account=account,
                                                  source_arn=f"arn:aws:dms:{props.region}:{account}:*"),
            description="Lets DMS read the database credentials from Secrets Manager",
        )
        statements = [statement(["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"],
                                [secret.arn for secret in self.secrets.values()], sid="ReadEndpointSecrets")]
        if props.kms_key_arn:
            statements.append(statement(["kms:Decrypt"], [props.kms_key_arn], sid="DecryptDatabaseSecrets",
                                        condition=via_service("secretsmanager", props.region)))
        IamRolePolicy(self, "secrets-role-policy", role=role.id, name="read-database-secrets",
                      policy=policy_document(statements))
        return role

    def _endpoint(self, endpoint_type: str, endpoint_id: str, endpoint: PostgresEndpoint, role: IamRole, *,
                  secret: SecretsmanagerSecret | None = None, id_: str | None = None,
                  address: str | None = None, slot_name: str | None = None,
                  tool_owned: tuple[str, ...] = ()) -> DmsEndpoint:
        settings = None
        if endpoint_type == "source":
            # heartbeat keeps the replication slot's restart_lsn moving on a quiet source (no WAL pile-up): every
            # HEARTBEAT_FREQUENCY_MINUTES (PostgreSQLSettings.HeartbeatFrequency, minutes; DMS's default is 5)
            settings = DmsEndpointPostgresSettings(heartbeat_enable=True,
                                                   heartbeat_frequency=HEARTBEAT_FREQUENCY_MINUTES,
                                                   capture_ddls=False, heartbeat_schema=HEARTBEAT_SCHEMA,
                                                   slot_name=slot_name)
        # hashicorp/aws 5.100.0: server_name and port conflict with secrets_manager_arn (the endpoint reads host
        # and port from the secret), so they are not set here.
        return with_address(DmsEndpoint(
            self, id_ or f"{endpoint_type}-endpoint", endpoint_id=endpoint_id, endpoint_type=endpoint_type,
            engine_name="postgres", database_name=endpoint.database_name, ssl_mode=self.props.ssl_mode,
            certificate_arn=self.props.certificate_arn, secrets_manager_arn=(secret or self.secrets[endpoint_type]).arn,
            secrets_manager_access_role_arn=role.arn, postgres_settings=settings, kms_key_arn=self.props.kms_key_arn,
            lifecycle=_ignoring(tool_owned),
        ), address or suffixed(self.props.address, endpoint_type))


def _ignoring(attributes: tuple[str, ...]) -> TerraformResourceLifecycle | None:
    """``lifecycle { ignore_changes = attributes }``, or None for none."""
    return TerraformResourceLifecycle(ignore_changes=list(attributes)) if attributes else None
