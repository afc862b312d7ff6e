"""ECS Fargate service behind an Application Load Balancer, with CPU and memory target-tracking autoscaling.

The service depends on the listener (ECS rejects a target group that no load balancer uses yet). Secrets reach
the container only as ``secrets`` (``valueFrom`` a Secrets Manager ARN, resolved by ECS at start); a plain
environment variable whose name looks like a credential is rejected. The execution role may read only the
secrets the task injects; the task role gets only the statements given in the props.

Container contract (``tests/test_runtime_contract.py`` checks it across stacks): the image listens on
``container_port`` (= target group port = the security group rules between ALB and tasks), answers
``health_check_path`` with 2xx/3xx (target group and Route 53 check the same path), and runs as the non-root
``container_user`` on a read-only root filesystem. The default image, ``nginx-unprivileged``, is documented to do
so: it listens on 8080 as uid 101 and keeps its PID file and temporary paths in ``/tmp``
(https://github.com/nginx/docker-nginx-unprivileged#readme), and its default site answers ``/`` with 200. ``/tmp``
is an ephemeral bind-mount volume; Fargate creates it owned by root with mode 0755
(https://docs.aws.amazon.com/AmazonECS/latest/developerguide/bind-mounts.html, aws/containers-roadmap#938), so a
non-essential init container (``SCRATCH_INIT_IMAGE``, no capabilities, read-only root) makes it 1777 and exits
before the application container starts (``dependsOn`` SUCCESS).

Deploys fail when the service fails: the deployment circuit breaker rolls a failed rollout back, and with
``wait_for_steady_state`` (on everywhere but the emulator, which runs no container) ``terraform apply`` and so
``cdktf deploy`` wait for the service to be steady and fail when it is not.

Follows: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/specifying-sensitive-data-secrets.html,
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-circuit-breaker.html,
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_execution_IAM_role.html,
https://registry.terraform.io/providers/hashicorp/aws/5.100.0/docs/resources/ecs_service.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from cdktf_cdktf_provider_aws.appautoscaling_policy import (
    AppautoscalingPolicy,
    AppautoscalingPolicyTargetTrackingScalingPolicyConfiguration,
    AppautoscalingPolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecification,
)
from cdktf_cdktf_provider_aws.appautoscaling_target import AppautoscalingTarget
from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.ecs_cluster import EcsCluster, EcsClusterSetting
from cdktf_cdktf_provider_aws.ecs_service import (
    EcsService,
    EcsServiceDeploymentCircuitBreaker,
    EcsServiceLoadBalancer,
    EcsServiceNetworkConfiguration,
)
from cdktf_cdktf_provider_aws.ecs_task_definition import EcsTaskDefinition, EcsTaskDefinitionVolume
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.iam_role_policy_attachment import IamRolePolicyAttachment
from cdktf_cdktf_provider_aws.lb import Lb, LbAccessLogs
from cdktf_cdktf_provider_aws.lb_listener import LbListener, LbListenerDefaultAction, LbListenerDefaultActionRedirect
from cdktf_cdktf_provider_aws.lb_target_group import LbTargetGroup, LbTargetGroupHealthCheck
from constructs import Construct

from modules.access_logs import ALB_LOG_PREFIX
from modules.iam import assume_role_policy, policy_document, statement, via_service

CONTAINER_NAME = "app"
ELB_NAME_LIMIT = 32  # load balancer and target group names (Elastic Load Balancing API reference)
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
CREDENTIAL_NAME = re.compile(r"pass(word)?|secret|token|credential|private_?key|api_?key", re.IGNORECASE)
EXECUTION_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
SCRATCH_PATH = "/tmp"
SCRATCH_INIT_CONTAINER = "scratch-permissions"
SCRATCH_INIT_IMAGE = "public.ecr.aws/docker/library/busybox:1.36"
"""Image of the init container that makes the ``/tmp`` volume writable for the non-root application user."""


@dataclass(frozen=True)
class FargateServiceProps:
    """Props of ``FargateService``.

    Attributes:
        cluster_name / service_name / task_family / alb_name / target_group_name / execution_role_name /
            task_role_name / log_group_name: AWS names (ALB and target group at most 32 characters).
        region: region of the log group (awslogs driver).
        vpc_id, public_subnet_ids (ALB), private_subnet_ids (tasks), alb_security_group_id,
            service_security_group_id: network placement.
        container_image: image reference with a fixed tag or digest.
        container_port: TCP port the container listens on.
        cpu: task CPU units (1024 = 1 vCPU); memory_mib: task memory, MiB.
        desired_count / min_count / max_count: task counts.
        cpu_target_percent / memory_target_percent: autoscaling targets, percent.
        container_user: non-root ``uid[:gid]`` the application container runs as (default 101: nginx-unprivileged).
        health_check_path: HTTP path the image answers with 2xx/3xx; the target group checks it.
        wait_for_steady_state: ``terraform apply`` waits for the service to reach steady state (and fails when it
            does not); off only on the emulated AWS, which runs no container. Default on.
        log_retention_days: CloudWatch Logs retention, days.
        environment: plain environment variables (no credentials).
        secrets: environment variable -> Secrets Manager ``valueFrom`` (ARN, optionally ``:json-key::``).
        secret_arns: ARNs of the secrets behind ``secrets`` (what the execution role may read).
        secret_kms_key_arns: customer-managed keys of those secrets; the execution role may decrypt with them
            only through Secrets Manager of ``region`` (``kms:ViaService``). Empty: the AWS-managed key.
        task_policy_statements: IAM statements of the task role.
        certificate_arn: ACM certificate; when set the ALB serves HTTPS and redirects HTTP to it.
        log_kms_key_arn: key of the container log group; None uses CloudWatch Logs' own encryption.
        access_logs_bucket: bucket (same region, SSE-S3, ELB delivery allowed) for ALB access logs; None: off.
        deletion_protection: ALB deletion protection.

    Raises:
        ValueError: an environment variable name that looks like a credential (use ``secrets``); an ALB or
            target group name over 32 characters (Elastic Load Balancing rejects it at create time); a root
            ``container_user``.
    """

    cluster_name: str
    service_name: str
    task_family: str
    alb_name: str
    target_group_name: str
    execution_role_name: str
    task_role_name: str
    log_group_name: str
    region: str
    vpc_id: str
    public_subnet_ids: tuple[str, ...]
    private_subnet_ids: tuple[str, ...]
    alb_security_group_id: str
    service_security_group_id: str
    container_image: str
    container_port: int
    cpu: int
    memory_mib: int
    desired_count: int
    min_count: int
    max_count: int
    cpu_target_percent: int = 60
    memory_target_percent: int = 70
    container_user: str = "101"
    health_check_path: str = "/"
    wait_for_steady_state: bool = True
    log_retention_days: int = 365
    environment: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    secret_arns: tuple[str, ...] = ()
    secret_kms_key_arns: tuple[str, ...] = ()
    task_policy_statements: tuple[dict[str, Any], ...] = ()
    certificate_arn: str | None = None
    log_kms_key_arn: str | None = None
    access_logs_bucket: str | None = None
    deletion_protection: bool = False

    def __post_init__(self) -> None:
        for field_name in ("alb_name", "target_group_name"):
            value = getattr(self, field_name)
            if len(value) > ELB_NAME_LIMIT:
                raise ValueError(f"{field_name} = {value!r}: is {len(value)} characters, limit {ELB_NAME_LIMIT}")
        if not re.fullmatch(r"[1-9]\d*(:\d+)?", self.container_user):
            raise ValueError(f"container_user = {self.container_user!r}: must be a numeric non-root uid[:gid]")
        for name in self.environment:
            if CREDENTIAL_NAME.search(name):
                raise ValueError(
                    f"environment[{name!r}]: looks like a credential; pass it in 'secrets' as a Secrets Manager "
                    "reference so that it never appears in the task definition or Terraform state"
                )

    def container_definitions(self) -> str:
        """The task's container definitions as JSON (ECS ContainerDefinition list): the application container and
        the init container that makes its ``/tmp`` volume writable (see the module docstring)."""
        scratch = [{"sourceVolume": "tmp", "containerPath": SCRATCH_PATH, "readOnly": False}]

        def logs(prefix: str) -> dict[str, Any]:
            return {"logDriver": "awslogs", "options": {"awslogs-group": self.log_group_name,
                                                        "awslogs-region": self.region, "awslogs-stream-prefix": prefix}}

        return json.dumps([{
            "name": CONTAINER_NAME,
            "image": self.container_image,
            "essential": True,
            "user": self.container_user,
            "readonlyRootFilesystem": True,
            "privileged": False,
            "portMappings": [{"containerPort": self.container_port, "protocol": "tcp"}],
            "environment": [{"name": k, "value": v} for k, v in sorted(self.environment.items())],
            "secrets": [{"name": k, "valueFrom": v} for k, v in sorted(self.secrets.items())],
            "mountPoints": scratch,
            "dependsOn": [{"containerName": SCRATCH_INIT_CONTAINER, "condition": "SUCCESS"}],
            "logConfiguration": logs(CONTAINER_NAME),
        }, {
            "name": SCRATCH_INIT_CONTAINER,
            "image": SCRATCH_INIT_IMAGE,
            "essential": False,
            "user": "0",  # owner of the fresh volume; no capabilities, read-only root, exits at once
            "readonlyRootFilesystem": True,
            "privileged": False,
            "linuxParameters": {"capabilities": {"drop": ["ALL"]}},
            "command": ["chmod", "1777", SCRATCH_PATH],
            "mountPoints": scratch,
            "logConfiguration": logs(SCRATCH_INIT_CONTAINER),
        }], sort_keys=True)


class FargateService(Construct):
    """Cluster (Container Insights), log group, roles, task definition, ALB, target group, listeners, service
    and autoscaling.

    Attributes: ``cluster``, ``service``, ``alb``, ``target_group``, ``listener`` (the one that forwards),
    ``task_role``, ``execution_role``.
    """

    def __init__(self, scope: Construct, id_: str, props: FargateServiceProps):
        super().__init__(scope, id_)
        self.props = props
        self.cluster = EcsCluster(self, "cluster", name=props.cluster_name,
                                  setting=[EcsClusterSetting(name="containerInsights", value="enabled")])
        CloudwatchLogGroup(self, "logs", name=props.log_group_name, retention_in_days=props.log_retention_days,
                           kms_key_id=props.log_kms_key_arn)
        self._roles()
        task = EcsTaskDefinition(
            self, "task", family=props.task_family, cpu=str(props.cpu), memory=str(props.memory_mib),
            network_mode="awsvpc", requires_compatibilities=["FARGATE"],
            execution_role_arn=self.execution_role.arn, task_role_arn=self.task_role.arn,
            container_definitions=props.container_definitions(), volume=[EcsTaskDefinitionVolume(name="tmp")],
        )
        self._load_balancer()
        self.service = EcsService(
            self, "service", name=props.service_name, cluster=self.cluster.arn, task_definition=task.arn,
            desired_count=props.desired_count, launch_type="FARGATE", platform_version="LATEST",
            propagate_tags="SERVICE", enable_execute_command=False, health_check_grace_period_seconds=60,
            deployment_minimum_healthy_percent=100, deployment_maximum_percent=200,
            deployment_circuit_breaker=EcsServiceDeploymentCircuitBreaker(enable=True, rollback=True),
            network_configuration=EcsServiceNetworkConfiguration(
                subnets=list(props.private_subnet_ids), security_groups=[props.service_security_group_id],
                assign_public_ip=False),
            load_balancer=[EcsServiceLoadBalancer(target_group_arn=self.target_group.arn,
                                                  container_name=CONTAINER_NAME, container_port=props.container_port)],
            wait_for_steady_state=props.wait_for_steady_state,
            depends_on=[self.listener],
        )
        self._autoscaling()

    def _roles(self) -> None:
        props = self.props
        self.execution_role = IamRole(self, "execution-role", name=props.execution_role_name,
                                      assume_role_policy=assume_role_policy("ecs-tasks.amazonaws.com"))
        IamRolePolicyAttachment(self, "execution-role-managed", role=self.execution_role.name,
                                policy_arn=EXECUTION_POLICY)
        if props.secret_arns:
            statements = [statement(["secretsmanager:GetSecretValue"], list(props.secret_arns), "InjectedSecretsOnly")]
            if props.secret_kms_key_arns:
                # ECS reads the secret through Secrets Manager, which decrypts with the caller's permission
                statements.append(statement(["kms:Decrypt"], list(props.secret_kms_key_arns), "DecryptInjectedSecrets",
                                            via_service("secretsmanager", props.region)))
            IamRolePolicy(self, "execution-role-secrets", role=self.execution_role.id, name="read-injected-secrets",
                          policy=policy_document(statements))
        # confused deputy: only ECS tasks of this account and region (ECS developer guide, "Task IAM role")
        account = DataAwsCallerIdentity(self, "account").account_id
        self.task_role = IamRole(self, "task-role", name=props.task_role_name,
                                 assume_role_policy=assume_role_policy(
                                     "ecs-tasks.amazonaws.com", source_account=account,
                                     source_arn=f"arn:aws:ecs:{props.region}:{account}:*"))
        if props.task_policy_statements:
            IamRolePolicy(self, "task-role-policy", role=self.task_role.id, name="payments-api",
                          policy=policy_document(props.task_policy_statements))

    def _load_balancer(self) -> None:
        props = self.props
        self.alb = Lb(
            self, "alb", name=props.alb_name, load_balancer_type="application", internal=False,
            security_groups=[props.alb_security_group_id], subnets=list(props.public_subnet_ids),
            drop_invalid_header_fields=True, enable_deletion_protection=props.deletion_protection,
            access_logs=LbAccessLogs(bucket=props.access_logs_bucket, prefix=ALB_LOG_PREFIX, enabled=True)
            if props.access_logs_bucket else None,
        )
        self.target_group = LbTargetGroup(
            self, "target-group", name=props.target_group_name, port=props.container_port, protocol="HTTP",
            target_type="ip", vpc_id=props.vpc_id, deregistration_delay="30",
            health_check=LbTargetGroupHealthCheck(enabled=True, path=props.health_check_path, matcher="200-399",
                                                  interval=15, timeout=5, healthy_threshold=2,
                                                  unhealthy_threshold=3),
        )
        forward = [LbListenerDefaultAction(type="forward", target_group_arn=self.target_group.arn)]
        if props.certificate_arn:
            self.listener = LbListener(self, "https", load_balancer_arn=self.alb.arn, port=443, protocol="HTTPS",
                                       ssl_policy=TLS_POLICY, certificate_arn=props.certificate_arn,
                                       default_action=forward)
            LbListener(self, "http", load_balancer_arn=self.alb.arn, port=80, protocol="HTTP",
                       default_action=[LbListenerDefaultAction(type="redirect", redirect=LbListenerDefaultActionRedirect(
                           port="443", protocol="HTTPS", status_code="HTTP_301"))])
        else:
            self.listener = LbListener(self, "http", load_balancer_arn=self.alb.arn, port=80, protocol="HTTP",
                                       default_action=forward)

    def _autoscaling(self) -> None:
        props = self.props
        target = AppautoscalingTarget(
            self, "scaling-target", service_namespace="ecs", scalable_dimension="ecs:service:DesiredCount",
            resource_id=f"service/{self.cluster.name}/{self.service.name}",
            min_capacity=props.min_count, max_capacity=props.max_count,
        )
        for metric, value in (("ECSServiceAverageCPUUtilization", props.cpu_target_percent),
                              ("ECSServiceAverageMemoryUtilization", props.memory_target_percent)):
            AppautoscalingPolicy(
                self, f"scale-on-{metric}", name=f"{props.service_name}-{metric}", policy_type="TargetTrackingScaling",
                service_namespace=target.service_namespace, scalable_dimension=target.scalable_dimension,
                resource_id=target.resource_id,
                target_tracking_scaling_policy_configuration=AppautoscalingPolicyTargetTrackingScalingPolicyConfiguration(
                    target_value=value, scale_in_cooldown=120, scale_out_cooldown=60,
                    predefined_metric_specification=(
                        AppautoscalingPolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecification(
                            predefined_metric_type=metric))),
            )
