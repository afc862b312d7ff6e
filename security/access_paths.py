"""Every access that happens at run time, in one reviewed list: who does what to which resource.

Each ``AccessPath`` names its principal (an IAM role of the stacks, an AWS service principal, or a principal
outside the stacks), the actions, the resource (a synthesized resource by stack and construct path, plus a
suffix such as an object key) and the request context AWS sends (``kms:ViaService``, the KMS encryption context,
``aws:SourceAccount``/``aws:SourceArn`` of a service acting for a resource). ``security/policy_check.py``
evaluates every path against the synthesized identity, trust, KMS key and bucket policies of dev and prod
(``tests/test_access_paths.py``): a denied path fails, and so does a grant that no path uses.

Placeholders in strings: ``{account}`` (the account, from ``aws_caller_identity`` in the stacks), ``{primary}``,
``{replica}`` (regions), ``{env}`` (``<project>-<environment>``).

Sources of the actions and contexts: ECS task execution IAM role and "Required IAM permissions for Amazon ECS
secrets"; Secrets Manager "Secret encryption and decryption" (``kms:ViaService``, encryption context
``SecretARN``); S3 "Using server-side encryption with AWS KMS keys" (encryption context ``aws:s3:arn``) and
"Setting up permissions for live replication"; CloudWatch Logs "Encrypt log data using AWS KMS"; VPC "Publish
flow logs to CloudWatch Logs"; ELB "Enable access logs"; S3 "Enabling Amazon S3 server access logging"; SNS
"Encryption at rest" (CloudWatch alarms); RDS "Setting up and enabling Enhanced Monitoring"; DMS "Using secrets
to access AWS DMS endpoints" and "Creating the IAM roles to use with AWS DMS"; Terraform S3 backend "Permissions
required".
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Ref:
    """A synthesized resource: its ``attribute`` (default ``arn``) followed by ``suffix``."""

    stack: str
    path: str
    attribute: str = "arn"
    suffix: str = ""


@dataclass(frozen=True)
class Role:
    """An IAM role of the stacks (by construct path)."""

    stack: str
    path: str


@dataclass(frozen=True)
class Service:
    """An AWS service principal acting on its own, e.g. ``logs.{primary}.amazonaws.com``."""

    name: str


@dataclass(frozen=True)
class Outside:
    """A principal the stacks do not define (deployer, operator, another account's service), with its own
    identity policy allowing everything: only the resource's policies (key policy, bucket policy) are checked."""

    arn: str


@dataclass(frozen=True)
class AccessPath:
    """One access at run time. ``denied=True`` marks a request that must be refused (a negative check)."""

    name: str
    principal: Role | Service | Outside
    actions: tuple[str, ...]
    resource: Ref | str
    context: dict[str, Ref | str] = field(default_factory=dict)
    denied: bool = False


ACCOUNT_ROOT_DELEGATION = "AccountAdministration"
"""Sid of the key-policy statement that delegates a key to IAM in its account (the default key policy): not a grant
of its own, so the unused-grant check leaves it out; IAM policies still have to allow each path."""

TRUST_WITHOUT_CONDITIONS = {
    "data/dms/dms-vpc-role": "fixed-name account role (dms-vpc-role) that DMS assumes to manage ENIs; AWS documents "
                             "its trust policy with the dms.amazonaws.com principal only",
    "data/dms/dms-cloudwatch-logs-role": "fixed-name account role (dms-cloudwatch-logs-role); same as dms-vpc-role",
    "service/payments-api/execution-role": "ecs-tasks.amazonaws.com assumes the execution role for the ECS agent "
                                           "of this account's tasks (a role cannot be passed across accounts); the "
                                           "task role, which the application uses, carries the conditions",
}
"""Service-assumed roles whose trust policy has no aws:SourceAccount/SourceArn condition, each with the reason."""

MANAGED_POLICIES = {
    "AmazonECSTaskExecutionRolePolicy": "AWS-managed: ECR pull and awslogs (resource `*`, kept by AWS)",
    "AmazonRDSEnhancedMonitoringRole": "AWS-managed: RDSOSMetrics log group only",
    "AmazonDMSVPCManagementRole": "AWS-managed: ENIs of the replication instance (required by DMS, fixed name)",
    "AmazonDMSCloudWatchLogsRole": "AWS-managed: dms-tasks-* log groups (required by DMS, fixed name)",
}
"""AWS-managed policies attached to roles of the stacks, each with the reason; any other fails the check."""

EXECUTION_ROLE = Role("service", "payments-api/execution-role")
TASK_ROLE = Role("service", "payments-api/task-role")
DMS_SECRETS_ROLE = Role("data", "dms/secrets-role")
REPLICATION_ROLE = Role("storage", "transaction-logs/replication-role")
FLOW_LOGS_ROLE = Role("network", "network/flow-logs-role")
MONITORING_ROLE = Role("data", "rds-monitoring-role")
DEPLOYER = Outside("arn:aws:iam::{account}:role/terraform-deployer")
OPERATOR = Outside("arn:aws:iam::{account}:role/migration-operator")
ELB_ACCOUNT = Outside("arn:aws:iam::127311923021:role/elb-log-delivery")  # us-east-1's Elastic Load Balancing

DATABASE_KEY = Ref("data", "database-key/key")
APP_SECRET = Ref("data", "db-role-secrets/app")
TXLOG_BUCKET = Ref("storage", "transaction-logs/source/bucket")
REPLICA_BUCKET = Ref("storage", "transaction-logs/replica/bucket")
STATE_BUCKET = Ref("bootstrap", "state/bucket")


def _secrets_manager_decrypt(secret: Ref) -> dict[str, Ref | str]:
    return {"kms:ViaService": "secretsmanager.{primary}.amazonaws.com", "kms:EncryptionContext:SecretARN": secret}


def _logs_context(group: Ref) -> dict[str, Ref | str]:
    return {"kms:EncryptionContext:aws:logs:arn": group}


LOGS_KMS_ACTIONS = ("kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom",
                    "kms:ReEncryptTo")

APP_LOG_GROUP = Ref("service", "payments-api/logs")
FLOW_LOG_GROUP = Ref("network", "network/flow-log-group")

ACCESS_PATHS: tuple[AccessPath, ...] = (
    # --- ECS: the execution role starts the task, the task role is the application's ----------------------------
    AccessPath("ECS assumes the execution role", Service("ecs-tasks.amazonaws.com"), ("sts:AssumeRole",),
               Ref("service", "payments-api/execution-role")),
    AccessPath("ECS assumes the task role for a task of this account", Service("ecs-tasks.amazonaws.com"),
               ("sts:AssumeRole",), Ref("service", "payments-api/task-role"),
               {"aws:SourceAccount": "{account}", "aws:SourceArn": "arn:aws:ecs:{primary}:{account}:task/cluster/1"}),
    AccessPath("ECS tasks of another account may not assume the task role", Service("ecs-tasks.amazonaws.com"),
               ("sts:AssumeRole",), Ref("service", "payments-api/task-role"),
               {"aws:SourceAccount": "999988887777", "aws:SourceArn": "arn:aws:ecs:{primary}:999988887777:task/c/1"},
               denied=True),
    AccessPath("execution role pulls the image from ECR", EXECUTION_ROLE,
               ("ecr:GetAuthorizationToken",), "*"),
    AccessPath("execution role pulls image layers from ECR", EXECUTION_ROLE,
               ("ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"),
               "arn:aws:ecr:{primary}:{account}:repository/payments-api"),
    AccessPath("execution role writes container logs (awslogs)", EXECUTION_ROLE,
               ("logs:CreateLogStream", "logs:PutLogEvents"), Ref("service", "payments-api/logs",
                                                                  suffix=":log-stream:app/app/0123456789abcdef")),
    AccessPath("CloudWatch Logs encrypts the container log group", Service("logs.{primary}.amazonaws.com"),
               LOGS_KMS_ACTIONS, Ref("service", "app-logs-key/key"), _logs_context(APP_LOG_GROUP)),
    AccessPath("execution role reads the injected app database secret", EXECUTION_ROLE,
               ("secretsmanager:GetSecretValue",), APP_SECRET),
    AccessPath("execution role decrypts the app secret through Secrets Manager", EXECUTION_ROLE, ("kms:Decrypt",),
               DATABASE_KEY, _secrets_manager_decrypt(APP_SECRET)),
    AccessPath("execution role may not decrypt with the database key outside Secrets Manager", EXECUTION_ROLE,
               ("kms:Decrypt",), DATABASE_KEY, denied=True),
    AccessPath("execution role may not read the RDS master secret", EXECUTION_ROLE,
               ("secretsmanager:GetSecretValue",), Ref("data", "target/instance", "master_user_secret[0].secret_arn"),
               denied=True),
    AccessPath("task role writes transaction logs", TASK_ROLE, ("s3:PutObject",),
               Ref("storage", "transaction-logs/source/bucket", suffix="/transactions/2025/01/01/batch.json")),
    AccessPath("task role encrypts transaction logs through S3 (bucket key)", TASK_ROLE, ("kms:GenerateDataKey",),
               Ref("storage", "transaction-logs-key/key"),
               {"kms:ViaService": "s3.{primary}.amazonaws.com", "kms:EncryptionContext:aws:s3:arn": TXLOG_BUCKET}),
    AccessPath("task role may not read transaction logs back", TASK_ROLE, ("s3:GetObject",),
               Ref("storage", "transaction-logs/source/bucket", suffix="/transactions/x.json"), denied=True),
    # --- DMS ---------------------------------------------------------------------------------------------------
    AccessPath("DMS assumes the endpoint secrets role", Service("dms.{primary}.amazonaws.com"), ("sts:AssumeRole",),
               Ref("data", "dms/secrets-role"),
               {"aws:SourceAccount": "{account}", "aws:SourceArn": Ref("data", "dms/source-endpoint", "endpoint_arn")}),
    AccessPath("DMS from another account may not assume the endpoint secrets role",
               Service("dms.{primary}.amazonaws.com"), ("sts:AssumeRole",), Ref("data", "dms/secrets-role"),
               {"aws:SourceAccount": "999988887777", "aws:SourceArn": "arn:aws:dms:{primary}:999988887777:endpoint:X"},
               denied=True),
    *(AccessPath(f"DMS reads its {kind} endpoint secret", DMS_SECRETS_ROLE,
                 ("secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"), Ref("data", f"dms/{kind}-secret"))
      for kind in ("source", "target")),
    AccessPath("DMS decrypts its endpoint secrets through Secrets Manager", DMS_SECRETS_ROLE, ("kms:Decrypt",),
               DATABASE_KEY, _secrets_manager_decrypt(Ref("data", "dms/source-secret"))),
    AccessPath("DMS may not read the app role's secret", DMS_SECRETS_ROLE, ("secretsmanager:GetSecretValue",),
               APP_SECRET, denied=True),
    AccessPath("DMS assumes dms-vpc-role", Service("dms.amazonaws.com"), ("sts:AssumeRole",),
               Ref("data", "dms/dms-vpc-role")),
    AccessPath("DMS manages the replication instance's network interfaces", Role("data", "dms/dms-vpc-role"),
               ("ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface"), "*"),
    AccessPath("DMS assumes dms-cloudwatch-logs-role", Service("dms.amazonaws.com"), ("sts:AssumeRole",),
               Ref("data", "dms/dms-cloudwatch-logs-role")),
    AccessPath("DMS writes task logs", Role("data", "dms/dms-cloudwatch-logs-role"), ("logs:PutLogEvents",),
               "arn:aws:logs:{primary}:{account}:log-group:dms-tasks-{env}-dms:log-stream:dms-task-X"),
    # --- S3 cross-region replication --------------------------------------------------------------------------
    AccessPath("S3 assumes the replication role for the source bucket", Service("s3.amazonaws.com"),
               ("sts:AssumeRole",), Ref("storage", "transaction-logs/replication-role"),
               {"aws:SourceAccount": "{account}", "aws:SourceArn": TXLOG_BUCKET}),
    AccessPath("S3 may not assume the replication role for another bucket", Service("s3.amazonaws.com"),
               ("sts:AssumeRole",), Ref("storage", "transaction-logs/replication-role"),
               {"aws:SourceAccount": "{account}", "aws:SourceArn": "arn:aws:s3:::someone-elses-bucket"}, denied=True),
    AccessPath("replication reads the source bucket's configuration", REPLICATION_ROLE,
               ("s3:GetReplicationConfiguration", "s3:ListBucket"), TXLOG_BUCKET),
    AccessPath("replication reads source object versions", REPLICATION_ROLE,
               ("s3:GetObjectVersionAcl", "s3:GetObjectVersionForReplication", "s3:GetObjectVersionTagging"),
               Ref("storage", "transaction-logs/source/bucket", suffix="/transactions/x.json")),
    AccessPath("replication writes replicas", REPLICATION_ROLE,
               ("s3:ReplicateDelete", "s3:ReplicateObject", "s3:ReplicateTags"),
               Ref("storage", "transaction-logs/replica/bucket", suffix="/transactions/x.json")),
    AccessPath("replication decrypts with the source key through S3", REPLICATION_ROLE, ("kms:Decrypt",),
               Ref("storage", "transaction-logs-key/key"),
               {"kms:ViaService": "s3.{primary}.amazonaws.com", "kms:EncryptionContext:aws:s3:arn": TXLOG_BUCKET}),
    AccessPath("replication encrypts with the replica key through S3 of the replica region", REPLICATION_ROLE,
               ("kms:Encrypt", "kms:GenerateDataKey"), Ref("storage", "transaction-logs-replica-key/key"),
               {"kms:ViaService": "s3.{replica}.amazonaws.com", "kms:EncryptionContext:aws:s3:arn": REPLICA_BUCKET}),
    # --- VPC flow logs ----------------------------------------------------------------------------------------
    AccessPath("VPC Flow Logs assumes its role", Service("vpc-flow-logs.amazonaws.com"), ("sts:AssumeRole",),
               Ref("network", "network/flow-logs-role"),
               {"aws:SourceAccount": "{account}", "aws:SourceArn": Ref("network", "network/flow-log")}),
    AccessPath("VPC Flow Logs of another account may not assume the role", Service("vpc-flow-logs.amazonaws.com"),
               ("sts:AssumeRole",), Ref("network", "network/flow-logs-role"),
               {"aws:SourceAccount": "999988887777", "aws:SourceArn": "arn:aws:ec2:{primary}:999988887777:vpc-flow-log/fl-1"},
               denied=True),
    AccessPath("flow logs list the group's streams", FLOW_LOGS_ROLE, ("logs:DescribeLogStreams",), FLOW_LOG_GROUP),
    AccessPath("flow logs write streams", FLOW_LOGS_ROLE, ("logs:CreateLogStream", "logs:PutLogEvents"),
               Ref("network", "network/flow-log-group", suffix=":log-stream:eni-0123456789abcdef0-all")),
    AccessPath("CloudWatch Logs encrypts the flow log group", Service("logs.{primary}.amazonaws.com"),
               LOGS_KMS_ACTIONS, Ref("network", "flow-logs-key/key"), _logs_context(FLOW_LOG_GROUP)),
    AccessPath("CloudWatch Logs may not use the flow-logs key for another account's group",
               Service("logs.{primary}.amazonaws.com"), ("kms:Decrypt",), Ref("network", "flow-logs-key/key"),
               {"kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:{primary}:999988887777:log-group:x"}, denied=True),
    # --- access logs ------------------------------------------------------------------------------------------
    AccessPath("ELB writes ALB access logs", ELB_ACCOUNT, ("s3:PutObject",),
               Ref("storage", "access-logs/logs/bucket",
                   suffix="/alb/AWSLogs/{account}/elasticloadbalancing/{primary}/2025/01/01/log.gz")),
    *(AccessPath(f"S3 server access logs of {source} to {stack}/{bucket}", Service("logging.s3.amazonaws.com"),
                 ("s3:PutObject",), Ref(stack, f"{bucket}/logs/bucket", suffix=f"/s3/{source}/2025-01-01-x"),
                 {"aws:SourceAccount": "{account}", "aws:SourceArn": Ref(source_stack, source)})
      for stack, bucket, source_stack, source in (
          ("bootstrap", "state-access-logs", "bootstrap", "state/bucket"),
          ("storage", "access-logs", "storage", "transaction-logs/source/bucket"),
          ("storage", "access-logs-replica", "storage", "transaction-logs/replica/bucket"))),
    AccessPath("S3 log delivery for another account is refused", Service("logging.s3.amazonaws.com"),
               ("s3:PutObject",), Ref("storage", "access-logs/logs/bucket", suffix="/s3/x/log"),
               {"aws:SourceAccount": "999988887777"}, denied=True),
    # --- alarms -------------------------------------------------------------------------------------------------
    AccessPath("CloudWatch alarms publish to the encrypted SNS topic", Service("cloudwatch.amazonaws.com"),
               ("kms:Decrypt", "kms:GenerateDataKey"), Ref("observability", "alarms-key/key")),
    AccessPath("EventBridge delivers DMS task events to the encrypted SNS topic", Service("events.amazonaws.com"),
               ("kms:Decrypt", "kms:GenerateDataKey"), Ref("observability", "alarms-key/key")),
    # --- RDS Enhanced Monitoring --------------------------------------------------------------------------------
    *(AccessPath(f"Enhanced Monitoring of the {db} assumes its role", Service("monitoring.rds.amazonaws.com"),
                 ("sts:AssumeRole",), Ref("data", "rds-monitoring-role"),
                 {"aws:SourceAccount": "{account}", "aws:SourceArn": Ref("data", f"{db}/instance")})
      for db in ("source", "target")),
    AccessPath("Enhanced Monitoring of another instance may not assume the role",
               Service("monitoring.rds.amazonaws.com"), ("sts:AssumeRole",), Ref("data", "rds-monitoring-role"),
               {"aws:SourceAccount": "{account}", "aws:SourceArn": "arn:aws:rds:{primary}:{account}:db:other"},
               denied=True),
    AccessPath("Enhanced Monitoring writes OS metrics", MONITORING_ROLE, ("logs:CreateLogStream", "logs:PutLogEvents"),
               "arn:aws:logs:{primary}:{account}:log-group:RDSOSMetrics:log-stream:db-ABCDEFGHIJKL"),
    # --- Terraform state backend (deployer outside the stacks) ---------------------------------------------------
    AccessPath("deployer lists the state bucket", DEPLOYER, ("s3:ListBucket",), STATE_BUCKET),
    AccessPath("deployer reads and writes state", DEPLOYER, ("s3:GetObject", "s3:PutObject"),
               Ref("bootstrap", "state/bucket", suffix="/paymig/dev/data.tfstate")),
    AccessPath("deployer locks state", DEPLOYER, ("dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem"),
               Ref("bootstrap", "lock-table")),
    *(AccessPath(f"deployer uses the state key through {service}", DEPLOYER,
                 ("kms:Decrypt", "kms:GenerateDataKey"), Ref("bootstrap", "state-key/key"),
                 {"kms:ViaService": f"{service}.{{primary}}.amazonaws.com"}) for service in ("s3", "dynamodb")),
    AccessPath("state over plain HTTP is refused", DEPLOYER, ("s3:GetObject",),
               Ref("bootstrap", "state/bucket", suffix="/paymig/dev/data.tfstate"), {"aws:SecureTransport": "false"},
               denied=True),
    # --- operator runs `cutover roles` (outside the stacks) -----------------------------------------------------
    AccessPath("operator reads the RDS master secret", OPERATOR, ("secretsmanager:GetSecretValue",),
               Ref("data", "target/instance", "master_user_secret[0].secret_arn")),
    AccessPath("operator writes the role secrets", OPERATOR, ("secretsmanager:PutSecretValue",), APP_SECRET),
    AccessPath("operator encrypts the role secrets through Secrets Manager", OPERATOR,
               ("kms:Decrypt", "kms:GenerateDataKey"), DATABASE_KEY, _secrets_manager_decrypt(APP_SECRET)),
)
