"""Data stack: RDS PostgreSQL source (created, or an existing instance imported) and target, and AWS DMS."""

from __future__ import annotations

from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.db_subnet_group import DbSubnetGroup
from constructs import Construct

from config import MigrationConfig
from config.models import PostgresInstance
from modules.cutover_journal import CutoverJournal, CutoverJournalProps
from modules.database_roles import DatabaseRoleSecrets, DatabaseRoleSecretsProps
from modules.dms import (
    DmsMigration, DmsMigrationProps, PostgresEndpoint, default_task_settings, schema_table_mappings,
)
from modules.kms import EncryptionKey, EncryptionKeyProps
from modules.network import Network
from modules.postgres import LogicalReplication, PostgresDatabase, PostgresProps, enhanced_monitoring_role
from modules.writer_dns import WriterDns, WriterDnsProps
from stacks.base import MigrationStack


class DataStack(MigrationStack):
    """Source and target databases and the DMS migration between them.

    When ``source_database.existing_instance_identifier`` is set, the source instance is imported into state
    (a Terraform ``import`` block) instead of created; see docs/infrastructure.md, "Importing the legacy source
    database".

    The migration's own parts (issue 15): the writer name ``db.<private zone>`` (``writer``, a CNAME created
    pointing at the source whose value ``cutover switchover``/``rollback`` own), logical replication on the target
    too (the reverse task reads it after a switchover), the reverse DMS task (created stopped) and the cutover
    journal table (``journal``).

    Attributes: ``key`` (EncryptionKey), ``source``, ``target`` (PostgresDatabase), ``dms`` (DmsMigration),
    ``role_secrets`` (DatabaseRoleSecrets: ``app``, ``validation-source``, ``validation-target``; the DMS roles'
    secrets are ``dms.secrets``), ``writer`` (WriterDns), ``journal`` (CutoverJournal).
    """

    def __init__(self, scope: Construct, config: MigrationConfig, network: Network):
        super().__init__(scope, "data", config)
        names = self.names
        subnet_group = DbSubnetGroup(self, "db-subnet-group", name=names.db_subnet_group,
                                     subnet_ids=network.subnet_ids["database"],
                                     description="Database tier of the payments migration")
        self.key = EncryptionKey(self, "database-key", EncryptionKeyProps(
            alias=f"{names.kms_alias_prefix}-database", region=config.regions.primary,
            description="RDS storage, Performance Insights, master user secrets and DMS storage", address="database"))
        self.monitoring_role = enhanced_monitoring_role(
            self, "rds-monitoring-role", names.rds_monitoring_role, region=config.regions.primary,
            account_id=DataAwsCallerIdentity(self, "account").account_id,
            db_instance_identifiers=(names.source_db, names.target_db))
        src = config.source_database
        # an imported source keeps its storage key (RDS cannot re-key an instance), network placement and port
        legacy = src.existing_instance_identifier is not None
        self.source = self._database("source", src, names.source_db, names.source_parameter_group,
                                     src.existing_db_subnet_group_name or subnet_group.name,
                                     src.existing_security_group_ids or (network.database_security_group.id,),
                                     LogicalReplication(
                                         src.max_replication_slots, src.max_wal_senders, src.wal_sender_timeout_ms)
                                     if src.logical_replication else None,
                                     storage_key_arn=src.existing_kms_key_arn,
                                     port=src.existing_port if legacy else 5432, imported=legacy)
        if config.importing_source:
            self.source.instance.import_from(names.source_db)
        # the target gets logical replication too: after a switchover the reverse task reads changes from it
        self.target = self._database("target", config.target_database, names.target_db, names.target_parameter_group,
                                     subnet_group.name, (network.database_security_group.id,), LogicalReplication(
                                         src.max_replication_slots, src.max_wal_senders, src.wal_sender_timeout_ms))
        self.dms = DmsMigration(self, "dms", DmsMigrationProps(
            instance_id=names.dms_instance, subnet_group_id=names.dms_subnet_group, task_id=names.dms_task,
            task_resource_identifier=names.dms_task, source_endpoint_id=names.dms_source_endpoint,
            target_endpoint_id=names.dms_target_endpoint, secrets_role_name=names.dms_secrets_role,
            instance_class=config.dms.instance_class, engine_version=config.dms.engine_version,
            allocated_storage_gib=config.dms.allocated_storage_gib, multi_az=config.dms.multi_az,
            subnet_ids=tuple(network.subnet_ids["private"]),
            security_group_ids=(network.dms_security_group.id,),
            source=PostgresEndpoint(src.database_name, names.dms_source_secret),
            target=PostgresEndpoint(config.target_database.database_name, names.dms_target_secret),
            secret_recovery_window_days=7 if config.protected else 0,
            region=config.regions.primary, migration_type=config.dms.migration_type,
            table_mappings=schema_table_mappings(
                config.dms.schema_name, config.dms.migration_timestamp_column,
                {table: settings.model_dump() for table, settings in config.dms.parallel_load.items()}),
            task_settings=default_task_settings(
                config.dms.log_severity, max_full_load_sub_tasks=config.dms.max_full_load_sub_tasks,
                min_transaction_size=config.dms.cdc_min_transaction_size,
                commit_timeout_seconds=config.dms.cdc_commit_timeout_seconds,
                statement_cache_size=config.dms.cdc_statement_cache_size),
            # the account-wide DMS roles have fixed names: a per-change environment uses its environment's
            create_account_roles=config.dms.create_account_roles and config.suffix is None, kms_key_arn=self.key.arn,
            reverse_task_id=names.dms_reverse_task, reverse_source_endpoint_id=names.dms_reverse_source_endpoint,
            reverse_target_endpoint_id=names.dms_reverse_target_endpoint,
            address="migration",
        ))
        self.role_secrets = DatabaseRoleSecrets(self, "db-role-secrets", DatabaseRoleSecretsProps(
            secrets={"app": names.app_db_secret, "validation-source": names.validation_source_secret,
                     "validation-target": names.validation_target_secret},
            kms_key_arn=self.key.arn, recovery_window_days=7 if config.protected else 0, address="db_role"))
        self.writer = WriterDns(self, "writer-dns", WriterDnsProps(
            zone_name=names.private_zone, vpc_id=network.vpc.id, initial_target=self.source.address,
            address="writer"))
        self.journal = CutoverJournal(self, "cutover-journal", CutoverJournalProps(
            table_name=names.cutover_journal_table, kms_key_arn=self.key.arn, deletion_protection=config.protected,
            address="cutover_journal"))
        self._outputs()
        if legacy:
            self.output("runbook_legacy_source_ingress", [
                f"aws ec2 authorize-security-group-ingress --region {config.regions.primary} --group-id {group} "
                f"--protocol tcp --port {src.existing_port} --cidr {cidr}"
                for group in src.existing_security_group_ids[:1] for cidr in network.props.subnet_cidrs("private")],
                "Runbook: let DMS (private subnets) reach the legacy source, unless its security group admits them")

    def _database(self, role: str, settings: PostgresInstance, identifier: str, parameter_group: str,
                  subnet_group: str, security_group_ids: tuple[str, ...], replication: LogicalReplication | None,
                  storage_key_arn: str | None = None, port: int = 5432, imported: bool = False) -> PostgresDatabase:
        """One PostgreSQL instance; its storage is encrypted with ``storage_key_arn``, else the stack's key."""
        return PostgresDatabase(self, role, PostgresProps(
            identifier=identifier, parameter_group_name=parameter_group, engine_version=settings.engine_version,
            instance_class=settings.instance_class, allocated_storage_gib=settings.allocated_storage_gib,
            max_allocated_storage_gib=settings.max_allocated_storage_gib, multi_az=settings.multi_az,
            backup_retention_days=settings.backup_retention_days, database_name=settings.database_name,
            master_username=settings.master_username, subnet_group_name=subnet_group,
            security_group_ids=security_group_ids, protected=self.config.protected,
            logical_replication=replication, monitoring_role_arn=self.monitoring_role.arn,
            kms_key_arn=storage_key_arn or self.key.arn,
            auto_minor_version_upgrade=settings.auto_minor_version_upgrade,
            allow_major_version_upgrade=settings.allow_major_version_upgrade,
            maintenance_window=settings.maintenance_window, backup_window=settings.backup_window, port=port,
            imported=imported, address=role,
        ))

    def _outputs(self) -> None:
        task_arn = self.dms.task.replication_task_arn
        region = self.config.regions.primary
        self.output("source_endpoint", self.source.instance.endpoint, "Source PostgreSQL endpoint (host:port)")
        self.output("target_endpoint", self.target.instance.endpoint, "Target PostgreSQL endpoint (host:port)")
        self.output("source_database_name", self.config.source_database.database_name,
                    "Source database name (cutover validate --environment)")
        self.output("target_database_name", self.config.target_database.database_name,
                    "Target database name (cutover validate --environment)")
        self.output("source_secret_arn", self.source.secret_arn, "Secrets Manager ARN of the source credentials")
        self.output("target_secret_arn", self.target.secret_arn, "Secrets Manager ARN of the target credentials")
        for kind, secret in self.dms.secrets.items():
            self.output(f"dms_{kind}_secret_arn", secret.arn, f"Secrets Manager ARN of the DMS {kind} connection")
        self.output("source_instance_identifier", self.source.instance.identifier, "Source RDS instance identifier")
        self.output("target_instance_identifier", self.target.instance.identifier, "Target RDS instance identifier")
        self.output("dms_source_endpoint_arn", self.dms.source_endpoint.endpoint_arn, "DMS source endpoint ARN")
        self.output("dms_target_endpoint_arn", self.dms.target_endpoint.endpoint_arn, "DMS target endpoint ARN")
        for key, secret in self.role_secrets.secrets.items():
            self.output(f"db_{key.replace('-', '_')}_secret_arn", secret.arn,
                        f"Secrets Manager ARN of the {key} database role's credentials")
        self.output("runbook_roles", f"make roles {self.make_arguments}",
                    "Runbook: create the database roles (app, DMS source/target, validation) and write their "
                    "secrets, as the RDS master user (before starting DMS or the service)")
        self.output("dms_replication_instance_arn", self.dms.instance.replication_instance_arn, "DMS instance ARN")
        self.output("dms_replication_task_arn", task_arn, "DMS replication task ARN")
        self.output("runbook_start_replication",
                    f"aws dms start-replication-task --region {region} --replication-task-arn {task_arn} "
                    "--start-replication-task-type start-replication",
                    "Runbook: start the full load and CDC")
        self.output("runbook_validation_status",
                    f"aws dms describe-table-statistics --region {region} --replication-task-arn {task_arn} "
                    "--query 'TableStatistics[].[TableName,ValidationState,ValidationFailedRecords]'",
                    "Runbook: per-table validation state before cutover")
        self.output("runbook_replication_status",
                    f"aws dms describe-replication-tasks --region {region} "
                    f"--filters Name=replication-task-arn,Values={task_arn} --query "
                    "'ReplicationTasks[0].{status:Status,stopReason:StopReason,"
                    "fullLoadPercent:ReplicationTaskStats.FullLoadProgressPercent}'",
                    "Runbook: DMS task status, why it stopped, full-load progress")
        self.output("runbook_stop_replication",
                    f"aws dms stop-replication-task --region {region} --replication-task-arn {task_arn}",
                    "Runbook: stop the DMS task (CDC resumes from its checkpoint on resume-processing)")
        if self.dms.reverse_task is not None:
            self.output("dms_reverse_replication_task_arn", self.dms.reverse_task.replication_task_arn,
                        "Reverse DMS task ARN (target -> source, CDC only; started by cutover switchover)")
        self.output("private_zone_id", self.writer.zone.zone_id, "Route 53 private hosted zone of the writer name")
        self.output("writer_fqdn", self.writer.record.fqdn, "Database writer name (CNAME; value owned by cutover)")
        self.output("source_address", self.source.address, "Source PostgreSQL address (the writer before switchover)")
        self.output("target_address", self.target.address, "Target PostgreSQL address (the writer after switchover)")
        self.output("cutover_journal_table", self.journal.table.name, "DynamoDB journal and lock of cutover")
