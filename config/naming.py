"""Every AWS name this project derives from a configuration, with the limit AWS puts on it.

Names are ``<project>-<environment>[-<suffix>]-<purpose>`` (``MigrationConfig.name_prefix``); ``config.loading.parse_config``
rejects a configuration whose
derived names break a rule, so no stack has to check a name again.

Limits follow the AWS API references: Elastic Load Balancing (load balancer and target group names: 32
characters, letters, digits and hyphens), Amazon S3 bucket naming rules (3-63, lowercase, digits, dots,
hyphens), RDS DB instance identifiers (1-63, letter first, no double hyphen or trailing hyphen), DMS replication
instance identifiers (same rule as RDS), DMS ResourceIdentifier (up to 31 characters, same rule), IAM role names
(64), DynamoDB table names (3-255), Route 53 private hosted zone names (DNS names, 253), CloudWatch Logs log group names (512).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from config.errors import ConfigProblem
from config.models import MigrationConfig


@dataclass(frozen=True)
class NameRule:
    """A naming rule: a maximum length and a pattern that the whole name must match."""

    max_length: int
    pattern: str
    description: str

    def problem(self, name: str) -> str | None:
        """Return the broken rule for ``name``, or None when it is valid."""
        if len(name) > self.max_length:
            return f"is {len(name)} characters, limit {self.max_length}"
        if not re.fullmatch(self.pattern, name) or "--" in name:
            return f"must be {self.description}"
        return None


_ALNUM_HYPHEN = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_IDENTIFIER = r"[a-z](?:[a-z0-9-]*[a-z0-9])?"

ELB = NameRule(32, _ALNUM_HYPHEN, "letters, digits and hyphens, not starting or ending with a hyphen")
S3_BUCKET = NameRule(63, r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", "3-63 lowercase letters, digits, dots, hyphens")
DB_IDENTIFIER = NameRule(63, _IDENTIFIER, "a letter, then lowercase letters, digits, single hyphens")
DMS_RESOURCE_IDENTIFIER = NameRule(31, _IDENTIFIER, "a letter, then lowercase letters, digits, single hyphens")
IAM_ROLE = NameRule(64, r"[\w+=,.@-]+", "letters, digits and +=,.@_-")
DYNAMODB_TABLE = NameRule(255, r"[A-Za-z0-9_.-]{3,255}", "3-255 letters, digits, _ . -")
GENERIC = NameRule(255, r"[A-Za-z0-9][A-Za-z0-9_.-]*", "letters, digits, _ . -")
EVENT_RULE = NameRule(64, r"[A-Za-z0-9_.-]+", "letters, digits, _ . -")
SECRET = NameRule(512, r"[A-Za-z0-9/_+=.@-]+", "letters, digits and /_+=.@-")
PRIVATE_ZONE = NameRule(253, r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+",
                        "a lowercase DNS name of two or more labels")
LOG_GROUP = NameRule(512, r"[A-Za-z0-9_./#-]+", "letters, digits and _ - / . #")


@dataclass(frozen=True)
class Names:
    """Derived AWS names of one environment; each attribute's rule is in ``RULES``."""

    alb: str
    target_group: str
    ecs_cluster: str
    ecs_service: str
    task_family: str
    task_execution_role: str
    task_role: str
    app_log_group: str
    source_db: str
    target_db: str
    source_parameter_group: str
    target_parameter_group: str
    db_subnet_group: str
    dms_instance: str
    dms_subnet_group: str
    dms_source_endpoint: str
    dms_target_endpoint: str
    dms_task: str
    dms_task_events_rule: str
    dms_secrets_role: str
    dms_source_secret: str
    dms_target_secret: str
    app_db_secret: str
    validation_source_secret: str
    validation_target_secret: str
    txlog_bucket: str
    txlog_replica_bucket: str
    replication_role: str
    state_bucket: str
    lock_table: str
    alarm_topic: str
    dashboard: str
    access_logs_bucket: str
    access_logs_replica_bucket: str
    state_access_logs_bucket: str
    flow_logs_role: str
    rds_monitoring_role: str
    flow_log_group: str
    kms_alias_prefix: str
    private_zone: str
    cutover_journal_table: str
    dms_reverse_task: str
    dms_reverse_source_endpoint: str
    dms_reverse_target_endpoint: str

    @classmethod
    def of(cls, config: MigrationConfig) -> Names:
        """Derive every name from ``config`` (no validation; see ``naming_problems``)."""
        base = config.name_prefix
        return cls(
            alb=f"{base}-alb",
            target_group=f"{base}-tg",
            ecs_cluster=f"{base}-cluster",
            ecs_service=f"{base}-payments-api",
            task_family=f"{base}-payments-api",
            task_execution_role=f"{base}-ecs-task-execution",
            task_role=f"{base}-ecs-task",
            app_log_group=f"/ecs/{base}/payments-api",
            source_db=config.source_database.existing_instance_identifier or f"{base}-source",
            target_db=f"{base}-target",
            source_parameter_group=f"{base}-source-{config.source_database.parameter_group_family}",
            target_parameter_group=f"{base}-target-{config.target_database.parameter_group_family}",
            db_subnet_group=f"{base}-db",
            dms_instance=f"{base}-dms",
            dms_subnet_group=f"{base}-dms",
            dms_source_endpoint=f"{base}-source",
            dms_target_endpoint=f"{base}-target",
            dms_task=f"{base}-cdc",
            dms_task_events_rule=f"{base}-dms-task-events",
            dms_secrets_role=f"{base}-dms-secrets",
            dms_source_secret=f"{base}/dms/source-endpoint",
            dms_target_secret=f"{base}/dms/target-endpoint",
            app_db_secret=f"{base}/db/app",
            validation_source_secret=f"{base}/db/validation-source",
            validation_target_secret=f"{base}/db/validation-target",
            txlog_bucket=f"{base}-txlog-{config.regions.primary}",
            txlog_replica_bucket=f"{base}-txlog-{config.regions.replica}",
            replication_role=f"{base}-s3-replication",
            state_bucket=config.state.bucket,
            lock_table=config.state.lock_table,
            alarm_topic=f"{base}-alarms",
            dashboard=f"{base}-migration",
            access_logs_bucket=f"{base}-access-logs-{config.regions.primary}",
            access_logs_replica_bucket=f"{base}-access-logs-{config.regions.replica}",
            state_access_logs_bucket=f"{config.state.bucket}-logs",
            flow_logs_role=f"{base}-vpc-flow-logs",
            rds_monitoring_role=f"{base}-rds-monitoring",
            flow_log_group=f"/vpc/{base}/flow-logs",
            kms_alias_prefix=base,
            private_zone=f"payment-migration-{config.environment}{f'-{config.suffix}' if config.suffix else ''}.internal",
            cutover_journal_table=f"{base}-cutover-journal",
            dms_reverse_task=f"{base}-rev",
            dms_reverse_source_endpoint=f"{base}-reverse-source",
            dms_reverse_target_endpoint=f"{base}-reverse-target",
        )


RULES: dict[str, NameRule] = {
    "alb": ELB,
    "target_group": ELB,
    "ecs_cluster": GENERIC,
    "ecs_service": GENERIC,
    "task_family": GENERIC,
    "task_execution_role": IAM_ROLE,
    "task_role": IAM_ROLE,
    "app_log_group": LOG_GROUP,
    "source_db": DB_IDENTIFIER,
    "target_db": DB_IDENTIFIER,
    "source_parameter_group": DB_IDENTIFIER,
    "target_parameter_group": DB_IDENTIFIER,
    "db_subnet_group": GENERIC,
    "dms_instance": DB_IDENTIFIER,
    "dms_subnet_group": GENERIC,
    "dms_source_endpoint": DB_IDENTIFIER,
    "dms_target_endpoint": DB_IDENTIFIER,
    "dms_task": DMS_RESOURCE_IDENTIFIER,
    "dms_task_events_rule": EVENT_RULE,
    "dms_secrets_role": IAM_ROLE,
    "dms_source_secret": SECRET,
    "dms_target_secret": SECRET,
    "app_db_secret": SECRET,
    "validation_source_secret": SECRET,
    "validation_target_secret": SECRET,
    "txlog_bucket": S3_BUCKET,
    "txlog_replica_bucket": S3_BUCKET,
    "replication_role": IAM_ROLE,
    "state_bucket": S3_BUCKET,
    "lock_table": DYNAMODB_TABLE,
    "alarm_topic": GENERIC,
    "dashboard": GENERIC,
    "access_logs_bucket": S3_BUCKET,
    "access_logs_replica_bucket": S3_BUCKET,
    "state_access_logs_bucket": S3_BUCKET,
    "flow_logs_role": IAM_ROLE,
    "rds_monitoring_role": IAM_ROLE,
    "flow_log_group": LOG_GROUP,
    "kms_alias_prefix": NameRule(250, r"[A-Za-z0-9/_-]+", "letters, digits, / _ -"),
    "private_zone": PRIVATE_ZONE,
    "cutover_journal_table": DYNAMODB_TABLE,
    "dms_reverse_task": DMS_RESOURCE_IDENTIFIER,
    "dms_reverse_source_endpoint": DB_IDENTIFIER,
    "dms_reverse_target_endpoint": DB_IDENTIFIER,
}

# Where a name comes straight from a configuration field, errors name that field instead of the derived name.
_CONFIG_FIELD = {
    "state_bucket": "state.bucket",
    "state_access_logs_bucket": "state.bucket (+ '-logs' for its access-log bucket)",
    "lock_table": "state.lock_table",
    "source_db": "source_database.existing_instance_identifier",
}


def naming_problems(config: MigrationConfig) -> list[ConfigProblem]:
    """Check every derived name of ``config`` against its rule.

    Returns:
        One problem per invalid name, naming the configuration field it comes from (empty when all are valid).
    """
    problems = []
    for attribute, name in asdict(Names.of(config)).items():
        problem = RULES[attribute].problem(name)
        if problem:
            field = _CONFIG_FIELD.get(attribute, f"derived name {attribute} (from project/environment/suffix)")
            problems.append(ConfigProblem(field, name, problem))
    return problems
