"""CloudWatch dashboard and alarms for the migration, notifying an SNS topic.

Alarms: DMS ``CDCLatencySource`` and ``CDCLatencyTarget`` (dimensions ``ReplicationInstanceIdentifier`` and
``ReplicationTaskIdentifier`` = the task's resource identifier, the last segment of its ARN), RDS
``CPUUtilization`` and ``FreeStorageSpace`` per instance, ALB ``HTTPCode_Target_5XX_Count`` and
``HTTPCode_ELB_5XX_Count``, target group ``UnHealthyHostCount``, ECS service ``CPUUtilization``, and on the CDC
source the WAL that replication slots retain: ``OldestReplicationSlotLag`` and ``TransactionLogsDiskUsage``
(bytes; a slot that no consumer advances fills the source's storage).

Nothing goes quiet: while a migration runs (``migration_running``), the CDC latency alarms treat missing data as
breaching, because a stopped or failed task publishes no latency at all; the other alarms treat it as not
breaching. Task state changes (stopped, failed) reach the same topic through EventBridge
(``modules.dms_events``).

The dashboard graphs every alarm's metric and, without alarms, RDS ``DatabaseConnections`` of every instance, ECS
service ``MemoryUtilization``, ALB ``RequestCount`` and target group ``HealthyHostCount``.

Follows: https://docs.aws.amazon.com/dms/latest/userguide/CHAP_Monitoring.html#CHAP_Monitoring.Metrics,
https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html,
https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-metrics.html,
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html#alarms-and-missing-data.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from cdktf_cdktf_provider_aws.cloudwatch_dashboard import CloudwatchDashboard
from cdktf_cdktf_provider_aws.cloudwatch_metric_alarm import CloudwatchMetricAlarm
from cdktf_cdktf_provider_aws.sns_topic import SnsTopic
from cdktf_cdktf_provider_aws.sns_topic_subscription import SnsTopicSubscription
from constructs import Construct

GIB = 1024**3


@dataclass(frozen=True)
class AlarmSpec:
    """One CloudWatch alarm: metric, dimensions, statistic, threshold (in the metric's unit) and comparison."""

    key: str
    description: str
    namespace: str
    metric_name: str
    dimensions: dict[str, str]
    statistic: str
    threshold: float
    comparison: str = "GreaterThanThreshold"
    evaluation_periods: int = 3
    missing_data: str = "notBreaching"


@dataclass(frozen=True)
class MetricGraph:
    """A dashboard graph without an alarm: one line per dimension set of one metric and statistic."""

    title: str
    namespace: str
    metric_name: str
    dimensions: tuple[dict[str, str], ...]
    statistic: str


@dataclass(frozen=True)
class ObservabilityProps:
    """Props of ``MigrationObservability``.

    Attributes:
        name_prefix: prefix of alarm names, e.g. ``paymig-dev``.
        topic_name / dashboard_name: SNS topic and dashboard names.
        email: e-mail subscriber of the topic.
        region: region of the metrics (dashboard widgets).
        dms_instance_id / dms_task_resource_id: DMS dimensions.
        db_instance_ids: RDS instances to watch.
        alb_arn_suffix / target_group_arn_suffix: ALB dimensions (``app/<name>/<id>``, ``targetgroup/<name>/<id>``).
        ecs_cluster_name / ecs_service_name: ECS dimensions.
        replication_lag_seconds, db_cpu_percent, db_free_storage_gib, alb_5xx_count, ecs_cpu_percent: thresholds.
        period_seconds: alarm period, seconds.
        kms_key_arn: SNS topic encryption key; None uses the AWS-managed key.
        replication_source_db_id: the CDC source instance whose retained WAL is watched; None: no such alarms.
        wal_retained_gib: threshold of ``OldestReplicationSlotLag`` and ``TransactionLogsDiskUsage``, GiB.
        migration_running: the DMS task is expected to run: CDC latency alarms treat missing data as breaching.
    """

    name_prefix: str
    topic_name: str
    dashboard_name: str
    email: str
    region: str
    dms_instance_id: str
    dms_task_resource_id: str
    db_instance_ids: tuple[str, ...]
    alb_arn_suffix: str
    target_group_arn_suffix: str
    ecs_cluster_name: str
    ecs_service_name: str
    replication_lag_seconds: int = 60
    db_cpu_percent: int = 80
    db_free_storage_gib: int = 10
    alb_5xx_count: int = 10
    ecs_cpu_percent: int = 85
    period_seconds: int = 60
    kms_key_arn: str | None = None
    replication_source_db_id: str | None = None
    wal_retained_gib: int = 5
    migration_running: bool = True

    def alarm_specs(self) -> list[AlarmSpec]:
        """Every alarm of the migration, in a stable order."""
        dms = {"ReplicationInstanceIdentifier": self.dms_instance_id,
               "ReplicationTaskIdentifier": self.dms_task_resource_id}
        missing = "breaching" if self.migration_running else "notBreaching"
        specs = [
            AlarmSpec(f"dms-{metric}", f"DMS {metric} above {self.replication_lag_seconds} s"
                      + (" or missing (task not running)" if self.migration_running else ""),
                      "AWS/DMS", metric, dms, "Maximum", self.replication_lag_seconds, missing_data=missing)
            for metric in ("CDCLatencySource", "CDCLatencyTarget")
        ]
        if self.replication_source_db_id:
            source = {"DBInstanceIdentifier": self.replication_source_db_id}
            specs += [AlarmSpec(f"{self.replication_source_db_id}-{key}", f"{self.replication_source_db_id} {what} "
                                f"above {self.wal_retained_gib} GiB", "AWS/RDS", metric, source, "Maximum",
                                self.wal_retained_gib * GIB)
                      for key, metric, what in (("slot-lag", "OldestReplicationSlotLag", "replication slot lag"),
                                                ("wal-disk", "TransactionLogsDiskUsage", "WAL on disk"))]
        for db in self.db_instance_ids:
            dims = {"DBInstanceIdentifier": db}
            specs.append(AlarmSpec(f"{db}-cpu", f"{db} CPU above {self.db_cpu_percent} %", "AWS/RDS",
                                   "CPUUtilization", dims, "Average", self.db_cpu_percent))
            specs.append(AlarmSpec(f"{db}-free-storage", f"{db} free storage below {self.db_free_storage_gib} GiB",
                                   "AWS/RDS", "FreeStorageSpace", dims, "Minimum", self.db_free_storage_gib * GIB,
                                   "LessThanThreshold"))
        alb = {"LoadBalancer": self.alb_arn_suffix}
        specs += [
            AlarmSpec("alb-target-5xx", f"Targets answered more than {self.alb_5xx_count} 5xx per period",
                      "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", alb, "Sum", self.alb_5xx_count),
            AlarmSpec("alb-elb-5xx", f"ALB answered more than {self.alb_5xx_count} 5xx per period",
                      "AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", alb, "Sum", self.alb_5xx_count),
            AlarmSpec("alb-unhealthy-hosts", "At least one unhealthy target", "AWS/ApplicationELB",
                      "UnHealthyHostCount", {**alb, "TargetGroup": self.target_group_arn_suffix}, "Maximum", 0),
            AlarmSpec("ecs-cpu", f"ECS service CPU above {self.ecs_cpu_percent} %", "AWS/ECS", "CPUUtilization",
                      {"ClusterName": self.ecs_cluster_name, "ServiceName": self.ecs_service_name}, "Average",
                      self.ecs_cpu_percent),
        ]
        return specs

    def metric_graphs(self) -> list[MetricGraph]:
        """Dashboard graphs beside the alarms' metrics: connections of every database, ECS memory, ALB requests
        and healthy targets."""
        alb = {"LoadBalancer": self.alb_arn_suffix}
        return [
            MetricGraph("Database connections", "AWS/RDS", "DatabaseConnections",
                        tuple({"DBInstanceIdentifier": db} for db in self.db_instance_ids), "Maximum"),
            MetricGraph("ECS service memory %", "AWS/ECS", "MemoryUtilization",
                        ({"ClusterName": self.ecs_cluster_name, "ServiceName": self.ecs_service_name},), "Average"),
            MetricGraph("ALB requests", "AWS/ApplicationELB", "RequestCount", (alb,), "Sum"),
            MetricGraph("Healthy targets", "AWS/ApplicationELB", "HealthyHostCount",
                        ({**alb, "TargetGroup": self.target_group_arn_suffix},), "Minimum"),
        ]

    def dashboard_body(self) -> str:
        """Dashboard JSON (CloudWatch dashboard body structure): one metric widget per alarm, then one per
        ``metric_graphs`` entry."""
        graphs = [(spec.description, spec.namespace, spec.metric_name, (spec.dimensions,), spec.statistic)
                  for spec in self.alarm_specs()]
        graphs += [(g.title, g.namespace, g.metric_name, g.dimensions, g.statistic) for g in self.metric_graphs()]
        widgets = []
        for index, (title, namespace, metric_name, dimension_sets, statistic) in enumerate(graphs):
            metrics = [[namespace, metric_name, *(part for item in dimensions.items() for part in item)]
                       for dimensions in dimension_sets]
            widgets.append({
                "type": "metric", "x": (index % 3) * 8, "y": (index // 3) * 6, "width": 8, "height": 6,
                "properties": {"title": title, "region": self.region, "stat": statistic,
                               "period": self.period_seconds, "metrics": metrics},
            })
        return json.dumps({"widgets": widgets}, sort_keys=True)


class MigrationObservability(Construct):
    """SNS topic with an e-mail subscription, one CloudWatch alarm per ``AlarmSpec`` and a dashboard.

    Attributes: ``topic``, ``alarms`` (key -> CloudwatchMetricAlarm), ``dashboard``.
    """

    def __init__(self, scope: Construct, id_: str, props: ObservabilityProps):
        super().__init__(scope, id_)
        self.topic = SnsTopic(self, "topic", name=props.topic_name, kms_master_key_id=props.kms_key_arn or "alias/aws/sns")
        SnsTopicSubscription(self, "email", topic_arn=self.topic.arn, protocol="email", endpoint=props.email)
        self.alarms: dict[str, CloudwatchMetricAlarm] = {}
        for spec in props.alarm_specs():
            self.alarms[spec.key] = CloudwatchMetricAlarm(
                self, f"alarm-{spec.key}", alarm_name=f"{props.name_prefix}-{spec.key}",
                alarm_description=spec.description, namespace=spec.namespace, metric_name=spec.metric_name,
                dimensions=spec.dimensions, statistic=spec.statistic, threshold=spec.threshold,
                comparison_operator=spec.comparison, evaluation_periods=spec.evaluation_periods,
                period=props.period_seconds, treat_missing_data=spec.missing_data,
                alarm_actions=[self.topic.arn], ok_actions=[self.topic.arn],
            )
        self.dashboard = CloudwatchDashboard(self, "dashboard", dashboard_name=props.dashboard_name,
                                             dashboard_body=props.dashboard_body())
