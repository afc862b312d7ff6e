"""Service stack: the payments API on ECS Fargate behind an Application Load Balancer."""

from __future__ import annotations

from constructs import Construct

from config import MigrationConfig
from modules.fargate_service import FargateService, FargateServiceProps
from modules.iam import statement, via_service
from modules.network import Network
from modules.postgres import PostgresDatabase
from modules.kms import EncryptionKey, EncryptionKeyProps
from stacks.base import MigrationStack
from stacks.storage import StorageStack


class ServiceStack(MigrationStack):
    """ECS cluster, service, ALB and autoscaling. The task reads the application database role's credentials
    (``cutover roles``; never the master user's) from Secrets Manager (``DB_USERNAME``/``DB_PASSWORD`` injected by
    ECS, whose execution role may decrypt them with the database key only through Secrets Manager) and may write
    to the transaction-log bucket.

    ``DB_HOST`` is ``db_host``, the private writer name (``db.<private zone>``, data stack), never an instance
    address: ``cutover switchover`` moves the service between the databases by changing that name alone.

    Attribute: ``service`` (FargateService).
    """

    def __init__(self, scope: Construct, config: MigrationConfig, network: Network, database: PostgresDatabase,
                 storage: StorageStack, app_secret_arn: str, database_key_arn: str, *, db_host: str):
        super().__init__(scope, "service", config)
        names, svc = self.names, config.service
        secret = app_secret_arn
        region = config.regions.primary
        buckets = storage.buckets
        bucket_arn = buckets.source.bucket.arn
        logs_key = EncryptionKey(self, "app-logs-key", EncryptionKeyProps(
            alias=f"{names.kms_alias_prefix}-app-logs", description="Payments API container logs",
            region=config.regions.primary, cloudwatch_logs=True))
        self.service = FargateService(self, "payments-api", FargateServiceProps(
            cluster_name=names.ecs_cluster, service_name=names.ecs_service, task_family=names.task_family,
            alb_name=names.alb, target_group_name=names.target_group, execution_role_name=names.task_execution_role,
            task_role_name=names.task_role, log_group_name=names.app_log_group, region=config.regions.primary,
            vpc_id=network.vpc.id, public_subnet_ids=tuple(network.subnet_ids["public"]),
            private_subnet_ids=tuple(network.subnet_ids["private"]),
            alb_security_group_id=network.alb_security_group.id,
            service_security_group_id=network.service_security_group.id,
            container_image=svc.container_image, container_port=svc.container_port, cpu=svc.cpu,
            memory_mib=svc.memory_mib, desired_count=svc.desired_count, min_count=svc.min_count,
            max_count=svc.max_count, cpu_target_percent=svc.cpu_target_percent,
            memory_target_percent=svc.memory_target_percent, health_check_path=svc.health_check_path,
            container_user=svc.container_user, wait_for_steady_state=not config.emulator,  # moto runs no container
            log_retention_days=svc.log_retention_days, certificate_arn=svc.certificate_arn,
            environment={"DB_HOST": db_host, "DB_NAME": config.target_database.database_name,
                         "DB_SSLMODE": "require", "TRANSACTION_LOG_BUCKET": buckets.source.bucket.bucket},
            secrets={"DB_USERNAME": f"{secret}:username::", "DB_PASSWORD": f"{secret}:password::"},
            secret_arns=(secret,),
            secret_kms_key_arns=(database_key_arn,),
            task_policy_statements=(
                statement(["s3:PutObject"], [f"{bucket_arn}/*"], "WriteTransactionLogs"),
                statement(["kms:GenerateDataKey"], [storage.key.arn], "EncryptTransactionLogs",
                          via_service("s3", region)),
            ),
            log_kms_key_arn=logs_key.arn, access_logs_bucket=storage.access_logs.name,
            deletion_protection=config.protected,
        ))
        alb = self.service.alb
        self.output("alb_dns_name", alb.dns_name, "DNS name of the Application Load Balancer")
        self.output("ecs_cluster_name", self.service.cluster.name, "ECS cluster")
        self.output("ecs_service_name", self.service.service.name, "ECS service")
        self.output("ecs_task_definition_arn", self.service.service.task_definition,
                    "Task definition (family:revision ARN) the ECS service runs")
        self.output("alb_arn", alb.arn, "Application Load Balancer ARN")
        self.output("target_group_arn", self.service.target_group.arn, "Target group ARN")
        scheme = "https" if svc.certificate_arn else "http"
        self.output("runbook_test_alb", f"curl --fail --silent --show-error --max-time 10 "
                    f"{scheme}://{alb.dns_name}{svc.health_check_path}",
                    "Runbook: the new service answers its health check through the ALB")
