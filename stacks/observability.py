"""Observability stack: CloudWatch dashboard and alarms (replication lag, DB, ALB, ECS) with SNS; DMS task events."""

from __future__ import annotations

from constructs import Construct

from config import MigrationConfig
from modules.dms import DmsMigration
from modules.dms_events import DmsTaskEvents, DmsTaskEventsProps
from modules.fargate_service import FargateService
from modules.kms import EncryptionKey, EncryptionKeyProps
from modules.observability import MigrationObservability, ObservabilityProps
from stacks.base import MigrationStack


class ObservabilityStack(MigrationStack):
    """Alarms and dashboard of the migration, and the DMS task's stop/failure events to the same topic.

    Attributes: ``observability`` (MigrationObservability), ``task_events`` (DmsTaskEvents).
    """

    def __init__(self, scope: Construct, config: MigrationConfig, service: FargateService, dms: DmsMigration):
        super().__init__(scope, "observability", config)
        names, alarms = self.names, config.alarms
        key = EncryptionKey(self, "alarms-key", EncryptionKeyProps(
            alias=f"{names.kms_alias_prefix}-alarms", description="SNS topic of the migration alarms",
            region=config.regions.primary, cloudwatch_alarms=True, eventbridge=True))
        self.observability = MigrationObservability(self, "migration", ObservabilityProps(
            name_prefix=config.name_prefix, topic_name=names.alarm_topic,
            dashboard_name=names.dashboard, email=alarms.email, region=config.regions.primary,
            dms_instance_id=names.dms_instance, dms_task_resource_id=names.dms_task,
            db_instance_ids=(names.source_db, names.target_db),
            alb_arn_suffix=service.alb.arn_suffix, target_group_arn_suffix=service.target_group.arn_suffix,
            ecs_cluster_name=names.ecs_cluster, ecs_service_name=names.ecs_service,
            replication_lag_seconds=alarms.replication_lag_seconds, db_cpu_percent=alarms.db_cpu_percent,
            db_free_storage_gib=alarms.db_free_storage_gib, alb_5xx_count=alarms.alb_5xx_count,
            ecs_cpu_percent=alarms.ecs_cpu_percent, period_seconds=alarms.period_seconds, kms_key_arn=key.arn,
            replication_source_db_id=names.source_db, wal_retained_gib=alarms.wal_retained_gib,
            migration_running=alarms.migration_running,
        ))
        self.task_events = DmsTaskEvents(self, "dms-task-events", DmsTaskEventsProps(
            rule_name=self.names.dms_task_events_rule,
            task_arn=dms.task.replication_task_arn, topic_arn=self.observability.topic.arn))
        region = config.regions.primary
        self.output("alarm_topic_arn", self.observability.topic.arn, "SNS topic of the alarms")
        self.output("dashboard_url",
                    f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"
                    f"#dashboards:name={names.dashboard}", "CloudWatch dashboard")
